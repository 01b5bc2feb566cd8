"""Forget job runs older than 180 days, idempotency records older than their window, idle rate-limit
rows, and the pages' sessions unused for a week (a visitor's that never signed in: after the idle
limit)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from idops.config.region import REGION, Shard
from idops.sessions import service as sessions

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
    removed = await sessions.forget_old(c.uow(), datetime.now(UTC))  # sessions age by the wall clock
    return {
        "job_runs_removed": runs,
        "idempotency_keys_removed": keys,
        "rate_limits_removed": limits,
        "sessions_removed": removed,
    }
