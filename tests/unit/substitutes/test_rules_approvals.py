"""Approvals instead of refusals (``on_limit = "approval"``): a request over the quota, the seats or the
duration/lead limits is recorded ``awaiting_approval`` with nothing in Entra; an IT admin of its
municipality approves (→ provisioned) or denies (→ the principal sees the reason); nobody else can."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from idops.auth.scope import Caller, Scope
from idops.kit.errors import Conflict, NotFound, PolicyViolation
from idops.substitutes import approvals, views

if TYPE_CHECKING:
    from tests.unit.substitutes.conftest import MakeSubstitutes, Substitutes

APPROVAL = {"policy": {"on_limit": "approval"}}


def admin(sub: Substitutes, municipality: str) -> Caller:
    m = sub.c.config.region.municipality(municipality)
    assert m is not None
    schools = frozenset(f"{m.key}/{s.key}" for s in m.schools)
    return Caller("5b0c6d7e-8f90-4a1b-9c2d-3e4f5a6b7c8d", m.tenant_id, frozenset({"ItAdmin"}),
                  Scope("ItAdmin", schools, frozenset({m.key})))


def region_admin(sub: Substitutes) -> Caller:
    region = sub.c.config.region
    scope = Scope("RegionAdmin", frozenset(region.school_paths()), frozenset(m.key for m in region.municipalities))
    return Caller("6c1d7e8f-9a01-4b2c-8d3e-4f5a6b7c8d9e", "region", frozenset({"RegionAdmin"}), scope)


async def test_over_the_quota_waits_for_approval_and_the_municipalitys_admin_approves_it(
    make_sub: MakeSubstitutes,
) -> None:
    sub = await make_sub(**APPROVAL)
    found = sub.c.config.region.school(sub.SCHOOL)
    assert found is not None
    quota = sub.c.config.policy_for(*found).quota
    for i in range(quota):
        await sub.request(days=2, given=f"Aino{chr(65 + i)}")
    over = await sub.request_result(days=2, given="Bertta", surname="Björk")
    assert over.awaiting_approval and over.created
    period = await sub.period(over.period_id)
    assert (period.status, period.approval_limits) == ("awaiting_approval", "quota")
    assert len(sub.marked_users()) == quota  # nothing for the waiting one in Entra
    assert await sub.actions(over.period_id) == ["requested", "approval_requested"]

    # the principal (who sees the school), another municipality's admin: the same 404
    with pytest.raises(NotFound):
        await approvals.approve(sub.c.uow(), sub.c, sub.principal(), over.period_id, None)
    with pytest.raises(NotFound):
        await approvals.approve(sub.c.uow(), sub.c, admin(sub, "pirkkala"), over.period_id, None)
    listed = await views.list_page(sub.c.uow(), admin(sub, "pirkkala"), school=None, status=["awaiting_approval"],
                                   active_on=None, person_id=None, cursor=None, limit=50)
    assert listed.items == []
    mine = await views.list_page(sub.c.uow(), admin(sub, "tampere"), school=None, status=["awaiting_approval"],
                                 active_on=None, person_id=None, cursor=None, limit=50)
    assert [s.id for s in mine.items] == [over.period_id] and mine.items[0].approval_limits == ["quota"]

    await approvals.approve(sub.c.uow(), sub.c, admin(sub, "tampere"), over.period_id, "flunssaviikko")
    period = await sub.period(over.period_id)
    assert period.status == "active" and period.decision_reason == "flunssaviikko"
    assert sub.has_access(await sub.account(over.period_id))
    assert (await sub.actions(over.period_id))[2] == "approved"
    with pytest.raises(Conflict):  # decided once
        await approvals.deny(sub.c.uow(), sub.c, admin(sub, "tampere"), over.period_id, "myöhässä")


async def test_a_denied_request_shows_the_reason_and_gives_the_name_back(make_sub: MakeSubstitutes) -> None:
    sub = await make_sub(**APPROVAL)
    long = await sub.request_result(days=40)  # over max_duration_days (30)
    period = await sub.period(long.period_id)
    assert (period.status, period.approval_limits) == ("awaiting_approval", "max_duration_days")
    await approvals.deny(sub.c.uow(), sub.c, region_admin(sub), long.period_id, "liian pitkä jakso")
    seen = await views.get_one(sub.c.uow(), sub.principal(), long.period_id)
    assert (seen.status, seen.decision_reason) == ("denied", "liian pitkä jakso")
    assert (await sub.person_of(long.period_id)).user_principal_name is None
    assert sub.state().count("create_user") == 0
    denied = [e for e in await sub.events(long.period_id) if e.action == "denied"]
    assert len(denied) == 1 and denied[0].details["reason"] == "liian pitkä jakso"
    # a rule that is not a limit is still refused outright
    with pytest.raises(PolicyViolation):
        await sub.request(days=-1)


async def test_no_free_seat_waits_for_approval_instead_of_failing(make_sub: MakeSubstitutes) -> None:
    sub = await make_sub(**APPROVAL)
    sku = sub.state().skus[sub.skus()[0]]
    sku.enabled_units = sku.consumed_units
    result = await sub.request_result(days=2)
    period = await sub.period(result.period_id)
    assert result.awaiting_approval and (period.status, period.approval_limits) == ("awaiting_approval", "seats")
    assert sub.state().count("create_user") == 0
    assert (await sub.events(result.period_id))[-1].details["limits"] == ["seats"]
    # the same person again is a duplicate of the waiting request, not a second one
    with pytest.raises(Conflict):
        await sub.request(days=2)
    # a retry with the same key replays the waiting answer and creates nothing
    again = await sub.request_result(days=2, key="k1", given="Bertta")
    assert again.awaiting_approval
    replay = await sub.request_result(days=2, key="k1", given="Bertta")
    assert (replay.period_id, replay.created, replay.awaiting_approval) == (again.period_id, False, True)
