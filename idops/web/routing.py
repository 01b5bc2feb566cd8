"""``PageRoute``: what every page shares — session, language, caller, CSRF, HTML errors, headers.

A route class rather than app middleware keeps all of it inside ``idops.web``: the API's routes,
bearer auth and problem+json errors are untouched. For each page request it

1. loads the signed session cookie and exposes it as ``request.session`` (Authlib needs that);
2. picks the language (``?lang=`` sets a cookie; else the cookie, else ``[web].default_language``);
3. resolves the signed-in ``Caller`` through ``resolve_scope``;
4. refuses any POST whose form lacks this session's CSRF token (403, nothing changes);
5. renders domain errors as HTML pages in the page's language, with the service's message;
6. adds security headers and writes the session cookie back.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

import structlog
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response

from idops.graph.errors import GraphError
from idops.kit.errors import DirectoryRefused, GraphUnavailableError, IdopsError, RateLimited
from idops.kit.i18n import SUPPORTED
from idops.web import session as sess
from idops.web.auth import NoAccess, SignInRequired, caller_of
from idops.web.render import WebRequest, render
from idops.web.texts import text

log = structlog.get_logger("idops.web")

LANG_COOKIE = "lang"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
Handler = Callable[[Request], Coroutine[Any, Any, Response]]


def _safe_next(path: str) -> str:
    """Only same-site relative paths may be a post-sign-in destination."""
    return path if path.startswith("/") and not path.startswith("//") and "\\" not in path else "/"


def page_language(request: Request, default: str) -> str:
    """``?lang=`` or the ``lang`` cookie; otherwise the configured default (Finnish). Unlike the
    API, pages ignore ``Accept-Language``: the region's pages are Finnish unless asked otherwise."""
    chosen = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE)
    return chosen if chosen in SUPPORTED else default


def error_page(request: Request, status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return render(request, "error.html", status=status, headers=headers, status_code=status, message=message)


class PageRoute(APIRoute):
    """The route class of every page (see the module docstring)."""

    def get_route_handler(self) -> Handler:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            c = request.app.state.container
            try:
                sess.session_secret(c)
                session = sess.load(c, request)
            except sess.SessionNotConfigured as exc:
                log.error("web_session_not_configured", hint=str(exc))
                return PlainTextResponse("idops pages: session secret not configured", status_code=500)
            before = sess.fingerprint(session)
            explicit = request.query_params.get("lang")
            lang = page_language(request, c.config.settings.web.default_language)
            request.scope["session"] = session
            w = WebRequest(container=c, session=session, lang=lang)
            request.state.web = w
            response = await self._respond(request, original, w)
            for name, value in self._headers(w).items():
                response.headers.setdefault(name, value)
            if explicit in SUPPORTED and request.cookies.get(LANG_COOKIE) != explicit:
                response.set_cookie(
                    LANG_COOKIE,
                    explicit,
                    max_age=365 * 86400,
                    path="/",
                    httponly=True,
                    samesite="lax",
                    secure=not sess.is_demo_auth(c),
                )
            if session or before != sess.fingerprint(session):
                sess.save(c, response, session)
            return response

        return handler

    @staticmethod
    def _headers(w: WebRequest) -> dict[str, str]:
        return {
            "Content-Security-Policy": CSP,
            "X-Content-Type-Options": "nosniff",
            "X-Frame-Options": "DENY",
            "Referrer-Policy": "same-origin",
            "Cache-Control": "private, no-cache",
            **w.extra_headers,
        }

    @staticmethod
    async def _respond(request: Request, original: Handler, w: WebRequest) -> Response:
        lang = w.lang
        try:
            try:
                w.caller = caller_of(w.container, w.session)
            except NoAccess:
                w.caller = None
                w.session.pop("user", None)
                return error_page(request, 403, text(lang, "no_access"))
            if request.method == "POST":
                form = await request.form()
                if not sess.csrf_ok(w.session, form.get("csrf")):
                    log.info("web_csrf_refused", path=request.url.path)
                    return error_page(request, 403, text(lang, "error_csrf"))
            return await original(request)
        except SignInRequired:
            target = _safe_next(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
            w.session["next"] = target
            return RedirectResponse("/sign-in", status_code=303)
        except NoAccess:
            return error_page(request, 403, text(lang, "no_access"))
        except IdopsError as exc:
            headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, RateLimited) else None
            message = exc.detail.in_language(lang) if exc.detail else exc.title.in_language(lang)
            if exc.status == 404:
                message = text(lang, "error_404")
            return error_page(request, exc.status, message, headers)
        except GraphError as exc:
            log.warning("graph_error_reached_pages", error=type(exc).__name__, status=exc.status)
            err: IdopsError = GraphUnavailableError() if exc.retryable else DirectoryRefused()
            return error_page(request, err.status, err.title.in_language(lang))
        except StarletteHTTPException as exc:
            key = {404: "error_404", 403: "error_403"}.get(exc.status_code, "error_500")
            return error_page(request, exc.status_code, text(lang, key))
        except RequestValidationError:
            return error_page(request, 404, text(lang, "error_404"))
        except sess.SessionNotConfigured as exc:
            log.error("web_session_not_configured", hint=str(exc))
            return PlainTextResponse("idops pages: session secret not configured", status_code=500)
        except Exception as exc:
            log.exception("web_unhandled_error", error_type=type(exc).__name__)
            return error_page(request, 500, text(lang, "error_500"))
