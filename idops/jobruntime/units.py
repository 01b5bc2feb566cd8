"""Working on units: claim one, run it under its lease, record what became of it, close the run.

A run is split into units (``JobSpec.units``: a tenant, a municipality, or the whole job). Any process
may claim a pending unit of any open run — a conditional update under the unit's lease
``<job>@<key>``, so exactly one process wins — and runs up to ``unit_concurrency`` at once:

- **The lease means it.** A unit runs inside a Graph fence (``idops.graph.fence``) whose deadline is
  the last successful renewal plus ``ttl × 5/6``: no Graph request leaves once the lease could have
  expired. The renewal runs every ``ttl / 3``; when it fails (another holder took the lease, or the
  database did not answer in time) the fence closes and the unit is cancelled.
- **A failing unit is retried alone** (``unit_attempts`` per run, ``unit_retry_seconds × attempts``
  apart); a job that is not split keeps one attempt, as before units. A unit whose holder died (its
  lease expired) is taken back by the next sweep: retried, or ``abandoned`` when out of attempts.
- **Shutdown** (``stop``): no new claims; running units get ``shutdown_grace_seconds`` to finish,
  then are cancelled and handed back (``pending``, the attempt refunded, the lease released); a run
  with nothing left running is recorded ``interrupted``, and the next run of the job resumes it.
- **A run closes when its units have ended**: the process that ends the last one (or any later sweep)
  runs the job's ``finish`` step under the job's own lease and records the outcome once.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol, TypeVar

import structlog

from idops.config import Config
from idops.config.region import Shard
from idops.graph.fence import Fence, fenced
from idops.graph.retry import low_priority
from idops.jobruntime.models import JobRun, JobUnit
from idops.jobruntime.repository import ENDED_UNITS, OPEN, REAPED, JobsUnitOfWork, lease_name
from idops.jobruntime.spec import JobSpec
from idops.kit.clock import Clock, as_utc
from idops.kit.metrics import Metrics

log = structlog.get_logger("idops.jobs")
T = TypeVar("T")

#: Share of the lease's time-to-live after a renewal within which Graph requests may still leave.
FENCE_SHARE = 5 / 6


class UnitHost(Protocol):
    """What working on units needs of the process (``idops.container.Container`` is one)."""

    config: Config
    clock: Clock
    holder: str
    jobs: Mapping[str, JobSpec]
    running_units: RunningUnits
    metrics: Metrics

    def uow(self) -> JobsUnitOfWork: ...


@dataclass(slots=True)
class _Running:
    unit_id: str
    run_id: str
    body: asyncio.Task[Any]


@dataclass
class RunningUnits:
    """This process's share of the job runtime: the units it runs now, and whether it is stopping."""

    concurrency: int
    stopping: bool = False
    stop_requested_at: float | None = None  # time.monotonic() of the SIGTERM
    running: dict[str, _Running] = field(default_factory=dict)  # unit id → its work, while it runs
    tasks: set[asyncio.Task[None]] = field(default_factory=set)  # each unit's task, until it is recorded
    runs: set[str] = field(default_factory=set)  # runs this process opened or worked on
    callers: set[asyncio.Task[Any]] = field(default_factory=set)  # background ``run_job``s (API, page)
    _slots: asyncio.Semaphore | None = None
    _wake: asyncio.Event | None = None

    @property
    def slots(self) -> asyncio.Semaphore:
        if self._slots is None:  # asyncio objects belong to the running loop: made on first use
            self._slots = asyncio.Semaphore(self.concurrency)
        return self._slots

    def request_stop(self) -> None:
        """Take no more units from now on (safe from a signal handler: it only sets attributes);
        ``stop`` then ends the running ones."""
        self.stopping = True
        if self.stop_requested_at is None:
            self.stop_requested_at = time.monotonic()

    async def pause(self, seconds: float) -> None:
        """Sleep ``seconds``, or less when ``stop`` begins: a caller waiting for other processes' units
        returns at once instead of touching the database after the process has let it go."""
        if self._wake is None:
            self._wake = asyncio.Event()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)

    def wake(self) -> None:
        """End every ``pause`` now (``stop``: the callers waiting in one return)."""
        if self._wake is not None:
            self._wake.set()

    def done(self, task: asyncio.Task[None]) -> None:
        """A unit's task ended (its outcome recorded): its slot is free."""
        self.slots.release()
        self.tasks.discard(task)


