"""Run a job under its lease and record the run, whoever triggered it (scheduler, CLI, API)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import structlog

from idops.config import Config
from idops.graph.retry import low_priority
from idops.jobruntime.models import JobRun
from idops.jobruntime.repository import JobsUnitOfWork
from idops.jobruntime.spec import JobSpec
from idops.kit.clock import Clock, as_utc
from idops.kit.db import new_id
from idops.kit.metrics import Metrics

log = structlog.get_logger("idops.jobs")


class UnknownJob(Exception):
    pass


class JobHost(Protocol):
    """What the runtime needs of the process (``idops.container.Container`` is one); it is also what
    each job's ``run`` receives."""

    config: Config
    clock: Clock
    holder: str
    jobs: Mapping[str, JobSpec]
    metrics: Metrics

    def uow(self) -> JobsUnitOfWork: ...


def make_holder_id() -> str:
    """Host, pid and a random part: unique even when a pid is reused after a crash."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


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
            row.id,
            row.name,
            row.trigger,
            row.started_at,
            row.finished_at,
            row.outcome,
            dict(row.counts or {}),
            row.error,
        )


def _outcome(counts: dict[str, int]) -> str:
    """``partial`` when items failed or some numbers are unavailable (``unavailable.<reason>`` counts)."""
    incomplete = counts.get("failed", 0) > 0 or any(
        v > 0 for k, v in counts.items() if k.startswith("unavailable.")
    )
    return "partial" if incomplete else "succeeded"


def error_summary(counts: dict[str, int]) -> str | None:
    """What a partial run's record says: how many items failed and why (``failed.<reason>`` counts), and
    which numbers are unavailable (``unavailable.<reason>``); None when nothing failed."""
    parts: list[str] = []
    failed = counts.get("failed", 0)
    if failed:
        reasons = [f"{k.removeprefix('failed.')} {v}" for k, v in sorted(counts.items()) if k.startswith("failed.")]
        parts.append(f"{failed} failed" + (f" ({', '.join(reasons)})" if reasons else ""))
    missing = [f"{k.removeprefix('unavailable.')} {v}" for k, v in sorted(counts.items())
               if k.startswith("unavailable.") and v > 0]
    if missing:
        parts.append(f"unavailable: {', '.join(missing)}")
    return "; ".join(parts) or None


class LeaseHeld(Exception):
    """Another run of the job holds its lease; ``running`` is that run (None if its record is gone)."""

    def __init__(self, name: str, running: RunRecord | None) -> None:
        super().__init__(f"job {name} is already running")
        self.name = name
        self.running = running


async def start_run(c: JobHost, name: str, *, trigger: str, requested_by: str | None = None) -> RunRecord:
    """Take the job's lease and record the run as ``running``, in one transaction.

    Raises ``LeaseHeld`` (naming the running run) when another run, in any process, holds the lease;
    then nothing is recorded. The caller must go on with ``run_job(..., run=…)``, which releases the
    lease (a process that dies first leaves it to expire after ``lease_seconds``).
    """
    if name not in c.jobs:
        raise UnknownJob(name)
    now = c.clock.now()
    ttl = timedelta(seconds=c.config.settings.scheduler.lease_seconds)
    row = JobRun(
        id=new_id(),
        name=name,
        trigger=trigger,
        holder=c.holder,
        started_at=now,
        outcome="running",
        counts={},
        requested_by=requested_by,
    )
    async with c.uow() as uow:
        if not await uow.jobs.acquire_lease(name, c.holder, now, ttl):
            running = await uow.jobs.running(name)
            raise LeaseHeld(name, RunRecord.of(running) if running is not None else None)
        await uow.jobs.mark_abandoned(name, c.holder, row.id, now)
        uow.jobs.add_run(row)
        await uow.commit()
    return RunRecord.of(row)


async def run_job(
    c: JobHost,
    name: str,
    *,
    trigger: str,
    requested_by: str | None = None,
    run: RunRecord | None = None,
) -> RunRecord:
    """Run ``name`` once if nobody else is running it; record the outcome either way.

    ``run``: a run ``start_run`` recorded (its lease is ours). Without it the lease is taken here, and a
    job already running elsewhere yields a recorded 'skipped' run with error 'lease held' (what the
    scheduler wants; callers that must not pretend use ``start_run`` and handle ``LeaseHeld``).
    A failure is recorded and returned (callers decide), never raised.
    """
    spec = c.jobs.get(name)
    if spec is None:
        raise UnknownJob(name)
    if run is None:
        try:
            run = await start_run(c, name, trigger=trigger, requested_by=requested_by)
        except LeaseHeld as held:
            log.info("job_skipped_lease_held", job=name, trigger=trigger,
                     running_run_id=held.running.id if held.running else None)
            return await _record_skipped(c, name, trigger, requested_by)
    ttl = timedelta(seconds=c.config.settings.scheduler.lease_seconds)
    bound = log.bind(job=name, run_id=run.id, trigger=trigger)
    heartbeat = asyncio.create_task(_heartbeat(c, name, ttl))
    started = time.perf_counter()
    try:
        with structlog.contextvars.bound_contextvars(job=name, run_id=run.id), low_priority():
            bound.info("job_started")
            counts = await spec.load()(c)
        outcome = _outcome(counts)
        error = error_summary(counts)
        bound.info("job_finished", outcome=outcome, error=error, **{f"n_{k}": v for k, v in counts.items()})
        return await _finish(c, run.id, outcome, counts, error, seconds=time.perf_counter() - started)
    except Exception as exc:
        bound.exception("job_failed", error_type=type(exc).__name__)
        return await _finish(c, run.id, "failed", {}, f"{type(exc).__name__}: {exc}"[:2000],
                             seconds=time.perf_counter() - started)
    finally:
        heartbeat.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await heartbeat
        async with c.uow() as uow:
            await uow.jobs.release_lease(name, c.holder)
            await uow.commit()


async def wait_for_run(c: JobHost, run_id: str, *, poll_seconds: float = 0.2) -> RunRecord | None:
    """Wait until run ``run_id`` is no longer ``running`` (or its lease lapsed: its process died) and
    return it; None if there is no such run."""
    while True:
        async with c.uow() as uow:
            row = await uow.jobs.get_run(run_id)
            if row is None:
                return None
            record = RunRecord.of(row)
            lease = await uow.jobs.lease_holder(record.name, c.clock.now())
        if record.outcome != "running" or lease is None:
            return record
        await asyncio.sleep(poll_seconds)


async def running_jobs(c: JobHost) -> dict[str, RunRecord]:
    """Jobs whose lease is held right now, with the run holding it (as far as recorded)."""
    out: dict[str, RunRecord] = {}
    async with c.uow() as uow:
        now = c.clock.now()
        for name in c.jobs:
            if await uow.jobs.lease_holder(name, now) is None:
                continue
            row = await uow.jobs.running(name)
            if row is not None:
                out[name] = RunRecord.of(row)
    return out


async def publish_last_successes(c: JobHost) -> None:
    """Load each job's last successful finish into ``idops_job_last_success_timestamp_seconds`` (once, when a
    process starts; afterwards ``run_job`` keeps it), so a scrape never queries the database."""
    async with c.uow() as uow:
        last = await uow.jobs.last_successes()
    for name, finished in last.items():
        c.metrics.job_last_success.labels(name).set(as_utc(finished).timestamp())


async def _heartbeat(c: JobHost, name: str, ttl: timedelta) -> None:
    while True:
        await asyncio.sleep(max(1.0, ttl.total_seconds() / 3))
        async with c.uow() as uow:
            await uow.jobs.renew_lease(name, c.holder, c.clock.now(), ttl)
            await uow.commit()


async def _record_skipped(c: JobHost, name: str, trigger: str, requested_by: str | None) -> RunRecord:
    now = c.clock.now()
    row = JobRun(id=new_id(), name=name, trigger=trigger, holder=c.holder, started_at=now, finished_at=now,
                 outcome="skipped", counts={}, error="lease held", requested_by=requested_by)
    async with c.uow() as uow:
        uow.jobs.add_run(row)
        await uow.commit()
    c.metrics.job_runs.labels(name, "skipped").inc()
    return RunRecord.of(row)


async def _finish(
    c: JobHost, run_id: str, outcome: str, counts: dict[str, int], error: str | None, *, seconds: float
) -> RunRecord:
    async with c.uow() as uow:
        row = await uow.jobs.finish_run(run_id, outcome=outcome, counts=counts, error=error, now=c.clock.now())
        await uow.commit()
        record = RunRecord.of(row)
    c.metrics.job_runs.labels(record.name, outcome).inc()
    c.metrics.job_duration.labels(record.name).observe(seconds)
    if outcome == "succeeded" and record.finished_at is not None:
        c.metrics.job_last_success.labels(record.name).set(as_utc(record.finished_at).timestamp())
    return record


async def get_run(c: JobHost, run_id: str) -> RunRecord | None:
    async with c.uow() as uow:
        row = await uow.jobs.get_run(run_id)
        return None if row is None else RunRecord.of(row)


async def last_runs(c: JobHost) -> dict[str, RunRecord]:
    """The latest run of each job (by start time)."""
    async with c.uow() as uow:
        return {name: RunRecord.of(row) for name, row in (await uow.jobs.last_runs()).items()}
