"""sync_mfa: mirror every tenant's directory and registration report, then write the day's snapshot.

Tenants run in parallel; one failing tenant is counted in ``failed`` and the others still get
their snapshot. The snapshot's date is the Europe/Helsinki date of the container's clock;
re-running on the same day replaces that day's rows.

Users in no school group (role ``other``) are counted per tenant only (docs/definitions.md), so
they are in no snapshot row; the run's counts carry them instead: ``other`` (counted users, all
tenants), ``other_excluded``, and ``other.<municipalities of the tenant>`` per tenant, e.g.
``other.kangasala+pirkkala``. Each tenant's full breakdown (registration, exclusions by reason)
is logged as ``mfa_other_users``.
"""

from __future__ import annotations

import asyncio
from datetime import date
from typing import TYPE_CHECKING

import structlog

from idops.directory.sync import TenantSyncResult, checkpoint, sync_tenants
from idops.mfa import service

if TYPE_CHECKING:
    from idops.container import Container

log = structlog.get_logger("idops.jobs.sync_mfa")


async def run(c: Container) -> dict[str, int]:
    now = c.clock.now()
    day = service.snapshot_day(now)
    tenants = list(c.config.region.tenants())
    results = await sync_tenants(c.uow(), c.directories, c.config, tenants, now)
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
    # The syncs left their WAL for one checkpoint (SQLite): it runs beside the snapshots' aggregations.
    checkpointing = asyncio.create_task(checkpoint(c.uow()))
    try:
        for tenant_id, result in results.items():
            await _snapshot(c, day, tenant_id, result, counts)
    finally:
        await checkpointing
    c.mfa_responses.clear()  # this process's summaries show the new snapshot at once
    log.info("mfa_synced", day=day.isoformat(), **counts)
    return counts


async def _snapshot(
    c: Container, day: date, tenant_id: str, result: TenantSyncResult | BaseException, counts: dict[str, int]
) -> None:
    """One tenant's snapshot rows and role-``other`` counts; a failure is counted, never raised."""
    if not isinstance(result, TenantSyncResult):
        counts["failed"] += 1
        log.error(
            "mfa_tenant_failed",
            tenant=tenant_id,
            error_type=type(result).__name__,
            error=str(result)[:500],
        )
        return
    try:
        # two units of work, so the two aggregations (reads of the same, finished mirror) run side by side
        rows, other = await asyncio.gather(
            service.write_snapshot(c.uow(), c.config, result, day), service.other_users(c.uow(), c.config, tenant_id)
        )
    except Exception as exc:
        counts["failed"] += 1
        log.exception("mfa_snapshot_failed", tenant=tenant_id, error_type=type(exc).__name__)
        return
    counts["tenants"] += 1
    counts["users"] += result.users
    counts["removed"] += result.removed
    counts["report_rows"] += result.report_rows
    counts["snapshot_rows"] += rows
    counts["other"] += other.total
    counts["other_excluded"] += other.excluded_total
    counts[f"other.{'+'.join(other.municipalities)}"] = other.total
    log.info("mfa_other_users", tenant=tenant_id, **other.model_dump(exclude={"tenant_id"}))
