"""Forget job runs older than 180 days and idempotency records older than their window."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from idops.container import Container

RUN_HISTORY = timedelta(days=180)
IDEMPOTENCY_WINDOW = timedelta(days=7)


async def run(c: Container) -> dict[str, int]:
    now = c.clock.now()
    async with c.uow() as uow:
        runs = await uow.jobs.forget_runs_before(now - RUN_HISTORY)
        keys = await uow.substitutes.forget_idempotency_before(now - IDEMPOTENCY_WINDOW)
        await uow.commit()
    return {"job_runs_removed": runs, "idempotency_keys_removed": keys}
