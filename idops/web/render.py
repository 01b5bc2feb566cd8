"""Rendering pages: one Jinja2 environment, the per-request context every template gets, the security
headers every HTML response carries.

Templates see ``t(key, **values)`` for texts, ``when``/``day``/``pct``/``pts``/``num``/``signed`` for
formatting in the page's language, ``csrf`` for forms, ``nav`` for the menu, ``crumbs`` for the way
back, ``contact`` for the footer and ``flashes`` for one-time notices.

Pages get their ``WebRequest`` from their route class (``idops.web.routing``); HTML answered outside a
page route — error pages for browsers, the API's HTML report — builds one with ``outside_request``.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, StrictUndefined, Undefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse

from idops.auth.scope import Caller
from idops.kit import i18n
from idops.kit.errors import Conflict
from idops.kit.i18n import SUPPORTED
from idops.web import session as sess
from idops.web import texts

if TYPE_CHECKING:
    from idops.container import Container

TEMPLATES = Path(__file__).parent / "templates"
LANG_COOKIE = "lang"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)


def security_headers() -> dict[str, str]:
    """What every HTML response of idops carries, pages and the API's HTML alike."""
    return {
        "Content-Security-Policy": CSP,
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "same-origin",
        "Cache-Control": "private, no-cache",
    }


@dataclass
class WebRequest:
    """What the page route resolved before the handler ran (see ``idops.web.routing``)."""

    container: Container
    session: dict[str, Any]  # the session's working state (``page_session.data``)
    lang: str
    caller: Caller | None = None
    extra_headers: dict[str, str] = field(default_factory=dict)
    page_session: sess.PageSession | None = None


def web(request: Request) -> WebRequest:
    state: WebRequest = request.state.web
    return state


def page_language(request: Request, default: str) -> str:
    """``?lang=`` or the ``lang`` cookie; otherwise the configured default (Finnish). Unlike the
    API, pages ignore ``Accept-Language``: the region's pages are Finnish unless asked otherwise."""
    chosen = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE)
    return chosen if chosen in SUPPORTED else default


def outside_request(
    request: Request,
    *,
    caller: Caller | None = None,
    lang: str | None = None,
    page_session: sess.PageSession | None = None,
) -> WebRequest:
    """A ``WebRequest`` for HTML answered outside a page route (and attached to ``request``).

    Nothing of the session is written: an error page shows a signed-in user (``page_session``, see
    ``page_context``) their menu, and an API caller (``caller`` from a bearer token) the menu of their
    role."""
    from idops.web.auth import NoAccess, caller_of  # authlib loads only where pages are served

    c: Container = request.app.state.container
    if caller is None and page_session is not None:
        try:
            caller = caller_of(c, page_session.user)
        except NoAccess:
            caller = None
    w = WebRequest(
        container=c,
        session=page_session.data if page_session is not None else {},
        lang=lang or page_language(request, c.config.settings.web.default_language),
        caller=caller,
        page_session=page_session,
    )
    request.state.web = w
    return w


async def page_context(request: Request) -> None:
    """Attach the browser's session (read only) to a request answered outside a page route, so its
    HTML error page shows a signed-in user their menu. Any trouble reading it: the page shows none."""
    if getattr(request.state, "web", None) is not None:
        return
    page = None
    try:
        page = await sess.load(request.app.state.container, request)
    except Exception:  # an error page must not fail for want of the menu (database down, no secret)
        page = None
    outside_request(request, page_session=page)


@cache
def environment(strict: bool = False) -> Environment:
    """The pages' Jinja2 environment. ``strict`` (the template tests) makes a missing value an error;
    pages render it empty rather than fail a principal's page over an optional field."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "svg"]),
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=StrictUndefined if strict else Undefined,
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
                (
                    "/admin/substitutes",
                    "nav_region_substitutes" if caller.scope.role == "RegionAdmin" else "nav_admin_substitutes",
                ),
                ("/admin/drift", "nav_drift"),
                ("/admin/approvals", "nav_approvals"),
                ("/admin/jobs", "nav_jobs"),
            ]
            if caller.scope.role == "RegionAdmin":
                items.append(("/admin/region", "nav_region"))
        else:
            items += [("/", "nav_substitutes"), ("/mfa", "nav_mfa")]
    if sess.has_demo_clock(w.container) and caller is not None:
        items.append(("/_demo/clock", "nav_demo_clock"))
    out = []
    for href, key in items:
        current = (
            path == href
            or (href != "/" and path.startswith(href + "/"))
            or (href == "/mfa" and path.startswith("/schools/") and path.endswith("/mfa"))
            or (
                href == "/"
                and (path.startswith("/schools/") or path.startswith("/substitutes/"))
                and not path.endswith("/mfa")
            )
        )
        out.append(NavItem(href, texts.text(w.lang, key), current))
    return out


def lang_switch_url(request: Request, lang: str) -> str:
    params = dict(request.query_params)
    params["lang"] = lang
    return f"{request.url.path}?{urlencode(params)}"


def render(
    request: Request,
    template: str,
    status: int = 200,
    headers: dict[str, str] | None = None,
    *,
    crumbs: list[tuple[str | None, str]] | None = None,
    **ctx: Any,
) -> HTMLResponse:
    """Render ``template`` with the common context; the response is HTML in the page's language.

    ``crumbs`` is the way back, ``(href, label)`` from the top; the last (the page itself) has no href."""
    w = web(request)
    lang = w.lang
    other = texts.text(lang, "lang_switch_lang")
    settings = w.container.config.settings
    html = (
        environment()
        .get_template(template)
        .render(
            lang=lang,
            t=lambda key, **values: texts.text(lang, key, **values),
            when=lambda v: i18n.when(v, lang),
            day=lambda v: i18n.day(v, lang),
            pct=lambda v, digits=1: i18n.percent(v, lang, digits),
            pts=lambda v: i18n.points(v, lang),
            num=lambda v: i18n.number(v, lang),
            signed=i18n.signed,
            csrf=sess.LazyCsrf(w.session),
            caller=w.caller,
            can_sign_out=w.page_session is not None and w.page_session.user is not None,
            nav=nav_items(w, request.url.path),
            crumbs=crumbs or [],
            flashes=sess.pop_flashes(w.session),
            lang_url=lang_switch_url(request, other),
            path=request.url.path,
            demo=sess.is_demo_auth(w.container),
            region_name=w.container.config.region.region.name,
            contact=settings.contact,
            overdue_reason=lambda code: texts.overdue_reason(lang, code),
            mfa_reason=lambda code: texts.mfa_reason(lang, code),
            mfa_source=lambda code: texts.mfa_source(lang, code),
            **ctx,
        )
    )
    return HTMLResponse(html, status_code=status, headers=headers)


def with_security_headers(response: HTMLResponse, extra: dict[str, str] | None = None) -> HTMLResponse:
    """``response`` with the pages' security headers (``extra`` first, e.g. ``Cache-Control: no-store``)."""
    for name, value in {**security_headers(), **(extra or {})}.items():
        if name not in response.headers or (extra and name in extra):
            response.headers[name] = value
    return response


async def act_then_back(request: Request, action: Awaitable[Any], done: str, back: str) -> RedirectResponse:
    """A form's post that changes one thing: run ``action``, then back to ``back`` with the text ``done``
    as a notice — or, when the rules refuse it (a ``Conflict``), with their reason as an error."""
    w = web(request)
    try:
        await action
    except Conflict as exc:
        sess.flash(w.session, (exc.detail or exc.title).in_language(w.lang), "error")
    else:
        sess.flash(w.session, texts.text(w.lang, done))
    return RedirectResponse(back, status_code=303)
