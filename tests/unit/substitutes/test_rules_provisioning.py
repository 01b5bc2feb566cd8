"""Provisioning's recorded steps on the fake: create, reuse, restore, recreate, collisions, degraded
tenants, transient and permanent failures, failed clean-ups and crashes between steps.

Every test reads the outcome from the fake's state (accounts, groups, licences, the recycle bin) and
from the database (the period's status and step, the person's account, the audit trail)."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest

from idops.graph.errors import GraphBadRequest, GraphUnavailable
from idops.kit.errors import Conflict
from idops.substitutes import provisioning
from idops.substitutes.activation import activate_due
from idops.substitutes.ending import expire_due
from idops.substitutes.models import PROVISIONING_CLAIM
from idops.substitutes.provisioning import MAX_ATTEMPTS
from idops.substitutes.retention import purge

if TYPE_CHECKING:
    from tests.unit.substitutes.conftest import Substitutes

UPN = "aino.aijala@sijaiset.tampere.fi"


def down(what: str = "gateway timeout") -> GraphUnavailable:
    return GraphUnavailable(what, status=503)


def refused(what: str = "refused") -> GraphBadRequest:
    return GraphBadRequest(what, status=400, code="Request_BadRequest")


async def expire_and_purge(sub: Substitutes, period_id: str) -> str:
    """End the period and let the purge job move its account to the recycle bin; the account's id."""
    account = (await sub.account(period_id)).id
    sub.clock.set((await sub.period(period_id)).ends_at + timedelta(minutes=1))
    await expire_due(sub.c.uow(), sub.c)
    sub.clock.advance(timedelta(days=sub.c.config.settings.policy.grace_days, minutes=1))
    assert (await purge(sub.c.uow(), sub.c)).get("accounts_deleted") == 1
    assert sub.state().deleted_user(account) is not None
    return account


async def test_a_new_person_gets_one_marked_account_with_the_schools_access(sub: Substitutes) -> None:
    pid = await sub.request(days=5, contact={"email": "aino@example.fi"})

    period, person, user = await sub.period(pid), await sub.person_of(pid), await sub.account(pid)
    assert (period.status, period.step, period.activated_at) == ("active", "done", sub.clock.now())
    assert user.user_principal_name == person.user_principal_name == UPN
    assert user.account_enabled and user.employee_id == person.id and user.employee_type == "Substitute"
    assert user.extension_attributes == sub.marker() and user.usage_location == "FI"
    assert user.employee_leave_date_time == period.ends_at and user.other_mails == ("aino@example.fi",)
    assert sub.has_access(user)
    assert sub.state().skus[sub.skus()[0]].consumed_units == 1
    assert await sub.actions(pid) == ["requested", "account_created", "provisioned"]
    created = (await sub.events(pid))[1]
    assert created.details == {"entra_user_id": user.id} and created.personal == {"upn": UPN}


async def test_a_future_period_gets_a_disabled_account_with_access_waiting(sub: Substitutes) -> None:
    pid = await sub.request(starts=timedelta(days=2), days=3)
    user = await sub.account(pid)
    assert (await sub.period(pid)).status == "scheduled"
    assert user.account_enabled is False and sub.in_groups(user) and not sub.licensed(user)  # no idle seat

    sub.clock.advance(timedelta(days=1))
    assert await activate_due(sub.c.uow(), sub.c) == {}
    assert user.account_enabled is False

    sub.clock.advance(timedelta(days=1, seconds=1))
    assert await activate_due(sub.c.uow(), sub.c) == {"activated": 1}
    assert user.account_enabled is True and (await sub.period(pid)).status == "active"
    assert sub.has_access(user)
    assert (await sub.events(pid))[-1].details == {"late_seconds": 1}


async def test_a_returning_person_reuses_the_account_they_have(sub: Substitutes) -> None:
    first = await sub.request(days=2)
    account = await sub.account(first)
    sub.clock.advance(timedelta(days=2, minutes=1))
    await expire_due(sub.c.uow(), sub.c)
    assert account.account_enabled is False

    again = await sub.request(days=3, person_id=(await sub.person_of(first)).id)
    assert (await sub.account(again)).id == account.id and account.account_enabled is True
    assert sub.has_access(account) and account.employee_leave_date_time == (await sub.period(again)).ends_at
    assert (await sub.actions(again))[1] == "account_reused"
    assert len(sub.marked_users()) == 1 and sub.state().count("create_user") == 1


