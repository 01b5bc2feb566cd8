"""The in-process APScheduler (also used by ``idops scheduler`` as its own process).

The schedule lives in code (the container's job list), so there is no pickled job store: every
process builds the same schedule. When a job fires in several processes at once, the first opens
the run and the others record ``skipped``; every scheduler process also looks for units of open
runs every ``poll_seconds`` (``pick_up``), so the units of a run — whoever opened it, the API
included — are spread over all of them.
"""

from __future__ import annotations

import logging
from datetime import datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from idops.jobruntime.runner import JobHost, run_job
from idops.jobruntime.units import stop, sweep, work_units

PICK_UP = "__pick_up_units"


class PickUpOverlapFilter(logging.Filter):
    """Drops APScheduler's "skipped: maximum number of running instances" warning for the pick-up only:
    a pick-up works until no unit is claimable, so while it runs the next ones are skipped by design —
    that was a WARNING every ``poll_seconds`` (720 an hour) of every busy scheduler. The same warning
    for a scheduled job (still running when it is due again) is kept."""

    def filter(self, record: logging.LogRecord) -> bool:
        skipped = isinstance(record.msg, str) and record.msg.startswith("Execution of job")
        job = record.args[0] if skipped and isinstance(record.args, tuple) and record.args else None
        return getattr(job, "id", None) != PICK_UP


def quiet_pick_up_overlaps(logger: logging.Logger | None = None) -> None:
    """Install the filter once on APScheduler's scheduler logger."""
    target = logger or logging.getLogger("apscheduler.scheduler")
    if not any(isinstance(f, PickUpOverlapFilter) for f in target.filters):
        target.addFilter(PickUpOverlapFilter())


async def pick_up(c: JobHost) -> int:
    """Take back units of dead holders, close finished runs, and work on claimable units of any open
    run (interrupted ones too: a rolling restart resumes its runs here). Returns the units run."""
    if c.running_units.stopping:
        return 0
    await sweep(c)
    return await work_units(c)


def build_scheduler(c: JobHost) -> AsyncIOScheduler:
    s = c.config.settings.scheduler
    scheduler = AsyncIOScheduler(timezone=s.timezone)
    quiet_pick_up_overlaps()
    for name, spec in c.jobs.items():
        scheduler.add_job(
            run_job,
            trigger=spec.trigger(s),
            args=[c, name],
            kwargs={"trigger": "scheduler"},
            id=name,
            name=name,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=s.misfire_grace_seconds,
            replace_existing=True,
        )
    scheduler.add_job(
        pick_up, "interval", seconds=s.poll_seconds, args=[c], id=PICK_UP, name="pick up units",
        max_instances=1, coalesce=True, replace_existing=True,
    )
    return scheduler


def start_scheduler(c: JobHost) -> AsyncIOScheduler:
    """Build and start the scheduler; ``idops_scheduler_running`` says so (the "scheduler down" alert)."""
    scheduler = build_scheduler(c)
    scheduler.start()
    c.metrics.scheduler_running.set(1)
    return scheduler


async def shut_down(c: JobHost, scheduler: AsyncIOScheduler | None) -> None:
    """SIGTERM: fire nothing more, let running units end within ``shutdown_grace_seconds``, hand
    back the rest (their runs are recorded ``interrupted`` and resumed later). Leases are released."""
    if scheduler is not None and scheduler.running:
        scheduler.pause()
    await stop(c)
    if scheduler is not None and scheduler.running:
        scheduler.shutdown(wait=False)
    if scheduler is not None:
        c.metrics.scheduler_running.set(0)


def next_runs(c: JobHost, now: datetime) -> dict[str, datetime | None]:
    """Next fire time of every scheduled job, computed from the triggers themselves, so the
    API can answer even when the scheduler runs in another process."""
    s = c.config.settings.scheduler
    return {name: spec.trigger(s).get_next_fire_time(None, now) for name, spec in c.jobs.items()}
