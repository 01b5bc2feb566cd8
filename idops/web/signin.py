"""Sign-in and sign-out pages: Entra ID through OIDC, or the demo's "sign in as" list; sign-out ends
the session on the server, "sign out everywhere" every session of the user."""

from __future__ import annotations

from typing import Any

import structlog
from authlib.common.errors import AuthlibBaseError
from fastapi import APIRouter, Request
from joserfc.errors import JoseError
from starlette.responses import RedirectResponse, Response

from idops.auth.scope import NoScope, resolve_scope
from idops.auth.tokens import InvalidToken
from idops.web import auth
from idops.web import session as sess
from idops.web.errors import error_page
from idops.web.guards import UserDep, WebContainer
from idops.web.render import render, web
from idops.web.routing import PageRoute
from idops.web.texts import text

log = structlog.get_logger("idops.web")
router = APIRouter(route_class=PageRoute, include_in_schema=False)


async def _start_session(request: Request, claims: dict[str, Any]) -> Response:
    """A new session for the signed-in user, recorded on the server with the token's claims (a new id
    and CSRF token: nothing survives from before)."""
    w = web(request)
    config = w.container.config
    try:
        resolve_scope(claims, config.region, region_admin_tenants=config.region_admin_tenants())
    except NoScope:
        log.info("web_sign_in_without_scope", oid=claims.get("oid"), tid=claims.get("tid"))
        return error_page(request, 403, text(w.lang, "no_access"))
    target = w.session.get("next") if isinstance(w.session.get("next"), str) else "/"
    assert w.page_session is not None  # a page route's request
    await sess.sign_in(w.container, w.page_session, claims)
    log.info("web_signed_in", oid=claims.get("oid"), tid=claims.get("tid"), roles=claims.get("roles"))
    return RedirectResponse(target or "/", status_code=303)


@router.get("/sign-in", name="sign_in")
async def sign_in_page(request: Request, c: WebContainer) -> Response:
    if sess.is_demo_auth(c):
        municipalities, region = auth.demo_directory(c)
        return render(request, "sign_in_demo.html", municipalities=municipalities, region=region,
                      signed_out=request.query_params.get("signed_out") or "")
    web_settings = c.config.settings.web
    configured = bool(web_settings.oidc_authority and web_settings.oidc_client_id)
    return render(
        request, "sign_in.html", configured=configured, signed_out=request.query_params.get("signed_out") or ""
    )


@router.post("/sign-in/demo")
async def demo_sign_in(request: Request, c: WebContainer) -> Response:
    if not sess.is_demo_auth(c):
        return error_page(request, 404, text(web(request).lang, "error_404"))
    choice = auth.demo_choice(c, str((await request.form()).get("who", "")))
    if choice is None:
        return error_page(request, 404, text(web(request).lang, "error_404"))
    try:
        claims = await auth.demo_sign_in(c, request.app.state.token_validator, choice)
    except InvalidToken as exc:  # pragma: no cover - the demo signer and validator share a key
        log.error("web_demo_token_rejected", reason=str(exc))
        return error_page(request, 500, text(web(request).lang, "error_500"))
    return await _start_session(request, claims)


@router.get("/sign-in/entra", name="sign_in_entra")
async def entra_start(request: Request, c: WebContainer) -> Response:
    if sess.is_demo_auth(c):
        return RedirectResponse("/sign-in", status_code=303)
    try:
        response: Response = await auth.oidc_redirect(c, request, auth.callback_url(c, request))
    except auth.OidcNotConfigured:
        return error_page(request, 404, text(web(request).lang, "sign_in_not_configured"))
    return response


@router.get("/sign-in/callback", name="sign_in_callback")
async def entra_callback(request: Request, c: WebContainer) -> Response:
    if sess.is_demo_auth(c):
        return RedirectResponse("/sign-in", status_code=303)
    try:
        claims = await auth.oidc_finish(c, request)
    except (AuthlibBaseError, JoseError, auth.OidcNotConfigured, ValueError) as exc:
        log.info("web_sign_in_failed", error=type(exc).__name__)
        return error_page(request, 400, text(web(request).lang, "sign_in_failed"))
    return await _start_session(request, claims)


@router.post("/sign-out", name="sign_out")
async def sign_out(request: Request, c: WebContainer) -> Response:
    """End this session on the server (the Entra session itself is the user's and the browser's)."""
    page = web(request).page_session
    if page is not None:
        await sess.sign_out(c, page)
    return RedirectResponse("/sign-in?signed_out=1", status_code=303)


@router.post("/sign-out/everywhere", name="sign_out_everywhere")
async def sign_out_everywhere(request: Request, caller: UserDep, c: WebContainer) -> Response:
    """End every session of the signed-in user, in every browser (a lost phone, a shared computer)."""
    page = web(request).page_session
    ended = await sess.sign_out_everywhere(c, page) if page is not None else 0
    log.info("web_signed_out_everywhere", oid=caller.oid, tid=caller.tid, ended=ended)
    return RedirectResponse("/sign-in?signed_out=all", status_code=303)
