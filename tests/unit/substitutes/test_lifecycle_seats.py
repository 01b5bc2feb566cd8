"""Licence seats: taken only while a period runs (``licence_while = "active"``) or from the request on
(``"requested"``); checked before an account is created, fresh near the edge; Graph's "no free seat" the
same 409 as the check's; the seat cache invalidated by every assignment and removal."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from idops.kit.errors import Conflict
from idops.substitutes.activation import activate_due
from idops.substitutes.changes import revoke
from idops.substitutes.ending import expire_due
from idops.substitutes.models import Status
from idops.substitutes.reconcile import reconcile
from idops.substitutes.requests import NO_SEATS
from tests.unit.substitutes.lifecycle_fixtures import life_fixture, make_life_fixture  # noqa: F401 - fixtures

if TYPE_CHECKING:
    from tests.unit.substitutes.lifecycle_fixtures import Life, MakeLife


async def refused(life: Life, **body: object) -> Conflict:
    with pytest.raises(Conflict) as caught:
        await life.request(**body)  # type: ignore[arg-type]
    assert caught.value.detail == NO_SEATS
    return caught.value


async def test_the_last_seats_taken_outside_idops_are_a_409_before_any_account_is_created(life: Life) -> None:
    life.set_free_seats(3)
    first = await life.request(given="Eero", surname="Esimerkki")  # the cache now says: 2 free
    assert life.licensed(await life.account(first))
    life.set_free_seats(0)  # someone in the IT office hands out the last two
    creates = life.state().count("create_user")

    exc = await refused(life)

    assert life.state().count("create_user") == creates  # near the edge the count was read fresh
    assert life.state().count("purge_deleted_user") == 0 and not life.state().deleted
    assert [u.given_name for u in life.marked()] == ["Eero"]
    period = await life.period(str(exc.extra["period_id"]))
    assert (period.status, period.last_error) == (Status.FAILED, "no seats")
    person = await life.person_of(period.id)
    assert person.user_principal_name is None  # the UPN is given back: the next "Aino Äijälä" is not "…2"


async def test_graph_refusing_the_licence_is_the_same_409_and_forgets_the_stale_count(life: Life) -> None:
    """Far from the edge the cache is trusted (a request costs two Graph calls); when a burst outside idops
    made it stale, Graph's refusal answers exactly as the check does, and the next request checks fresh."""
    await life.request(given="Eero", surname="Esimerkki")  # warms the cache: 49 free
    life.set_free_seats(0)

    exc = await refused(life)

    assert [u.given_name for u in life.marked()] == ["Eero"]  # the account it had to create is gone again
    assert not life.state().deleted  # purged, not left in the recycle bin
    period = await life.period(str(exc.extra["period_id"]))
    assert (period.status, period.last_error) == (Status.FAILED, "no seats")
    assert (await life.person_of(period.id)).user_principal_name is None
    creates = life.state().count("create_user")
    await refused(life, given="Bertta", surname="Björk")
    assert life.state().count("create_user") == creates  # the refusal invalidated the cache: checked fresh


async def test_a_future_period_takes_its_seat_at_the_start_and_gives_it_back_at_the_end(life: Life) -> None:
    assert life.c.config.settings.policy.licence_while == "active"
    pid = await life.request(starts=timedelta(days=3), days=2)
    user = await life.account(pid)
    assert (await life.period(pid)).status == Status.SCHEDULED
    assert life.in_group(user) and not life.licensed(user) and not user.account_enabled
    assert life.free_seats() == 50

    life.clock.advance(timedelta(days=3, minutes=1))
    counts = await activate_due(life.c.uow(), life.c)

    assert counts == {"activated": 1}
    assert user.account_enabled and life.licensed(user) and life.free_seats() == 49
    life.clock.advance(timedelta(days=2))
    await expire_due(life.c.uow(), life.c)
    assert not user.account_enabled and not life.licensed(user) and not life.in_group(user)
    assert life.free_seats() == 50


async def test_between_two_periods_of_one_person_the_seat_is_free(life: Life) -> None:
    first = await life.request(days=2)
    person = await life.person_of(first)
    second = await life.request(starts=timedelta(days=10), days=2, person_id=person.id)
    user = await life.account(first)
    assert life.licensed(user)
    life.clock.advance(timedelta(days=2, minutes=1))
    await expire_due(life.c.uow(), life.c)
    assert not user.account_enabled and not life.licensed(user)
    assert life.in_group(user)  # the group stays for the next period; the seat does not sit idle
    life.clock.advance(timedelta(days=8))
    await activate_due(life.c.uow(), life.c)
    assert (await life.period(second)).status == Status.ACTIVE
    assert user.account_enabled and life.licensed(user)


async def test_reserving_the_seat_at_the_request_is_a_policy_choice(make_life: MakeLife) -> None:
    life = await make_life(policy={"licence_while": "requested"})
    pid = await life.request(starts=timedelta(days=3), days=2)
    user = await life.account(pid)
    assert life.licensed(user) and not user.account_enabled and life.free_seats() == 49
    await revoke(life.c.uow(), life.c, life.caller(), pid)
    assert not life.licensed(user) and life.free_seats() == 50


async def test_a_start_without_a_free_seat_still_enables_the_account_and_reconcile_adds_the_licence_later(
    life: Life,
) -> None:
    pid = await life.request(starts=timedelta(days=1), days=3)
    user = await life.account(pid)
    life.set_free_seats(0)
    life.clock.advance(timedelta(days=1, minutes=1))

    assert await activate_due(life.c.uow(), life.c) == {"activated": 1, "no_seats": 1}

    assert user.account_enabled and not life.licensed(user)  # the substitute can sign in; the school sees why
    activated = (await life.events(pid))[-1]
    assert (activated.action, activated.details["licence"]) == ("activated", "no_seats")
    assert (await reconcile(life.c.uow(), life.c)) == {"no_seats": 1}
    life.set_free_seats(1)
    assert await reconcile(life.c.uow(), life.c) == {"licence_added": 1}
    assert life.licensed(user)
    person = await life.person_of(pid)
    assert (await life.actions(person.id, "person")) == ["licence_added"]


async def test_every_assignment_and_removal_invalidates_the_seat_cache_except_new_accounts_own(life: Life) -> None:
    def reads() -> int:
        return life.state().count("list_subscribed_skus")

    await life.request(given="Eero", surname="Esimerkki")
    assert reads() == 1
    pid = await life.request(given="Aino", surname="Äijälä")  # a new account: its seat counted locally
    assert reads() == 1
    await revoke(life.c.uow(), life.c, life.caller(), pid)  # a removal: Graph's count is the truth again
    await life.request(given="Bertta", surname="Björk")
    assert reads() == 2
