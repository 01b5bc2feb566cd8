"""``PageRoute``: what every page shares — session, language, caller, CSRF, HTML errors, headers.

A route class rather than app middleware keeps all of it inside ``idops.web``: the API's routes and
bearer auth are untouched. For each page request it

1. loads the session the signed cookie names (``idops.web.session``; held by the server) and exposes
   its working state as ``request.session`` (Authlib needs that);
2. picks the language (``?lang=`` sets a cookie; else the cookie, else ``[web].default_language``);
3. resolves the signed-in ``Caller`` through ``resolve_scope``;
4. refuses any POST whose form lacks this session's CSRF token (403, nothing changes);
5. turns every error into an HTML page through the app's one error mapping (its exception handlers,
   ``idops.api.problems``);
6. adds security headers, stores the session's changes and sets its cookie.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

import structlog
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response

from idops.kit.errors import NotFound
from idops.kit.i18n import SUPPORTED
from idops.web import session as sess
from idops.web.auth import NoAccess, SignInRequired, caller_of
from idops.web.errors import error_page
from idops.web.render import LANG_COOKIE, WebRequest, page_language, security_headers
from idops.web.texts import text

log = structlog.get_logger("idops.web")

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


def _safe_next(path: str) -> str:
    """Only same-site relative paths may be a post-sign-in destination."""
    return path if path.startswith("/") and not path.startswith("//") and "\\" not in path else "/"


class PageRoute(APIRoute):
    """The route class of every page (see the module docstring)."""

    def get_route_handler(self) -> Handler:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            c = request.app.state.container
            try:
                sess.session_secret(c)
                page = await sess.load(c, request)
            except sess.SessionNotConfigured as exc:
                log.error("web_session_not_configured", hint=str(exc))
                return PlainTextResponse("idops pages: session secret not configured", status_code=500)
            explicit = request.query_params.get("lang")
            lang = page_language(request, c.config.settings.web.default_language)
            request.scope["session"] = page.data
            w = WebRequest(container=c, session=page.data, lang=lang, page_session=page)
            request.state.web = w
            response = await self._respond(request, original, w)
            for name, value in {**security_headers(), **w.extra_headers}.items():
                if name in w.extra_headers or name not in response.headers:
                    response.headers[name] = value
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
            await sess.save(c, response, page)
            return response

        return handler

    @staticmethod
    async def _respond(request: Request, original: Handler, w: WebRequest) -> Response:
        lang = w.lang
        try:
            try:
                w.caller = caller_of(w.container, w.page_session.user if w.page_session else None)
                if w.caller is not None:
                    request.state.caller_role = w.caller.scope.role  # for the access log
            except NoAccess as exc:
                log.info("web_session_refused", reason=str(exc))
                w.caller = None
                if w.page_session is not None:
                    await sess.sign_out(w.container, w.page_session)
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
        except RequestValidationError:  # a malformed page address is one that does not exist
            return await _app_error_response(request, NotFound())
        except sess.SessionNotConfigured as exc:
            log.error("web_session_not_configured", hint=str(exc))
            return PlainTextResponse("idops pages: session secret not configured", status_code=500)
        except Exception as exc:
            return await _app_error_response(request, exc)


async def _app_error_response(request: Request, exc: Exception) -> Response:
    """The app's own answer to ``exc`` — its exception handlers (``idops.api.problems``: one mapping,
    HTML for pages) — returned here so the page's headers and session cookie still follow."""
    handlers = request.app.exception_handlers
    for kind in type(exc).__mro__:
        handler = handlers.get(kind)
        if handler is not None:
            response: Response = await handler(request, exc)
            return response
    raise exc
