"""The emulator as a raw ASGI app: auth, faults, request log, ``$batch`` and admin endpoints.

Raw ASGI (not a framework router) because Graph's quirks need control a router hides: ``//`` in
paths, ``$`` segments, and dropping a connection mid-response. Resource logic is in ``handlers``.

Auth: ``Authorization: Bearer emu.<tenant_id>`` names the tenant (no signature: it is a fake).
Admin endpoints live under ``/_emulator/`` (no auth, loopback clients only).
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import re
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import msgspec

from idops.emulator.errors import GraphHTTPError
from idops.emulator.faults import Decision, Faults, LogEntry, RequestLog
from idops.emulator.handlers import Req, Resp, dispatch
from idops.emulator.state import EmulatorState, Tenant
from idops.kit.clock import Clock, SystemClock

log = logging.getLogger("idops.emulator")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

JSON_CT = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"
_LOOPBACK = {"127.0.0.1", "::1", "localhost", "testclient"}


class DroppedConnection(Exception):
    """Raised after a partial response so the server closes the socket (a simulated network drop)."""


def _ts(now: datetime) -> str:
    return now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _retry_after(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:g}"


def error_body(err: GraphHTTPError, now: datetime, request_id: str, client_request_id: str) -> dict[str, Any]:
    inner: dict[str, Any] = {
        "date": _ts(now),
        "request-id": request_id,
        "client-request-id": client_request_id,
    }
    if err.status == 429:
        inner.update({"code": "429", "status": "429", "message": "Please retry after"})
    e: dict[str, Any] = {"code": err.code, "message": err.message, "innerError": inner}
    if err.details:
        e["details"] = err.details
    return {"error": e}


def _throttle_error(d: Decision) -> GraphHTTPError:
    if d.status == 429:
        headers = {} if d.retry_after is None else {"Retry-After": _retry_after(d.retry_after)}
        return GraphHTTPError(429, "TooManyRequests", "Please retry again later.", headers=headers)
    if d.status == 503:
        return GraphHTTPError(503, "serviceNotAvailable", "The service is temporarily unavailable.")
    return GraphHTTPError(504, "UnknownError", "Gateway timeout.")


class EmulatorApp:
    """ASGI callable. ``state``, ``faults`` and ``log`` are shared with the test thread."""

    def __init__(
        self,
        state: EmulatorState,
        faults: Faults | None = None,
        clock: Clock | None = None,
        *,
        shuffle_batch: bool = True,
        seed: int = 0,
    ) -> None:
        self.state = state
        self.faults = faults or Faults(seed)
        self.clock: Clock = clock or SystemClock()
        self.log = RequestLog()
        self.shuffle_batch = shuffle_batch
        self._rng = random.Random(seed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                msg = await receive()
                if msg["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif msg["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        raw = b""
        while True:
            msg = await receive()
            raw += msg.get("body", b"")
            if not msg.get("more_body"):
                break
        path = re.sub(r"/{2,}", "/", scope["path"])
        if path.startswith("/_emulator/"):
            await self._admin(scope, path, raw, send)
            return
        await self._graph(scope, path, raw, send)

    # --- Graph requests -------------------------------------------------------------------
    async def _graph(self, scope: Scope, path: str, raw: bytes, send: Send) -> None:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        request_id = str(uuid.uuid4())
        client_request_id = headers.get("client-request-id") or str(uuid.uuid4())
        method = scope["method"].upper()
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True))
        now = self.clock.now()
        entry = LogEntry(
            time.time(),
            method,
            path,
            scope.get("query_string", b"").decode("latin-1"),
            0,
            None,
            retry_attempt=headers.get("retry-attempt"),
            priority=headers.get("x-ms-throttle-priority"),
            client_request_id=client_request_id,
        )
        extra: dict[str, str] = {}
        try:
            if not path.startswith("/v1.0/") and path != "/v1.0":
                raise GraphHTTPError(400, "BadRequest", "Invalid version.")
            sub = path[len("/v1.0") :] or "/"
            tenant = self._auth(headers)
            entry.tenant_id = tenant.tenant_id
            d = (
                self.faults.decide(method, sub, tenant.tenant_id)
                if sub != "/$batch"
                else self._outer_batch_decision(method, tenant.tenant_id)
            )
            if d.latency_s:
                await asyncio.sleep(d.latency_s)
            if d.drop:
                entry.status = 0
                self.log.record(entry)
                await self._drop(send)
                return
            if d.status is not None:
                entry.throttled = d.status == 429
                raise _throttle_error(d)
            body = self._json(raw, headers)
            base = f"http://{headers.get('host', '127.0.0.1')}/v1.0"
            if sub == "/$batch":
                if method != "POST":
                    raise GraphHTTPError(
                        405,
                        "Request_BadRequest",
                        "Specified HTTP method is not allowed for the request target.",
                    )
                resp = self._batch(body, tenant, base, now)
            else:
                resp = self._run(
                    Req(method, sub, query, headers, body, tenant, base, now, self.faults.replication_delay_s)
                )
            status, payload, extra = resp.status, resp.body, resp.headers
        except GraphHTTPError as err:
            status, payload, extra = (
                err.status,
                error_body(err, now, request_id, client_request_id),
                err.headers,
            )
        except Exception as exc:  # the emulator must answer like Graph, never with a bare traceback
            log.exception("emulator handler failed")
            crash = GraphHTTPError(500, "generalException", f"Emulator error: {exc!r}")
            status, payload = 500, error_body(crash, now, request_id, client_request_id)
        entry.status = status
        self.log.record(entry)
        await self._send(
            send, status, payload, {"request-id": request_id, "client-request-id": client_request_id, **extra}
        )

    def _auth(self, headers: dict[str, str]) -> Tenant:
        auth = headers.get("authorization", "")
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
        if not token:
            raise GraphHTTPError(401, "InvalidAuthenticationToken", "Access token is empty.")
        tid = token[4:] if token.startswith("emu.") else ""
        with self.state.lock:
            tenant = self.state.tenants.get(tid)
        if tenant is None:
            raise GraphHTTPError(
                401, "InvalidAuthenticationToken", "Access token validation failure. Invalid audience."
            )
        return tenant

    @staticmethod
    def _json(raw: bytes, headers: dict[str, str]) -> Any:
        if not raw.strip():
            return None
        try:
            return json.loads(raw)
        except ValueError as exc:
            raise GraphHTTPError(
                400,
                "BadRequest",
                "Unable to read JSON request payload. Please ensure "
                "Content-Type header is set and payload is of valid JSON format.",
            ) from exc

    def _run(self, req: Req) -> Resp:
        with self.state.lock:
            return dispatch(req)

    def _outer_batch_decision(self, method: str, tenant_id: str) -> Decision:
        """Faults aimed at ``/$batch`` itself; budgets are charged per item (20 items = 20 requests)."""
        saved = self.faults.budgets
        try:
            with self.faults._lock:
                self.faults.budgets = {}
            return self.faults.decide(method, "/$batch", tenant_id)
        finally:
            with self.faults._lock:
                self.faults.budgets = saved

    # --- $batch ---------------------------------------------------------------------------
    def _batch(self, body: Any, tenant: Tenant, base: str, now: datetime) -> Resp:
        reqs = body.get("requests") if isinstance(body, dict) else None
        if not isinstance(reqs, list) or not reqs:
            raise GraphHTTPError(400, "BadRequest", "Invalid batch payload format.")
        if len(reqs) > 20:
            raise GraphHTTPError(400, "BadRequest", "The number of batch requests exceeds the limit of 20.")
        ids: set[str] = set()
        for r in reqs:
            rid = str((r or {}).get("id", "")) if isinstance(r, dict) else ""
            if not rid:
                raise GraphHTTPError(400, "BadRequest", "Request Id is required.")
            if rid.lower() in ids:
                raise GraphHTTPError(400, "BadRequest", f"Request Id '{rid}' is duplicated in the batch.")
            ids.add(rid.lower())
            url = str(r.get("url", ""))
            if re.match(r"^(https?:)?//", url, re.I) or re.match(r"^/?(v1\.0|beta)/", url, re.I):
                raise GraphHTTPError(
                    400,
                    "BadRequest",
                    f"Invalid request URL '{url}': use a URL relative to the version, e.g. '/users'.",
                )
            for dep in r.get("dependsOn") or []:
                if str(dep).lower() not in ids:
                    raise GraphHTTPError(
                        400, "BadRequest", f"Request '{rid}' depends on unknown or later request '{dep}'."
                    )
        results: dict[str, dict[str, Any]] = {}
        for r in reqs:
            rid = str(r["id"])
            results[rid.lower()] = self._batch_item(r, tenant, base, now, results)
        out = list(results.values())
        if self.shuffle_batch:
            self._rng.shuffle(out)
        return Resp(200, {"responses": out})

    def _batch_item(
        self, r: dict[str, Any], tenant: Tenant, base: str, now: datetime, done: dict[str, dict[str, Any]]
    ) -> dict[str, Any]:
        rid = str(r["id"])
        method = str(r.get("method", "GET")).upper()
        parts = urlsplit(str(r.get("url", "")))
        sub = "/" + re.sub(r"/{2,}", "/", parts.path).lstrip("/")
        headers = {str(k).lower(): str(v) for k, v in (r.get("headers") or {}).items()}
        request_id = str(uuid.uuid4())
        entry = LogEntry(time.time(), method, "/v1.0" + sub, parts.query, 0, tenant.tenant_id, in_batch=True)
        status: int
        item_headers: dict[str, str] = {"Content-Type": "application/json"}
        body: Any
        try:
            failed = [d for d in r.get("dependsOn") or [] if done[str(d).lower()]["status"] >= 400]
            if failed:
                raise GraphHTTPError(424, "FailedDependency", f"Dependency {failed[0]} failed.")
            if r.get("body") is not None and "content-type" not in headers:
                raise GraphHTTPError(
                    400,
                    "BadRequest",
                    f"Write request id : {rid} does not contain Content-Type header or body.",
                )
            d = self.faults.decide(method, sub, tenant.tenant_id, in_batch=True)
            if d.status is not None:
                entry.throttled = d.status == 429
                raise _throttle_error(d)
            query = dict(parse_qsl(parts.query, keep_blank_values=True))
            resp = self._run(
                Req(
                    method,
                    sub,
                    query,
                    headers,
                    r.get("body"),
                    tenant,
                    base,
                    now,
                    self.faults.replication_delay_s,
                )
            )
            status, body = resp.status, resp.body
            item_headers.update(resp.headers)
            if body is None:
                item_headers.pop("Content-Type", None)
        except GraphHTTPError as err:
            status = err.status
            body = error_body(err, now, request_id, request_id)
            item_headers.update(err.headers)
        entry.status = status
        self.log.record(entry)
        out: dict[str, Any] = {"id": rid, "status": status, "headers": item_headers}
        if body is not None:
            out["body"] = body
        return out

    # --- plumbing -----------------------------------------------------------------------------
    @staticmethod
    async def _send(send: Send, status: int, payload: Any, headers: dict[str, str]) -> None:
        if payload is None:
            data, ct = b"", None
        elif isinstance(payload, str):
            data, ct = payload.encode(), "text/plain"
        else:
            data, ct = msgspec.json.encode(payload), JSON_CT  # UTF-8, compact; ~10× json.dumps per page
        hdrs = {k: v for k, v in headers.items() if k.lower() != "content-type"}
        if ct:
            hdrs["Content-Type"] = headers.get("Content-Type", ct)
        raw_headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in hdrs.items()]
        raw_headers.append((b"content-length", str(len(data)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": raw_headers})
        await send({"type": "http.response.body", "body": data})

    @staticmethod
    async def _drop(send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"4096")],
            }
        )
        await send({"type": "http.response.body", "body": b'{"value":[', "more_body": True})
        raise DroppedConnection("fault: connection dropped mid-response")

    # --- admin ------------------------------------------------------------------------------------
    async def _admin(self, scope: Scope, path: str, raw: bytes, send: Send) -> None:
        client = (scope.get("client") or ("127.0.0.1", 0))[0]
        method = scope["method"].upper()
        hdr = {"request-id": str(uuid.uuid4())}
        if client not in _LOOPBACK:
            await self._send(send, 403, {"error": "admin endpoints are loopback-only"}, hdr)
            return
        body = json.loads(raw) if raw.strip() else {}
        if path == "/_emulator/faults" and method == "GET":
            await self._send(send, 200, self.faults.to_json(), hdr)
        elif path == "/_emulator/faults" and method == "PUT":
            self.faults.load_json(body)
            await self._send(send, 200, self.faults.to_json(), hdr)
        elif path == "/_emulator/log" and method == "GET":
            await self._send(send, 200, {"entries": self.log.to_json()}, hdr)
        elif path == "/_emulator/log" and method == "DELETE":
            self.log.clear()
            await self._send(send, 204, None, hdr)
        elif path == "/_emulator/clock/advance" and method == "POST":
            advance = getattr(self.clock, "advance", None)
            if advance is None:
                await self._send(send, 409, {"error": "this clock cannot be advanced"}, hdr)
                return
            advance(timedelta(seconds=float(body.get("seconds", 0))))
            await self._send(send, 200, {"now": self.clock.now().isoformat()}, hdr)
        elif path == "/_emulator/state" and method == "GET":
            await self._send(send, 200, self.state.summary(), hdr)
        elif path.startswith("/_emulator/tenants/") and method == "PATCH":
            await self._patch_tenant(path.removeprefix("/_emulator/tenants/"), body, send, hdr)
        else:
            await self._send(send, 404, {"error": f"no admin endpoint {method} {path}"}, hdr)


    async def _patch_tenant(self, tenant_id: str, body: dict[str, Any], send: Send, hdr: dict[str, str]) -> None:
        """``PATCH /_emulator/tenants/{id}`` with ``premium`` (bool) and/or ``withdrawn_permissions`` (the
        application permissions the app lacks there, replacing the list): the onboarding check's faults."""
        if tenant_id not in self.state.tenants:
            await self._send(send, 404, {"error": f"no tenant {tenant_id}"}, hdr)
            return
        if "premium" in body:
            self.state.set_premium(tenant_id, bool(body["premium"]))
        if "withdrawn_permissions" in body:
            with self.state.lock:
                self.state.tenants[tenant_id].withdrawn = {str(p) for p in body["withdrawn_permissions"]}
        await self._send(send, 200, self.state.summary()[tenant_id], hdr)


def create_app(
    state: EmulatorState, faults: Faults | None = None, clock: Clock | None = None, **kw: Any
) -> EmulatorApp:
    """The ASGI app serving ``state`` as Microsoft Graph v1.0 under ``/v1.0``."""
    return EmulatorApp(state, faults, clock, **kw)
