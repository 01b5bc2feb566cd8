"""HTML error pages in the site's layout: for pages, and for browsers that reach an API address or an
unknown one (``idops.api.problems.respond`` decides which answer a request gets).

Every error page names the request id (``X-Request-ID``), so support can find the log lines; what went
wrong inside (Graph's errors, exception types) stays in the log.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from idops.kit.errors import Message
from idops.web.render import outside_request, page_context, render, with_security_headers
from idops.web.texts import has, text

__all__ = ["error_page", "page_context", "problem_page"]

# Statuses whose own words are better than any service's detail (a 404 names nothing it hides).
_OWN_WORDS = {401: "error_401", 404: "error_404", 500: "error_500"}


def error_page(
    request: Request, status: int, message: str, headers: dict[str, str] | None = None, *, heading: str | None = None
) -> Response:
    """``error.html`` with ``message`` under ``heading`` (by default the status's own, e.g. "Sivua ei
    löytynyt"), the request id, a way back and the security headers."""
    w = getattr(request.state, "web", None) or outside_request(request)
    if heading is None:
        key = f"error_{status}_title"
        heading = text(w.lang, key if has(key) else "error_500_title")
    response = render(
        request,
        "error.html",
        status=status,
        headers=headers,
        status_code=status,
        heading=heading,
        message=message,
        request_id=getattr(request.state, "request_id", None),
        sign_in=status == 401,
    )
    return with_security_headers(response)


def problem_page(
    request: Request, status: int, title: Message, detail: Message | None, headers: dict[str, str] | None
) -> Response:
    """A problem (see ``idops.api.problems``) as a page in the reader's language."""
    w = getattr(request.state, "web", None) or outside_request(request)
    lang = w.lang
    heading = None if has(f"error_{status}_title") else title.in_language(lang)
    if status in _OWN_WORDS:
        message = text(lang, _OWN_WORDS[status])
    elif detail is not None:
        message = detail.in_language(lang)
    else:
        message = title.in_language(lang)
    if headers and "WWW-Authenticate" in headers:  # a browser is not a bearer client
        headers = {k: v for k, v in headers.items() if k != "WWW-Authenticate"}
    return error_page(request, status, message, headers, heading=heading)
