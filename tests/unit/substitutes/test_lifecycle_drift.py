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
from tests.unit.substitutes.lifecycle_fixtures import life_fixture, make_life_fixture  # noqa: F401 - fixtures

if TYPE_CHECKING:
    from idops.graph.fake import FakeUser
    from tests.unit.substitutes.lifecycle_fixtures import Life, MakeLife


async def expired(life: Life) -> tuple[str, FakeUser]:
    pid = await life.request(days=1)
    life.clock.advance(timedelta(days=1, minutes=1))
    assert await expire_due(life.c.uow(), life.c) == {"expired": 1}
    return pid, await life.account(pid)


def by_hand(life: Life, user: FakeUser, *, group: bool = True, licence: bool = True) -> None:
    """What someone at the help desk does in the Entra portal."""
    if group:
        life.state().groups[life.group()].members[user.id] = None
    if licence:
        user.licences.append(life.sku())
        life.state().skus[life.sku()].consumed_units += 1


async def test_a_licence_and_a_group_re_added_by_hand_are_removed_with_an_event_each(life: Life) -> None:
    pid, user = await expired(life)
    assert not life.in_group(user) and not life.licensed(user)
    by_hand(life, user)
    seats = life.free_seats()

    counts = await reconcile(life.c.uow(), life.c)

    assert counts == {"group_removed": 1, "licence_removed": 1}
    assert not life.in_group(user) and not life.licensed(user) and life.free_seats() == seats + 1
    person = await life.person_of(pid)
    events = await life.events(person.id, "person")
    assert [(e.action, e.actor) for e in events] == [("group_removed", "job:reconcile"),
                                                     ("licence_removed", "job:reconcile")]
    assert events[0].details == {"tenant_id": life.tenant_id(), "entra_user_id": user.id, "group_id": life.group()}
    assert events[1].details["sku_id"] == life.sku()
    assert await reconcile(life.c.uow(), life.c) == {}  # nothing left: no second event
    assert len(await life.events(person.id, "person")) == 2


async def test_a_running_account_gets_back_what_was_taken_from_it_by_hand(life: Life) -> None:
    pid = await life.request(days=3)
    user = await life.account(pid)
    user.account_enabled = False
    life.state().groups[life.group()].members.pop(user.id)
    user.licences.remove(life.sku())

    counts = await reconcile(life.c.uow(), life.c)

    assert counts == {"re_enabled": 1, "group_added": 1, "licence_added": 1}
    assert user.account_enabled and life.in_group(user) and life.licensed(user)


async def test_groups_and_licences_idops_does_not_manage_are_left_alone(life: Life) -> None:
    pid = await life.request(days=3)
    user = await life.account(pid)
    teams = life.state().add_group("Opettajat", [user.id])
    user.licences.append("11111111-2222-4333-8444-555555555555")
    assert await reconcile(life.c.uow(), life.c) == {}
    assert user.id in teams.members and "11111111-2222-4333-8444-555555555555" in user.licences


async def test_an_enabled_expired_account_is_disabled_and_its_sessions_revoked(life: Life) -> None:
    _, user = await expired(life)
    user.account_enabled, user.sign_in_sessions_valid_from = True, None
    assert await reconcile(life.c.uow(), life.c) == {"re_disabled": 1}
    assert not user.account_enabled and user.sign_in_sessions_valid_from == life.clock.now()


async def test_accounts_the_lifecycle_jobs_are_about_to_change_are_left_to_them(life: Life) -> None:
    pid = await life.request(starts=timedelta(days=1), days=3)
    life.clock.advance(timedelta(days=1, minutes=1))  # the start is due: activate's job, not reconcile's
    assert await reconcile(life.c.uow(), life.c) == {}
    assert await activate_due(life.c.uow(), life.c) == {"activated": 1}
    assert "re_enabled" not in await life.actions((await life.person_of(pid)).id, "person")


