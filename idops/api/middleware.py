"""ASGI middleware: request ids, body size limit, access log and metrics. Pure ASGI (no BaseHTTPMiddleware).

``RequestContext`` wraps the whole app, outside Starlette's own error middleware (``idops.app``), so
every log line written while a request is handled — the unexpected error's traceback included —
carries its ``request_id``, and so does every response, an error's too.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
import uuid
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from idops.kit.metrics import Metrics

_RID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
log = structlog.get_logger("idops.http")
access_log = structlog.get_logger("idops.access")


class RequestContext:
    """Takes a sane incoming ``X-Request-ID`` or makes one; binds it to logs; echoes it back.
    Refuses bodies larger than ``max_body`` with 413 (problem+json) before the app reads them.

    Writes one access-log line per request (``http_request``: method, route template, status,
    duration, caller role, and the bound ``request_id``) — never a header, a query string or a body,
    so no token or one-time code can reach the log."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics, max_body: int) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        incoming = headers.get("x-request-id", "")
        rid = incoming if _RID.match(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = rid
        started = time.perf_counter()
        status_holder: dict[str, int] = {"status": 500}

        declared = headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > self.max_body:
            with structlog.contextvars.bound_contextvars(request_id=rid):
                await self._too_large(scope, send, rid)
                self._done(scope, 413, started)
            return

        received = 0
        too_large = False

        async def limited_receive() -> Message:
            nonlocal received, too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    too_large = True
                    raise _BodyTooLarge
            return message

        async def send_with_id(message: Message) -> None:
            if too_large:
                # FastAPI turns an exception while reading the body into its own 400; a streamed body cut
                # off at the limit is answered 413 below instead.
                return
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                status_holder["started"] = 1
                headers = list(message.get("headers", []))
                if not any(name.lower() == b"x-request-id" for name, _ in headers):  # an error response has it
                    headers.append((b"x-request-id", rid.encode()))
                message["headers"] = headers
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=rid):
            try:
                with contextlib.suppress(_BodyTooLarge):
                    await self.app(scope, limited_receive, send_with_id)
                if too_large:
                    await self._too_large(scope, send, rid)
                    status_holder["status"] = 413
            except Exception:
                # Starlette's error middleware has answered 500 and logged the traceback (with this
                # request id) before re-raising "so that servers can log it": the server's own line
                # would lack the request id, so it stops here once the answer is out.
                if not status_holder.get("started"):
                    raise
            finally:
                self._done(scope, status_holder["status"], started)

    def _done(self, scope: Scope, status: int, started: float) -> None:
        """Count the request and write its access-log line (inside the request's log context)."""
        seconds = time.perf_counter() - started
        route = getattr(scope.get("route"), "path", "unmatched")
        self.metrics.http_requests.labels(scope["method"], route, str(status)).inc()
        self.metrics.http_latency.labels(route).observe(seconds)
        state = scope.get("state") or {}
        access_log.info(
            "http_request",
            method=scope["method"],
            route=route,
            status=status,
            duration_ms=round(seconds * 1000, 1),
            caller_role=state.get("caller_role") or "anonymous",
        )

    async def _too_large(self, scope: Scope, send: Send, rid: str) -> None:
        body = json.dumps(
            {
                "type": "https://idops.invalid/problems/http-413",
                "title": "Pyyntö on liian suuri / Request too large",
                "status": 413,
                "instance": scope.get("path"),
                "request_id": rid,
            }
        ).encode()
        headers: list[Any] = [
            (b"content-type", b"application/problem+json"),
            (b"content-length", str(len(body)).encode()),
            (b"x-request-id", rid.encode()),
        ]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})


class _BodyTooLarge(Exception):
    pass
