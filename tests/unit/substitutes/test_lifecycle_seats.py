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

if TYPE_CHECKING:
    from tests.unit.substitutes.conftest import MakeSubstitutes, Substitutes


async def refused(sub: Substitutes, **body: object) -> Conflict:
    with pytest.raises(Conflict) as caught:
        await sub.request(**body)  # type: ignore[arg-type]
    assert caught.value.detail == NO_SEATS
    return caught.value


async def test_the_last_seats_taken_outside_idops_are_a_409_before_any_account_is_created(sub: Substitutes) -> None:
    sub.set_free_seats(3)
    first = await sub.request(given="Eero", surname="Esimerkki")  # the cache now says: 2 free
    assert sub.licensed(await sub.account(first))
    sub.set_free_seats(0)  # someone in the IT office hands out the last two
    creates = sub.state().count("create_user")

    exc = await refused(sub)

    assert sub.state().count("create_user") == creates  # near the edge the count was read fresh
    assert sub.state().count("purge_deleted_user") == 0 and not sub.state().deleted
    assert [u.given_name for u in sub.marked_users()] == ["Eero"]
    period = await sub.period(str(exc.extra["period_id"]))
    assert (period.status, period.last_error) == (Status.FAILED, "no seats")
    person = await sub.person_of(period.id)
    assert person.user_principal_name is None  # the UPN is given back: the next "Aino Äijälä" is not "…2"


async def test_graph_refusing_the_licence_is_the_same_409_and_forgets_the_stale_count(sub: Substitutes) -> None:
    """Far from the edge the cache is trusted (a request costs two Graph calls); when a burst outside idops
    made it stale, Graph's refusal answers exactly as the check does, and the next request checks fresh."""
    await sub.request(given="Eero", surname="Esimerkki")  # warms the cache: 49 free
    sub.set_free_seats(0)

    exc = await refused(sub)

    assert [u.given_name for u in sub.marked_users()] == ["Eero"]  # the account it had to create is gone again
    assert not sub.state().deleted  # purged, not left in the recycle bin
    period = await sub.period(str(exc.extra["period_id"]))
    assert (period.status, period.last_error) == (Status.FAILED, "no seats")
    assert (await sub.person_of(period.id)).user_principal_name is None
    creates = sub.state().count("create_user")
    await refused(sub, given="Bertta", surname="Björk")
    assert sub.state().count("create_user") == creates  # the refusal invalidated the cache: checked fresh


async def test_a_future_period_takes_its_seat_at_the_start_and_gives_it_back_at_the_end(sub: Substitutes) -> None:
    assert sub.c.config.settings.policy.licence_while == "active"
    pid = await sub.request(starts=timedelta(days=3), days=2)
    user = await sub.account(pid)
    assert (await sub.period(pid)).status == Status.SCHEDULED
    assert sub.in_groups(user) and not sub.licensed(user) and not user.account_enabled
    assert sub.free_seats() == 50

    sub.clock.advance(timedelta(days=3, minutes=1))
    counts = await activate_due(sub.c.uow(), sub.c)

    assert counts == {"activated": 1}
    assert user.account_enabled and sub.licensed(user) and sub.free_seats() == 49
    sub.clock.advance(timedelta(days=2))
    await expire_due(sub.c.uow(), sub.c)
    assert not user.account_enabled and not sub.licensed(user) and not sub.in_groups(user)
    assert sub.free_seats() == 50


async def test_between_two_periods_of_one_person_the_seat_is_free(sub: Substitutes) -> None:
    first = await sub.request(days=2)
    person = await sub.person_of(first)
    second = await sub.request(starts=timedelta(days=10), days=2, person_id=person.id)
    user = await sub.account(first)
    assert sub.licensed(user)
    sub.clock.advance(timedelta(days=2, minutes=1))
    await expire_due(sub.c.uow(), sub.c)
    assert not user.account_enabled and not sub.licensed(user)
    assert sub.in_groups(user)  # the group stays for the next period; the seat does not sit idle
    sub.clock.advance(timedelta(days=8))
    await activate_due(sub.c.uow(), sub.c)
    assert (await sub.period(second)).status == Status.ACTIVE
    assert user.account_enabled and sub.licensed(user)


async def test_reserving_the_seat_at_the_request_is_a_policy_choice(make_sub: MakeSubstitutes) -> None:
    sub = await make_sub(policy={"licence_while": "requested"})
    pid = await sub.request(starts=timedelta(days=3), days=2)
    user = await sub.account(pid)
    assert sub.licensed(user) and not user.account_enabled and sub.free_seats() == 49
    await revoke(sub.c.uow(), sub.c, sub.principal(), pid)
    assert not sub.licensed(user) and sub.free_seats() == 50


async def test_a_start_without_a_free_seat_still_enables_the_account_and_reconcile_adds_the_licence_later(
    sub: Substitutes,
) -> None:
    pid = await sub.request(starts=timedelta(days=1), days=3)
    user = await sub.account(pid)
    sub.set_free_seats(0)
    sub.clock.advance(timedelta(days=1, minutes=1))

    assert await activate_due(sub.c.uow(), sub.c) == {"activated": 1, "no_seats": 1}

    assert user.account_enabled and not sub.licensed(user)  # the substitute can sign in; the school sees why
    activated = (await sub.events(pid))[-1]
    assert (activated.action, activated.details["licence"]) == ("activated", "no_seats")
    assert (await reconcile(sub.c.uow(), sub.c)) == {"no_seats": 1}
    sub.set_free_seats(1)
    assert await reconcile(sub.c.uow(), sub.c) == {"licence_added": 1}
    assert sub.licensed(user)
    person = await sub.person_of(pid)
    assert (await sub.actions(person.id, "person")) == ["licence_added"]


async def test_every_assignment_and_removal_invalidates_the_seat_cache_except_new_accounts_own(
    sub: Substitutes,
) -> None:
    def reads() -> int:
        return sub.state().count("list_subscribed_skus")

    await sub.request(given="Eero", surname="Esimerkki")
    assert reads() == 1
    pid = await sub.request(given="Aino", surname="Äijälä")  # a new account: its seat counted locally
    assert reads() == 1
    await revoke(sub.c.uow(), sub.c, sub.principal(), pid)  # a removal: Graph's count is the truth again
    await sub.request(given="Bertta", surname="Björk")
    assert reads() == 2
