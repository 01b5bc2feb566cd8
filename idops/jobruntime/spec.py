"""What the job runtime knows of a job: its name, what it does, when it runs, how it is split into
units, and where its code is.

The list itself is ``jobs.registry``; ``bootstrap()`` hands it to the runtime, which imports nothing
from ``jobs/`` (a job's module is loaded by name when it runs).

A job module exposes ``run(container, shard) -> counts`` — one unit's work on ``shard`` (the whole
region by default) — and may expose ``finish(container, municipalities, counts) -> counts``, run once
when every unit of a run has ended (``municipalities``: the run's limit, None for the whole region;
``counts``: the units' counts, summed).
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from idops.config.region import RegionConfig, Shard
from idops.config.settings import SchedulerSettings

#: A unit's entry point: ``run(container, shard) -> counts``.
JobFn = Callable[[Any, Shard], Awaitable[dict[str, int]]]
#: The step after every unit: ``finish(container, municipalities, units' counts) -> counts``.
FinishFn = Callable[[Any, frozenset[str] | None, dict[str, int]], Awaitable[dict[str, int]]]
When = Callable[[SchedulerSettings], BaseTrigger]
#: How a run is split: one unit for the whole job, one per tenant, or one per municipality.
Sharding = Literal["region", "tenant", "municipality"]
REGION_KEY = "*"


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
class UnitPlan:
    """A unit to create: its lease key and the shard it works on."""

    key: str
    shard: Shard


@dataclass(frozen=True, slots=True)
class JobSpec:
    name: str
    description: str
    when: When
    module: str = ""  # defaults to jobs.<name>
    shard: Sharding = "region"
    # May an IT admin run it limited to their municipalities (the units of their tenants)? Jobs with
    # a region-wide step (or no units) need RegionAdmin.
    municipal: bool = False

    def load(self) -> JobFn:
        module = importlib.import_module(self.module or f"jobs.{self.name}")
        fn: JobFn = module.run
        return fn

    def load_finish(self) -> FinishFn | None:
        module = importlib.import_module(self.module or f"jobs.{self.name}")
        fn: FinishFn | None = getattr(module, "finish", None)
        return fn

    def may_run(self, municipalities: Iterable[str] | None) -> bool:
        """May a run over the whole region (None) or limited to ``municipalities`` be opened?"""
        return municipalities is None or self.municipal

    def trigger(self, s: SchedulerSettings) -> BaseTrigger:
        return self.when(s)

    def units(self, region: RegionConfig, municipalities: Iterable[str] | None = None) -> list[UnitPlan]:
        """The units of a run over the whole region (``municipalities`` None) or limited to some
        municipalities: their tenants (a tenant shared with others limited to these municipalities),
        or the municipalities themselves."""
        if self.shard == "region":
            return [UnitPlan(REGION_KEY, Shard())]
        chosen = None if municipalities is None else frozenset(municipalities)
        munis = [m for m in region.municipalities if chosen is None or m.key in chosen]
        if self.shard == "municipality":
            return [UnitPlan(m.key, Shard(m.tenant_id, frozenset({m.key}))) for m in munis]
        plans: list[UnitPlan] = []
        for tenant_id in dict.fromkeys(m.tenant_id for m in munis):
            mine = frozenset(m.key for m in munis if m.tenant_id == tenant_id)
            every_one = frozenset(m.key for m in region.municipalities_of_tenant(tenant_id))
            plans.append(UnitPlan(tenant_id, Shard(tenant_id, None if mine == every_one else mine)))
        return plans
