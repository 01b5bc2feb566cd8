"""``$batch`` for the adapter: validation, chunks of 20, and per-item throttling.

Private to ``idops/graph``: the port offers domain operations (``apply_account_changes``); only
adapter code builds raw Graph paths and sends them here.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import structlog

from idops.graph.errormap import error_info, header
from idops.graph.retry import RETRYABLE_STATUSES, parse_retry_after
from idops.graph.transport import Transport

log = structlog.get_logger("idops.graph")

BATCH_LIMIT = 20
_BATCH_URL_RE = re.compile(r"^/[A-Za-z0-9$][^\s\x00-\x1f\x7f]*$")


@dataclass(frozen=True, slots=True)
class BatchRequest:
    id: str
    method: Literal["GET", "POST", "PATCH", "DELETE"]
    url: str  # relative, without version: "/users/{id}"
    body: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class BatchResponse:
    id: str
    status: int
    headers: Mapping[str, str]
    body: Any

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


async def send_batch(transport: Transport, requests: Sequence[BatchRequest]) -> dict[str, BatchResponse]:
    """Run ``requests`` as concurrent ``$batch`` calls of ≤ 20 (the transport's pacer bounds how many
    are in flight) and return every item's final response by id.

    A malformed id or url raises ``ValueError`` before anything is sent. Items that come back
    429/503/504 are re-sent alone after the longest item ``Retry-After``, within the retry policy;
    an item that never got an answer counts as 503. Raises ``GraphError`` only when a whole call fails.
    """
    _validate(requests)
    chunks = [list(requests[i : i + BATCH_LIMIT]) for i in range(0, len(requests), BATCH_LIMIT)]
    out: dict[str, BatchResponse] = {}
    for part in await asyncio.gather(*(_run(transport, chunk) for chunk in chunks)):
        out.update(part)
    return out


async def _run(transport: Transport, items: list[BatchRequest]) -> dict[str, BatchResponse]:
    pending = {r.id: r for r in items}
    final: dict[str, BatchResponse] = {}
    attempt = 0
    policy = transport.policy
    while pending:
        payload = {"requests": [_item_json(r) for r in pending.values()]}
        throttle = "reads" if all(r.method == "GET" for r in pending.values()) else "writes"
        response = await transport.send("POST", "/$batch", json_body=payload, throttle=throttle, cost=len(pending))
        results = {item.id: item for item in map(_response_from_json, (response.json() or {}).get("responses", []))}
        retry: set[str] = set()
        waits: list[float] = []
        throttled: float | None = None  # the longest Retry-After of a 429 item (0 without the header)
        throttled_items = 0
        for rid in pending:
            got = results.get(rid)
            if got is None:  # Graph answered without this id: treat as transient
                results[rid] = BatchResponse(rid, 503, {}, None)
                retry.add(rid)
            elif got.status in RETRYABLE_STATUSES:
                retry.add(rid)
                ra = parse_retry_after(header(got.headers, "retry-after"))
                if ra is not None:
                    waits.append(ra)
                if got.status == 429:
                    throttled = max(throttled or 0.0, ra or 0.0)
                    throttled_items += 1
        if throttled is not None:  # the class is held once per answer, however many items were throttled
            cls = "write" if throttle == "writes" else "other"
            await transport.throttled(throttle, cls, throttled, count=throttled_items)
        delay = policy.delay(attempt, max(waits), jitter=throttled is not None) if waits else policy.backoff(attempt)
        give_up = not retry or not policy.may_retry(attempt, delay)
        for rid in list(pending):
            if give_up or rid not in retry:
                final[rid] = results[rid]
                if not final[rid].ok:
                    _log_item(transport.tenant_id, final[rid])
        if give_up:
            break
        pending = {rid: pending[rid] for rid in pending if rid in retry}
        log.info(
            "graph_batch_retry", tenant=transport.tenant_id, items=len(pending), attempt=attempt + 1,
            delay=round(delay, 3),
        )
        attempt += 1
        await transport.pacer.sleep(delay)
    return final


def _log_item(tenant_id: str, item: BatchResponse) -> None:
    info = error_info(item.status, item.headers, item.body)
    log.warning(
        "graph_batch_item_failed", tenant=tenant_id, item_id=item.id, status=item.status,
        code=info.code, request_id=info.request_id, client_request_id=info.client_request_id,
    )


def _item_json(r: BatchRequest) -> dict[str, Any]:
    item: dict[str, Any] = {"id": r.id, "method": r.method, "url": r.url}
    if r.body is not None:  # Graph refuses an item body without its Content-Type
        item["body"] = r.body
        item["headers"] = {"Content-Type": "application/json"}
    return item


def _response_from_json(raw: Mapping[str, Any]) -> BatchResponse:
    headers = raw.get("headers") or {}
    return BatchResponse(
        id=str(raw.get("id")),
        status=int(raw.get("status") or 0),
        headers={str(k): str(v) for k, v in headers.items()} if isinstance(headers, dict) else {},
        body=raw.get("body"),
    )


def _validate(requests: Sequence[BatchRequest]) -> None:
    """Ids unique (case-insensitively, as Graph compares them); urls relative and version-free."""
    seen: set[str] = set()
    for r in requests:
        if not r.id or r.id.lower() in seen:
            raise ValueError(f"batch ids must be non-empty and unique (case-insensitive): {r.id!r}")
        seen.add(r.id.lower())
        if not _BATCH_URL_RE.match(r.url) or r.url.startswith("//"):
            raise ValueError(f"batch item {r.id!r}: url must be relative, like /users/<id>")
        if r.url.lower().startswith(("/v1.0/", "/beta/")):
            raise ValueError(f"batch item {r.id!r}: url must not carry the API version")
