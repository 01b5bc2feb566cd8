"""One Graph HTTP exchange with pacing, retries, replication waits, error mapping and logging.

Every request goes through the msgraph request adapter (auth provider + kiota middleware) with a
``NativeResponseHandler``, so idops gets the raw status, headers and bytes and reads JSON itself:
no typed model is deserialised (that costs ~1.3 s on first use) and error bodies are read the same
way for plain calls and ``$batch`` items.

Logging: events ``graph_request_retry`` / ``graph_request_failed`` carry method, path (no query
string), status, Graph code, ``request-id`` and ``client-request-id``. Request and response bodies
are never logged: they may hold passwords and Temporary Access Pass codes.

Metrics: every HTTP attempt is counted by tenant, class (``request_class``), method and status, and
every 429 with its ``Retry-After`` (``GraphMetrics``; ``idops.kit.metrics.Metrics`` is one). A ``$batch``
is one request; 429s of its items are counted as throttles (``idops.graph.batch``).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx
import structlog
from kiota_abstractions.method import Method
from kiota_abstractions.native_response_handler import NativeResponseHandler
from kiota_abstractions.request_adapter import RequestAdapter
from kiota_abstractions.request_information import RequestInformation
from kiota_http.middleware.options import ResponseHandlerOption

from idops.graph.errormap import ErrorInfo, error_info, header, to_exception
from idops.graph.errors import GraphError, GraphThrottled, GraphUnavailable
from idops.graph.fence import guard
from idops.graph.pacer import Pacer
from idops.graph.retry import RetryPolicy, graph_priority, parse_retry_after

log = structlog.get_logger("idops.graph")

# Transport failures worth retrying. ConnectError/ConnectTimeout mean the request never reached
# the server, so they are safe even for requests that must not be repeated.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
_TRANSIENT = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)


class GraphMetrics(Protocol):
    """Where the transport reports its requests (the process's Prometheus metrics)."""

    def graph_request(self, tenant: str, cls: str, method: str, status: int | None) -> None: ...

    def graph_throttle(self, tenant: str, cls: str, retry_after: float | None) -> None: ...


class _NoMetrics:
    def graph_request(self, tenant: str, cls: str, method: str, status: int | None) -> None:
        return None

    def graph_throttle(self, tenant: str, cls: str, retry_after: float | None) -> None:
        return None


def request_class(method: str, path: str) -> str:
    """The metrics class of a request: ``reports`` (identity & access reports: sign-ins, registration
    details), ``authMethods`` (a user's authentication methods: the same budget), ``write`` (any
    non-GET, ``$batch`` included) or ``other``."""
    p = path.lower()
    if "/reports/" in p or "/auditlogs/" in p:
        return "reports"
    if method == "GET" and p.endswith("/authentication/methods"):
        return "authMethods"
    return "other" if method == "GET" else "write"


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    headers: Mapping[str, str]
    content: bytes
    attempts: int  # HTTP attempts made, 1 = no retry

    def json(self) -> Any:
        return json.loads(self.content) if self.content else None

    def header(self, name: str) -> str | None:
        return header(self.headers, name.lower())


class Transport:
    """Sends requests for one tenant. ``base_url`` has no trailing slash."""

    def __init__(
        self,
        *,
        tenant_id: str,
        adapter: RequestAdapter,
        base_url: str,
        pacer: Pacer,
        policy: RetryPolicy,
        replication_wait_seconds: float,
        metrics: GraphMetrics | None = None,
    ) -> None:
        self.tenant_id = tenant_id
        self.metrics: GraphMetrics = metrics or _NoMetrics()
        self.adapter = adapter
        self.base_url = base_url.rstrip("/")
        origin = urlsplit(self.base_url)
        self._origin = (origin.scheme, origin.netloc)
        self.pacer = pacer
        self.policy = policy
        self.replication_wait_seconds = replication_wait_seconds
        self._handler = ResponseHandlerOption(NativeResponseHandler())

    def absolute(self, url: str) -> str:
        """A relative path (``/users``) joined to the base URL, or an absolute URL of the same origin.

        Refusing other origins keeps the bearer token from following a crafted ``@odata.nextLink``.
        """
        if url.startswith("/") and not url.startswith("//"):
            return self.base_url + url
        parts = urlsplit(url)
        if (parts.scheme, parts.netloc) != self._origin:
            raise GraphError(f"refusing to follow a URL outside {self._origin[1]}", status=None)
        return url

    async def _once(
        self, method: str, url: str, body: bytes | None, headers: Mapping[str, str]
    ) -> httpx.Response:
        ri = RequestInformation(Method(method))
        ri.url = url
        for name, value in headers.items():
            ri.headers.try_add(name, value)
        if body is not None:
            ri.headers.try_add("Content-Type", "application/json")
            ri.content = body
        ri.add_request_options([self._handler])
        response: httpx.Response = await self.adapter.send_primitive_async(ri, "bytes", None)  # type: ignore[assignment]
        return response

    async def send(
        self,
        method: str,
        url: str,
        *,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
        throttle: str = "reads",
        cost: int = 1,
        replication: bool = False,
        repeatable: bool = True,
        check: bool = True,
    ) -> Response:
        """Send one request; retry 429/503/504/timeouts/resets within the policy.

        ``replication``: also retry 404 Request_ResourceNotFound and the "source resource object …"
        400 for up to ``replication_wait_seconds`` (a just-created object not yet everywhere).
        ``repeatable=False``: only retry when Graph certainly did not act (429, connect failures).
        ``check``: raise the mapped ``GraphError`` for a final non-2xx; otherwise return it.
        Exhausted 429 → ``GraphThrottled``; exhausted 5xx/transport errors → ``GraphUnavailable``.
        """
        full = self.absolute(url)
        path = urlsplit(full).path
        cls = request_class(method, path)
        body = None if json_body is None else json.dumps(json_body, separators=(",", ":")).encode()
        hdrs = {"client-request-id": str(uuid.uuid4()), **(headers or {})}
        priority = graph_priority.get()
        if priority != "normal":
            hdrs["x-ms-throttle-priority"] = priority
        attempt = 0  # retries made so far
        replication_started: float | None = None
        replication_try = 0
        while True:
            # no open transaction, and the job unit's lease fence still open — for every page of a
            # listing and every retry, not just the first request
            guard(f"Graph {method} {path}")
            if attempt:
                hdrs["Retry-Attempt"] = str(attempt)
            try:
                async with self.pacer.slot(throttle, cost):
                    guard(f"Graph {method} {path}")  # the wait for the budget may have outlasted a lease
                    raw = await self._once(method, full, body, hdrs)
            except (*_NOT_SENT, *_TRANSIENT) as exc:
                self.metrics.graph_request(self.tenant_id, cls, method, None)
                if not repeatable and not isinstance(exc, _NOT_SENT):
                    self._log_failure(method, path, None, None, hdrs, attempt, error=type(exc).__name__)
                    raise GraphUnavailable(
                        f"{type(exc).__name__} on a request that must not be repeated",
                        client_request_id=hdrs["client-request-id"],
                    ) from exc
                delay = self.policy.delay(attempt, None)
                if not self.policy.may_retry(attempt, delay):
                    self._log_failure(method, path, None, None, hdrs, attempt, error=type(exc).__name__)
                    raise GraphUnavailable(
                        f"{type(exc).__name__} after {attempt + 1} attempts",
                        client_request_id=hdrs["client-request-id"],
                    ) from exc
                log.info(
                    "graph_request_retry", tenant=self.tenant_id, method=method, path=path,
                    error=type(exc).__name__, attempt=attempt + 1, delay=round(delay, 3),
                )
                attempt += 1
                await self.pacer.sleep(delay)
                continue

            status = raw.status_code
            self.metrics.graph_request(self.tenant_id, cls, method, status)
            resp_headers = dict(raw.headers)
            response = Response(status, resp_headers, raw.content, attempt + 1)
            retry_after = parse_retry_after(response.header("retry-after"))
            if status == 429:
                # every request of the class waits, here and (shared budget) in the other processes
                await self.throttled(throttle, cls, retry_after)
            else:
                self.pacer.answered(throttle)
            if 200 <= status < 300:
                return response

            if status == 429 or (status in (503, 504) and repeatable):
                delay = self.policy.delay(attempt, retry_after, jitter=status == 429)
                if self.policy.may_retry(attempt, delay):
                    log.info(
                        "graph_request_retry", tenant=self.tenant_id, method=method, path=path,
                        status=status, attempt=attempt + 1, delay=round(delay, 3),
                        request_id=response.header("request-id"),
                    )
                    attempt += 1
                    await self.pacer.sleep(delay)
                    continue

            info = error_info(status, resp_headers, json_or_none(raw.content))
            if replication and info.is_replication_lag():
                now = self.pacer.clock()
                if replication_started is None:
                    replication_started = now
                waited = now - replication_started
                if waited < self.replication_wait_seconds:
                    delay = min(
                        self.policy.base_seconds * 0.5 * (2 ** min(replication_try, 10)),
                        2.0,
                        self.replication_wait_seconds - waited,
                    )
                    log.info(
                        "graph_replication_wait", tenant=self.tenant_id, method=method, path=path,
                        status=status, code=info.code, waited=round(waited, 3), delay=round(delay, 3),
                    )
                    replication_try += 1
                    await self.pacer.sleep(max(delay, 0.01))
                    continue
            if not check:
                return response
            raise self.failure(method, path, info, hdrs, attempt, retry_after)

    async def throttled(self, throttle: str, cls: str, retry_after: float | None, *, count: int = 1) -> None:
        """Graph answered 429 (a request, or ``count`` items of one ``$batch`` answer): hold the pacer's
        class — here and, with a shared budget, in the other processes — once, and count every 429."""
        await self.pacer.throttled(throttle, retry_after if retry_after is not None else 0.0)
        for _ in range(count):
            self.metrics.graph_throttle(self.tenant_id, cls, retry_after)

    def failure(
        self,
        method: str,
        path: str,
        info: ErrorInfo,
        request_headers: Mapping[str, str],
        attempt: int,
        retry_after: float | None = None,
    ) -> GraphError:
        """Log a failed request (ids, no bodies) and build its typed error."""
        self._log_failure(method, path, info.status, info, request_headers, attempt)
        exc = to_exception(info, retry_after=retry_after)
        if exc.client_request_id is None:
            exc.client_request_id = request_headers.get("client-request-id")
        return exc

    def _log_failure(
        self,
        method: str,
        path: str,
        status: int | None,
        info: ErrorInfo | None,
        request_headers: Mapping[str, str],
        attempt: int,
        *,
        error: str | None = None,
    ) -> None:
        log.warning(
            "graph_request_failed",
            tenant=self.tenant_id,
            method=method,
            path=path,
            status=status,
            code=info.code if info else None,
            error=error,
            request_id=info.request_id if info else None,
            client_request_id=(info.client_request_id if info else None)
            or request_headers.get("client-request-id"),
            attempts=attempt + 1,
        )


def json_or_none(content: bytes) -> Any:
    """The parsed JSON body, or None when it is empty or not JSON (error bodies are read defensively)."""
    try:
        return json.loads(content) if content else None
    except ValueError:
        return None


__all__ = ["GraphMetrics", "GraphThrottled", "GraphUnavailable", "Response", "Transport", "request_class"]
