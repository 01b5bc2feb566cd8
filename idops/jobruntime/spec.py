"""What the job runtime knows of a job: its name, what it does, when it runs and where its code is.

The list itself is ``jobs.registry``; ``bootstrap()`` hands it to the runtime, which imports nothing
from ``jobs/`` (a job's module is loaded by name when it runs).
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from idops.config.settings import SchedulerSettings

#: A job's entry point: ``run(container) -> counts``.
JobFn = Callable[[Any], Awaitable[dict[str, int]]]
When = Callable[[SchedulerSettings], BaseTrigger]


def cron(expression: str | Callable[[SchedulerSettings], str]) -> When:
    """A crontab trigger in the scheduler's time zone (Europe/Helsinki by default)."""

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
