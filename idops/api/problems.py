"""One mapping from errors to responses: RFC 9457 ``application/problem+json`` for API clients, an HTML
error page in the site's layout for browsers (``Accept`` prefers ``text/html``, or the request is a page's).

``problem_of`` turns any exception into a ``Problem``; ``respond`` renders it either way. ``install``
makes ``respond`` the app's exception handler for everything; the pages' route class
(``idops.web.routing``) hands its errors to those same handlers, so an error reads the same wherever
it is raised.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from idops.api import validation
from idops.api.validation import field_error
from idops.graph.errors import GraphError
from idops.kit.errors import (
    DirectoryRefused,
    GraphUnavailableError,
    IdopsError,
    Message,
    RateLimited,
    problem_body,
)
from idops.kit.formats import prefers_html
from idops.kit.i18n import language_of
from idops.web.errors import page_context, problem_page

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


@dataclass
class Problem:
    """An error as the client is told it (before choosing JSON or HTML)."""

    status: int
    type_slug: str
    title: Message
    detail: Message | None = None
    headers: dict[str, str] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    errors: list[dict[str, Any]] | None = None  # per field, already in the caller's language


def problem_of(request: Request, exc: Exception, lang: str) -> Problem:
    """The one mapping from an exception to what the client is told. Logs what it must (unexpected
    errors with their traceback; Graph errors that reached a caller)."""
    if isinstance(exc, GraphError):
        log.warning("graph_error_reached_caller", error=type(exc).__name__, status=exc.status, code=exc.code,
                    graph_request_id=exc.request_id)
        exc = GraphUnavailableError() if exc.retryable else DirectoryRefused()
    if isinstance(exc, IdopsError):
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, RateLimited) else None
        if exc.status == 401:
            headers = {**(headers or {}), "WWW-Authenticate": 'Bearer error="invalid_token"'}
        errors = [field_error(["body", p.field], p.message, exc.type_slug, lang) for p in exc.problems] or None
        return Problem(exc.status, exc.type_slug, exc.title, exc.detail, headers, dict(exc.extra), errors)
    if isinstance(exc, RequestValidationError):
        found = exc.errors()
        return Problem(422, "validation", _HTTP_TITLES[422], validation.detail(found),
                       errors=validation.field_errors(found, lang))
    if isinstance(exc, StarletteHTTPException):
        title = _HTTP_TITLES.get(exc.status_code, Message("Virhe", "Error"))
        text = exc.detail if isinstance(exc.detail, str) and exc.detail not in ("Not Found",) else None
        detail = Message(text, text) if text else None
        return Problem(exc.status_code, f"http-{exc.status_code}", title, detail, getattr(exc, "headers", None))
    log.exception("unhandled_error", error_type=type(exc).__name__, exc_info=exc)
    return Problem(500, "internal", IdopsError.title)


def wants_html(request: Request) -> bool:
    """A page's request (its route class set ``state.web``) or a browser's navigation."""
    return getattr(request.state, "web", None) is not None or prefers_html(request.headers.get("accept", ""))


def respond(request: Request, exc: Exception) -> Response:
    """``exc`` as an HTML error page for browsers and pages, as problem+json for everyone else."""
    html = wants_html(request)
    web = getattr(request.state, "web", None)
    lang = web.lang if web is not None else language_of(request)
    problem = problem_of(request, exc, lang)
    if html:
        response = problem_page(request, problem.status, problem.title, problem.detail, problem.headers)
    else:
        response = problem_response(
            request, problem.status, problem.type_slug, problem.title.in_language(lang),
            problem.detail.in_language(lang) if problem.detail else None, headers=problem.headers,
            **({"errors": problem.errors} if problem.errors else {}), **problem.extra,
        )
    # Unexpected errors are answered from Starlette's outermost middleware, outside the one that echoes
    # the request id: every error response carries it itself, so support can match it to the log line.
    rid = getattr(request.state, "request_id", None)
    if rid:
        response.headers["X-Request-ID"] = rid
    return response


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
    """Every error the app raises goes through ``respond`` (the pages' own route class calls it too)."""

    async def handle(request: Request, exc: Exception) -> Response:
        if wants_html(request):
            await page_context(request)  # a signed-in browser's error page shows their menu
        return respond(request, exc)

    for kind in (IdopsError, GraphError, RequestValidationError, StarletteHTTPException, Exception):
        app.add_exception_handler(kind, handle)


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
