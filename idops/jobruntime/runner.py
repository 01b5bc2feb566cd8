"""Run a job under its lease and record the run, whoever triggered it (scheduler, CLI, API)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
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
from idops.kit.clock import Clock

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
    return "partial" if counts.get("failed", 0) > 0 else "succeeded"


async def start_run(c: JobHost, name: str, *, trigger: str, requested_by: str | None = None) -> RunRecord:
    """Record a run as 'running' (used by the API's ?wait=false so it can answer with the id)."""
    if name not in c.jobs:
        raise UnknownJob(name)
    row = JobRun(
        name=name,
        trigger=trigger,
        holder=c.holder,
        started_at=c.clock.now(),
        outcome="running",
        counts={},
        requested_by=requested_by,
    )
    async with c.uow() as uow:
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

    A job already running elsewhere yields a 'skipped' run with error 'lease held'. A failure
    is recorded and returned (callers decide), never raised.
    """
    spec = c.jobs.get(name)
    if spec is None:
        raise UnknownJob(name)
    ttl = timedelta(seconds=c.config.settings.scheduler.lease_seconds)
    run = run or await start_run(c, name, trigger=trigger, requested_by=requested_by)
    bound = log.bind(job=name, run_id=run.id, trigger=trigger)

    async with c.uow() as uow:
        acquired = await uow.jobs.acquire_lease(name, c.holder, c.clock.now(), ttl)
        if acquired:
            await uow.jobs.mark_abandoned(name, c.holder, run.id, c.clock.now())
        await uow.commit()
    if not acquired:
        bound.info("job_skipped_lease_held")
        return await _finish(c, run.id, "skipped", {}, "lease held")

    heartbeat = asyncio.create_task(_heartbeat(c, name, ttl))
    try:
        with structlog.contextvars.bound_contextvars(job=name, run_id=run.id), low_priority():
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
        async with c.uow() as uow:
            await uow.jobs.release_lease(name, c.holder)
            await uow.commit()


async def _heartbeat(c: JobHost, name: str, ttl: timedelta) -> None:
    while True:
        await asyncio.sleep(max(1.0, ttl.total_seconds() / 3))
        async with c.uow() as uow:
            await uow.jobs.renew_lease(name, c.holder, c.clock.now(), ttl)
            await uow.commit()


async def _finish(c: JobHost, run_id: str, outcome: str, counts: dict[str, int], error: str | None) -> RunRecord:
    async with c.uow() as uow:
        row = await uow.jobs.finish_run(run_id, outcome=outcome, counts=counts, error=error, now=c.clock.now())
        await uow.commit()
        return RunRecord.of(row)


async def get_run(c: JobHost, run_id: str) -> RunRecord | None:
    async with c.uow() as uow:
        row = await uow.jobs.get_run(run_id)
        return None if row is None else RunRecord.of(row)


async def last_runs(c: JobHost) -> dict[str, RunRecord]:
    """The latest run of each job (by start time)."""
    async with c.uow() as uow:
        return {name: RunRecord.of(row) for name, row in (await uow.jobs.last_runs()).items()}
