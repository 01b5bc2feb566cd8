"""All SQL of the shared limits (PostgreSQL: row locks and the server's clock).

Each operation is one short transaction: insert the row if it is missing (``ON CONFLICT DO NOTHING``),
lock it (``SELECT … FOR UPDATE``), and the caller writes the new state back before committing. Two
processes updating one row therefore take turns; rows of different tenants never wait for each other.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from idops.kit.uow import Transactional
from idops.throttle.models import GraphBudgetRow, RateLimitRow

#: The server's clock in epoch seconds (``clock_timestamp``: the moment of the statement, not of the
#: transaction's start).
_NOW = func.extract("epoch", func.clock_timestamp())


class ThrottleRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def lock_budget(self, tenant_id: str, cls: str, level: float) -> tuple[GraphBudgetRow, float]:
        """The budget row of (tenant, class), created full (``level``) when missing, locked; and the
        database server's clock once the lock is held (epoch seconds)."""
        await self.session.execute(
            insert(GraphBudgetRow)
            .values(tenant_id=tenant_id, cls=cls, level=level, stamp=_NOW, blocked_until=0.0, recent=[])
            .on_conflict_do_nothing()
        )
        q = select(GraphBudgetRow).where(GraphBudgetRow.tenant_id == tenant_id, GraphBudgetRow.cls == cls)
        row = (await self.session.execute(q.with_for_update())).scalar_one()
        # read after the lock is held: a wait for another process's turn must not age our "now"
        return row, float((await self.session.execute(select(_NOW))).scalar_one())

    async def lock_hits(self, action: str, who: str, at: datetime) -> RateLimitRow:
        """The hit log of (action, caller), created empty when missing, locked."""
        await self.session.execute(
            insert(RateLimitRow).values(action=action, who=who, hits=[], updated_at=at).on_conflict_do_nothing()
        )
        q = select(RateLimitRow).where(RateLimitRow.action == action, RateLimitRow.who == who)
        return (await self.session.execute(q.with_for_update())).scalar_one()

    async def forget_rate_limits_before(self, cutoff: datetime) -> int:
        """Drop hit logs untouched since ``cutoff`` (their hits have all left the window)."""
        result = await self.session.execute(delete(RateLimitRow).where(RateLimitRow.updated_at < cutoff))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


class ThrottleUnitOfWork(Transactional, Protocol):
    """The unit of work the shared limits receive (``idops.uow.UnitOfWork`` is one)."""

    throttle: ThrottleRepository
