"""The full single-login coverage report as a page in the site's layout — for the admin pages
(``/admin/single-login/report``) and for the API's ``GET /v1/reports/single-login?format=html`` alike:
one template, one set of texts, the pages' security headers (no inline styles, so no CSP exception).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse

from idops.auth.scope import Caller
from idops.web.render import outside_request, render, web, with_security_headers
from idops.web.texts import sso_mode_label, text


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
    )
    return with_security_headers(response)