_CALLER_GRACE_SECONDS = 10.0


def ttl_of(c: UnitHost) -> timedelta:
    return timedelta(seconds=c.config.settings.scheduler.lease_seconds)


def attempts_of(c: UnitHost, spec: JobSpec | None) -> int:
    """Tries per run: a job that is not split gets one, as it always had; so does every unit on SQLite
    unless ``unit_attempts`` says otherwise (one process: with it nothing changes — a caller of
    ``run_job`` never waits ``unit_retry_seconds`` for a retry)."""
    if spec is None or spec.shard == "region":
        return 1
    s = c.config.settings
    if s.scheduler.unit_attempts is not None:
        return s.scheduler.unit_attempts
    return 1 if s.database.url.startswith("sqlite") else 3


def shard_of(unit: JobUnit) -> Shard:
    return Shard(unit.tenant_id, None if unit.municipalities is None else frozenset(unit.municipalities))


def outcome_of(counts: Mapping[str, Any]) -> str:
    """A unit's (or a job's) outcome from its counts: ``partial`` when items failed or some numbers are
    unavailable (``unavailable.<reason>`` counts)."""
    incomplete = int(counts.get("failed", 0) or 0) > 0 or any(
        int(v or 0) > 0 for k, v in counts.items() if k.startswith("unavailable.")
    )
    return "partial" if incomplete else "succeeded"


def error_summary(counts: Mapping[str, int]) -> str | None:
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


# ---------------------------------------------------------------------------------- the lease


async def _keep_lease(c: UnitHost, name: str, fence: Fence, body: asyncio.Task[Any]) -> None:
    """Renew ``name`` every third of its life; on failure close the fence and cancel ``body``.

    The fence's deadline moves to (the start of a successful renewal) + ``ttl × FENCE_SHARE``: a
    renewal that hangs cannot let a request leave after another process could have the lease."""
    ttl = ttl_of(c)
    period = max(0.5, ttl.total_seconds() / 3)
    while True:
        await asyncio.sleep(period)
        asked = time.monotonic()
        reason: str | None = None
        try:
            async with asyncio.timeout(max(0.1, fence.deadline - time.monotonic())):
                async with c.uow() as uow:
                    renewed = await uow.jobs.renew_lease(name, c.holder, c.clock.now(), ttl)
                    await uow.commit()
            if renewed:
                fence.deadline = asked + ttl.total_seconds() * FENCE_SHARE
                continue
            reason = "the lease was taken by another process"
        except TimeoutError:
            reason = "the lease could not be renewed in time"
        except Exception as exc:  # the database is unreachable: keep trying until the fence's deadline
            log.warning("job_lease_renewal_failed", lease=name, error_type=type(exc).__name__)
            if time.monotonic() < fence.deadline:
                period = min(period, 1.0)
                continue
            reason = "the lease could not be renewed in time"
        log.error("job_lease_lost", lease=name, reason=reason)
        fence.close(reason)
        body.cancel()
        return


async def leased(c: UnitHost, name: str, work: Callable[[], Awaitable[T]]) -> tuple[T | None, Fence]:
    """Run ``work`` fenced by the lease ``name`` (already ours), renewing it meanwhile.

    Returns the result and the fence (``fence.closed`` says whether the lease was lost: then the
    result is None). A cancellation of the caller cancels the work and propagates."""
    fence = Fence(deadline=time.monotonic() + ttl_of(c).total_seconds() * FENCE_SHARE)

    async def run() -> T:
        with fenced(fence), low_priority():
            return await work()

    body = asyncio.create_task(run())
    keeper = asyncio.create_task(_keep_lease(c, name, fence, body))
    try:
        try:
            return await asyncio.shield(body), fence
        except asyncio.CancelledError:
            if fence.closed is not None and body.cancelled():
                return None, fence  # the keeper cancelled the work: the lease was lost
            body.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await body
            raise
    finally:
        keeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await keeper


