"""When each job runs. One list, read by the in-process scheduler, ``idops scheduler`` and ``GET /v1/jobs``."""

from __future__ import annotations

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from idops.config.settings import SchedulerSettings
from jobs.registry import JOBS


def triggers(s: SchedulerSettings) -> dict[str, BaseTrigger]:
    tz = s.timezone
    every = {
        "housekeeping": CronTrigger.from_crontab("10 4 * * *", timezone=tz),
        "activate": IntervalTrigger(seconds=s.lifecycle_interval_seconds, timezone=tz),
        "expire": IntervalTrigger(seconds=s.lifecycle_interval_seconds, timezone=tz),
        "reconcile": IntervalTrigger(seconds=s.reconcile_interval_seconds, timezone=tz),
        "notify_expiring": IntervalTrigger(seconds=s.notify_interval_seconds, timezone=tz),
        "purge": CronTrigger.from_crontab(s.purge_cron, timezone=tz),
        "ingest_signins": CronTrigger.from_crontab(s.ingest_signins_cron, timezone=tz),
        "sync_mfa": CronTrigger.from_crontab(s.sync_mfa_cron, timezone=tz),
        "single_login_report": CronTrigger.from_crontab(s.single_login_report_cron, timezone=tz),
    }
    return {name: trig for name, trig in every.items() if name in JOBS}
