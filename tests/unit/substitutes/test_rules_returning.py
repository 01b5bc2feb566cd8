"""Returning persons: one person, one account — back for a new period, or at two schools at once."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from idops.kit.errors import Conflict, NotFound
from idops.substitutes.changes import revoke
from idops.substitutes.ending import expire_due

if TYPE_CHECKING:
    from tests.unit.substitutes.conftest import Substitutes


async def test_a_returning_person_gets_the_same_account_back_for_a_new_period_at_another_school(
    sub: Substitutes,
) -> None:
    first = await sub.request(days=2)
    person = await sub.person_of(first)
    user = await sub.account(first)
    sub.clock.advance(timedelta(days=10))
    await expire_due(sub.c.uow(), sub.c)

    again = await sub.request(school=sub.OTHER_SCHOOL, days=3, person_id=person.id)
    assert (await sub.person_of(again)).id == person.id and (await sub.account(again)).id == user.id
    assert user.account_enabled and user.user_principal_name == person.user_principal_name
    assert sub.has_access(user, sub.OTHER_SCHOOL)
    assert not any(user.id in sub.state().members(g) for g in sub.groups())  # the first school's are gone
    assert user.employee_leave_date_time == (await sub.period(again)).ends_at
    assert len(await sub.persons()) == 1 and len(sub.marked_users()) == 1
    event = (await sub.events(again))[0]
    assert event.action == "requested" and event.details["returning"] is True


async def test_overlapping_periods_at_two_schools_are_one_account_with_two_assignments(sub: Substitutes) -> None:
    here = await sub.request(days=5)
    person = (await sub.person_of(here)).id
    there = await sub.request(school=sub.OTHER_SCHOOL, starts=timedelta(days=1), days=5, person_id=person)

    user = await sub.account(here)
    assert (await sub.account(there)).id == user.id and len(sub.marked_users()) == 1
    assert sub.has_access(user) and sub.has_access(user, sub.OTHER_SCHOOL)
    assert [p.status for p in sorted(await sub.periods(), key=lambda p: p.starts_at)] == ["active", "scheduled"]
    # both schools use the same licence: one seat, held once
    assert user.licences == [sub.skus()[0].lower()] and sub.state().skus[sub.skus()[0]].consumed_units == 1
    assert user.employee_leave_date_time == (await sub.period(there)).ends_at
    assert (await sub.actions(there))[1] == "account_reused"


async def test_revoking_one_of_two_periods_keeps_the_other_schools_access(sub: Substitutes) -> None:
    here = await sub.request(days=5)
    there = await sub.request(school=sub.OTHER_SCHOOL, days=5, person_id=(await sub.person_of(here)).id)
    user = await sub.account(here)

    await revoke(sub.c.uow(), sub.c, sub.principal(), here)
    assert (await sub.period(here)).status == "revoked" and (await sub.period(there)).status == "active"
    assert user.account_enabled and user.sign_in_sessions_valid_from is None
    assert sub.has_access(user, sub.OTHER_SCHOOL)
    assert not any(user.id in sub.state().members(g) for g in sub.groups())


async def test_the_same_school_twice_for_the_same_time_is_refused(sub: Substitutes) -> None:
    first = await sub.request(days=5)
    person = (await sub.person_of(first)).id
    with pytest.raises(Conflict) as duplicate:
        await sub.request(starts=timedelta(days=1), days=2, person_id=person)
    assert duplicate.value.extra["existing_id"] == first
    with pytest.raises(Conflict):  # by name too, for someone who did not pick the earlier person
        await sub.request(starts=timedelta(days=1), days=2)
    assert len(await sub.periods()) == 1 and len(sub.marked_users()) == 1


async def test_a_person_of_another_municipality_is_not_found(sub: Substitutes) -> None:
    first = await sub.request(days=2)
    with pytest.raises(NotFound):
        await sub.request(school="pirkkala/killo", days=2, person_id=(await sub.person_of(first)).id)
    assert len(await sub.periods()) == 1
    assert sub.state("pirkkala/killo").count("create_user") == 0