async def test_an_orphan_is_disabled_and_stripped_of_idops_groups_and_licences(life: Life) -> None:
    s = life.c.config.settings.substitutes
    ghost = life.state().add_user("ghost@sijaiset.tampere.fi", "Ghost (sijainen)", account_enabled=True,
                                  extension_attributes={s.marker_attribute: s.marker_value},
                                  usage_location="FI", licences=[life.sku()])
    life.state().groups[life.group()].members[ghost.id] = None

    counts = await reconcile(life.c.uow(), life.c)

    assert counts == {"orphans_found": 1, "orphan_disabled": 1, "group_removed": 1, "licence_removed": 1}
    assert not ghost.account_enabled and not ghost.licences and not life.in_group(ghost)
    assert await life.actions(ghost.id, "orphan") == ["orphan_found", "orphan_disabled", "group_removed",
                                                      "licence_removed"]
    [orphan] = await life.all(OrphanAccount)
    assert (orphan.municipality, orphan.disabled_at) == ("tampere", life.clock.now())
    assert await reconcile(life.c.uow(), life.c) == {}  # found once, corrected once


async def test_an_orphan_is_only_reported_under_the_report_policy(make_life: MakeLife) -> None:
    life = await make_life(policy={"orphan_action": "report"})
    s = life.c.config.settings.substitutes
    ghost = life.state().add_user("ghost@sijaiset.tampere.fi", account_enabled=True, licences=[life.sku()],
                                  extension_attributes={s.marker_attribute: s.marker_value})
    assert await reconcile(life.c.uow(), life.c) == {"orphans_found": 1}
    assert ghost.account_enabled and ghost.licences


async def test_drift_is_listed_for_the_municipalitys_it_admins_and_region_admins_only(life: Life) -> None:
    _, user = await expired(life)
    by_hand(life, user, group=False)
    s = life.c.config.settings.substitutes
    life.state().add_user("ghost@sijaiset.tampere.fi", extension_attributes={s.marker_attribute: s.marker_value})
    await reconcile(life.c.uow(), life.c)

    tampere = await drift(life.c.uow(), life.caller("ItAdmin", municipalities=("tampere",)), cursor=None, limit=10)
    assert [o.user_principal_name for o in tampere.orphans] == ["ghost@sijaiset.tampere.fi"]
    assert [(i.action, i.sku_id) for i in tampere.items] == [("orphan_disabled", None), ("licence_removed",
                                                                                          life.sku())]
    assert tampere.items[1].user_principal_name == "aino.aijala@sijaiset.tampere.fi"
    nokia = await drift(life.c.uow(), life.caller("ItAdmin", municipalities=("nokia",)), cursor=None, limit=10)
    assert (nokia.orphans, nokia.items) == ([], [])
    region = await drift(life.c.uow(), life.caller("RegionAdmin"), cursor=None, limit=1)
    assert len(region.items) == 1 and region.next
    rest = await drift(life.c.uow(), life.caller("RegionAdmin"), cursor=region.next, limit=1)
    assert [i.action for i in rest.items] == ["licence_removed"] and rest.next is None
    with pytest.raises(Forbidden):
        await drift(life.c.uow(), life.caller("Principal"), cursor=None, limit=10)


async def test_revoking_a_scheduled_period_clears_the_leave_date(life: Life) -> None:
    pid = await life.request(starts=timedelta(days=5), days=3)
    user = await life.account(pid)
    assert user.employee_leave_date_time == life.clock.now() + timedelta(days=8)
    await revoke(life.c.uow(), life.c, life.caller(), pid)
    assert user.employee_leave_date_time is None


async def test_revoking_a_running_period_moves_the_leave_date_to_the_real_end(life: Life) -> None:
    pid = await life.request(days=3)
    user = await life.account(pid)
    life.clock.advance(timedelta(hours=5))
    await revoke(life.c.uow(), life.c, life.caller(), pid)
    assert user.employee_leave_date_time == life.clock.now() and not user.account_enabled
