"""Incremental ingestion of the interactive sign-in log into a daily aggregate per user × app.

Contract (per tenant):
- Graph is read by ``createdDateTime`` window, from the stored watermark up to ``now - lag``, in
  windows of ``chunk`` (default one day) counted from the watermark. Pacing at the
  reports budget (5 requests / 10 s per tenant) is the adapter's job; a chunk that still fails with
  throttling or a timeout is retried with half the window (Microsoft's advice for sign-in logs), down to ``min_chunk``.
- ``windows_in_flight`` windows (default 2) are read at the same time, so the budget is used even
  when Graph takes seconds per page; they are committed strictly in order. When the oldest fails,
  the windows after it are dropped, whatever they had read, and read again (smaller if shrunk).
- A chunk's counts are added and the watermark is advanced in ONE transaction, with a compare-and-set
  on the watermark: a crash (or a failure) anywhere inside a chunk leaves neither counts nor watermark
  behind, so the chunk is read again next time — no day is lost or counted twice, and two processes
  ingesting the same tenant cannot both apply one chunk.
- A tenant without Entra ID P1/P2 answers 403 (non-premium): it is marked ``available = False`` —
  "no sign-in data", not a failure — and asked again on the next run.
- No raw sign-in rows are stored at all; aggregate rows older than ``retention_days`` are pruned.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Literal

import structlog

from idops.graph.errors import GraphError, GraphPremiumRequired, GraphThrottled, GraphUnavailable
from idops.graph.port import Directory, DirectoryProvider, SignIn
from idops.signins.repository import DayCounts, SignInsUnitOfWork

log = structlog.get_logger("idops.signins")

GRAPH_RETENTION = timedelta(days=30)  # Entra P1/P2 keeps sign-ins 30 days; older ones cannot be read


@dataclass(frozen=True, slots=True)
class IngestOptions:
    """How far back a first run reaches, how fresh data must be, and the chunking of the window."""

    backfill: timedelta = timedelta(days=30)
    lag: timedelta = timedelta(minutes=10)  # sign-ins appear in the log minutes late; leave them a margin
    # One UTC day per window: within Microsoft's "start with 3 days, iterate smaller", and a crash costs
    # at most a day's re-read. Longer windows save the partial last page of each day (~5 % of requests).
    chunk: timedelta = timedelta(days=1)
    min_chunk: timedelta = timedelta(minutes=15)
    retention_days: int = 35
    # Windows read at the same time (each a chain of pages: a page's nextLink is needed for the next).
    # Graph can take seconds per 1000-row page (how many is not published); at 2–3 s one chain cannot
    # use 5 requests per 10 s, two can.
    # They are committed strictly in order, so the watermark contract is unchanged.
    windows_in_flight: int = 2


Status = Literal["ingested", "up_to_date", "unavailable", "failed"]


@dataclass(slots=True)
class TenantResult:
    tenant_id: str
    status: Status = "up_to_date"
    sign_ins: int = 0
    pages: int = 0
    chunks: int = 0
    shrinks: int = 0
    error: str | None = None
    watermark: datetime | None = None


@dataclass(slots=True)
class IngestResult:
    tenants: list[TenantResult] = field(default_factory=list)
    pruned: int = 0

    def counts(self) -> dict[str, int]:
        """Job counts: a tenant that failed makes the run partial; a non-premium one does not."""
        out = {"tenants": len(self.tenants), "sign_ins": 0, "pages": 0, "chunks": 0, "shrinks": 0,
               "unavailable": 0, "failed": 0, "pruned": self.pruned}
        for t in self.tenants:
            out["sign_ins"] += t.sign_ins
            out["pages"] += t.pages
            out["chunks"] += t.chunks
            out["shrinks"] += t.shrinks
            out["unavailable"] += t.status == "unavailable"
            out["failed"] += t.status == "failed"
        return out


class _Conflict(Exception):
    """Another process advanced the watermark first; our chunk is rolled back."""


def utc_day(value: datetime) -> date:
    return value.astimezone(UTC).date()


def mfa_of(s: SignIn) -> bool:
    """Whether a sign-in satisfied MFA. Beta's ``authenticationRequirement`` when present; on v1.0 a
    Conditional Access result of ``success`` is taken as satisfied (the region's CA policies grant with
    MFA; the emulator renders MFA that way). An approximation until the adapter reads
    ``appliedConditionalAccessPolicies[].enforcedGrantControls`` into ``mfa_satisfied``."""
    if s.mfa_satisfied is not None:
        return s.mfa_satisfied
    return (s.conditional_access_status or "").lower() == "success"


def aggregate(pages: Iterable[SignIn], counts: DayCounts) -> int:
    """Fold sign-ins into ``counts``; returns how many were folded."""
    n = 0
    for s in pages:
        if not s.is_interactive or not s.user_id:
            continue
        key = (utc_day(s.created_date_time), s.user_id.lower(), (s.app_id or "").lower())
        row = counts.get(key)
        if row is None:
            row = counts[key] = [s.app_display_name, 0, 0, 0]
        if s.status_error_code == 0:
            row[1] += 1
            row[2] += mfa_of(s)
        else:
            row[3] += 1
        n += 1
    return n


async def ingest_tenant(
    uow: SignInsUnitOfWork, directories: DirectoryProvider, tenant_id: str, now: datetime, options: IngestOptions
) -> TenantResult:
    """Bring one tenant's aggregate up to ``now - lag``. Never raises for Graph trouble: the result says."""
    result = TenantResult(tenant_id)
    bound = log.bind(tenant_id=tenant_id)
    floor = now - min(options.backfill, GRAPH_RETENTION)
    end_all = now - options.lag
    async with uow:
        await uow.signins.ensure_state(tenant_id, floor, now)
        await uow.commit()
    async with uow:
        state = await uow.signins.get_state(tenant_id)
        expected = state.watermark if state else None
    start = max(expected, floor) if expected else floor
    directory = directories.for_tenant(tenant_id)
    size = options.chunk
    ahead: deque[tuple[_Window, asyncio.Task[None]]] = deque()  # windows being read, oldest first
    next_start = start
    try:
        while start < end_all:
            # keep up to `windows_in_flight` windows reading; the oldest is committed first
            while len(ahead) < max(1, options.windows_in_flight) and next_start < end_all:
                w = _Window(next_start, min(next_start + size, end_all))
                ahead.append((w, asyncio.create_task(w.read(directory))))
                next_start = w.end
            w, task = ahead.popleft()
            try:
                await task
            except GraphPremiumRequired as exc:
                result.pages += w.pages + await _cancel(ahead)
                bound.info("signins_unavailable", reason="non_premium_tenant", request_id=exc.request_id)
                async with uow:
                    await uow.signins.mark(tenant_id, now=now, available=False, error=f"{exc.status} {exc.code}")
                    await uow.commit()
                result.status, result.error = "unavailable", exc.code
                return result
            except (GraphThrottled, GraphUnavailable, TimeoutError) as exc:
                result.pages += w.pages + await _cancel(ahead)
                if size <= options.min_chunk:
                    return await _fail(uow, result, now, exc, bound)
                size = max(options.min_chunk, size / 2)
                result.shrinks += 1
                bound.info("signins_window_shrunk", start=start.isoformat(), minutes=size.total_seconds() / 60,
                           error_type=type(exc).__name__)
                next_start = start  # read again from the failed window, smaller
                continue
            except GraphError as exc:
                result.pages += w.pages + await _cancel(ahead)
                return await _fail(uow, result, now, exc, bound)
            result.pages += w.pages
            try:
                async with uow:
                    await _apply_chunk(uow, tenant_id, w.counts, expected, w.end, now)
                    await uow.commit()
            except _Conflict:
                result.pages += await _cancel(ahead)
                bound.warning("signins_watermark_moved_elsewhere", start=start.isoformat())
                result.status = "failed"
                result.error = "another process is ingesting this tenant"
                return result
            result.chunks += 1
            result.sign_ins += w.seen
            result.status = "ingested"
            expected = start = w.end  # a shrunk window stays small for the rest of this run
    finally:
        await _cancel(ahead)  # whatever ends the run (a crash, a cancel), no read is left behind
    result.watermark = expected
    bound.info("signins_ingested", sign_ins=result.sign_ins, pages=result.pages, chunks=result.chunks)
    return result


