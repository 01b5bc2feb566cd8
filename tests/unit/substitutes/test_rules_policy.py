"""Period policy through the services: what a request, an extension and a sign-in code may be — and
that a refused request leaves nothing behind, in the database or in Entra."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from idops.kit.errors import Conflict, PolicyViolation
from idops.substitutes.access_pass import issue
from idops.substitutes.changes import extend, revoke

if TYPE_CHECKING:
    from tests.unit.substitutes.conftest import MakeSubstitutes, Substitutes


async def assert_nothing_recorded(sub: Substitutes) -> None:
    assert await sub.persons() == [] and await sub.periods() == [] and await sub.all_actions() == []
    assert sub.marked_users() == [] and sub.state().count("create_user") == 0


async def test_a_period_longer_than_the_maximum_is_refused_with_the_latest_allowed_end(sub: Substitutes) -> None:
    with pytest.raises(PolicyViolation) as refused:
        await sub.request(days=31)
    assert refused.value.extra["limit"] == "max_duration_days" and refused.value.extra["value"] == 30
    assert refused.value.extra["latest_end"] == (sub.clock.now() + timedelta(days=30)).isoformat()
    assert [p.field for p in refused.value.problems] == ["ends_at"]
    await assert_nothing_recorded(sub)


async def test_exactly_the_maximum_duration_is_accepted(sub: Substitutes) -> None:
    period = await sub.period(await sub.request(days=30))
    assert period.status == "active" and period.ends_at == sub.clock.now() + timedelta(days=30)


async def test_a_start_beyond_the_lead_time_is_refused(sub: Substitutes) -> None:
    with pytest.raises(PolicyViolation) as refused:
        await sub.request(starts=timedelta(days=61), days=2)
    assert refused.value.extra["limit"] == "max_lead_days"
    assert [p.field for p in refused.value.problems] == ["starts_at"]
    await assert_nothing_recorded(sub)

    period = await sub.period(await sub.request(starts=timedelta(days=60), days=2))
    assert period.status == "scheduled"


async def test_a_start_a_few_hours_past_begins_now_and_one_over_a_day_past_is_refused(sub: Substitutes) -> None:
    period = await sub.period(await sub.request(starts=timedelta(hours=-3), days=2))
    assert period.starts_at == sub.clock.now() and period.status == "active"
    assert period.ends_at == sub.clock.now() + timedelta(days=2, hours=-3)

    with pytest.raises(PolicyViolation) as refused:
        await sub.request(starts=timedelta(hours=-25), days=2, given="Bertta", surname="Björk")
    assert [p.field for p in refused.value.problems] == ["starts_at"]
    assert len(await sub.periods()) == 1


async def test_the_quota_counts_overlapping_live_periods_of_the_school(sub: Substitutes) -> None:
    found = sub.c.config.region.school(sub.SCHOOL)
    assert found is not None
    quota = sub.c.config.policy_for(*found).quota
    for i in range(quota):
        await sub.request(given="Sijainen", surname=f"Numero{chr(ord('a') + i)}", days=3)

    with pytest.raises(PolicyViolation) as refused:
        await sub.request(given="Yksi", surname="Liikaa", starts=timedelta(days=2), days=3)
    assert refused.value.extra == {"limit": "quota", "value": quota}
    assert len(await sub.periods()) == quota and len(sub.marked_users()) == quota

    # after the others end, the school has room again; another school's quota was never touched
    assert await sub.request(given="Yksi", surname="Liikaa", starts=timedelta(days=3), days=3)
    assert await sub.request(given="Toinen", surname="Koulu", school=sub.OTHER_SCHOOL, days=3)


async def test_an_extension_within_the_maximum_moves_the_end_and_the_leave_date(sub: Substitutes) -> None:
    pid = await sub.request(days=5)
    new_end = sub.clock.now() + timedelta(days=30)
    await extend(sub.c.uow(), sub.c, sub.principal(), pid, new_end)

    assert (await sub.period(pid)).ends_at == new_end
    assert (await sub.account(pid)).employee_leave_date_time == new_end
    event = (await sub.events(pid))[-1]
    assert event.action == "ends_at_changed" and event.details["to"] == new_end.isoformat()


async def test_an_extension_past_the_maximum_counted_from_the_start_is_refused(sub: Substitutes) -> None:
    pid = await sub.request(days=5)
    sub.clock.advance(timedelta(days=4))  # 30 days from *now* would still be 34 from the start
    with pytest.raises(PolicyViolation) as refused:
        await extend(sub.c.uow(), sub.c, sub.principal(), pid, sub.clock.now() + timedelta(days=30))
    assert refused.value.extra["limit"] == "max_duration_days"
    period = await sub.period(pid)
    assert period.ends_at == period.starts_at + timedelta(days=5)
    assert (await sub.account(pid)).employee_leave_date_time == period.ends_at
    assert "ends_at_changed" not in await sub.actions(pid)


async def test_an_extension_to_the_past_and_one_of_a_revoked_period_are_refused(sub: Substitutes) -> None:
    pid = await sub.request(days=5)
    with pytest.raises(PolicyViolation):
        await extend(sub.c.uow(), sub.c, sub.principal(), pid, sub.clock.now() - timedelta(minutes=1))
    await revoke(sub.c.uow(), sub.c, sub.principal(), pid)
    with pytest.raises(Conflict):
        await extend(sub.c.uow(), sub.c, sub.principal(), pid, sub.clock.now() + timedelta(days=3))
    assert (await sub.period(pid)).status == "revoked"
    assert (await sub.account(pid)).account_enabled is False


async def test_an_access_pass_lasts_the_tap_policy_maximum_and_its_code_is_never_recorded(sub: Substitutes) -> None:
    pid = await sub.request(days=2)
    issued = await issue(sub.c.uow(), sub.c, sub.principal(), pid)

    user = await sub.account(pid)
    held = sub.state().passes[user.id]
    assert issued.kind == "temporary_access_pass" and held.lifetime_in_minutes == 480
    assert issued.valid_until - issued.valid_from == timedelta(minutes=480)
    event = (await sub.events(pid))[-1]
    assert event.action == "temporary_access_pass_issued" and event.details["credential_id"] == held.id
    assert issued.secret not in repr(event.details) and issued.secret not in repr(issued)


async def test_an_access_pass_never_outlives_the_period(sub: Substitutes) -> None:
    pid = await sub.request(days=1)
    sub.clock.advance(timedelta(hours=22))  # two hours left: the pass lasts two hours, not eight
    await issue(sub.c.uow(), sub.c, sub.principal(), pid)
    assert sub.state().passes[(await sub.account(pid)).id].lifetime_in_minutes == 120


async def test_with_the_tap_policy_off_a_one_time_password_is_set_instead(sub: Substitutes) -> None:
    pid = await sub.request(days=2)
    sub.state().tap_policy = type(sub.state().tap_policy)("disabled", 60, 60, 480, False)
    issued = await issue(sub.c.uow(), sub.c, sub.principal(), pid)

    user = await sub.account(pid)
    assert issued.kind == "one_time_password"
    assert user.password == issued.secret and user.force_change_password is True
    assert user.id not in sub.state().passes
    assert (await sub.actions(pid))[-1] == "one_time_password_issued"


async def test_working_hours_only_tap_refuses_evenings_and_weekends(make_sub: MakeSubstitutes) -> None:
    sub = await make_sub(policy={"working_hours_only_tap": True})
    pid = await sub.request(days=7)  # Monday 08:00 in Helsinki: inside the hours
    await issue(sub.c.uow(), sub.c, sub.principal(), pid)

    for later in (timedelta(hours=9, minutes=30), timedelta(days=5, hours=2)):  # Mon 17:30, Sat 10:00
        sub.state().passes.clear()
        sub.clock.set(sub.clock.now().replace(hour=6) + later)
        with pytest.raises(PolicyViolation) as refused:
            await issue(sub.c.uow(), sub.c, sub.principal(), pid)
        assert refused.value.extra["limit"] == "working_hours_only_tap"
        assert sub.state().passes == {}
    assert (await sub.actions(pid)).count("temporary_access_pass_issued") == 1


async def test_no_sign_in_code_for_a_period_that_has_ended(sub: Substitutes) -> None:
    pid = await sub.request(days=1)
    sub.clock.advance(timedelta(days=1, minutes=1))
    with pytest.raises(Conflict):
        await issue(sub.c.uow(), sub.c, sub.principal(), pid)
    assert sub.state().passes == {} and sub.state().count("create_access_pass") == 0
