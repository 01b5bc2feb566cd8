"""Rendering pages: one Jinja2 environment, the per-request context every template gets.

Templates see ``t(key, **values)`` for texts, ``when``/``day``/``pct``/``num`` for formatting in
the page's language, ``csrf`` for forms, ``nav`` for the menu and ``flashes`` for one-time notices.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from idops.auth.scope import Caller
from idops.web import session as sess
from idops.web import texts

if TYPE_CHECKING:
    from idops.container import Container

TEMPLATES = Path(__file__).parent / "templates"


@dataclass
class WebRequest:
    """What the page route resolved before the handler ran (see ``idops.web.routing``)."""

    container: Container
    session: dict[str, Any]
    lang: str
    caller: Caller | None = None
    extra_headers: dict[str, str] = field(default_factory=dict)


def web(request: Request) -> WebRequest:
    state: WebRequest = request.state.web
    return state


@cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "svg"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env


@dataclass(frozen=True, slots=True)
class NavItem:
    href: str
    label: str
    current: bool


def nav_items(w: WebRequest, path: str) -> list[NavItem]:
    """The menu for the caller's role; ``current`` marks the section the page belongs to."""
    caller = w.caller
    items: list[tuple[str, str]] = []
    if caller is not None:
        if caller.scope.is_admin:
            items += [
                ("/admin/mfa", "nav_mfa"),
                ("/admin/single-login", "nav_coverage"),
                ("/admin/substitutes", "nav_admin_substitutes"),
                ("/admin/jobs", "nav_jobs"),
            ]
            if caller.scope.role == "RegionAdmin":
                items.append(("/admin/region", "nav_region"))
        else:
            items.append(("/", "nav_substitutes"))
    if sess.is_demo_auth(w.container) and w.container.config.settings.demo:
        items.append(("/_demo/clock", "nav_demo_clock"))
    out = []
    for href, key in items:
        current = (
            path == href
            or (href != "/" and path.startswith(href + "/"))
            or (href == "/" and (path.startswith("/schools/") or path.startswith("/substitutes/")))
        )
        out.append(NavItem(href, texts.text(w.lang, key), current))
    return out


def lang_switch_url(request: Request, lang: str) -> str:
    params = dict(request.query_params)
    params["lang"] = lang
    return f"{request.url.path}?{urlencode(params)}"


def render(
    request: Request, template: str, status: int = 200, headers: dict[str, str] | None = None, **ctx: Any
) -> HTMLResponse:
    """Render ``template`` with the common context; the response is HTML in the page's language."""
    w = web(request)
    lang = w.lang
    other = texts.text(lang, "lang_switch_lang")
    html = (
        environment()
        .get_template(template)
        .render(
            lang=lang,
            t=lambda key, **values: texts.text(lang, key, **values),
            when=lambda v: texts.when(v, lang),
            day=lambda v: texts.day(v, lang),
            pct=lambda v, digits=1: texts.percent(v, lang, digits),
            num=lambda v: texts.number(v, lang),
            csrf=sess.csrf_token(w.session),
            caller=w.caller,
            nav=nav_items(w, request.url.path),
            flashes=sess.pop_flashes(w.session),
            lang_url=lang_switch_url(request, other),
            path=request.url.path,
            demo=sess.is_demo_auth(w.container),
            region_name=w.container.config.region.region.name,
            **ctx,
        )
    )
    return HTMLResponse(html, status_code=status, headers=headers)
