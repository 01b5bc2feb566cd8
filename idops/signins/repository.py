"""All SQL of the sign-in ingestion. Functions flush at most; the caller's unit of work commits."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from idops.kit.uow import Transactional
from idops.signins.models import SignInDaily, SignInIngestion

# (day, user_id, app_id) → [app_display_name, sign_ins, mfa_sign_ins, failed_sign_ins]
DayCounts = dict[tuple[date, str, str], list[Any]]

_UPSERT_BATCH = 2000


@dataclass(frozen=True, slots=True)
class AppUseRow:
    """One account's use of one app inside a window: it signed in (successfully or not) at least once."""

    tenant_id: str
    user_id: str
    app_id: str
    app_display_name: str
    sign_ins: int


class SignInRepository:
    """Ingestion watermarks and the daily per-user-and-app aggregate."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get_state(self, tenant_id: str) -> SignInIngestion | None:
        return await self.session.get(SignInIngestion, tenant_id)

    async def states(self) -> dict[str, SignInIngestion]:
        rows = (await self.session.execute(select(SignInIngestion))).scalars()
        return {r.tenant_id: r for r in rows}

    async def ensure_state(self, tenant_id: str, watermark: datetime, now: datetime) -> None:
        """Create the tenant's state row with ``watermark`` unless it exists (never moves an existing one)."""
        values = {"tenant_id": tenant_id, "watermark": watermark, "updated_at": now}
        stmt = (
            self._dialect_insert(SignInIngestion).values(**values).on_conflict_do_nothing(index_elements=["tenant_id"])
        )
        await self.session.execute(stmt)

    async def advance_watermark(self, tenant_id: str, expected: datetime | None, new: datetime, now: datetime) -> bool:
        """Compare-and-set: move the watermark from ``expected`` to ``new``. False when someone else moved it
        first (the caller must then roll back whatever it wrote in the same transaction)."""
        cond = SignInIngestion.watermark.is_(None) if expected is None else SignInIngestion.watermark == expected
        result = await self.session.execute(
            update(SignInIngestion)
            .where(SignInIngestion.tenant_id == tenant_id, cond)
            .values(watermark=new, available=True, last_error=None, last_success_at=now, updated_at=now)
        )
        return (result.rowcount or 0) == 1  # type: ignore[attr-defined]

    async def mark(self, tenant_id: str, *, now: datetime, available: bool | None, error: str | None) -> None:
        """Record the outcome of a failed or refused read without touching the watermark."""
        values: dict[str, Any] = {"updated_at": now, "last_error": error, "last_error_at": now if error else None}
        if available is not None:
            values["available"] = available
        stmt = update(SignInIngestion).where(SignInIngestion.tenant_id == tenant_id).values(**values)
        await self.session.execute(stmt)

    async def add_counts(self, tenant_id: str, counts: DayCounts) -> int:
        """Add ``counts`` to the daily aggregate (insert or increment). Returns the rows touched."""
        rows = [
            {
                "tenant_id": tenant_id,
                "day": day,
                "user_id": user_id,
                "app_id": app_id,
                "app_display_name": v[0][:256],
                "sign_ins": v[1],
                "mfa_sign_ins": v[2],
                "failed_sign_ins": v[3],
            }
            for (day, user_id, app_id), v in counts.items()
        ]
        table = SignInDaily.__table__
        for i in range(0, len(rows), _UPSERT_BATCH):
            stmt = self._dialect_insert(SignInDaily)
            stmt = stmt.on_conflict_do_update(
                index_elements=["tenant_id", "day", "user_id", "app_id"],
                set_={
                    "app_display_name": stmt.excluded.app_display_name,
                    "sign_ins": table.c.sign_ins + stmt.excluded.sign_ins,
                    "mfa_sign_ins": table.c.mfa_sign_ins + stmt.excluded.mfa_sign_ins,
                    "failed_sign_ins": table.c.failed_sign_ins + stmt.excluded.failed_sign_ins,
                },
            )
            await self.session.execute(stmt, rows[i : i + _UPSERT_BATCH])
        return len(rows)

    async def usage_by_user(self, tenant_id: str, since: date) -> dict[str, tuple[int, int]]:
        """Per user of the tenant: (all interactive sign-ins, MFA-satisfied ones) on days ``>= since``."""
        stmt = (
            select(
                SignInDaily.user_id,
                func.sum(SignInDaily.sign_ins + SignInDaily.failed_sign_ins),
                func.sum(SignInDaily.mfa_sign_ins),
            )
            .where(SignInDaily.tenant_id == tenant_id, SignInDaily.day >= since)
            .group_by(SignInDaily.user_id)
        )
        return {uid: (int(n or 0), int(m or 0)) for uid, n, m in (await self.session.execute(stmt)).all()}

    async def stream_app_use(self, since: date) -> AsyncIterator[AppUseRow]:
        """Every (account, app) with a sign-in on a day ``>= since``, streamed (not held in memory). A failed
        attempt counts too: the person uses (tries to use) the app."""
        stmt = (
            select(
                SignInDaily.tenant_id,
                SignInDaily.user_id,
                SignInDaily.app_id,
                func.max(SignInDaily.app_display_name),
                func.sum(SignInDaily.sign_ins + SignInDaily.failed_sign_ins),
            )
            .where(SignInDaily.day >= since)
            .group_by(SignInDaily.tenant_id, SignInDaily.user_id, SignInDaily.app_id)
            .execution_options(yield_per=5000)
        )
        result = await self.session.stream(stmt)
        async for tid, uid, aid, name, n in result:
            yield AppUseRow(tid, uid, aid, name or "", int(n or 0))

    async def prune(self, before: date) -> int:
        """Forget aggregate rows of days before ``before``."""
        result = await self.session.execute(delete(SignInDaily).where(SignInDaily.day < before))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def days_of_user(self, tenant_id: str, user_id: str) -> list[SignInDaily]:
        """One account's aggregate rows, oldest first (a data subject's export)."""
        stmt = (
            select(SignInDaily)
            .where(SignInDaily.tenant_id == tenant_id, SignInDaily.user_id.in_(sorted({user_id, user_id.lower()})))
            .order_by(SignInDaily.day, SignInDaily.app_id)
        )
        return list((await self.session.execute(stmt)).scalars())

    async def forget_user(self, tenant_id: str, user_id: str) -> int:
        """Delete one account's aggregate rows (its person was scrubbed or erased)."""
        result = await self.session.execute(
            delete(SignInDaily).where(
                SignInDaily.tenant_id == tenant_id, SignInDaily.user_id.in_(sorted({user_id, user_id.lower()}))
            )
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def counts_for_days(self, tenant_id: str) -> dict[date, int]:
        """Successful sign-ins per day of one tenant (tests, diagnostics)."""
        stmt = (
            select(SignInDaily.day, func.sum(SignInDaily.sign_ins + SignInDaily.failed_sign_ins))
            .where(SignInDaily.tenant_id == tenant_id)
            .group_by(SignInDaily.day)
        )
        return {d: int(n) for d, n in (await self.session.execute(stmt)).all()}

    def _dialect_insert(self, model: type[Any]) -> Any:
        """``INSERT … ON CONFLICT`` of the self.session's dialect (SQLite and PostgreSQL share the syntax)."""
        name = self.session.get_bind().dialect.name
        if name == "postgresql":
            return postgresql.insert(model)
        if name == "sqlite":
            return sqlite.insert(model)
        raise NotImplementedError(f"upsert is not implemented for {name}")


class SignInsUnitOfWork(Transactional, Protocol):
    """The unit of work the signins services receive (``idops.uow.UnitOfWork`` is one)."""

    signins: SignInRepository
