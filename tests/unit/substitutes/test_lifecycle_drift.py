"""Drift: for every idops account the Entra state equals idops' record — enabled flag, idops groups, idops
licences — corrected with one audit event per correction; orphans stripped; both listed for admins."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from idops.kit.errors import Forbidden
from idops.substitutes.activation import activate_due
from idops.substitutes.changes import revoke
from idops.substitutes.drift import drift
from idops.substitutes.ending import expire_due
from idops.substitutes.models import OrphanAccount
from idops.substitutes.reconcile import reconcile

if TYPE_CHECKING:
    from idops.graph.fake import FakeUser
    from tests.unit.substitutes.conftest import MakeSubstitutes, Substitutes


async def expired(sub: Substitutes) -> tuple[str, FakeUser]:
    pid = await sub.request(days=1)
    sub.clock.advance(timedelta(days=1, minutes=1))
    assert await expire_due(sub.c.uow(), sub.c) == {"expired": 1}
    return pid, await sub.account(pid)


def by_hand(sub: Substitutes, user: FakeUser, *, group: bool = True, licence: bool = True) -> None:
    """What someone at the help desk does in the Entra portal."""
    if group:
        sub.state().groups[sub.groups()[0]].members[user.id] = None
    if licence:
        user.licences.append(sub.skus()[0])
        sub.state().skus[sub.skus()[0]].consumed_units += 1


async def test_a_licence_and_a_group_re_added_by_hand_are_removed_with_an_event_each(sub: Substitutes) -> None:
    pid, user = await expired(sub)
    assert not sub.in_groups(user) and not sub.licensed(user)
    by_hand(sub, user)
    seats = sub.free_seats()

    counts = await reconcile(sub.c.uow(), sub.c)

    assert counts == {"group_removed": 1, "licence_removed": 1}
    assert not sub.in_groups(user) and not sub.licensed(user) and sub.free_seats() == seats + 1
    person = await sub.person_of(pid)
    events = await sub.events(person.id, "person")
    assert [(e.action, e.actor) for e in events] == [("group_removed", "job:reconcile"),
                                                     ("licence_removed", "job:reconcile")]
    assert events[0].details == {"tenant_id": sub.tenant_id(), "entra_user_id": user.id, "group_id": sub.groups()[0]}
    assert events[1].details["sku_id"] == sub.skus()[0]
    assert await reconcile(sub.c.uow(), sub.c) == {}  # nothing left: no second event
    assert len(await sub.events(person.id, "person")) == 2


async def test_a_running_account_gets_back_what_was_taken_from_it_by_hand(sub: Substitutes) -> None:
    pid = await sub.request(days=3)
    user = await sub.account(pid)
    user.account_enabled = False
    sub.state().groups[sub.groups()[0]].members.pop(user.id)
    user.licences.remove(sub.skus()[0])

    counts = await reconcile(sub.c.uow(), sub.c)

    assert counts == {"re_enabled": 1, "group_added": 1, "licence_added": 1}
    assert user.account_enabled and sub.in_groups(user) and sub.licensed(user)


async def test_groups_and_licences_idops_does_not_manage_are_left_alone(sub: Substitutes) -> None:
    pid = await sub.request(days=3)
    user = await sub.account(pid)
    teams = sub.state().add_group("Opettajat", [user.id])
    user.licences.append("11111111-2222-4333-8444-555555555555")
    assert await reconcile(sub.c.uow(), sub.c) == {}
    assert user.id in teams.members and "11111111-2222-4333-8444-555555555555" in user.licences


async def test_an_enabled_expired_account_is_disabled_and_its_sessions_revoked(sub: Substitutes) -> None:
    _, user = await expired(sub)
    user.account_enabled, user.sign_in_sessions_valid_from = True, None
    assert await reconcile(sub.c.uow(), sub.c) == {"re_disabled": 1}
    assert not user.account_enabled and user.sign_in_sessions_valid_from == sub.clock.now()


async def test_accounts_the_lifecycle_jobs_are_about_to_change_are_left_to_them(sub: Substitutes) -> None:
    pid = await sub.request(starts=timedelta(days=1), days=3)
    sub.clock.advance(timedelta(days=1, minutes=1))  # the start is due: activate's job, not reconcile's
    assert await reconcile(sub.c.uow(), sub.c) == {}
    assert await activate_due(sub.c.uow(), sub.c) == {"activated": 1}
    assert "re_enabled" not in await sub.actions((await sub.person_of(pid)).id, "person")


async def test_an_orphan_is_disabled_and_stripped_of_idops_groups_and_licences(sub: Substitutes) -> None:
    s = sub.c.config.settings.substitutes
    ghost = sub.state().add_user("ghost@sijaiset.tampere.fi", "Ghost (sijainen)", account_enabled=True,
                                  extension_attributes={s.marker_attribute: s.marker_value},
                                  usage_location="FI", licences=[sub.skus()[0]])
    sub.state().groups[sub.groups()[0]].members[ghost.id] = None

    counts = await reconcile(sub.c.uow(), sub.c)

    assert counts == {"orphans_found": 1, "orphan_disabled": 1, "group_removed": 1, "licence_removed": 1}
    assert not ghost.account_enabled and not ghost.licences and not sub.in_groups(ghost)
    assert await sub.actions(ghost.id, "orphan") == ["orphan_found", "orphan_disabled", "group_removed",
                                                      "licence_removed"]
    [orphan] = await sub.rows(OrphanAccount)
    assert (orphan.municipality, orphan.disabled_at) == ("tampere", sub.clock.now())
    assert await reconcile(sub.c.uow(), sub.c) == {}  # found once, corrected once


async def test_an_orphan_is_only_reported_under_the_report_policy(make_sub: MakeSubstitutes) -> None:
    sub = await make_sub(policy={"orphan_action": "report"})
    s = sub.c.config.settings.substitutes
    ghost = sub.state().add_user("ghost@sijaiset.tampere.fi", account_enabled=True, licences=[sub.skus()[0]],
                                  extension_attributes={s.marker_attribute: s.marker_value})
    assert await reconcile(sub.c.uow(), sub.c) == {"orphans_found": 1}
    assert ghost.account_enabled and ghost.licences


async def test_drift_is_listed_for_the_municipalitys_it_admins_and_region_admins_only(sub: Substitutes) -> None:
    _, user = await expired(sub)
    by_hand(sub, user, group=False)
    s = sub.c.config.settings.substitutes
    sub.state().add_user("ghost@sijaiset.tampere.fi", extension_attributes={s.marker_attribute: s.marker_value})
    await reconcile(sub.c.uow(), sub.c)

    tampere = await drift(sub.c.uow(), sub.admin("tampere"), cursor=None, limit=10)
    assert [o.user_principal_name for o in tampere.orphans] == ["ghost@sijaiset.tampere.fi"]
    assert [(i.action, i.sku_id) for i in tampere.items] == [("orphan_disabled", None), ("licence_removed",
                                                                                          sub.skus()[0])]
    assert tampere.items[1].user_principal_name == "aino.aijala@sijaiset.tampere.fi"
    nokia = await drift(sub.c.uow(), sub.admin("nokia"), cursor=None, limit=10)
    assert (nokia.orphans, nokia.items) == ([], [])
    region = await drift(sub.c.uow(), sub.admin(), cursor=None, limit=1)
    assert len(region.items) == 1 and region.next
    rest = await drift(sub.c.uow(), sub.admin(), cursor=region.next, limit=1)
    assert [i.action for i in rest.items] == ["licence_removed"] and rest.next is None
    with pytest.raises(Forbidden):
        await drift(sub.c.uow(), sub.principal(), cursor=None, limit=10)


async def test_revoking_a_scheduled_period_clears_the_leave_date(sub: Substitutes) -> None:
    pid = await sub.request(starts=timedelta(days=5), days=3)
    user = await sub.account(pid)
    assert user.employee_leave_date_time == sub.clock.now() + timedelta(days=8)
    await revoke(sub.c.uow(), sub.c, sub.principal(), pid)
    assert user.employee_leave_date_time is None


async def test_revoking_a_running_period_moves_the_leave_date_to_the_real_end(sub: Substitutes) -> None:
    pid = await sub.request(days=3)
    user = await sub.account(pid)
    sub.clock.advance(timedelta(hours=5))
    await revoke(sub.c.uow(), sub.c, sub.principal(), pid)
    assert user.employee_leave_date_time == sub.clock.now() and not user.account_enabled