# ---------------------------------------------------------------------------------- one unit


async def _claim(c: UnitHost, run_id: str | None) -> JobUnit | None:
    """Claim one claimable unit (of ``run_id``, or of any open run); None when there is none."""
    now = c.clock.now()
    async with c.uow() as uow:
        candidates = await uow.jobs.claimable_units(now, run_id, limit=20)
    for unit in candidates:
        async with c.uow() as uow:
            won = await uow.jobs.claim_unit(unit, c.holder, c.clock.now(), ttl_of(c))
            await uow.commit()
        if won:
            return unit
    return None


async def _execute(c: UnitHost, unit: JobUnit) -> None:
    """Run one claimed unit and record what became of it; then close its run if it was the last."""
    spec = c.jobs.get(unit.job)
    name = lease_name(unit.job, unit.key)
    bound = log.bind(job=unit.job, run_id=unit.run_id, unit=unit.key, attempt=unit.attempts + 1)
    slot = c.running_units
    status, counts, error, retry_at, refund = "failed", {}, None, None, False
    try:
        if spec is None:
            raise LookupError(f"job {unit.job!r} is not known to this process")
        job = spec.load()
        shard = shard_of(unit)

        async def body() -> dict[str, int]:
            task = asyncio.current_task()
            assert task is not None
            slot.running[unit.id] = _Running(unit.id, unit.run_id, task)
            with structlog.contextvars.bound_contextvars(job=unit.job, run_id=unit.run_id, unit=unit.key):
                bound.info("job_unit_started", tenant=unit.tenant_id)
                return await job(c, shard)

        result, fence = await leased(c, name, body)
        if fence.closed is not None:
            bound.error("job_unit_stopped", reason=fence.closed)
            return  # no longer ours: whoever holds the lease now decides what the unit becomes
        counts = dict(result or {})
        status = outcome_of(counts)
        bound.info("job_unit_finished", status=status, **{f"n_{k}": v for k, v in counts.items()})
    except asyncio.CancelledError:
        # stopped before it ended (a shutdown, or whoever awaited it gave up): hand it back unspent
        status, refund, error = "pending", True, "handed back unfinished (the process was stopping)"
        bound.warning("job_unit_handed_back")
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"[:2000]
        bound.exception("job_unit_failed", error_type=type(exc).__name__)
        if unit.attempts + 1 < attempts_of(c, spec):
            status = "pending"
            retry_at = c.clock.now() + timedelta(
                seconds=c.config.settings.scheduler.unit_retry_seconds * (unit.attempts + 1)
            )
    finally:
        slot.running.pop(unit.id, None)
    # shielded: a cancellation of this task must not stop the unit's end (or hand-back) being recorded
    await asyncio.shield(_record(c, unit, status, counts, error, retry_at, refund))
    task = asyncio.current_task()
    if refund and task is not None and task.cancelling():
        raise asyncio.CancelledError  # this task itself was cancelled: honour it, now that it is recorded


async def _record(
    c: UnitHost, unit: JobUnit, status: str, counts: dict[str, int], error: str | None,
    retry_at: Any, refund: bool,
) -> None:
    async with c.uow() as uow:
        await uow.jobs.end_unit(
            unit.id, c.holder, status=status, now=c.clock.now(), counts=counts, error=error,
            next_attempt_at=retry_at, refund=refund,
        )
        await uow.jobs.release_lease(lease_name(unit.job, unit.key), c.holder)
        if refund:
            await uow.jobs.interrupt_if_idle(unit.run_id)
        await uow.commit()
    if status in ENDED_UNITS:
        await close_if_done(c, unit.run_id)


# ---------------------------------------------------------------------------------- many units


