"""The list of jobs. The schedule (when) lives in ``jobs.schedule``; the logic in ``jobs/<name>.py``."""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from idops.bootstrap import Container

JobFn = Callable[["Container"], Awaitable[dict[str, int]]]


@dataclass(frozen=True, slots=True)
class JobSpec:
    name: str
    description: str
    module: str = ""  # defaults to jobs.<name>

    def load(self) -> JobFn:
        module = importlib.import_module(self.module or f"jobs.{self.name}")
        fn: JobFn = module.run
        return fn


JOBS: dict[str, JobSpec] = {
    spec.name: spec
    for spec in (
        JobSpec("activate", "Enable accounts whose period has started; resume deferred provisioning."),
        JobSpec("expire", "Disable accounts whose period has ended; revoke sessions, remove groups and licences."),
        JobSpec("reconcile", "Re-disable hand-enabled accounts, report orphans, mark accounts deleted in Entra."),
        JobSpec("purge", "Delete accounts after the grace period; scrub personal data after retention."),
        JobSpec("notify_expiring", "E-mail principals before their substitutes' accounts end."),
        JobSpec("housekeeping", "Forget old job runs and used idempotency keys."),
        JobSpec("sync_mfa", "Mirror directories and MFA registration; write the day's MFA snapshot."),
        JobSpec("ingest_signins", "Read new interactive sign-ins into the daily per-user-and-app aggregate."),
        JobSpec("single_login_report", "Ingest sign-ins, then compute and store the single-login coverage report."),
    )
}


def get(name: str) -> JobSpec | None:
    return JOBS.get(name)
