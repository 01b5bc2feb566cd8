"""The full single-login coverage report as a page in the site's layout — for the admin pages
(``/admin/single-login/report``) and for the API's ``GET /v1/reports/single-login?format=html`` alike:
one template, one set of texts, the pages' security headers (no inline styles, so no CSP exception).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse

from idops.auth.scope import Caller
from idops.kit import i18n
from idops.web.render import outside_request, render, web, with_security_headers
from idops.web.texts import sso_mode_label, text


def headline_explained(lang: str, view: dict[str, Any]) -> list[tuple[str, str, str]]:
    """Each headline number of the report in one sentence, with its help-page anchor: (anchor, term,
    sentence). Why the headline share can be far below the account coverage is said outright: a
    municipality whose staff still use one separate-account app has no headline persons at all."""
    def pct(v: float | None) -> str:
        return i18n.percent(v, lang)

    def num(v: int | None) -> str:
        return i18n.number(v, lang)

    h = view["headline"]
    munis = view["municipalities"]
    numbers = (view["region"] or {}).get("numbers") if view.get("region") else (
        munis[0]["numbers"] if len(munis) == 1 else None
    )
    out = [("staff-persons", text(lang, "staff_persons"), text(lang, "explain_staff", n=num(h["staff_persons"])))]
    if numbers:
        out.append(("account-coverage", text(lang, "account_coverage"), text(
            lang, "explain_account", share=pct(numbers["account_coverage"]),
            n=num(numbers["single_account_persons"]), total=num(numbers["staff_persons"]))))
        out.append(("app-coverage", text(lang, "app_coverage"), text(
            lang, "explain_app", share=pct(numbers["app_coverage"]), n=num(numbers["single_login_apps"]),
            total=num(numbers["apps_in_use"]))))
    separate = view.get("separate_apps") or []
    key = "explain_headline_separate" if separate else "explain_headline"
    out.append(("headline", text(lang, "headline_share"), text(
        lang, key, share=pct(h["headline_share"]), n=num(h["headline_persons"]), total=num(h["staff_persons"]),
        apps=num(len(separate)), top=separate[0]["name"] if separate else "")))
    return out


def report_page(request: Request, view: dict[str, Any], *, caller: Caller | None = None, lang: str | None = None
                ) -> HTMLResponse:
    """``view`` (``idops.coverage.service.view``) as HTML. A page passes its own request; the API passes
    its bearer ``caller`` and the language it negotiated."""
    if getattr(request.state, "web", None) is None:
        outside_request(request, caller=caller, lang=lang)
    w = web(request)
    municipalities = {m.key: m.name for m in w.container.config.region.municipalities}
    response = render(
        request,
        "coverage_report.html",
        crumbs=[("/admin/single-login", text(w.lang, "coverage_title")), (None, text(w.lang, "rep_title"))],
        v=view,
        municipality_names=municipalities,
        sso_mode_label=lambda mode: sso_mode_label(w.lang, mode),
        explained=headline_explained(w.lang, view),
    )
    return with_security_headers(response)