async def work_units(c: UnitHost, run_id: str | None = None) -> int:
    """Claim and run units (of ``run_id``, or of any open run) until none is claimable now, at most
    ``unit_concurrency`` at once in this process; returns how many were run. While its own units run
    it looks again every ``poll_seconds`` (at most 1 s), not only when one of them ends: a run opened
    meanwhile (the API, another process) is not left waiting behind an hour's unit."""
    slot = c.running_units
    look_again = min(1.0, c.config.settings.scheduler.poll_seconds)
    mine: set[asyncio.Task[None]] = set()
    ran = 0
    try:
        while not slot.stopping:
            await slot.slots.acquire()
            try:
                unit = None if slot.stopping else await _claim(c, run_id)
            except BaseException:
                slot.slots.release()
                raise
            if unit is None:
                slot.slots.release()
                if not mine:
                    break
                # one of them ended (a retry may be due now), or time to look for new units
                await asyncio.wait(mine, timeout=look_again, return_when=asyncio.FIRST_COMPLETED)
                mine = {t for t in mine if not t.done()}
                continue
            slot.runs.add(unit.run_id)
            task = asyncio.create_task(_execute(c, unit))
            slot.tasks.add(task)
            task.add_done_callback(slot.done)
            mine.add(task)
            ran += 1
        if mine:
            await asyncio.gather(*mine, return_exceptions=True)
    finally:
        for task in mine:
            task.cancel()
    return ran


async def stop(c: UnitHost, grace: float | None = None) -> None:
    """Stop taking units; give the running ones ``grace`` seconds (``shutdown_grace_seconds``) to end,
    then cancel and hand them back. Runs left with nothing running are recorded ``interrupted``."""
    slot = c.running_units
    slot.request_stop()
    if grace is None:  # the grace counts from the stop request (the signal), not from this call
        assert slot.stop_requested_at is not None
        elapsed = time.monotonic() - slot.stop_requested_at
        grace = max(0.0, c.config.settings.scheduler.shutdown_grace_seconds - elapsed)
    if slot.tasks:
        await asyncio.wait(set(slot.tasks), timeout=grace)
    for r in list(slot.running.values()):
        r.body.cancel()
    if slot.tasks:  # each unit's task records its hand-back (or its end) and releases its lease
        await asyncio.wait(set(slot.tasks))
    slot.wake()
    if slot.callers:
        # background runs (the API's ``wait=false``, the page's "run now") see ``stopping`` and return
        # within a poll; one left running would write after the database is closed, or die mid-write
        # with the loop — on SQLite holding the write lock for whoever opens the file next
        _, late = await asyncio.wait(set(slot.callers), timeout=_CALLER_GRACE_SECONDS)
        for task in late:
            task.cancel()
        if late:
            await asyncio.wait(late)
    for run_id in list(slot.runs):
        async with c.uow() as uow:
            if await uow.jobs.interrupt_if_idle(run_id):
                log.warning("job_run_interrupted", run_id=run_id)
            await uow.commit()


# ---------------------------------------------------------------------------------- runs


async def sweep(c: UnitHost, name: str | None = None) -> None:
    """Take back units whose holder's lease is gone (retry or abandon), give up runs too old to
    resume, and close runs whose units have all ended (of one job, or of all)."""
    now = c.clock.now()
    horizon = now - timedelta(hours=c.config.settings.scheduler.resume_hours)
    async with c.uow() as uow:
        for unit in await uow.jobs.stale_units(now):
            if name is not None and unit.job != name:
                continue
            again = unit.attempts < attempts_of(c, c.jobs.get(unit.job))
            status = "pending" if again else "abandoned"
            if await uow.jobs.reap_unit(unit, status=status, now=now,
                                        error=REAPED):
                log.warning("job_unit_reaped", job=unit.job, run_id=unit.run_id, unit=unit.key, status=status)
        runs = await uow.jobs.open_runs(name)
        for run in runs:
            if run.started_at < horizon:
                await uow.jobs.abandon_pending(run.id, now, "too old to resume")
        await uow.commit()
    for run in runs:
        await close_if_done(c, run.id)


