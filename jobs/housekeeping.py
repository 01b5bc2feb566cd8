"""Forget job runs older than 180 days, idempotency records older than their window and idle
rate-limit rows."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from idops.config.region import REGION, Shard

if TYPE_CHECKING:
    from idops.container import Container

RUN_HISTORY = timedelta(days=180)
IDEMPOTENCY_WINDOW = timedelta(days=7)
RATE_LIMIT_WINDOW = timedelta(hours=1)  # a caller's hits older than this count no more (PostgreSQL rows)


async def run(c: Container, shard: Shard = REGION) -> dict[str, int]:
    now = c.clock.now()
    async with c.uow() as uow:
        runs = await uow.jobs.forget_runs_before(now - RUN_HISTORY)
        keys = await uow.substitutes.forget_idempotency_before(now - IDEMPOTENCY_WINDOW)
        limits = await uow.throttle.forget_rate_limits_before(now - RATE_LIMIT_WINDOW) if not uow.is_sqlite else 0
        await uow.commit()
    return {"job_runs_removed": runs, "idempotency_keys_removed": keys, "rate_limits_removed": limits}
