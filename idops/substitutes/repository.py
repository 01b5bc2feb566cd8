"""All SQL about substitutes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import ColumnElement, and_, delete, exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from idops.audit.models import AuditEvent
from idops.audit.repository import AuditRepository
from idops.config.region import Shard
from idops.directory.repository import DirectoryRepository
from idops.kit.db import savepoint
from idops.kit.uow import Transactional
from idops.signins.repository import SignInRepository
from idops.substitutes.models import (
    ENDED,
    LIVE,
    OPEN,
    IdempotencyRecord,
    OrphanAccount,
    Status,
    SubstitutePeriod,
    SubstitutePerson,
)


def _in_shard(shard: Shard | None) -> list[ColumnElement[bool]]:
    """Conditions keeping the periods of ``shard`` (a job unit's tenant and municipalities)."""
    cond: list[ColumnElement[bool]] = []
    if shard is not None and shard.tenant_id is not None:
        cond.append(SubstitutePeriod.tenant_id == shard.tenant_id)
    if shard is not None and shard.municipalities is not None:
        cond.append(SubstitutePeriod.municipality.in_(sorted(shard.municipalities)))
    return cond


class SubstituteRepository:
    """Persons, periods, idempotency keys and orphans."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, row: SubstitutePerson | SubstitutePeriod | OrphanAccount) -> None:
        self.session.add(row)

    async def try_add_idempotency(self, record: IdempotencyRecord) -> bool:
        """Store an Idempotency-Key; False when the same key raced in from a parallel request."""
        try:
            async with savepoint(self.session):
                self.session.add(record)
                await self.session.flush()
            return True
        except IntegrityError:
            return False

    async def try_take_upn(self, person: SubstitutePerson, upn: str, mail_nickname: str) -> bool:
        """Give ``person`` this UPN; False when another person of the tenant took it first (unique key)."""
        try:
            async with savepoint(self.session):
                person.user_principal_name, person.mail_nickname = upn, mail_nickname
                await self.session.flush()
            return True
        except IntegrityError:
            await self.session.refresh(person)  # the rolled-back savepoint expired it; async must not lazy-load
            return False

    async def periods_by_ids(self, ids: Sequence[str]) -> list[SubstitutePeriod]:
        out: list[SubstitutePeriod] = []
        for i in range(0, len(ids), 500):
            rows = await self.session.execute(select(SubstitutePeriod).where(SubstitutePeriod.id.in_(ids[i : i + 500])))
            out.extend(rows.scalars())
        return out

    async def get_period(self, period_id: str) -> SubstitutePeriod | None:
        return await self.session.get(SubstitutePeriod, period_id)

    async def get_person(self, person_id: str) -> SubstitutePerson | None:
        return await self.session.get(SubstitutePerson, person_id)

    async def period_with_person(self, period_id: str) -> tuple[SubstitutePeriod, SubstitutePerson] | None:
        row = (
            await self.session.execute(
                select(SubstitutePeriod, SubstitutePerson)
                .join(SubstitutePerson, SubstitutePerson.id == SubstitutePeriod.person_id)
                .where(SubstitutePeriod.id == period_id)
            )
        ).first()
        return None if row is None else (row[0], row[1])

    async def periods_of_person(self, person_id: str) -> Sequence[SubstitutePeriod]:
        rows = await self.session.execute(select(SubstitutePeriod).where(SubstitutePeriod.person_id == person_id))
        return rows.scalars().all()

    async def periods_of_persons(self, person_ids: Sequence[str]) -> dict[str, list[SubstitutePeriod]]:
        out: dict[str, list[SubstitutePeriod]] = {pid: [] for pid in person_ids}
        for i in range(0, len(person_ids), 500):
            rows = await self.session.execute(
                select(SubstitutePeriod).where(SubstitutePeriod.person_id.in_(person_ids[i : i + 500]))
            )
            for p in rows.scalars():
                out[p.person_id].append(p)
        return out

    async def persons_by_ids(self, ids: Sequence[str]) -> dict[str, SubstitutePerson]:
        out: dict[str, SubstitutePerson] = {}
        for i in range(0, len(ids), 500):
            rows = await self.session.execute(select(SubstitutePerson).where(SubstitutePerson.id.in_(ids[i : i + 500])))
            out.update({p.id: p for p in rows.scalars()})
        return out

    async def upns_like(self, tenant_id: str, local_prefix: str) -> set[str]:
        rows = await self.session.execute(
            select(SubstitutePerson.user_principal_name).where(
                SubstitutePerson.tenant_id == tenant_id,
                SubstitutePerson.user_principal_name.like(
                    local_prefix.replace("%", "").replace("_", "\\_") + "%", escape="\\"
                ),
            )
        )
        return {r for (r,) in rows if r}

    async def count_overlapping(
        self, school: str, starts_at: datetime, ends_at: datetime, exclude_person: str | None = None
    ) -> int:
        cond = [
            SubstitutePeriod.school == school,
            SubstitutePeriod.status.in_(list(LIVE)),
            SubstitutePeriod.starts_at < ends_at,
            SubstitutePeriod.ends_at > starts_at,
        ]
        if exclude_person:
            cond.append(SubstitutePeriod.person_id != exclude_person)
        return int((await self.session.execute(select(func.count()).where(*cond))).scalar_one())

    async def find_overlapping_for_person(
        self, person_id: str, school: str, starts_at: datetime, ends_at: datetime
    ) -> SubstitutePeriod | None:
        rows = await self.session.execute(
            select(SubstitutePeriod).where(
                SubstitutePeriod.person_id == person_id,
                SubstitutePeriod.school == school,
                SubstitutePeriod.status.in_(list(OPEN)),
                SubstitutePeriod.starts_at < ends_at,
                SubstitutePeriod.ends_at > starts_at,
            )
        )
        return rows.scalars().first()

    async def find_live_duplicate_by_name(
        self,
        municipality: str,
        search_name: str,
        email: str | None,
        school: str,
        starts_at: datetime,
        ends_at: datetime,
    ) -> SubstitutePeriod | None:
        """A double-submitted form: same name (and contact, when given), school and overlapping time."""
        cond = [
            SubstitutePerson.municipality == municipality,
            SubstitutePerson.search_name == search_name,
            SubstitutePeriod.school == school,
            SubstitutePeriod.status.in_(list(OPEN)),
            SubstitutePeriod.starts_at < ends_at,
            SubstitutePeriod.ends_at > starts_at,
        ]
        if email:
            cond.append(or_(SubstitutePerson.email == email, SubstitutePerson.email.is_(None)))
        rows = await self.session.execute(
            select(SubstitutePeriod)
            .join(SubstitutePerson, SubstitutePerson.id == SubstitutePeriod.person_id)
            .where(*cond)
        )
        return rows.scalars().first()

    async def persons_named(self, tenant_id: str, municipality: str, search_name: str) -> Sequence[SubstitutePerson]:
        """Earlier persons of a municipality with this folded name who hold or held an account (or a UPN
        reserved for one). Scrubbed persons are nobody any more; one refused before any account existed
        (its UPN given back) never became a substitute."""
        rows = await self.session.execute(
            select(SubstitutePerson)
            .where(
                SubstitutePerson.tenant_id == tenant_id,  # the (tenant_id, search_name) index
                SubstitutePerson.municipality == municipality,
                SubstitutePerson.search_name == search_name,
                SubstitutePerson.scrubbed_at.is_(None),
                or_(
                    SubstitutePerson.user_principal_name.is_not(None),
                    SubstitutePerson.entra_user_id.is_not(None),
                    SubstitutePerson.account_deleted_at.is_not(None),
                ),
            )
            .order_by(SubstitutePerson.created_at.desc(), SubstitutePerson.id)
        )
        return rows.scalars().all()

    async def list_periods(
        self,
        *,
        schools: Sequence[str],
        status: Sequence[str] | None,
        active_on: datetime | None,
        person_id: str | None,
        after: tuple[datetime, str] | None,
        limit: int,
    ) -> Sequence[tuple[SubstitutePeriod, SubstitutePerson]]:
        """Newest first, keyset-paged by (created_at, id)."""
        q = (
            select(SubstitutePeriod, SubstitutePerson)
            .join(SubstitutePerson, SubstitutePerson.id == SubstitutePeriod.person_id)
            .where(SubstitutePeriod.school.in_(list(schools)))
        )
        if status:
            q = q.where(SubstitutePeriod.status.in_(list(status)))
        if active_on is not None:
            q = q.where(SubstitutePeriod.starts_at <= active_on, SubstitutePeriod.ends_at > active_on)
        if person_id:
            q = q.where(SubstitutePeriod.person_id == person_id)
        if after is not None:
            created, pid = after
            q = q.where(
                or_(
                    SubstitutePeriod.created_at < created,
                    and_(SubstitutePeriod.created_at == created, SubstitutePeriod.id < pid),
                )
            )
        q = q.order_by(SubstitutePeriod.created_at.desc(), SubstitutePeriod.id.desc()).limit(limit)
        return [(r[0], r[1]) for r in (await self.session.execute(q)).all()]

    async def search_persons(
        self, *, municipalities: Sequence[str], query: str, limit: int
    ) -> Sequence[SubstitutePerson]:
        """Persons of these municipalities (a person belongs to one), matched on folded name or contact."""
        like = f"%{query.replace('%', '').replace('_', '')}%"
        q = (
            select(SubstitutePerson)
            .where(
                SubstitutePerson.municipality.in_(list(municipalities)),
                SubstitutePerson.scrubbed_at.is_(None),
                or_(
                    SubstitutePerson.search_name.like(like),
                    SubstitutePerson.email.like(like),
                    SubstitutePerson.mobile_phone.like(like),
                ),
            )
            .order_by(SubstitutePerson.search_name)
            .limit(limit)
        )
        return (await self.session.execute(q)).scalars().all()

    async def due(
        self,
        statuses: Sequence[str],
        *,
        ends_before: datetime | None = None,
        starts_before: datetime | None = None,
        limit: int = 5000,
        shard: Shard | None = None,
    ) -> Sequence[SubstitutePeriod]:
        """Periods in ``statuses`` (due by the given times), earliest end first; of ``shard`` only."""
        q = select(SubstitutePeriod).where(SubstitutePeriod.status.in_(list(statuses)), *_in_shard(shard))
        if ends_before is not None:
            q = q.where(SubstitutePeriod.ends_at <= ends_before)
        if starts_before is not None:
            q = q.where(SubstitutePeriod.starts_at <= starts_before)
        return (await self.session.execute(q.order_by(SubstitutePeriod.ends_at).limit(limit))).scalars().all()

    async def ended_since(self, since: datetime, shard: Shard | None = None) -> Sequence[SubstitutePeriod]:
        """Expired or revoked periods whose access was taken away at ``since`` or later (of ``shard``)."""
        q = select(SubstitutePeriod).where(
            SubstitutePeriod.status.in_(list(ENDED)), SubstitutePeriod.ended_at >= since, *_in_shard(shard)
        )
        return (await self.session.execute(q)).scalars().all()

    async def claim_for_provisioning(self, period_id: str, now: datetime, until: datetime) -> bool:
        """Take the right to work on a period's provisioning (API request or job, never both)."""
        result = await self.session.execute(
            update(SubstitutePeriod)
            .where(
                SubstitutePeriod.id == period_id,
                SubstitutePeriod.status.in_([Status.REQUESTED, Status.PROVISIONING]),
                or_(SubstitutePeriod.next_attempt_at.is_(None), SubstitutePeriod.next_attempt_at <= now),
            )
            .values(next_attempt_at=until, version=SubstitutePeriod.version + 1)
            .execution_options(synchronize_session=False)
        )
        return (result.rowcount or 0) == 1  # type: ignore[attr-defined]

    async def transition(
        self, period_id: str, from_statuses: Sequence[str], *, not_revoked: bool = False, **values: Any
    ) -> bool:
        """Conditional state change: true only for the one writer that made it (exactly-once audit).
        ``not_revoked`` also requires that no revoke has been recorded (an extension must not undo one)."""
        cond = [SubstitutePeriod.id == period_id, SubstitutePeriod.status.in_(list(from_statuses))]
        if not_revoked:
            cond.append(SubstitutePeriod.revoked_at.is_(None))
        result = await self.session.execute(
            update(SubstitutePeriod)
            .where(*cond)
            .values(**values, version=SubstitutePeriod.version + 1)
            .execution_options(synchronize_session=False)
        )
        return (result.rowcount or 0) == 1  # type: ignore[attr-defined]

    async def approvals_to_announce(self, limit: int = 5000) -> Sequence[SubstitutePeriod]:
        """Periods awaiting approval whose approvers have not had the digest naming them."""
        q = select(SubstitutePeriod).where(
            SubstitutePeriod.status == Status.AWAITING_APPROVAL, SubstitutePeriod.approvers_notified_at.is_(None)
        )
        return (await self.session.execute(q.order_by(SubstitutePeriod.created_at).limit(limit))).scalars().all()

    async def decisions_to_tell(self, limit: int = 5000) -> Sequence[str]:
        """Ids of periods that awaited approval, have been decided, and whose requester was not told."""
        q = select(SubstitutePeriod.id).where(
            SubstitutePeriod.approval_limits.is_not(None),
            SubstitutePeriod.status != Status.AWAITING_APPROVAL,
            SubstitutePeriod.decision_notified_at.is_(None),
        )
        return (await self.session.execute(q.order_by(SubstitutePeriod.created_at).limit(limit))).scalars().all()

    async def claim_decision_notice(self, period_id: str, at: datetime | None) -> bool:
        """Mark the requester told (``at``), only if nobody did; ``at=None`` gives a failed send's claim back."""
        told = SubstitutePeriod.decision_notified_at
        cond = told.is_(None) if at else told.is_not(None)
        result = await self.session.execute(
            update(SubstitutePeriod)
            .where(SubstitutePeriod.id == period_id, cond)
            .values(decision_notified_at=at)
            .execution_options(synchronize_session=False)
        )
        return (result.rowcount or 0) == 1  # type: ignore[attr-defined]

    async def persons_with_account(self, tenant_id: str) -> dict[str, SubstitutePerson]:
        rows = await self.session.execute(
            select(SubstitutePerson).where(
                SubstitutePerson.tenant_id == tenant_id, SubstitutePerson.entra_user_id.is_not(None)
            )
        )
        return {p.entra_user_id: p for p in rows.scalars() if p.entra_user_id}

    async def get_idempotency(self, caller: str, key: str) -> IdempotencyRecord | None:
        return await self.session.get(IdempotencyRecord, (caller, key))

    async def upsert_orphan(
        self, tenant_id: str, user_id: str, upn: str, municipality: str | None, now: datetime
    ) -> bool:
        """Record an orphan seen in a listing; True when it is new (or back after it was gone)."""
        existing = await self.session.get(OrphanAccount, (tenant_id, user_id))
        if existing:
            existing.last_seen_at = now
            back, existing.gone_at = existing.gone_at is not None, None
            return back
        self.session.add(
            OrphanAccount(
                tenant_id=tenant_id, entra_user_id=user_id, user_principal_name=upn, municipality=municipality,
                first_seen_at=now, last_seen_at=now,
            )
        )
        return True

    async def orphans_gone(self, tenant_id: str, listed: set[str], now: datetime) -> None:
        """Orphans a complete listing of the tenant no longer shows (deleted, or adopted) are marked gone."""
        rows = await self.session.execute(
            select(OrphanAccount).where(OrphanAccount.tenant_id == tenant_id, OrphanAccount.gone_at.is_(None))
        )
        for orphan in rows.scalars():
            if orphan.entra_user_id not in listed:
                orphan.gone_at = now

    async def mark_orphan_disabled(self, tenant_id: str, user_id: str, now: datetime) -> None:
        orphan = await self.session.get(OrphanAccount, (tenant_id, user_id))
        if orphan is not None:
            orphan.disabled_at = now

    async def orphans(self, municipalities: Sequence[str] | None) -> Sequence[OrphanAccount]:
        """Orphans still in Entra, most recently found first; of these municipalities (None: all, including
        the unattributed)."""
        q = select(OrphanAccount).where(OrphanAccount.gone_at.is_(None))
        if municipalities is not None:
            q = q.where(OrphanAccount.municipality.in_(list(municipalities)))
        q = q.order_by(OrphanAccount.first_seen_at.desc(), OrphanAccount.entra_user_id)
        return (await self.session.execute(q)).scalars().all()

    async def drift_events(
        self, actions: Sequence[str], municipalities: Sequence[str] | None, before_seq: int | None, limit: int
    ) -> Sequence[tuple[AuditEvent, SubstitutePerson | None]]:
        """Audit events of these actions on persons or orphans of these municipalities (None: all),
        newest first, keyset-paged by ``seq``; each with its person (None for an orphan's)."""
        q = (
            select(AuditEvent, SubstitutePerson)
            .outerjoin(SubstitutePerson, SubstitutePerson.id == AuditEvent.person_id)
            .where(AuditEvent.action.in_(list(actions)))
        )
        if municipalities is not None:
            orphan_ids = select(OrphanAccount.entra_user_id).where(
                OrphanAccount.municipality.in_(list(municipalities))
            )
            q = q.where(
                or_(
                    SubstitutePerson.municipality.in_(list(municipalities)),
                    and_(AuditEvent.subject_type == "orphan", AuditEvent.subject_id.in_(orphan_ids)),
                )
            )
        if before_seq is not None:
            q = q.where(AuditEvent.seq < before_seq)
        rows = await self.session.execute(q.order_by(AuditEvent.seq.desc()).limit(limit))
        return [(r[0], r[1]) for r in rows.all()]

    async def persons_to_retire(self, shard: Shard | None = None) -> Sequence[SubstitutePerson]:
        """Persons not yet scrubbed none of whose periods is live (every period in a terminal state:
        expired, revoked, missing, failed or deleted) — the candidates for deletion and scrubbing. Of
        ``shard`` only: its tenant, and the person's municipality (where they first substituted) in it —
        in a tenant several municipalities share, one person is one account, handled once."""
        live = exists().where(
            SubstitutePeriod.person_id == SubstitutePerson.id, SubstitutePeriod.status.in_(list(LIVE))
        )
        q = select(SubstitutePerson).where(SubstitutePerson.scrubbed_at.is_(None), ~live)
        if shard is not None and shard.tenant_id is not None:
            q = q.where(SubstitutePerson.tenant_id == shard.tenant_id)
        if shard is not None and shard.municipalities is not None:
            q = q.where(SubstitutePerson.municipality.in_(sorted(shard.municipalities)))
        rows = await self.session.execute(q.order_by(SubstitutePerson.id))
        return rows.scalars().all()

    async def orphans_unseen_since(self, cutoff: datetime) -> Sequence[OrphanAccount]:
        """Orphans the reconcile job has not seen since ``cutoff`` (deleted in Entra, or adopted)."""
        rows = await self.session.execute(select(OrphanAccount).where(OrphanAccount.last_seen_at < cutoff))
        return rows.scalars().all()

    async def forget_orphan(self, tenant_id: str, entra_user_id: str) -> int:
        result = await self.session.execute(
            delete(OrphanAccount).where(
                OrphanAccount.tenant_id == tenant_id, OrphanAccount.entra_user_id.in_(_spellings(entra_user_id))
            )
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def count_active_by_municipality(self) -> dict[str, int]:
        rows = await self.session.execute(
            select(SubstitutePeriod.municipality, func.count())
            .where(SubstitutePeriod.status == Status.ACTIVE)
            .group_by(SubstitutePeriod.municipality)
        )
        return {m: int(n) for m, n in rows.all()}

    async def mark_end_failed(self, period_id: str, now: datetime, reason: str) -> bool:
        """Record a failed attempt to end a live period; True when it is the first (the period just
        became overdue: ``overdue_since`` is set to its end)."""
        first = await self.session.execute(
            update(SubstitutePeriod)
            .where(
                SubstitutePeriod.id == period_id,
                SubstitutePeriod.status.in_(list(LIVE)),
                SubstitutePeriod.overdue_since.is_(None),
            )
            .values(overdue_since=SubstitutePeriod.ends_at)
            .execution_options(synchronize_session=False)
        )
        await self.session.execute(
            update(SubstitutePeriod)
            .where(SubstitutePeriod.id == period_id, SubstitutePeriod.status.in_(list(LIVE)))
            .values(end_attempted_at=now, end_error=reason[:200])
            .execution_options(synchronize_session=False)
        )
        return (first.rowcount or 0) == 1  # type: ignore[attr-defined]

    async def overdue(
        self, schools: Sequence[str], now: datetime, limit: int = 100
    ) -> list[tuple[SubstitutePeriod, SubstitutePerson]]:
        """Live periods of ``schools`` whose end is past and at least one attempt to end them failed,
        most overdue first."""
        q = (
            select(SubstitutePeriod, SubstitutePerson)
            .join(SubstitutePerson, SubstitutePerson.id == SubstitutePeriod.person_id)
            .where(
                SubstitutePeriod.school.in_(list(schools)),
                SubstitutePeriod.status.in_(list(LIVE)),
                SubstitutePeriod.ends_at <= now,
                SubstitutePeriod.end_attempted_at.is_not(None),
            )
            .order_by(SubstitutePeriod.ends_at)
            .limit(limit)
        )
        return [(p, person) for p, person in (await self.session.execute(q)).all()]

    async def count_overdue(self, now: datetime) -> int:
        """Live periods whose end is due or past (not yet taken away)."""
        q = select(func.count()).where(SubstitutePeriod.status.in_(list(LIVE)), SubstitutePeriod.ends_at <= now)
        return int(await self.session.scalar(q) or 0)

    async def oldest_overdue(self, now: datetime) -> datetime | None:
        row = await self.session.execute(
            select(func.min(SubstitutePeriod.ends_at)).where(
                SubstitutePeriod.status.in_(list(LIVE)), SubstitutePeriod.ends_at <= now
            )
        )
        value = row.scalar_one_or_none()
        return value

    async def forget_idempotency_before(self, cutoff: datetime) -> int:
        result = await self.session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.created_at < cutoff))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _spellings(object_id: str) -> list[str]:
    """An Entra object id as stored (Graph writes ids in lowercase; compare both, keep the index)."""
    return sorted({object_id, object_id.lower()})


class SubstitutesUnitOfWork(Transactional, Protocol):
    """The unit of work the substitutes services receive (``idops.uow.UnitOfWork`` is one)."""

    substitutes: SubstituteRepository
    audit: AuditRepository


class ForgettingUnitOfWork(SubstitutesUnitOfWork, Protocol):
    """What scrubbing and the data-subject rights also reach: the directory mirror and the sign-in
    aggregate hold a person's account (by its object id) until the person is forgotten."""

    directory: DirectoryRepository
    signins: SignInRepository
