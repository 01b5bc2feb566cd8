"""sync_mfa: mirror every tenant's directory and registration report, then write the day's snapshot.

The job runtime runs it as one unit per tenant (any scheduler process may take any); called on
its own it does every tenant, in parallel. One failing tenant is counted in ``failed`` and the others
still get their snapshot. The snapshot's date is the Europe/Helsinki date of the container's clock;
re-running on the same day replaces that day's rows.

A tenant without the registration report (no Entra ID P1: 403) has its users' authentication methods
read one by one within the reports budget (``idops.directory.method_scan``, ``[mfa] scan_*``): staff
first, every counted user again at least every ``scan_refresh_days``. Users still without numbers
(not read yet, or the methods may not be read either) are *unavailable*, never 0 %: the run is then
``partial`` with ``unavailable.<reason>`` = tenants (reason ``premium_required``, ``permission_missing``
or ``sync_failed``), and the error summary names them. ``scanned`` counts users read this run,
``scan_overdue`` users due for a reading the run's budget did not reach.

Users in no school group (role ``other``) are counted per tenant only (docs/definitions.md), so
they are in no snapshot row; the run's counts carry them instead: ``other`` (counted users, all
tenants), ``other_excluded``, and ``other.<municipalities of the tenant>`` per tenant, e.g.
``other.kangasala+pirkkala``. Each tenant's full breakdown (registration, exclusions by reason)
is logged as ``mfa_other_users``.
"""

from __future__ import annotations

import asyncio
import math
from collections import Counter
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

import structlog

from idops.config.region import REGION, Shard
from idops.directory.method_scan import ScanResult, scan_tenant
from idops.directory.sync import TenantSyncResult, checkpoint, sync_tenants
from idops.mfa import service

if TYPE_CHECKING:
    from idops.container import Container

log = structlog.get_logger("idops.jobs.sync_mfa")
REASONS = ("premium_required", "permission_missing", "sync_failed")


async def run(c: Container, shard: Shard = REGION) -> dict[str, int]:
    """Sync and snapshot the tenants of ``shard`` (a unit: one tenant; by default all of them)."""
    now = c.clock.now()
    day = service.snapshot_day(now)
    tenants = shard.tenant_ids(c.config.region)
    results = await sync_tenants(c.uow(), c.directories, c.config, tenants, now, write_lock=c.database.write_lock)
    counts = {
        "tenants": 0,
        "failed": 0,
        "users": 0,
        "removed": 0,
        "report_rows": 0,
        "snapshot_rows": 0,
        "other": 0,
        "other_excluded": 0,
    }
    unavailable: Counter[str] = Counter()
    # tenants without the report, whose users' methods are read one by one ([mfa] scan_methods)
    scanning = [t for t, r in results.items() if isinstance(r, TenantSyncResult) and not r.report_available
                ] if c.config.settings.mfa.scan_methods else []
    # The syncs left their WAL for one checkpoint (SQLite): it runs beside the snapshots' aggregations.
    checkpointing = asyncio.create_task(checkpoint(c.uow()))
    try:
        # Every tenant's snapshot first — those without the report with what is known so far — so the
        # numbers of the region never wait for the per-user scans (an hour or more at the budget).
        for tenant_id, result in results.items():
            first = dict.fromkeys(counts, 0) if tenant_id in scanning else counts  # counted after the scan
            reason = await _snapshot(c, day, tenant_id, result, None, first)
            if reason is not None and tenant_id not in scanning:
                unavailable[reason] += 1
    finally:
        await checkpointing
    c.mfa_responses.clear()
    scans = await _scan_without_report(c, scanning, now)
    counts["scanned"] = sum(s.scanned for s in scans.values())
    counts["scan_overdue"] = sum(s.overdue for s in scans.values())
    for tenant_id in scanning:  # again, with what the scans read
        reason = await _snapshot(c, day, tenant_id, results[tenant_id], scans.get(tenant_id), counts)
        if reason is not None:
            unavailable[reason] += 1
    for reason in REASONS:
        if unavailable[reason]:
            counts[f"unavailable.{reason}"] = unavailable[reason]
    if shard.is_region:
        _publish_unavailable(c, counts)
    c.mfa_responses.clear()  # this process's summaries show the new snapshot at once
    log.info("mfa_synced", day=day.isoformat(), **counts)
    return counts