async def close_if_done(c: UnitHost, run_id: str) -> bool:
    """If every unit of the open run ``run_id`` has ended: run the job's ``finish`` step under the
    job's lease and record the run's outcome, exactly once. True when this call closed it."""
    async with c.uow() as uow:
        run = await uow.jobs.get_run(run_id)
        units = (await uow.jobs.units_of([run_id]))[run_id]
    if run is None or run.outcome not in OPEN or any(u.status not in ENDED_UNITS for u in units):
        return False
    async with c.uow() as uow:
        mine = await uow.jobs.acquire_lease(run.name, c.holder, c.clock.now(), ttl_of(c))
        await uow.commit()
    if not mine:
        return False  # another process is closing it (or opening a run of the job)
    try:
        extra, error = await _finish_step(c, run, summarize(units, {})[1])
        outcome, counts, errors = summarize(units, extra)
        if error:
            errors.append(error)
            outcome = "partial" if outcome == "succeeded" else outcome
        async with c.uow() as uow:
            closed = await uow.jobs.close_run(
                run_id, outcome=outcome, counts=counts, error="; ".join(errors)[:2000] or None, now=c.clock.now()
            )
            await uow.commit()
        if closed:
            log.info("job_finished", job=run.name, run_id=run_id, outcome=outcome, units=len(units),
                     **{f"n_{k}": v for k, v in counts.items()})
            _count_run(c, run, outcome)
        return closed
    finally:
        async with c.uow() as uow:
            await uow.jobs.release_lease(run.name, c.holder)
            await uow.commit()


def _count_run(c: UnitHost, run: JobRun, outcome: str) -> None:
    """The run's metrics (outcome, duration since it opened, last success), by the process that closed it."""
    now = c.clock.now()
    c.metrics.job_runs.labels(run.name, outcome).inc()
    c.metrics.job_duration.labels(run.name).observe(max(0.0, (as_utc(now) - as_utc(run.started_at)).total_seconds()))
    if outcome == "succeeded":
        c.metrics.job_last_success.labels(run.name).set(as_utc(now).timestamp())


async def _finish_step(c: UnitHost, run: JobRun, counts: dict[str, int]) -> tuple[dict[str, int], str | None]:
    spec = c.jobs.get(run.name)
    finish = spec.load_finish() if spec is not None else None
    if finish is None:
        return {}, None
    municipalities = None if run.municipalities is None else frozenset(run.municipalities)
    try:
        result, fence = await leased(c, run.name, lambda: finish(c, municipalities, counts))
    except Exception as exc:
        log.exception("job_finish_failed", job=run.name, run_id=run.id, error_type=type(exc).__name__)
        return {"failed": 1}, f"finish: {type(exc).__name__}: {exc}"
    if fence.closed is not None:
        return {"failed": 1}, f"finish: {fence.closed}"
    return dict(result or {}), None


def summarize(units: list[JobUnit], extra: Mapping[str, int]) -> tuple[str, dict[str, int], list[str]]:
    """A run's outcome, counts (summed over its units, plus the finish step's) and errors."""
    counts: dict[str, int] = {}
    errors: list[str] = []
    for unit in units:
        for k, v in (unit.counts or {}).items():
            counts[k] = counts.get(k, 0) + int(v)
        if unit.status in ("failed", "abandoned"):
            counts["failed"] = counts.get("failed", 0) + 1
            if unit.error:
                errors.append(unit.error if unit.key == "*" else f"{unit.key}: {unit.error}")
    for k, v in extra.items():
        counts[k] = counts.get(k, 0) + int(v)
    statuses = {u.status for u in units}
    if statuses and statuses <= {"abandoned"}:
        outcome = "abandoned"
    elif statuses and statuses <= {"failed", "abandoned"}:
        outcome = "failed"
    elif statuses & {"failed", "abandoned", "partial"}:
        outcome = "partial"
    else:
        outcome = outcome_of(counts)
    if len(units) == 1 and units[0].key == "*" and units[0].status in ("failed", "abandoned"):
        counts.pop("failed", None)  # a job that is not split: its run is failed, not a count of one
    elif (summary := error_summary(counts)) is not None:
        errors.insert(0, summary)
    return outcome, counts, errors
