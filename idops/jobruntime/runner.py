"""Run a job and record the run, whoever triggered it (scheduler, CLI, API).

A run is split into units (``JobSpec.units``), each worked on under its own lease by whichever
process claims it (``idops.jobruntime.units``); the run closes when its units have ended. With one
process that is the run as before: the process that opens a run works on its units itself.

Who may run what: a run over the whole region, or one limited to some municipalities (an IT admin's:
the units of their tenants and municipalities). ``visible`` decides which units — and so which
counts — such a caller sees of any run.
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import structlog

from idops.config.region import RegionConfig
from idops.jobruntime.models import JobRun, JobUnit
from idops.jobruntime.repository import ENDED_UNITS, OPEN
from idops.jobruntime.units import (
    UnitHost,
    close_if_done,
    error_summary,
    outcome_of,
    stop,
    summarize,
    sweep,
    ttl_of,
    work_units,
)
from idops.kit.clock import as_utc
from idops.kit.db import new_id

log = structlog.get_logger("idops.jobs")

__all__ = [
    "JobHost",
    "LeaseHeld",
    "RegionOnly",
    "RunRecord",
    "UnitRecord",
    "UnknownJob",
    "error_summary",
    "get_run",
    "last_runs",
    "make_holder_id",
    "outcome_of",
    "publish_last_successes",
    "run_job",
    "running_jobs",
    "start_run",
    "stop",
]


class UnknownJob(Exception):
    pass


class RegionOnly(Exception):
    """The job cannot be limited to some municipalities (it has a region-wide step, or no units)."""


class LeaseHeld(Exception):
    """Another run of the job is open over the same units; ``running`` is that run."""

    def __init__(self, name: str, running: RunRecord | None) -> None:
        super().__init__(f"job {name} is already running")
        self.name = name
        self.running = running


class JobHost(UnitHost, Protocol):
    """What the runtime needs of the process (``idops.container.Container`` is one); it is also what
    each job's ``run`` receives."""


