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


PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details; `errors` lists the invalid fields of a 422.",
    "type": "object",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": ["string", "null"]},
        "instance": {"type": ["string", "null"]},
        "request_id": {"type": ["string", "null"]},
        "errors": {"type": "array", "items": {"type": "object"}},
    },
    "additionalProperties": True,
}
_RETRY_AFTER = {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer", "minimum": 0}}}
_DESCRIPTIONS = {400: "Bad request", 401: "Missing or invalid bearer token", 403: "No access",
                 404: "Not found, or outside your scope", 413: "Request body too large", 422: "Invalid data"}


def document(app: FastAPI) -> None:
    """Declare in the OpenAPI document what ``install`` answers: every error of ``/v1`` is problem+json,
    every ``/v1`` operation may answer 401/403 (bearer token) and 422 (parameters), operations with query
    parameters 400, with a path parameter or a school filter 404, with a body 413; 429 and 503 carry
    ``Retry-After``."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = build()
        schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
        for path, operations in schema.get("paths", {}).items():
            if not path.startswith("/v1/"):
                continue
            for op in operations.values():
                responses = op.setdefault("responses", {})
                codes = {401, 403, 422}
                query = {p["name"] for p in op.get("parameters", []) if p.get("in") == "query"}
                if query:
                    codes.add(400)  # e.g. a forged paging cursor, a range that ends before it starts
                if "{" in path or query & {"school", "municipality"}:
                    codes.add(404)  # a school outside the caller's scope is answered like a missing one
                if "requestBody" in op:
                    codes.add(413)
                for code in codes:
                    responses.setdefault(str(code), {})
                for code, response in responses.items():
                    if not code.isdigit() or int(code) < 400:
                        continue
                    response["description"] = response.get("description") or _DESCRIPTIONS.get(int(code), "Error")
                    if response["description"] in ("Additional Response", "Validation Error"):
                        response["description"] = _DESCRIPTIONS.get(int(code), "Error")
                    response["content"] = {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}}
                    if code in ("429", "503"):
                        response["headers"] = _RETRY_AFTER
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
