"""One mapping from errors to RFC 9457 ``application/problem+json`` — validation errors included."""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from idops.graph.errors import GraphError
from idops.kit.errors import (
    DirectoryRefused,
    GraphUnavailableError,
    IdopsError,
    Message,
    RateLimited,
    problem_body,
)
from idops.kit.i18n import language_of

log = structlog.get_logger("idops.api")
PROBLEM = "application/problem+json"

_HTTP_TITLES = {
    400: Message("Virheellinen pyyntö", "Bad request"),
    401: Message("Tunnistautuminen vaaditaan", "Authentication required"),
    403: Message("Ei käyttöoikeutta", "Forbidden"),
    404: Message("Ei löytynyt", "Not found"),
    405: Message("Menetelmä ei ole sallittu", "Method not allowed"),
    406: Message("Pyydettyä muotoa ei ole saatavilla", "Not acceptable"),
    413: Message("Pyyntö on liian suuri", "Request too large"),
    415: Message("Sisältötyyppiä ei tueta", "Unsupported media type"),
    422: Message("Virheellisiä tietoja", "Invalid data"),
    429: Message("Liian monta pyyntöä", "Too many requests"),
}


def problem_response(
    request: Request, status: int, type_slug: str, title: str, detail: str | None = None,
    headers: dict[str, str] | None = None, **extra: Any,
) -> JSONResponse:
    body = problem_body(
        status=status, type_slug=type_slug, title=title, detail=detail, instance=request.url.path,
        request_id=getattr(request.state, "request_id", None), **extra,
    )
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def install(app: FastAPI) -> None:
    @app.exception_handler(IdopsError)
    async def _idops(request: Request, exc: IdopsError) -> JSONResponse:
        lang = language_of(request)
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, RateLimited) else None
        if exc.status == 401:
            headers = {**(headers or {}), "WWW-Authenticate": 'Bearer error="invalid_token"'}
        return problem_response(
            request, exc.status, exc.type_slug, exc.title.in_language(lang),
            exc.detail.in_language(lang) if exc.detail else None, headers=headers, **exc.extra,
        )

    @app.exception_handler(GraphError)
    async def _graph(request: Request, exc: GraphError) -> JSONResponse:
        log.warning("graph_error_reached_api", error=type(exc).__name__, status=exc.status, code=exc.code,
                    graph_request_id=exc.request_id)
        err: IdopsError = GraphUnavailableError() if exc.retryable else DirectoryRefused()
        return await _idops(request, err)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        lang = language_of(request)
        errors = [
            {"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
            for e in exc.errors()
        ]
        detail = Message("Pyynnön tiedoissa on virheitä.", "The request has invalid fields.")
        return problem_response(
            request, 422, "validation", _HTTP_TITLES[422].in_language(lang), detail.in_language(lang), errors=errors
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        lang = language_of(request)
        title = _HTTP_TITLES.get(exc.status_code, Message("Virhe", "Error")).in_language(lang)
        detail = exc.detail if isinstance(exc.detail, str) and exc.detail not in ("Not Found",) else None
        return problem_response(request, exc.status_code, f"http-{exc.status_code}", title, detail,
                                headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled_error", error_type=type(exc).__name__)
        lang = language_of(request)
        return problem_response(request, 500, "internal", IdopsError.title.in_language(lang))