def make_holder_id() -> str:
    """Host, pid and a random part: unique even when a pid is reused after a crash."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True, slots=True)
class UnitRecord:
    key: str  # tenant id, municipality key, or "*"
    tenant_id: str | None
    municipalities: list[str] | None
    status: str
    attempts: int
    started_at: datetime | None
    finished_at: datetime | None
    counts: dict[str, Any]
    error: str | None

    @classmethod
    def of(cls, u: JobUnit) -> UnitRecord:
        return cls(u.key, u.tenant_id, u.municipalities, u.status, u.attempts, u.started_at, u.finished_at,
                   dict(u.counts or {}), u.error)


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
    municipalities: list[str] | None = None  # the run's limit; None: the whole region
    units: list[UnitRecord] = field(default_factory=list)

    @classmethod
    def of(cls, row: JobRun, units: Iterable[JobUnit] = ()) -> RunRecord:
        return cls(row.id, row.name, row.trigger, row.started_at, row.finished_at, row.outcome,
                   dict(row.counts or {}), row.error, row.municipalities, [UnitRecord.of(u) for u in units])


async def start_run(
    c: JobHost,
    name: str,
    *,
    trigger: str,
    requested_by: str | None = None,
    municipalities: Iterable[str] | None = None,
) -> RunRecord:
    """Open a run of ``name`` with its units — over the whole region, or limited to
    ``municipalities`` — and return it (``running``); nothing is worked on yet (``run_job``).

    Another open run that shares a unit with this one: ``LeaseHeld`` naming it (the API's 409, the
    scheduler's ``skipped``), *also* when none of its units has been claimed yet — its opener works on
    them (and with several processes every scheduler's ``pick_up`` claims them), so a second "run now"
    would add nothing but a second caller waiting on a run whose trigger and requester are another's.
    (``run_job(..., run=held.running)`` is how a caller waits for, and helps with, that run: the API's
    ``?wait=true``.) Only an open run *nobody works on* is taken over, when it covers exactly these
    units and none of its units is running: one ``interrupted`` (handed back at a shutdown), one worked
    on before (its worker stopped or died; the sweep reaped its units), or one opened longer than a
    lease ago and never claimed (its opener died first). Its ended units are not redone.
    ``RegionOnly`` when the job cannot be limited to municipalities, ``UnknownJob``.
    """
    spec = c.jobs.get(name)
    if spec is None:
        raise UnknownJob(name)
    limit = None if municipalities is None else sorted(set(municipalities))
    if not spec.may_run(limit):
        raise RegionOnly(name)
    plans = spec.units(c.config.region, limit)
    keys = {p.key for p in plans}
    await sweep(c, name)  # units of dead holders back to pending, finished runs closed
    now = c.clock.now()
    async with c.uow() as uow:
        # The job's own lease, taken and given back in this transaction: two processes opening a run
        # at once take turns, and the second sees the first's run.
        if not await uow.jobs.acquire_lease(name, c.holder, now, ttl_of(c)):
            running = await uow.jobs.running(name)
            raise LeaseHeld(name, RunRecord.of(running) if running is not None else None)
        opened = await uow.jobs.open_runs(name)
        units = await uow.jobs.units_of([r.id for r in opened])
        chosen: JobRun | None = None
        done: list[str] = []
        for run in opened:
            theirs = {u.key for u in units[run.id]}
            if not theirs & keys:
                continue
            if all(u.status in ENDED_UNITS for u in units[run.id]):
                # nothing left to do (its close is due: the sweep's may have found the job's lease held).
                # Taken over, it would close at once and this caller's work would not be done at all.
                done.append(run.id)
                continue
            if theirs == keys and run.municipalities == limit and _abandoned(run, units[run.id], now, c):
                event = "job_run_resumed" if run.outcome == "interrupted" else "job_run_taken_over"
                await uow.jobs.resume_run(run.id)
                # a dead worker's units (reaped: abandoned when out of attempts — on SQLite after one)
                # get one more try: a new run would have redone them, so must the one taking its place
                await uow.jobs.retry_reaped(run.id)
                chosen = run
                log.info(event, job=name, run_id=run.id, trigger=trigger)
                break
            raise LeaseHeld(name, RunRecord.of(run, units[run.id]))  # rolled back: the lease too
        if chosen is None:
            chosen = JobRun(id=new_id(), name=name, trigger=trigger, holder=c.holder, started_at=now,
                            outcome="running", counts={}, requested_by=requested_by, municipalities=limit)
            uow.jobs.add_run(chosen)
            await uow.flush()
            for plan in plans:
                shard = plan.shard
                uow.jobs.add_unit(JobUnit(
                    run_id=chosen.id, job=name, key=plan.key, tenant_id=shard.tenant_id,
                    municipalities=None if shard.municipalities is None else sorted(shard.municipalities),
                    status="pending", attempts=0, counts={},
                ))
        await uow.jobs.release_lease(name, c.holder)
        await uow.flush()
        run_units = (await uow.jobs.units_of([chosen.id]))[chosen.id]
        await uow.commit()
    for run_id in done:
        await close_if_done(c, run_id)
    c.running_units.runs.add(chosen.id)
    return RunRecord.of(chosen, run_units)


def _abandoned(run: JobRun, units: list[JobUnit], now: datetime, c: JobHost) -> bool:
    """Does nobody work on the open ``run``? No unit of it running (a dead holder's were reaped by the
    sweep) and: it was interrupted, or it was worked on before (a unit was claimed) — its worker stopped
    or died —, or it was opened longer than a lease ago and never claimed (its opener died first). A run
    just opened, not yet claimed, is its opener's (and every scheduler's ``pick_up``'s)."""
    if any(u.status == "running" for u in units):
        return False
    if run.outcome == "interrupted" or any(u.attempts > 0 for u in units):
        return True
    return as_utc(run.started_at) + ttl_of(c) < as_utc(now)


async def run_job(
    c: JobHost,
    name: str,
    *,
    trigger: str,
    requested_by: str | None = None,
    run: RunRecord | None = None,
    municipalities: Iterable[str] | None = None,
) -> RunRecord:
    """Run ``name`` (or the run ``start_run`` opened) until its units have ended, working on them in
    this process and waiting for those other processes hold; returns the run as recorded.

    Without ``run``: a run already open over the same units yields a recorded ``skipped`` run with
    error ``lease held`` (what the scheduler wants: the open run's units are claimable by this
    process's scheduler anyway). A failure is recorded and returned, never raised. When the process
    is stopping (``stop``) the run is returned as it is (``interrupted`` if nothing else works on it).
    """
    if name not in c.jobs:
        raise UnknownJob(name)
    if run is None:
        try:
            run = await start_run(c, name, trigger=trigger, requested_by=requested_by, municipalities=municipalities)
        except LeaseHeld as held:
            log.info("job_skipped_lease_held", job=name, trigger=trigger,
                     running_run_id=held.running.id if held.running else None)
            return await _record_skipped(c, name, trigger, requested_by)
    log.info("job_started", job=name, run_id=run.id, trigger=trigger)
    poll = min(1.0, c.config.settings.scheduler.poll_seconds)
    while True:
        await work_units(c, run.id)
        await close_if_done(c, run.id)
        record = await get_run(c, run.id)
        if record is None or record.outcome not in OPEN or c.running_units.stopping:
            return record or run
        await c.running_units.pause(poll)  # units held elsewhere, or a retry not yet due
        if c.running_units.stopping:
            continue  # record the run as it is now, and return
        await sweep(c, name)


def run_in_background(c: JobHost, name: str, *, trigger: str, run: RunRecord) -> asyncio.Task[RunRecord]:
    """``run_job`` for a caller that does not wait (the API's ``wait=false``, the page's "run now"),
    kept by the process's job runtime so that its shutdown (``stop``) ends it before the database
    closes."""
    task = asyncio.create_task(run_job(c, name, trigger=trigger, run=run))
    c.running_units.callers.add(task)
    task.add_done_callback(c.running_units.callers.discard)
    return task


async def _record_skipped(c: JobHost, name: str, trigger: str, requested_by: str | None) -> RunRecord:
    now = c.clock.now()
    row = JobRun(id=new_id(), name=name, trigger=trigger, holder=c.holder, started_at=now, finished_at=now,
                 outcome="skipped", counts={}, error="lease held", requested_by=requested_by)
    async with c.uow() as uow:
        uow.jobs.add_run(row)
        await uow.commit()
    c.metrics.job_runs.labels(name, "skipped").inc()
    return RunRecord.of(row)


async def running_jobs(c: JobHost, *, municipalities: Iterable[str] | None = None) -> dict[str, RunRecord]:
    """Jobs with an open run that is being worked on (a unit running, or opened within a lease's time),
    with that run — as a caller limited to ``municipalities`` sees it (runs with none of their units left out)."""
    limit = None if municipalities is None else frozenset(municipalities)
    out: dict[str, RunRecord] = {}
    now = c.clock.now()
    async with c.uow() as uow:
        opened = [r for r in await uow.jobs.open_runs() if r.outcome == "running" and r.name in c.jobs]
        units = await uow.jobs.units_of([r.id for r in opened])
    for run in opened:
        seen = None if _abandoned(run, units[run.id], now, c) else _seen(run, units[run.id], limit, c.config.region)
        if seen is not None:
            out.setdefault(run.name, seen)
    return out


async def publish_last_successes(c: JobHost) -> None:
    """Load each job's last successful finish into ``idops_job_last_success_timestamp_seconds`` (once, when a
    process starts; afterwards closing a run keeps it), so a scrape never queries the database."""
    async with c.uow() as uow:
        last = await uow.jobs.last_successes()
    for name, finished in last.items():
        c.metrics.job_last_success.labels(name).set(as_utc(finished).timestamp())


# ---------------------------------------------------------------------------------- reading runs


def visible(unit: JobUnit | UnitRecord, municipalities: frozenset[str] | None, region: RegionConfig) -> bool:
    """May a caller limited to ``municipalities`` (None: the whole region) see this unit and its
    counts? Only when every municipality the unit worked on is theirs: a unit of a tenant shared
    with another municipality counts both, so an IT admin of one of them sees it only from runs
    limited to their municipality (theirs), never from a region run."""
    if municipalities is None:
        return True
    if unit.tenant_id is None:
        return False  # a job that is not split works on the whole region
    covered = unit.municipalities
    if covered is None:
        covered = [m.key for m in region.municipalities_of_tenant(unit.tenant_id)]
    return bool(covered) and set(covered) <= municipalities


def _seen(row: JobRun, units: list[JobUnit], municipalities: frozenset[str] | None,
          region: RegionConfig) -> RunRecord | None:
    """The run as a caller limited to ``municipalities`` sees it: only their units and their counts."""
    if municipalities is None:
        return RunRecord.of(row, units)
    mine = [u for u in units if visible(u, municipalities, region)]
    if not mine:
        return None
    _, counts, errors = summarize(mine, {})
    return RunRecord(row.id, row.name, row.trigger, row.started_at, row.finished_at, row.outcome, counts,
                     "; ".join(errors) or None, row.municipalities, [UnitRecord.of(u) for u in mine])


async def get_run(c: JobHost, run_id: str, *, municipalities: Iterable[str] | None = None) -> RunRecord | None:
    """One run with its units (as a caller limited to ``municipalities`` sees it; None: not theirs)."""
    limit = None if municipalities is None else frozenset(municipalities)
    async with c.uow() as uow:
        row = await uow.jobs.get_run(run_id)
        if row is None:
            return None
        units = (await uow.jobs.units_of([run_id]))[run_id]
    return _seen(row, units, limit, c.config.region)


async def last_runs(c: JobHost, *, municipalities: Iterable[str] | None = None) -> dict[str, RunRecord]:
    """The latest run of each job (by start time), without units — or, for a caller limited to
    ``municipalities``, the latest run with a unit they may see, counting only those units."""
    if municipalities is None:
        async with c.uow() as uow:
            return {name: RunRecord.of(row) for name, row in (await uow.jobs.last_runs()).items()}
    limit = frozenset(municipalities)
    region = c.config.region
    keys = sorted(limit | {m.tenant_id for m in region.municipalities if m.key in limit})
    async with c.uow() as uow:
        pairs = await uow.jobs.recent_units(keys, limit=2000)
    by_run: dict[str, tuple[JobRun, list[JobUnit]]] = {}
    for run, unit in pairs:
        by_run.setdefault(run.id, (run, []))[1].append(unit)
    out: dict[str, RunRecord] = {}
    for run, units in sorted(by_run.values(), key=lambda p: p[0].started_at, reverse=True):
        if run.name in out:
            continue
        seen = _seen(run, units, limit, region)
        if seen is not None:
            out[run.name] = RunRecord(seen.id, seen.name, seen.trigger, seen.started_at, seen.finished_at,
                                      seen.outcome, seen.counts, seen.error, seen.municipalities)
    return out
