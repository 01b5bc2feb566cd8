"""Every job: what it does and when it runs. The logic lives in ``jobs/<name>.py`` (``run(container)``).

One list, read by the in-process scheduler, ``idops scheduler``, ``idops jobs`` and ``GET /v1/jobs``;
``bootstrap()`` hands it to the job runtime, which imports nothing from here.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from idops.config.settings import SchedulerSettings

if TYPE_CHECKING:
    from idops.bootstrap import Container

JobFn = Callable[["Container"], Awaitable[dict[str, int]]]
When = Callable[[SchedulerSettings], BaseTrigger]


def cron(expression: str | Callable[[SchedulerSettings], str]) -> When:
    def when(s: SchedulerSettings) -> BaseTrigger:
        text = expression(s) if callable(expression) else expression
        return CronTrigger.from_crontab(text, timezone=s.timezone)

    return when


def every(seconds: Callable[[SchedulerSettings], int]) -> When:
    def when(s: SchedulerSettings) -> BaseTrigger:
        return IntervalTrigger(seconds=seconds(s), timezone=s.timezone)

    return when


@dataclass(frozen=True, slots=True)
class JobSpec:
    name: str
    description: str
    when: When
    module: str = ""  # defaults to jobs.<name>

    def load(self) -> JobFn:
        module = importlib.import_module(self.module or f"jobs.{self.name}")
        fn: JobFn = module.run
        return fn

    def trigger(self, s: SchedulerSettings) -> BaseTrigger:
        return self.when(s)


JOBS: dict[str, JobSpec] = {
    spec.name: spec
    for spec in (
        JobSpec("activate", "Enable accounts whose period has started; resume deferred provisioning.",
                every(lambda s: s.lifecycle_interval_seconds)),
        JobSpec("expire", "Disable accounts whose period has ended; revoke sessions, remove groups and licences.",
                every(lambda s: s.lifecycle_interval_seconds)),
        JobSpec("reconcile", "Re-disable hand-enabled accounts, report orphans, mark accounts deleted in Entra.",
                every(lambda s: s.reconcile_interval_seconds)),
        JobSpec("purge", "Delete accounts after the grace period; scrub personal data after retention.",
                cron(lambda s: s.purge_cron)),
        JobSpec("notify_expiring", "E-mail principals before their substitutes' accounts end.",
                every(lambda s: s.notify_interval_seconds)),
        JobSpec("housekeeping", "Forget old job runs and used idempotency keys.", cron("10 4 * * *")),
        JobSpec("sync_mfa", "Mirror directories and MFA registration; write the day's MFA snapshot.",
                cron(lambda s: s.sync_mfa_cron)),
        JobSpec("ingest_signins", "Read new interactive sign-ins into the daily per-user-and-app aggregate.",
                cron(lambda s: s.ingest_signins_cron)),
        JobSpec("single_login_report", "Ingest sign-ins, then compute and store the single-login coverage report.",
                cron(lambda s: s.single_login_report_cron)),
    )
}