async def test_an_account_in_the_recycle_bin_is_restored_not_recreated(sub: Substitutes) -> None:
    first = await sub.request(days=2)
    account = await expire_and_purge(sub, first)

    again = await sub.request(days=3, person_id=(await sub.person_of(first)).id)
    user = await sub.account(again)
    assert user.id == account and user.user_principal_name == UPN and user.account_enabled
    assert sub.has_access(user) and sub.state().deleted_user(account) is None
    assert (await sub.actions(again))[1] == "account_restored"
    assert (await sub.person_of(again)).account_deleted_at is None


async def test_an_account_purged_for_good_is_recreated_under_the_same_name(sub: Substitutes) -> None:
    first = await sub.request(days=2)
    old = await expire_and_purge(sub, first)
    await sub.directory().purge_deleted_user(old)  # the recycle bin's 30 days are over

    again = await sub.request(days=3, person_id=(await sub.person_of(first)).id)
    user = await sub.account(again)
    assert user.id != old and user.user_principal_name == UPN and sub.has_access(user)
    assert (await sub.actions(again))[1] == "account_created"
    assert (await sub.person_of(again)).entra_user_id == user.id


async def test_a_deleted_account_whose_name_was_taken_meanwhile_comes_back_under_a_new_name(sub: Substitutes) -> None:
    first = await sub.request(days=2)
    old = await expire_and_purge(sub, first)
    staff = sub.state().add_user(UPN, "Aino Äijälä (opettaja)")

    again = await sub.request(days=3, person_id=(await sub.person_of(first)).id)
    user = await sub.account(again)
    assert user.id not in (old, staff.id) and user.user_principal_name == "aino.aijala2@sijaiset.tampere.fi"
    assert (await sub.person_of(again)).user_principal_name == user.user_principal_name
    assert staff.account_enabled and staff.extension_attributes == {} and sub.has_none_of(staff)


async def test_a_name_held_by_an_account_outside_idops_is_skipped_and_that_account_left_alone(
    sub: Substitutes,
) -> None:
    staff = sub.state().add_user(UPN, "Aino Äijälä (opettaja)", employee_id="T-1234")

    pid = await sub.request(days=2)
    user = await sub.account(pid)
    assert user.user_principal_name == "aino.aijala2@sijaiset.tampere.fi" and user.id != staff.id
    assert (await sub.person_of(pid)).user_principal_name == user.user_principal_name
    assert (staff.account_enabled, staff.employee_id, staff.extension_attributes) == (True, "T-1234", {})
    assert sub.has_none_of(staff) and sub.state().count("create_user") == 2


async def test_a_tenant_that_forbids_the_leave_date_degrades_to_accounts_without_one(sub: Substitutes) -> None:
    sub.directory().forbid_leave_date()
    first = await sub.request(days=2)
    user = await sub.account(first)
    assert (await sub.period(first)).status == "active"
    assert user.employee_leave_date_time is None and sub.has_access(user)
    assert not sub.c.leave_dates.allowed(sub.tenant_id())

    calls = sub.state().count("create_user")
    second = await sub.request(days=2, given="Bertta", surname="Björk")
    assert sub.state().count("create_user") == calls + 1  # no refused attempt any more
    assert (await sub.account(second)).employee_leave_date_time is None
    # another tenant keeps its leave dates
    assert sub.c.leave_dates.allowed(sub.tenant_id("pirkkala/killo"))


async def test_no_free_seat_refuses_before_any_account_and_gives_the_name_back(sub: Substitutes) -> None:
    sku = sub.state().skus[sub.skus()[0]]
    sku.enabled_units = sku.consumed_units

    with pytest.raises(Conflict) as no_seats:
        await sub.request(days=2)
    pid = no_seats.value.extra["period_id"]
    period, person = await sub.period(pid), await sub.person_of(pid)
    assert (period.status, period.last_error) == ("failed", "no seats")
    assert person.user_principal_name is None and person.entra_user_id is None
    assert sub.marked_users() == [] and sub.state().count("create_user") == 0
    assert (await sub.events(pid))[-1].details["reason"] == "no_seats"