@dataclass(slots=True)
class _Window:
    """One ``createdDateTime`` window being read: its counts stay in memory until it is committed."""

    start: datetime
    end: datetime
    counts: DayCounts = field(default_factory=dict)
    pages: int = 0
    seen: int = 0

    async def read(self, directory: Directory) -> None:
        async for page in directory.list_sign_ins(self.start, self.end):
            self.pages += 1
            self.seen += aggregate(page, self.counts)


async def _cancel(ahead: deque[tuple[_Window, asyncio.Task[None]]]) -> int:
    """Stop the windows still being read (their counts are dropped); returns the pages they had read."""
    if not ahead:
        return 0
    for _, task in ahead:
        task.cancel()
    await asyncio.gather(*(task for _, task in ahead), return_exceptions=True)
    pages = sum(w.pages for w, _ in ahead)
    ahead.clear()
    return pages


async def _apply_chunk(
    uow: SignInsUnitOfWork, tenant_id: str, counts: DayCounts, expected: datetime | None, end: datetime,
    now: datetime,
) -> None:
    """The atomic step: watermark compare-and-set first (it locks the row), then the counts."""
    if not await uow.signins.advance_watermark(tenant_id, expected, end, now):
        raise _Conflict
    await uow.signins.add_counts(tenant_id, counts)


async def _fail(
    uow: SignInsUnitOfWork, result: TenantResult, now: datetime, exc: BaseException, bound: structlog.BoundLogger
) -> TenantResult:
    request_id = getattr(exc, "request_id", None)
    bound.warning("signins_ingestion_failed", error_type=type(exc).__name__, request_id=request_id)
    message = str(exc)[:500] or type(exc).__name__
    async with uow:
        await uow.signins.mark(result.tenant_id, now=now, available=None, error=message)
        await uow.commit()
    result.status, result.error = "failed", message
    return result


async def ingest(
    uow: SignInsUnitOfWork,
    directories: DirectoryProvider,
    tenant_ids: Iterable[str],
    now: datetime,
    options: IngestOptions | None = None,
) -> IngestResult:
    """Ingest every tenant concurrently (each has its own reports budget), then prune old aggregates."""
    options = options or IngestOptions()
    tenants = sorted(set(tenant_ids))
    results = await asyncio.gather(*(ingest_tenant(uow.sibling(), directories, t, now, options) for t in tenants))
    out = IngestResult(tenants=list(results))
    out.pruned = await prune(uow, now, timedelta(days=options.retention_days))
    return out


async def prune(uow: SignInsUnitOfWork, now: datetime, keep: timedelta) -> int:
    """Forget aggregate rows of UTC days older than ``keep`` (ingestion does it after every run, the
    nightly ``purge`` job too, so the retention holds even when ingestion has stopped)."""
    async with uow:
        pruned = await uow.signins.prune(utc_day(now) - keep)
        await uow.commit()
    return pruned
