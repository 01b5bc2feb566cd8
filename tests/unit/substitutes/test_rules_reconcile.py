"""Reconcile on the fake: drift between Entra and idops' records is repaired and audited once."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from idops.substitutes.ending import expire_due
from idops.substitutes.reconcile import reconcile

if TYPE_CHECKING:
    from idops.graph.fake import FakeUser
    from tests.unit.substitutes.conftest import MakeSubstitutes, Substitutes


async def run(sub: Substitutes) -> dict[str, int]:
    return await reconcile(sub.c.uow(), sub.c)


def add_orphan(sub: Substitutes, local: str = "vanha.sijainen") -> FakeUser:
    """A marked account idops has no record of (a restored backup, a hand-made copy)."""
    return sub.state().add_user(f"{local}@sijaiset.tampere.fi", extension_attributes=sub.marker())


async def test_an_account_enabled_by_hand_after_its_end_is_disabled_again(sub: Substitutes) -> None:
    ended = await sub.request(days=1)
    running = await sub.request(days=5, given="Bertta", surname="Björk")
    sub.clock.advance(timedelta(days=1, hours=2))
    await expire_due(sub.c.uow(), sub.c)
    user, other = await sub.account(ended), await sub.account(running)
    user.account_enabled = True  # an admin "helps" in the Entra portal

    assert await run(sub) == {"re_disabled": 1}
    assert user.account_enabled is False and user.sign_in_sessions_valid_from == sub.clock.now()
    assert other.account_enabled is True and other.sign_in_sessions_valid_from is None
    person = (await sub.person_of(ended)).id
    event = (await sub.events(person, "person"))[-1]
    assert (event.action, event.actor, event.details) == ("re_disabled", "job:reconcile",
                                                          {"tenant_id": sub.tenant_id(), "entra_user_id": user.id})
    assert await run(sub) == {}


async def test_an_orphan_marked_account_is_recorded_and_disabled(sub: Substitutes) -> None:
    orphan = add_orphan(sub)

    assert await run(sub) == {"orphans_found": 1, "orphan_disabled": 1}
    (row,) = await sub.orphans()
    assert (row.entra_user_id, row.user_principal_name, row.tenant_id) == (
        orphan.id, orphan.user_principal_name, sub.tenant_id())
    assert orphan.account_enabled is False
    assert await sub.actions(orphan.id, "orphan") == ["orphan_found", "orphan_disabled"]
    found = (await sub.events(orphan.id, "orphan"))[0]
    assert found.personal == {"upn": orphan.user_principal_name} and found.details["enabled"] is True

    sub.clock.advance(timedelta(hours=1))
    assert await run(sub) == {}  # seen again: not found again
    (row,) = await sub.orphans()
    assert row.first_seen_at == sub.clock.now() - timedelta(hours=1) and row.last_seen_at == sub.clock.now()


async def test_with_orphans_reported_only_the_orphan_stays_enabled(make_sub: MakeSubstitutes) -> None:
    sub = await make_sub(policy={"orphan_action": "report"})
    orphan = add_orphan(sub)
    assert await run(sub) == {"orphans_found": 1}
    assert orphan.account_enabled is True and len(await sub.orphans()) == 1


async def test_unmarked_accounts_are_none_of_reconciles_business(sub: Substitutes) -> None:
    staff = sub.state().add_user("opettaja@sijaiset.tampere.fi", "Opettaja")
    assert await run(sub) == {}
    assert staff.account_enabled and await sub.orphans() == []


async def test_an_account_deleted_in_entra_marks_its_live_periods_missing(sub: Substitutes) -> None:
    pid = await sub.request(days=5)
    later = await sub.request(starts=timedelta(days=6), days=2, person_id=(await sub.person_of(pid)).id)
    user = await sub.account(pid)
    await sub.directory().delete_user(user.id)  # someone else deleted it

    assert await run(sub) == {"missing": 2}
    for period_id in (pid, later):
        period = await sub.period(period_id)
        assert (period.status, period.ended_at) == ("missing", sub.clock.now())
        assert (await sub.events(period_id))[-1].details == {"entra_user_id": user.id}
    assert await run(sub) == {}


async def test_an_account_merely_unlisted_is_not_missing(sub: Substitutes) -> None:
    pid = await sub.request(days=5)
    user = await sub.account(pid)
    user.extension_attributes.clear()  # the marker removed by hand: not listed, but there
    assert await run(sub) == {}
    assert (await sub.period(pid)).status == "active"


async def test_graph_down_changes_nothing(sub: Substitutes) -> None:
    pid = await sub.request(days=5)
    add_orphan(sub)
    await sub.directory().delete_user((await sub.account(pid)).id)
    sub.directory().outage()

    assert await run(sub) == {"failed": 1}
    assert (await sub.period(pid)).status == "active" and await sub.orphans() == []
