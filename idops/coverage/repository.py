"""All SQL of the single-login report: reading the directory mirror and storing report runs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime
from typing import Protocol

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from idops.coverage.calculation import Account, Membership
from idops.coverage.models import SingleLoginReport
from idops.directory.models import DirectoryMembership, DirectoryUserRow
from idops.kit.uow import Transactional
from idops.signins.repository import SignInRepository

_YIELD = 5000


class CoverageRepository:
    """Reading the directory mirror for the report; storing and reading report runs."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def stream_accounts(self) -> AsyncIterator[Account]:
        """Every mirrored user of every tenant (the report needs all accounts to count a person's logins)."""
        stmt = select(
            DirectoryUserRow.tenant_id,
            DirectoryUserRow.user_id,
            DirectoryUserRow.display_name,
            DirectoryUserRow.upn,
            DirectoryUserRow.account_enabled,
            DirectoryUserRow.employee_id,
            DirectoryUserRow.mail,
        ).execution_options(yield_per=_YIELD)
        result = await self.session.stream(stmt)
        async for tid, uid, name, upn, enabled, eid, mail in result:
            yield Account(tid, uid, name or "", upn or "", bool(enabled), eid, mail)

    async def stream_staff_memberships(self) -> AsyncIterator[Membership]:
        """Staff memberships only (the report never looks at pupils or substitutes)."""
        stmt = (
            select(
                DirectoryMembership.tenant_id,
                DirectoryMembership.user_id,
                DirectoryMembership.municipality,
                DirectoryMembership.school,
                DirectoryMembership.role,
                DirectoryMembership.excluded_reason,
            )
            .where(DirectoryMembership.role == "staff")
            .execution_options(yield_per=_YIELD)
        )
        result = await self.session.stream(stmt)
        async for row in result:
            yield Membership(*row)

    async def synced_at_by_tenant(self) -> dict[str, datetime | None]:
        stmt = select(DirectoryUserRow.tenant_id, func.max(DirectoryUserRow.synced_at)).group_by(
            DirectoryUserRow.tenant_id
        )
        return {tid: at for tid, at in (await self.session.execute(stmt)).all()}

    def add_report(self, report: SingleLoginReport) -> None:
        self.session.add(report)

    async def latest(self) -> SingleLoginReport | None:
        stmt = select(SingleLoginReport).order_by(SingleLoginReport.generated_at.desc()).limit(1)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def latest_on(self, day: date) -> SingleLoginReport | None:
        stmt = (
            select(SingleLoginReport)
            .where(SingleLoginReport.report_date == day)
            .order_by(SingleLoginReport.generated_at.desc())
            .limit(1)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def previous(self, before: datetime) -> SingleLoginReport | None:
        """The run just before ``before`` (the baseline of the deltas)."""
        stmt = (
            select(SingleLoginReport)
            .where(SingleLoginReport.generated_at < before)
            .order_by(SingleLoginReport.generated_at.desc())
            .limit(1)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def unscrubbed_before(self, cutoff: datetime) -> list[str]:
        """Ids of runs generated before ``cutoff`` whose names are not all scrubbed yet, oldest first."""
        stmt = (
            select(SingleLoginReport.id)
            .where(SingleLoginReport.names_scrubbed_at.is_(None), SingleLoginReport.generated_at < cutoff)
            .order_by(SingleLoginReport.generated_at)
        )
        return list((await self.session.execute(stmt)).scalars())

    async def get(self, report_id: str) -> SingleLoginReport | None:
        return await self.session.get(SingleLoginReport, report_id)


class CoverageUnitOfWork(Transactional, Protocol):
    """The unit of work the coverage services receive (``idops.uow.UnitOfWork`` is one)."""

    coverage: CoverageRepository
    signins: SignInRepository
