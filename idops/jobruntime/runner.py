"""Run a job under its lease and record the run, whoever triggered it (scheduler, CLI, API)."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import func, select, update

from idops.jobruntime import lease
from idops.jobruntime.models import JobRun
from jobs.registry import JOBS

if TYPE_CHECKING:
    from idops.bootstrap import Container

log = structlog.get_logger("idops.jobs")


class UnknownJob(Exception):
    pass


@dataclass(frozen=True, slots=True)
class RunRecord:
    id: str
    name: str
    trigger: str
    started_at: datetime
    finished_at: datetime | None
    outcome: str
    counts: dict[str, Any]
    error: str | None

    @classmethod
    def of(cls, row: JobRun) -> RunRecord:
        return cls(
            row.id, row.name, row.trigger, row.started_at, row.finished_at, row.outcome, dict(row.counts or {}),
            row.error,
        )


def _outcome(counts: dict[str, int]) -> str:
    return "partial" if counts.get("failed", 0) > 0 else "succeeded"


async def start_run(c: Container, name: str, *, trigger: str, requested_by: str | None = None) -> RunRecord:
    """Record a run as 'running' (used by the API's ?wait=false so it can answer with the id)."""
    now = c.clock.now()
    row = JobRun(
        name=name, trigger=trigger, holder=c.extras.setdefault("holder", lease.make_holder_id()), started_at=now,
        outcome="running", counts={}, requested_by=requested_by,
    )
    async with c.db.session() as s:
        s.add(row)
    return RunRecord.of(row)


async def run_job(
    c: Container,
    name: str,
    *,
    trigger: str,
    requested_by: str | None = None,
    run: RunRecord | None = None,
) -> RunRecord:
    """Run ``name`` once if nobody else is running it; record the outcome either way.

    A job already running elsewhere yields a 'skipped' run with error 'lease held'. A failure
    is recorded and re-raised only for the CLI (callers decide); here it is returned.
    """
    spec = JOBS.get(name)
    if spec is None:
        raise UnknownJob(name)
    holder: str = c.extras.setdefault("holder", lease.make_holder_id())
    ttl = timedelta(seconds=c.config.settings.scheduler.lease_seconds)
    run = run or await start_run(c, name, trigger=trigger, requested_by=requested_by)
    bound = log.bind(job=name, run_id=run.id, trigger=trigger)

    if not await lease.acquire(c.db, name, holder, c.clock.now(), ttl):
        bound.info("job_skipped_lease_held")
        return await _finish(c, run.id, "skipped", {}, "lease held")
    await _mark_abandoned(c, name, holder, run.id)

    heartbeat = asyncio.create_task(_heartbeat(c, name, holder, ttl))
    try:
        with structlog.contextvars.bound_contextvars(job=name, run_id=run.id), _low_priority():
            bound.info("job_started")
            counts = await spec.load()(c)
        outcome = _outcome(counts)
        bound.info("job_finished", outcome=outcome, **{f"n_{k}": v for k, v in counts.items()})
        return await _finish(c, run.id, outcome, counts, None)
    except Exception as exc:
        bound.exception("job_failed", error_type=type(exc).__name__)
        return await _finish(c, run.id, "failed", {}, f"{type(exc).__name__}: {exc}"[:2000])
    finally:
        heartbeat.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await heartbeat
        await lease.release(c.db, name, holder)


def _low_priority() -> contextlib.AbstractContextManager[Any]:
    """Jobs tell Graph they are background work (x-ms-throttle-priority: low)."""
    try:
        from idops.graph.retry import low_priority
    except ImportError:  # pragma: no cover - the graph layer always provides it
        return contextlib.nullcontext()
    cm: contextlib.AbstractContextManager[Any] = low_priority()
    return cm


async def _mark_abandoned(c: Container, name: str, holder: str, current_run: str) -> None:
    """Runs still 'running' when we hold the lease belong to a holder that died (its lease expired)."""
    async with c.db.session() as s:
        await s.execute(
            update(JobRun)
            .where(JobRun.name == name, JobRun.outcome == "running", JobRun.id != current_run,
                   JobRun.holder != holder)
            .values(outcome="abandoned", error="the process running it stopped (lease expired)",
                    finished_at=c.clock.now())
        )


async def _heartbeat(c: Container, name: str, holder: str, ttl: timedelta) -> None:
    while True:
        await asyncio.sleep(max(1.0, ttl.total_seconds() / 3))
        await lease.renew(c.db, name, holder, c.clock.now(), ttl)


async def _finish(c: Container, run_id: str, outcome: str, counts: dict[str, int], error: str | None) -> RunRecord:
    async with c.db.session() as s:
        await s.execute(
            update(JobRun)
            .where(JobRun.id == run_id)
            .values(outcome=outcome, counts=counts, error=error, finished_at=c.clock.now())
        )
        row = (await s.execute(select(JobRun).where(JobRun.id == run_id))).scalar_one()
        return RunRecord.of(row)


async def get_run(c: Container, run_id: str) -> RunRecord | None:
    async with c.db.session() as s:
        row = await s.get(JobRun, run_id)
        return None if row is None else RunRecord.of(row)


async def last_runs(c: Container) -> dict[str, RunRecord]:
    """The latest run of each job (by start time)."""
    async with c.db.session() as s:
        latest = (
            select(JobRun.name, func.max(JobRun.started_at).label("started"))
            .group_by(JobRun.name)
            .subquery()
        )
        rows = (
            await s.execute(
                select(JobRun).join(
                    latest, (JobRun.name == latest.c.name) & (JobRun.started_at == latest.c.started)
                )
            )
        ).scalars()
        return {r.name: RunRecord.of(r) for r in rows}
