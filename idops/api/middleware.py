"""ASGI middleware: request ids, body size limit, access metrics. Pure ASGI (no BaseHTTPMiddleware)."""

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


class RequestContext:
    """Takes a sane incoming ``X-Request-ID`` or makes one; binds it to logs; echoes it back.
    Refuses bodies larger than ``max_body`` with 413 (problem+json) before the app reads them."""

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
            await self._too_large(scope, send, rid)
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
            finally:
                route = scope.get("route")
                path = getattr(route, "path", "unmatched")
                self.metrics.http_requests.labels(scope["method"], path, str(status_holder["status"])).inc()
                self.metrics.http_latency.labels(path).observe(time.perf_counter() - started)

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
