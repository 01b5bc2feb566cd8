"""The in-process APScheduler (also used by ``idops scheduler`` as its own process).

The schedule lives in code (the container's job list), so there is no pickled job store: every
process builds the same schedule, and the database lease decides who actually runs.
"""

from __future__ import annotations

from datetime import datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from idops.jobruntime.runner import JobHost, run_job


def build_scheduler(c: JobHost) -> AsyncIOScheduler:
    s = c.config.settings.scheduler
    scheduler = AsyncIOScheduler(timezone=s.timezone)
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
    return scheduler


def start_scheduler(c: JobHost) -> AsyncIOScheduler:
    """Build and start the scheduler; ``idops_scheduler_running`` says so (the "scheduler down" alert)."""
    scheduler = build_scheduler(c)
    scheduler.start()
    c.metrics.scheduler_running.set(1)
    return scheduler


def stop_scheduler(c: JobHost, scheduler: AsyncIOScheduler) -> None:
    scheduler.shutdown(wait=False)
    c.metrics.scheduler_running.set(0)


def next_runs(c: JobHost, now: datetime) -> dict[str, datetime | None]:
    """Next fire time of every scheduled job, computed from the triggers themselves, so the
    API can answer even when the scheduler runs in another process."""
    s = c.config.settings.scheduler
    return {name: spec.trigger(s).get_next_fire_time(None, now) for name, spec in c.jobs.items()}