async def _scan_without_report(c: Container, todo: list[str], now: datetime) -> dict[str, ScanResult]:
    """Read per-user methods in each of ``todo`` (synced tenants without the report), in parallel (each
    tenant has its own budget)."""
    s = c.config.settings
    max_requests = math.floor(s.mfa.scan_max_seconds * s.graph.reports_requests / s.graph.reports_window_seconds)
    scans = await asyncio.gather(*(
        scan_tenant(c.uow(), c.directories.for_tenant(t), t, now, refresh=timedelta(days=s.mfa.scan_refresh_days),
                    max_requests=max_requests, concurrency=s.graph.reports_requests)
        for t in todo
    ))
    for scan in scans:
        c.metrics.mfa_methods_scanned.labels(scan.tenant_id).inc(scan.scanned)
    return dict(zip(todo, scans, strict=True))


def _unavailable_reason(result: TenantSyncResult, scan: ScanResult | None) -> str | None:
    """Why a tenant's users without numbers have none (None: the report covers everyone)."""
    if result.report_available:
        return None
    if scan is not None and scan.status in ("permission_missing", "failed"):
        return "permission_missing" if scan.status == "permission_missing" else "sync_failed"
    return result.report_status  # premium_required / permission_missing: not (yet) read per user


async def finish(c: Container, municipalities: frozenset[str] | None, counts: dict[str, int]) -> dict[str, int]:
    """After every unit (``counts``: theirs, summed): this process's MFA summaries show the new snapshots
    at once, and a region run sets the tenants-without-numbers gauge (an IT admin's run counts only
    their tenants: it leaves the gauge as the last region run set it)."""
    c.mfa_responses.clear()
    if municipalities is None:
        _publish_unavailable(c, counts)
    return {}


def _publish_unavailable(c: Container, counts: dict[str, int]) -> None:
    for reason in REASONS:
        c.metrics.mfa_unavailable.labels(reason).set(counts.get(f"unavailable.{reason}", 0))


async def _snapshot(
    c: Container,
    day: date,
    tenant_id: str,
    result: TenantSyncResult | BaseException,
    scan: ScanResult | None,
    counts: dict[str, int],
) -> str | None:
    """One tenant's snapshot rows and role-``other`` counts; a failure is counted, never raised. Returns
    the reason when some of the tenant's counted users have no numbers."""
    if not isinstance(result, TenantSyncResult):
        counts["failed"] += 1
        log.error(
            "mfa_tenant_failed",
            tenant=tenant_id,
            error_type=type(result).__name__,
            error=str(result)[:500],
        )
        return None
    reason = _unavailable_reason(result, scan)
    try:
        # two units of work, so the two aggregations (reads of the same, finished mirror) run side by side
        (rows, unmeasured), other = await asyncio.gather(
            service.write_snapshot(c.uow(), c.config, result, day, unavailable_reason=reason),
            service.other_users(c.uow(), c.config, tenant_id),
        )
    except Exception as exc:
        counts["failed"] += 1
        log.exception("mfa_snapshot_failed", tenant=tenant_id, error_type=type(exc).__name__)
        return None
    counts["tenants"] += 1
    counts["users"] += result.users
    counts["removed"] += result.removed
    counts["report_rows"] += result.report_rows
    counts["snapshot_rows"] += rows
    counts["other"] += other.total
    counts["other_excluded"] += other.excluded_total
    counts[f"other.{'+'.join(other.municipalities)}"] = other.total
    log.info("mfa_other_users", tenant=tenant_id, **other.model_dump(exclude={"tenant_id"}))
    if unmeasured or other.measured < other.total:
        log.warning("mfa_numbers_unavailable", tenant=tenant_id, reason=reason, users=unmeasured + other.total
                    - other.measured)
        return reason or "sync_failed"
    return None