async def test_a_transient_failure_is_retried_later_and_resumed_by_the_activate_job(sub: Substitutes) -> None:
    sub.directory().fail_next("create_user", down())
    pid = await sub.request(days=3)

    period = await sub.period(pid)
    assert (period.status, period.step, period.attempts) == ("provisioning", "upn_reserved", 1)
    assert period.next_attempt_at == sub.clock.now() + timedelta(seconds=30)
    assert "GraphUnavailable" in (period.last_error or "") and sub.marked_users() == []
    assert (await sub.actions(pid))[-1] == "provisioning_retry"

    assert await activate_due(sub.c.uow(), sub.c) == {}  # not before its time
    sub.clock.advance(timedelta(seconds=30))
    assert await activate_due(sub.c.uow(), sub.c) == {"provisioning_resumed": 1}
    period, user = await sub.period(pid), await sub.account(pid)
    assert (period.status, period.step, period.last_error, period.next_attempt_at) == ("active", "done", None, None)
    assert user.account_enabled and sub.has_access(user) and len(sub.marked_users()) == 1


async def test_a_transient_failure_granting_access_resumes_at_that_step(sub: Substitutes) -> None:
    sub.directory().fail_next("add_group", down())
    pid = await sub.request(days=3)
    period, user = await sub.period(pid), await sub.account(pid)
    assert (period.status, period.step) == ("provisioning", "account_ready")
    assert not any(user.id in sub.state().members(g) for g in sub.groups())

    sub.clock.advance(timedelta(minutes=1))
    await activate_due(sub.c.uow(), sub.c)
    assert (await sub.period(pid)).status == "active" and sub.has_access(user)
    assert sub.state().count("create_user") == 1 and len(sub.marked_users()) == 1
    assert sub.state().skus[sub.skus()[0]].consumed_units == 1


async def test_retries_give_up_after_the_limit_and_clean_up(sub: Substitutes) -> None:
    sub.directory().fail_next("create_user", down(), times=MAX_ATTEMPTS)
    pid = await sub.request(days=3)
    for _ in range(MAX_ATTEMPTS - 1):
        sub.clock.advance(timedelta(minutes=15))
        await activate_due(sub.c.uow(), sub.c)
    period = await sub.period(pid)
    assert period.status == "failed" and (period.last_error or "").startswith(f"gave up after {MAX_ATTEMPTS}")
    assert sub.marked_users() == [] and sub.state().count("create_user") == MAX_ATTEMPTS


async def test_a_permanent_failure_cleans_up_everything_half_created(sub: Substitutes) -> None:
    sub.directory().fail_next("assign_licence", refused("licence refused"))
    pid = await sub.request(days=3)

    period, person = await sub.period(pid), await sub.person_of(pid)
    assert period.status == "failed" and "assign_licence: rejected" in (period.last_error or "")
    assert person.entra_user_id is None and person.account_deleted_at == sub.clock.now()
    assert sub.marked_users() == [] and sub.state().deleted == {}  # deleted and purged: nothing left
    assert all(sub.state().members(g) == [] for g in sub.groups())
    assert sub.state().skus[sub.skus()[0]].consumed_units == 0
    assert await sub.actions(pid) == ["requested", "account_created", "failed"]


async def test_a_permanent_failure_creating_leaves_nothing(sub: Substitutes) -> None:
    sub.directory().fail_next("create_user", refused("Property userPrincipalName is invalid."))
    pid = await sub.request(days=3)
    assert (await sub.period(pid)).status == "failed"
    assert sub.marked_users() == [] and sub.state().count("delete_user") == 0
    assert await sub.actions(pid) == ["requested", "failed"]


async def test_a_clean_up_that_cannot_reach_graph_is_retried_until_done(sub: Substitutes) -> None:
    sub.directory().fail_next("assign_licence", refused())
    sub.directory().fail_next("delete_user", down())
    pid = await sub.request(days=3)

    period = await sub.period(pid)
    assert (period.status, period.step) == ("provisioning", "cleanup")
    assert len(sub.marked_users()) == 1  # still there: the clean-up is owed, not forgotten
    assert (await sub.events(pid))[-1].details["cleanup"] is True

    sub.clock.advance(timedelta(minutes=1))
    await activate_due(sub.c.uow(), sub.c)
    period = await sub.period(pid)
    assert period.status == "failed" and sub.marked_users() == [] and sub.state().deleted == {}
    assert (await sub.person_of(pid)).entra_user_id is None
    assert sub.state().count("create_user") == 1  # the clean-up never provisions again


async def test_a_crash_after_the_create_is_repaired_by_adopting_the_account_never_duplicating_it(
    sub: Substitutes,
) -> None:
    await sub.crash_after("create_user", sub.request(days=3))
    (period,), (person,) = await sub.periods(), await sub.persons()
    assert (period.status, period.step) == ("provisioning", "upn_reserved")
    assert person.entra_user_id is None and len(sub.marked_users()) == 1  # created, never recorded

    sub.clock.advance(PROVISIONING_CLAIM)  # the dead process's claim runs out
    assert await activate_due(sub.c.uow(), sub.c) == {"provisioning_resumed": 1}
    (user,) = sub.marked_users()
    assert (await sub.person_of(period.id)).entra_user_id == user.id and user.employee_id == person.id
    assert (await sub.period(period.id)).status == "active" and sub.has_access(user)
    assert sub.state().count("create_user") == 2  # the second create met the first account and took it


