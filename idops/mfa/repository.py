"""All SQL of MFA tracking: aggregation of the mirror into snapshot rows, and the read queries.

Scope arrives as a ``Visible`` (whole municipalities and/or single school paths) decided by the
service from the caller's ``Scope``; this module only turns it into a WHERE clause.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from sqlalchemy import (
    ColumnElement,
    Integer,
    and_,
    case,
    delete,
    false,
    func,
    insert,
    or_,
    select,
    true,
    tuple_,
)
from sqlalchemy.ext.asyncio import AsyncSession

from idops.audit.repository import AuditRepository
from idops.directory.models import DirectoryMembership as M
from idops.directory.models import DirectoryUserRow as U
from idops.kit.uow import Transactional
from idops.mfa.models import MfaSnapshot as S
from idops.signins.repository import SignInRepository


@dataclass(frozen=True, slots=True)
class Visible:
    """What a query may return: every school of ``municipalities`` plus the ``schools`` paths.
    ``everything`` short-circuits both (region admins)."""

    everything: bool = False
    municipalities: frozenset[str] = field(default_factory=frozenset)
    schools: frozenset[str] = field(default_factory=frozenset)


def _where(v: Visible, muni_col: Any, school_col: Any) -> ColumnElement[bool]:
    if v.everything:
        return true()
    parts: list[ColumnElement[bool]] = []
    if v.municipalities:
        parts.append(muni_col.in_(sorted(v.municipalities)))
    pairs = [tuple(p.split("/", 1)) for p in sorted(v.schools) if p.split("/", 1)[0] not in v.municipalities]
    if pairs:
        parts.append(tuple_(muni_col, school_col).in_(pairs))
    return or_(*parts) if parts else false()


# --------------------------------------------------------------------------------------- writing


def _count(cond: ColumnElement[bool]) -> Any:
    return func.sum(case((cond, 1), else_=0)).cast(Integer)


def _as_datetime(value: Any) -> datetime | None:
    """MIN() over a CASE loses the column type on SQLite (a string comes back)."""
    from idops.kit.clock import as_utc

    if value is None:
        return None
    if isinstance(value, datetime):
        return as_utc(value)
    return as_utc(datetime.fromisoformat(str(value)))


# --------------------------------------------------------------------------------------- reading

SNAPSHOT_FIELDS = (
    "day",
    "tenant_id",
    "municipality",
    "school",
    "role",
    "total",
    "measured",
    "registered",
    "capable",
    "passwordless_capable",
    "used_share",
    "used_users",
    "used_known",
    "used_unknown",
    "signins_available",
    "excluded_disabled",
    "excluded_guest",
    "excluded_group",
    "excluded_not_started",
    "report_as_of",
    "synced_at",
    "source",
    "unavailable_reason",
)


def _columns() -> list[Any]:
    return [getattr(S, f) for f in SNAPSHOT_FIELDS]


class MfaRepository:
    """Aggregation of the directory mirror into snapshot rows, and the MFA read queries."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def aggregate_tenant(self, tenant_id: str) -> list[dict[str, Any]]:
        """Counts per (municipality, school, role) of one tenant's mirror, per docs/definitions.md:
        ``measured`` of the ``total`` have a known registration (``scanned`` of them from per-user
        methods); registered, capable and passwordless count among the measured."""
        inc = M.excluded_reason.is_(None)
        known = and_(inc, U.registration_source.is_not(None))
        stmt = (
            select(
                M.municipality,
                M.school,
                M.role,
                _count(inc).label("total"),
                _count(known).label("measured"),
                _count(and_(known, U.registration_source == "per_user_scan")).label("scanned"),
                _count(and_(known, U.is_mfa_registered.is_(True))).label("registered"),
                _count(and_(known, U.is_mfa_capable.is_(True))).label("capable"),
                _count(and_(known, U.is_passwordless_capable.is_(True))).label("passwordless_capable"),
                _count(M.excluded_reason == "disabled").label("excluded_disabled"),
                _count(M.excluded_reason == "guest").label("excluded_guest"),
                _count(M.excluded_reason == "excluded_group").label("excluded_group"),
                _count(M.excluded_reason == "not_started").label("excluded_not_started"),
                func.min(case((known, U.report_updated_at), else_=None)).label("report_as_of"),
            )
            .join(U, and_(U.tenant_id == M.tenant_id, U.user_id == M.user_id))
            .where(M.tenant_id == tenant_id)
            .group_by(M.municipality, M.school, M.role)
        )
        rows = []
        for r in (await self.session.execute(stmt)).mappings():
            d = dict(r)
            d["report_as_of"] = _as_datetime(d["report_as_of"])
            rows.append(d)
        return rows

    async def aggregate_other(self, tenant_id: str) -> dict[str, int]:
        """Counts of one tenant's users in no school group (role ``other``, counted per tenant only):
        included users and their registration, and the excluded ones by the user's own reason
        (``not_started`` needs a school, so it never applies)."""
        inc = U.excluded_reason.is_(None)
        known = and_(inc, U.registration_source.is_not(None))
        in_a_school = select(M.user_id).where(M.tenant_id == U.tenant_id, M.user_id == U.user_id).exists()
        stmt = select(
            _count(inc).label("total"),
            _count(known).label("measured"),
            _count(and_(known, U.is_mfa_registered.is_(True))).label("registered"),
            _count(and_(known, U.is_mfa_capable.is_(True))).label("capable"),
            _count(and_(known, U.is_passwordless_capable.is_(True))).label("passwordless_capable"),
            _count(U.excluded_reason == "disabled").label("excluded_disabled"),
            _count(U.excluded_reason == "guest").label("excluded_guest"),
            _count(U.excluded_reason == "excluded_group").label("excluded_group"),
        ).where(U.tenant_id == tenant_id, ~in_a_school)
        row = (await self.session.execute(stmt)).mappings().one()
        return {k: int(v or 0) for k, v in row.items()}  # SUM over no rows is NULL

    async def included_placements(self, tenant_id: str) -> AsyncIterator[tuple[str, str, str, str]]:
        """(user_id, municipality, school, role) of every counted placement, streamed."""
        stmt = (
            select(M.user_id, M.municipality, M.school, M.role)
            .where(M.tenant_id == tenant_id, M.excluded_reason.is_(None))
            .execution_options(yield_per=5000)
        )
        result = await self.session.stream(stmt)
        async for row in result:
            yield row[0], row[1], row[2], row[3]

    async def replace_day(self, day: date, municipalities: Sequence[str], rows: Sequence[dict[str, Any]]) -> None:
        """Replace ``day``'s rows of ``municipalities`` by ``rows`` (re-running a day never duplicates)."""
        await self.session.execute(delete(S).where(S.day == day, S.municipality.in_(list(municipalities))))
        if rows:
            await self.session.execute(insert(S), [{**r, "day": day} for r in rows])

    async def latest_rows(self, visible: Visible, role: str | None = None) -> list[dict[str, Any]]:
        """Each visible municipality's rows of its most recent snapshot date."""
        latest = (
            select(S.municipality.label("m"), func.max(S.day).label("d"))
            .where(_where(visible, S.municipality, S.school))
            .group_by(S.municipality)
            .subquery()
        )
        stmt = (
            select(*_columns())
            .join(latest, and_(latest.c.m == S.municipality, latest.c.d == S.day))
            .where(_where(visible, S.municipality, S.school))
            .order_by(S.municipality, S.school, S.role)
        )
        if role:
            stmt = stmt.where(S.role == role)
        return [dict(r) for r in (await self.session.execute(stmt)).mappings()]

    async def range_rows(
        self, visible: Visible, start: date, end: date, role: str | None = None
    ) -> list[dict[str, Any]]:
        stmt = (
            select(*_columns())
            .where(_where(visible, S.municipality, S.school), S.day >= start, S.day <= end)
            .order_by(S.day, S.municipality, S.school, S.role)
        )
        if role:
            stmt = stmt.where(S.role == role)
        return [dict(r) for r in (await self.session.execute(stmt)).mappings()]

    async def users_lacking(
        self,
        visible: Visible,
        *,
        measure: str,
        role: str | None,
        after: Sequence[Any] | None,
        limit: int,
    ) -> list[dict[str, Any]]:
        """Counted staff and substitutes (not excluded at that school) known to lack ``measure``
        (registered / capable), one row per (user, school), ordered by municipality, school, UPN, id
        (keyset ``after``). Never pupils: they are only counted (docs/data-protection.md). Users whose
        registration is unknown (no report, not yet read) are never listed."""
        flag = U.is_mfa_registered if measure == "registered" else U.is_mfa_capable
        stmt = (
            select(
                M.municipality,
                M.school,
                M.role,
                U.upn,
                U.user_id,
                U.display_name,
                U.tenant_id,
                U.is_mfa_registered,
                U.is_mfa_capable,
                U.is_passwordless_capable,
                U.methods_registered,
                U.report_updated_at,
                U.synced_at,
                U.registration_source,
            )
            .join(U, and_(U.tenant_id == M.tenant_id, U.user_id == M.user_id))
            .where(
                M.excluded_reason.is_(None),
                flag.is_(False),
                M.role != "pupil",
                U.registration_source.is_not(None),
                _where(visible, M.municipality, M.school),
            )
            .order_by(M.municipality, M.school, U.upn, U.user_id)
            .limit(limit)
        )
        if role:
            stmt = stmt.where(M.role == role)
        if after is not None:
            stmt = stmt.where(tuple_(M.municipality, M.school, U.upn, U.user_id) > tuple_(*after))
        return [dict(r) for r in (await self.session.execute(stmt)).mappings()]


    async def placements_of(self, user_id: str, visible: Visible) -> list[dict[str, Any]]:
        """One user's mirror row with each of their school placements inside ``visible`` (empty when the
        user is unknown or placed only outside it)."""
        stmt = (
            select(
                M.municipality,
                M.school,
                M.role,
                U.tenant_id,
                U.user_id,
                U.upn,
                U.display_name,
                U.is_admin,
                U.registration_source,
                U.account_enabled,
                U.user_type,
            )
            .join(U, and_(U.tenant_id == M.tenant_id, U.user_id == M.user_id))
            .where(U.user_id == user_id, _where(visible, M.municipality, M.school))
            .order_by(M.municipality, M.school)
        )
        return [dict(r) for r in (await self.session.execute(stmt)).mappings()]


class MfaUnitOfWork(Transactional, Protocol):
    """The unit of work the mfa services receive (``idops.uow.UnitOfWork`` is one)."""

    mfa: MfaRepository
    signins: SignInRepository
    audit: AuditRepository
