"""The read side of substitutes: one, a page, the events of one, the person search, and the gauges."""

from __future__ import annotations

from datetime import datetime

import structlog

from idops.auth.scope import Caller
from idops.graph.errors import GraphError
from idops.kit.clock import as_utc
from idops.kit.errors import Message, NotFound
from idops.kit.pagination import decode_cursor, encode_cursor
from idops.substitutes.access import school_groups
from idops.substitutes.changes import visible_period
from idops.substitutes.deps import SubstituteDeps
from idops.substitutes.models import SubstitutePeriod, SubstitutePerson
from idops.substitutes.names import search_key
from idops.substitutes.repository import SubstitutesUnitOfWork
from idops.substitutes.schemas import (
    EventList,
    EventOut,
    OverdueEnd,
    PersonList,
    PersonOut,
    SubstituteList,
    SubstituteOut,
)

log = structlog.get_logger("idops.substitutes")


def to_out(period: SubstitutePeriod, person: SubstitutePerson) -> SubstituteOut:
    """A period as the API shows it. One revoked before it started never ran: it ends where it would have
    started (the database keeps the moment of the revoke as its end, which is what the jobs need)."""
    never_ran = period.revoked_at is not None and period.activated_at is None and period.ends_at < period.starts_at
    return SubstituteOut(
        id=period.id,
        status=period.status,
        school=period.school,
        person_id=person.id,
        user_principal_name=person.user_principal_name,
        display_name=person.display_name,
        starts_at=period.starts_at,
        ends_at=period.starts_at if never_ran else period.ends_at,
        created_at=period.created_at,
        created_by=period.created_by,
        activated_at=period.activated_at,
        ended_at=period.ended_at,
        revoked_at=period.revoked_at,
        cancelled_before_start=never_ran,
        last_error=period.last_error,
        request_id=period.request_id,
        overdue_since=period.overdue_since,
        end_attempted_at=period.end_attempted_at,
        end_error=period.end_error,
        approval_limits=period.approval_limits.split(",") if period.approval_limits else [],
        decision_reason=period.decision_reason,
    )


async def free_seats(c: SubstituteDeps, school: str) -> int | None:
    """Free seats of the school's substitute licence (of the scarcest, where it has several) as the seat
    cache has them — read from Graph when the cache is cold; None when the school gives no licence or
    Graph cannot tell right now. Never inside a transaction (it may call Graph)."""
    _, skus = school_groups(c.config, school)
    found = c.config.region.school(school)
    if not skus or found is None:
        return None
    directory = c.directories.for_tenant(found[0].tenant_id)
    try:
        free = await c.seats.available(directory, skus, c.clock.now())
    except GraphError as exc:
        log.warning("free_seats_unavailable", school=school, error=type(exc).__name__)
        return None
    return min(free.values())


def mask_email(email: str | None) -> str | None:
    if not email or "@" not in email:
        return None
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


async def refresh_metrics(uow: SubstitutesUnitOfWork, c: SubstituteDeps) -> None:
    """Set the gauges a Prometheus scrape reads: active substitutes, how late the oldest expiry is and
    how many are overdue. The expire job calls it after each run, so a scrape reads memory only."""
    metrics = c.metrics
    now = c.clock.now()
    async with uow:
        active = await uow.substitutes.count_active_by_municipality()
        overdue = await uow.substitutes.oldest_overdue(now)
        n_overdue = await uow.substitutes.count_overdue(now)
    for m in c.config.region.municipalities:
        metrics.active_substitutes.labels(m.key).set(active.get(m.key, 0))
    metrics.expiry_lag.set((now - as_utc(overdue)).total_seconds() if overdue else 0)
    metrics.overdue_ends.set(n_overdue)


async def overdue_ends(uow: SubstitutesUnitOfWork, caller: Caller, now: datetime) -> list[OverdueEnd]:
    """The caller's periods whose end could not be carried out (the IT admins' banner), most overdue first."""
    schools = sorted(caller.scope.schools)
    if not schools:
        return []
    async with uow:
        rows = await uow.substitutes.overdue(schools, now)
    return [
        OverdueEnd(
            id=p.id, school=p.school, display_name=person.display_name,
            user_principal_name=person.user_principal_name, ends_at=p.ends_at, overdue_since=p.overdue_since,
            end_attempted_at=p.end_attempted_at, end_error=p.end_error,
        )
        for p, person in rows
    ]


async def get_one(uow: SubstitutesUnitOfWork, caller: Caller, period_id: str) -> SubstituteOut:
    return to_out(*await visible_period(uow, caller, period_id))


async def list_page(
    uow: SubstitutesUnitOfWork,
    caller: Caller,
    *,
    school: str | None,
    status: list[str] | None,
    active_on: datetime | None,
    person_id: str | None,
    cursor: str | None,
    limit: int,
) -> SubstituteList:
    if school is not None and not caller.scope.sees_school(school):
        raise NotFound(Message("Koulua ei löytynyt.", "School not found."))
    schools = [school] if school else sorted(caller.scope.schools)
    after_raw = decode_cursor(cursor, 2)
    after = (as_utc(datetime.fromisoformat(after_raw[0])), str(after_raw[1])) if after_raw else None
    async with uow:
        rows = await uow.substitutes.list_periods(
            schools=schools, status=status, active_on=active_on, person_id=person_id, after=after, limit=limit + 1
        )
    items = [to_out(p, person) for p, person in rows[:limit]]
    nxt = None
    if len(rows) > limit:
        last = rows[limit - 1][0]
        nxt = encode_cursor([last.created_at.isoformat(), last.id])
    return SubstituteList(items=items, next=nxt)


async def events(uow: SubstitutesUnitOfWork, caller: Caller, period_id: str) -> EventList:
    await visible_period(uow, caller, period_id)
    async with uow:
        rows = await uow.audit.events_of("period", period_id)
    return EventList(
        items=[
            EventOut(id=e.id, at=e.at, actor=e.actor, action=e.action, request_id=e.request_id, details=e.details)
            for e in rows
        ]
    )


async def search_persons(uow: SubstitutesUnitOfWork, caller: Caller, query: str, limit: int) -> PersonList:
    municipalities = sorted({path.split("/", 1)[0] for path in caller.scope.schools})
    if not municipalities:
        return PersonList(items=[])
    raw = query.strip().lower()
    folded = raw if ("@" in raw or any(ch.isdigit() for ch in raw)) else (search_key(query, "").strip() or raw)
    async with uow:
        persons = await uow.substitutes.search_persons(municipalities=municipalities, query=folded, limit=limit)
        periods = await uow.substitutes.periods_of_persons([p.id for p in persons])
    items = []
    for p in persons:
        last = max(periods.get(p.id, []), key=lambda x: x.ends_at, default=None)
        items.append(
            PersonOut(
                person_id=p.id,
                given_name=p.given_name,
                surname=p.surname,
                user_principal_name=p.user_principal_name,
                email_hint=mask_email(p.email),
                municipality=p.municipality,
                last_school=last.school if last else None,
                last_ends_at=last.ends_at if last else None,
            )
        )
    return PersonList(items=items)
