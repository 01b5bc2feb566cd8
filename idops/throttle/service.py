"""The shared limits on PostgreSQL: ``DatabaseBudget`` (``idops.graph.budget.SharedBudget``) and
``DatabaseRateLimiter`` (``idops.kit.ratelimit.RateLimiter``).

Why a token-bucket row per (tenant, class), and not per-tenant work leases: a lease would give one
process a tenant's reports budget for as long as it holds it, so an API replica creating a Temporary
Access Pass (the same budget) would wait behind a night job's listing for minutes, and the hand-over
between processes costs a lease period each time. A row costs one short transaction per request of a
limited class — insert if missing, lock, read the server's clock, update, commit: measured (``python -m
benchmarks.shared_budget``, 2 shared cores at load ≈ 11) a median of 36 ms (p95 66 ms) per request,
against 12 ms (p95 27 ms) for a bare ``SELECT 1`` transaction on the same machine — small beside the
100 ms to seconds a reports page takes at Graph and the 2 s a 5 / 10 s budget leaves between requests
— and it interleaves every process's requests, interactive ones included. Reads, Graph's large budget,
never ask. With 2 and 3 processes listing one tenant's sign-ins the emulator answered 0 × 429 and the
slowest listing took 1.13 × the budget's ideal (each process's pacer alone: 35 and 142 × 429, 1.67 and
2.70 ×; figures in ``benchmarks/README.md``).

Each ask is its own unit of work on the deployment's database (the repository of ``idops.throttle``),
opened by the pacer between Graph requests, never inside a caller's transaction: the Graph adapter
refuses to send while one is open, and the pacer asks right before sending.
"""

from __future__ import annotations

from collections.abc import Callable

from idops.graph.budget import BucketState, Budget
from idops.kit.clock import Clock
from idops.kit.ratelimit import WINDOW, admit, rate_limited
from idops.throttle.repository import ThrottleUnitOfWork


class DatabaseBudget:
    """``SharedBudget`` over ``graph_budgets`` rows (PostgreSQL)."""

    def __init__(self, uow: Callable[[], ThrottleUnitOfWork]) -> None:
        self._uow = uow

    async def take(self, tenant_id: str, cls: str, cost: int, budget: Budget) -> float:
        async with self._uow() as uow:
            row, now = await uow.throttle.lock_budget(tenant_id, cls, float(budget.limit or 0))
            state = BucketState(row.level, row.stamp, row.blocked_until, list(row.recent or []))
            wait = state.take(budget, cost, now)
            if wait > 0.0:
                return wait  # leaving without commit releases the lock; nothing changed
            row.level, row.stamp, row.recent = state.level, state.stamp, state.recent
            await uow.commit()
        return 0.0

    async def penalize(self, tenant_id: str, cls: str, retry_after: float, budget: Budget) -> None:
        async with self._uow() as uow:
            row, now = await uow.throttle.lock_budget(tenant_id, cls, float(budget.limit or 0))
            state = BucketState(row.level, row.stamp, row.blocked_until, list(row.recent or []))
            state.penalize(budget, retry_after, now)
            row.level, row.stamp, row.blocked_until = state.level, state.stamp, state.blocked_until
            await uow.commit()


class DatabaseRateLimiter:
    """``RateLimiter`` over ``rate_limits`` rows (PostgreSQL): one hour's hits per (action, caller),
    shared by every API replica. Idle rows are removed by the housekeeping job."""

    def __init__(self, uow: Callable[[], ThrottleUnitOfWork], clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def check(self, action: str, who: str, per_hour: int) -> None:
        at = self._clock.now()
        async with self._uow() as uow:
            row = await uow.throttle.lock_hits(action, who, at)
            hits = [float(h) for h in row.hits or []]
            wait = admit(hits, at.timestamp(), per_hour, WINDOW)
            if wait is None:
                row.hits, row.updated_at = hits, at
                await uow.commit()
        if wait is not None:
            raise rate_limited(wait)
