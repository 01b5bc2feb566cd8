"""Forget job runs older than 180 days and idempotency records older than their window."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import delete

from idops.jobruntime.models import JobRun
from idops.substitutes.models import IdempotencyRecord

if TYPE_CHECKING:
    from idops.bootstrap import Container

RUN_HISTORY = timedelta(days=180)
IDEMPOTENCY_WINDOW = timedelta(days=7)


async def run(c: Container) -> dict[str, int]:
    cutoff = c.clock.now() - RUN_HISTORY
    async with c.db.session() as s:
        result = await s.execute(delete(JobRun).where(JobRun.started_at < cutoff))
        removed = result.rowcount or 0  # type: ignore[attr-defined]
        keys = await s.execute(
            delete(IdempotencyRecord).where(IdempotencyRecord.created_at < c.clock.now() - IDEMPOTENCY_WINDOW)
        )
    return {"job_runs_removed": removed, "idempotency_keys_removed": keys.rowcount or 0}  # type: ignore[attr-defined]
