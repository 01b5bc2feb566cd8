"""Changing a period after it was requested: extending (or shortening) it, and ending it now."""

from __future__ import annotations

from datetime import datetime

import structlog

from idops.auth.scope import Caller
from idops.graph.port import AccountChange
from idops.kit.errors import Conflict, Message, NotFound, PolicyViolation
from idops.substitutes import policy
from idops.substitutes.access import target
from idops.substitutes.deps import SubstituteDeps
from idops.substitutes.ending import end_access
from idops.substitutes.models import LIVE, Status, SubstitutePeriod, SubstitutePerson
from idops.substitutes.repository import SubstitutesUnitOfWork

log = structlog.get_logger("idops.substitutes")

NOT_FOUND = Message("Sijaistunnusta ei löytynyt.", "Substitute account not found.")
_ENDED = Message("Päättynyttä sijaisuutta ei voi muuttaa.", "An ended substitution cannot be changed.")
_END_IN_PAST = Message(
    "Uuden päättymisajan on oltava tulevaisuudessa; päätä tunnus heti toiminnolla 'Päätä nyt'.",
    "The new end must be in the future; use 'end now' to end the account at once.",
)
_RACED = Message("Sijaisuus muuttui juuri; yritä uudelleen.", "The substitution just changed; retry.")
_ALREADY_ENDED = Message("Sijaisuus on jo päättynyt.", "The substitution has already ended.")


async def visible_period(
    uow: SubstitutesUnitOfWork, caller: Caller, period_id: str
) -> tuple[SubstitutePeriod, SubstitutePerson]:
    """The period if the caller may see its school — otherwise exactly the same 404 as a missing one."""
    async with uow:
        pair = await uow.substitutes.period_with_person(period_id)
    if pair is None or not caller.scope.sees_school(pair[0].school):
        raise NotFound(NOT_FOUND)
    return pair


async def extend(
    uow: SubstitutesUnitOfWork, c: SubstituteDeps, caller: Caller, period_id: str, ends_at: datetime
) -> None:
    """Change the end of a running or upcoming period (within policy); the leave date follows."""
    period, person = await visible_period(uow, caller, period_id)
    if period.status not in LIVE or period.revoked_at is not None:  # a recorded revoke is final
        raise Conflict(_ENDED)
    now = c.clock.now()
    if ends_at <= now:
        raise PolicyViolation(_END_IN_PAST, field="ends_at")
    found = c.config.region.school(period.school)
    assert found is not None
    policy.check_duration(c.config.policy_for(*found), period.starts_at, ends_at)
    async with uow:
        if not await uow.substitutes.transition(
            period_id, list(LIVE), ends_at=ends_at, notified_at=None, not_revoked=True,
            overdue_since=None, end_attempted_at=None, end_error=None,
        ):
            raise Conflict(_RACED)
        uow.audit.record(
            at=now,
            actor=caller.actor,
            action="ends_at_changed",
            subject_type="period",
            subject_id=period_id,
            person_id=person.id,
            school=period.school,
            details={"from": period.ends_at.isoformat(), "to": ends_at.isoformat()},
        )
        await uow.commit()
    if person.entra_user_id and c.leave_dates.allowed(period.tenant_id):
        async with uow:
            periods = list(await uow.substitutes.periods_of_person(person.id))
        want = target(c.config, periods, now)
        res = await c.directories.for_tenant(period.tenant_id).apply_account_changes(
            [AccountChange(person.entra_user_id, leave_date=want.leave_date)],
        )
        if not res[person.entra_user_id].ok:  # the database is the truth; the leave date is a second net
            log.warning("leave_date_update_failed", period_id=period_id)


async def revoke(uow: SubstitutesUnitOfWork, c: SubstituteDeps, caller: Caller, period_id: str) -> None:
    """End a period now. Recorded first (so the expire job finishes it if Graph is down), then applied."""
    period, person = await visible_period(uow, caller, period_id)
    now = c.clock.now()
    if period.status in LIVE:
        async with uow:
            if await uow.substitutes.transition(
                period_id, list(LIVE), ends_at=min(period.ends_at, now), revoked_at=now, revoked_by=caller.actor
            ):
                uow.audit.record(
                    at=now,
                    actor=caller.actor,
                    action="revoke_requested",
                    subject_type="period",
                    subject_id=period_id,
                    person_id=person.id,
                    school=period.school,
                )
            await uow.commit()
    elif period.status != Status.REVOKED:
        raise Conflict(_ALREADY_ENDED)
    await end_access(uow, c, [period_id], actor=caller.actor)