async def test_a_crash_after_granting_access_resumes_without_granting_twice(sub: Substitutes) -> None:
    await sub.crash_after("apply_account_changes", sub.request(days=3))
    (period,) = await sub.periods()
    assert period.step == "account_ready" and len(sub.marked_users()) == 1

    sub.clock.advance(PROVISIONING_CLAIM)
    await activate_due(sub.c.uow(), sub.c)
    user = await sub.account(period.id)
    assert (await sub.period(period.id)).status == "active" and sub.has_access(user)
    assert [sub.state().members(g).count(user.id) for g in sub.groups()] == [1] * len(sub.groups())
    assert user.licences.count(sub.skus()[0].lower()) == 1
    assert sub.state().skus[sub.skus()[0]].consumed_units == 1


async def assert_active_only_if_enabled(sub: Substitutes, period_id: str) -> str:
    """The period's status, after checking what ``active`` promises: the account enabled and licensed."""
    period, user = await sub.period(period_id), await sub.account(period_id)
    if period.status == "active":
        assert user.account_enabled is True and sub.has_access(user), "active, but the account is not"
    return period.status


@pytest.mark.parametrize(("slow", "activated"), [("create_user", 0), ("apply_account_changes", 1)])
async def test_a_start_passing_while_provisioning_works_is_not_recorded_active_for_a_disabled_account(
    sub: Substitutes, slow: str, activated: int
) -> None:
    """The period starts in a minute, so the account is created disabled; one Graph call takes two
    minutes. After a slow create the access change enables it and the period is active at once; after a
    slow access change nothing enabled it: provisioning must not record ``active`` — the activate job
    enables the account and records it."""
    directory = sub.directory()
    original = getattr(directory, slow)

    async def takes_two_minutes(*args: Any, **kwargs: Any) -> Any:
        sub.clock.advance(timedelta(minutes=2))
        return await original(*args, **kwargs)

    setattr(directory, slow, takes_two_minutes)
    pid = await sub.request(starts=timedelta(minutes=1), days=3)
    delattr(directory, slow)
    assert await assert_active_only_if_enabled(sub, pid) == ("scheduled" if activated else "active")

    assert await activate_due(sub.c.uow(), sub.c) == ({"activated": 1} if activated else {})
    assert await assert_active_only_if_enabled(sub, pid) == "active"


@pytest.mark.parametrize(("dies", "activated"), [("after the create", 0), ("before the period is finished", 1)])
async def test_a_crash_before_the_start_resumed_after_it_ends_active_with_the_account_enabled(
    sub: Substitutes, dies: str, activated: int
) -> None:
    """Killed while provisioning a period that starts in a minute (the account is made disabled); the
    activate job resumes it after the start. Recorded ``active`` for an account still disabled, nothing
    would ever enable it (the crash test's "active period, disabled account")."""
    work = sub.request(starts=timedelta(minutes=1), days=3)
    if dies == "after the create":  # found again, the account is enabled by the access change
        await sub.crash_after("create_user", work)
    else:  # access granted and recorded, only the last step left: the activate part of the run enables it
        await sub.crash_before(provisioning, "_finish", work)
    (period,) = await sub.periods()
    sub.clock.advance(PROVISIONING_CLAIM)  # the claim runs out; the period has started

    counts = await activate_due(sub.c.uow(), sub.c)
    assert await assert_active_only_if_enabled(sub, period.id) == "active"
    assert counts == {"provisioning_resumed": 1, **({"activated": 1} if activated else {})}
    assert len(sub.marked_users()) == 1


async def test_a_crash_after_the_create_and_then_the_end_disables_the_unrecorded_account(sub: Substitutes) -> None:
    await sub.crash_after("create_user", sub.request(days=1))
    sub.clock.advance(timedelta(days=1, minutes=1))  # nobody resumed it before the period ended

    assert await expire_due(sub.c.uow(), sub.c) == {"expired": 1}
    (user,) = sub.marked_users()
    (person,) = await sub.persons()
    assert person.entra_user_id == user.id and user.account_enabled is False and sub.has_none_of(user)
