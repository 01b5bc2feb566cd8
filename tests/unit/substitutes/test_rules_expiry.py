"""Ends on the fake: expiry (due or overdue), one person's two periods, Graph down across an end,
revoking, the re-check after an end, and what the grace and retention periods then take away."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from idops.graph.errors import GraphForbidden
from idops.kit.errors import Conflict
from idops.substitutes.activation import activate_due
from idops.substitutes.changes import extend, revoke
from idops.substitutes.ending import expire_due, recheck_recent_ends
from idops.substitutes.retention import purge
from tests.unit.substitutes.conftest import OTHER_SCHOOL

if TYPE_CHECKING:
    from tests.unit.substitutes.conftest import MakeSubstitutes, Substitutes


async def expire(sub: Substitutes) -> dict[str, int]:
    return await expire_due(sub.c.uow(), sub.c)


async def test_a_period_whose_end_has_come_loses_all_access(sub: Substitutes) -> None:
    pid = await sub.request(days=2)
    user = await sub.account(pid)
    sub.clock.advance(timedelta(days=2) - timedelta(seconds=1))
    assert await expire(sub) == {} and user.account_enabled  # not yet

    sub.clock.advance(timedelta(seconds=1))  # due exactly at its end
    assert await expire(sub) == {"expired": 1}
    period = await sub.period(pid)
    assert (period.status, period.ended_at) == ("expired", sub.clock.now())
    assert user.account_enabled is False and user.sign_in_sessions_valid_from == sub.clock.now()
    assert sub.has_none_of(user) and sub.state().skus[sub.skus()[0]].consumed_units == 0
    event = (await sub.events(pid))[-1]
    assert (event.action, event.actor, event.details) == ("expired", "job:expire",
                                                          {"disabled": True, "late_seconds": 0})
    assert await expire(sub) == {}  # exactly once


async def test_an_overdue_period_is_caught_up_by_the_next_run(sub: Substitutes) -> None:
    pid = await sub.request(days=2)
    sub.clock.advance(timedelta(days=5))  # the job did not run for three days
    assert await expire(sub) == {"expired": 1}
    assert (await sub.account(pid)).account_enabled is False
    assert (await sub.events(pid))[-1].details["late_seconds"] == 3 * 24 * 3600


async def test_of_two_periods_the_account_stays_enabled_until_the_last_ends(sub: Substitutes) -> None:
    short = await sub.request(days=2)
    person = (await sub.person_of(short)).id
    long = await sub.request(school=sub.OTHER_SCHOOL, days=5, person_id=person)
    user = await sub.account(short)
    assert (await sub.account(long)).id == user.id
    assert sub.has_access(user) and sub.has_access(user, sub.OTHER_SCHOOL)

    sub.clock.advance(timedelta(days=2, minutes=1))
    assert await expire(sub) == {"expired": 1}
    assert user.account_enabled is True and user.sign_in_sessions_valid_from is None
    assert not any(user.id in sub.state().members(g) for g in sub.groups())
    assert sub.has_access(user, sub.OTHER_SCHOOL)  # the licence both schools use stays
    assert user.employee_leave_date_time == (await sub.period(long)).ends_at
    assert (await sub.period(long)).status == "active"

    sub.clock.advance(timedelta(days=3))
    assert await expire(sub) == {"expired": 1}
    assert user.account_enabled is False and sub.has_none_of(user, sub.OTHER_SCHOOL) and user.licences == []


async def test_between_two_periods_the_account_is_disabled_but_keeps_the_next_ones_access(sub: Substitutes) -> None:
    first = await sub.request(days=2)
    person = (await sub.person_of(first)).id
    second = await sub.request(starts=timedelta(days=4), days=2, person_id=person)
    user = await sub.account(first)

    sub.clock.advance(timedelta(days=2, minutes=1))
    await expire(sub)
    # the next period's groups wait; its seat does not sit idle in between (licence_while = "active")
    assert user.account_enabled is False and sub.in_groups(user) and not sub.licensed(user)

    sub.clock.advance(timedelta(days=2))
    assert await activate_due(sub.c.uow(), sub.c) == {"activated": 1}
    assert user.account_enabled is True and (await sub.period(second)).status == "active"
    assert sub.has_access(user)


async def test_graph_down_across_an_end_keeps_the_period_due_until_graph_is_back(sub: Substitutes) -> None:
    pid = await sub.request(days=2)
    user = await sub.account(pid)
    sub.clock.advance(timedelta(days=2, minutes=1))
    sub.directory().outage()

    assert await expire(sub) == {"failed": 1, "failed.GraphUnavailable": 1}  # the run's error summary names why
    period = await sub.period(pid)
    assert period.status == "active" and user.account_enabled
    assert period.end_error == "GraphUnavailable" and period.overdue_since is not None  # overdue, visibly
    assert "expired" not in await sub.actions(pid)

    sub.clock.advance(timedelta(minutes=5))
    sub.directory().outage(False)
    assert await expire(sub) == {"expired": 1}
    assert user.account_enabled is False and sub.has_none_of(user)
    assert (await sub.events(pid))[-1].details["late_seconds"] == 6 * 60


async def test_one_tenant_down_does_not_hold_up_another(sub: Substitutes) -> None:
    here = await sub.request(days=1)
    there = await sub.request(school="pirkkala/killo", days=1, given="Pertti", surname="Pirkkalainen")
    sub.clock.advance(timedelta(days=1, minutes=1))
    sub.directory().outage()

    assert await expire(sub) == {"failed": 1, "failed.GraphUnavailable": 1, "expired": 1}
    assert (await sub.period(here)).status == "active" and (await sub.period(there)).status == "expired"
    assert (await sub.account(there)).account_enabled is False


async def test_revoking_before_the_start_takes_the_waiting_access_away(sub: Substitutes) -> None:
    pid = await sub.request(starts=timedelta(days=2), days=3)
    user = await sub.account(pid)
    assert sub.in_groups(user)  # the seat is taken only at the start

    await revoke(sub.c.uow(), sub.c, sub.principal(), pid)
    period = await sub.period(pid)
    assert (period.status, period.revoked_at, period.ends_at) == ("revoked", sub.clock.now(), sub.clock.now())
    assert user.account_enabled is False and sub.has_none_of(user)
    assert (await sub.actions(pid))[-2:] == ["revoke_requested", "revoked"]

    sub.clock.advance(timedelta(days=2, minutes=1))
    assert await activate_due(sub.c.uow(), sub.c) == {}
    assert user.account_enabled is False


async def test_a_revoke_recorded_while_graph_is_down_is_finished_by_the_expire_job(sub: Substitutes) -> None:
    pid = await sub.request(days=5)
    user = await sub.account(pid)
    sub.directory().outage()
    await revoke(sub.c.uow(), sub.c, sub.principal(), pid)
    period = await sub.period(pid)
    assert period.status == "active" and period.revoked_at == sub.clock.now() and user.account_enabled

    try:  # an extension must not undo the recorded revoke
        await extend(sub.c.uow(), sub.c, sub.principal(), pid, sub.clock.now() + timedelta(days=3))
        raise AssertionError("extended a revoked period")
    except Conflict:
        pass

    sub.directory().outage(False)
    sub.clock.advance(timedelta(minutes=5))
    assert await expire(sub) == {"revoked": 1}
    assert (await sub.period(pid)).status == "revoked" and user.account_enabled is False


async def test_an_enable_that_lands_after_the_end_is_undone_by_the_recheck(sub: Substitutes) -> None:
    pid = await sub.request(days=1)
    user = await sub.account(pid)
    sub.clock.advance(timedelta(days=1, minutes=1))
    await expire(sub)
    user.account_enabled = True  # a provisioning write still in flight lands late

    assert await recheck_recent_ends(sub.c.uow(), sub.c) == {"re_disabled": 1}
    assert user.account_enabled is False
    event = (await sub.events((await sub.person_of(pid)).id, "person"))[-1]
    assert (event.action, event.details["reason"]) == ("re_disabled", "enabled_after_end")

    sub.clock.advance(timedelta(hours=1))  # long after the end, reconcile's job, not the re-check's
    user.account_enabled = True
    assert await recheck_recent_ends(sub.c.uow(), sub.c) == {}


async def test_the_recheck_leaves_alone_an_account_whose_next_period_started_during_its_listing(
    sub: Substitutes,
) -> None:
    """A period ended a minute ago; the person's next one starts while the re-check lists the tenant,
    and an ``activate`` elsewhere (another process) enables the account and records it active. The
    re-check decided before the start that the account must be off: acting on that would leave an
    active period with a disabled account."""
    first = await sub.request(days=1)
    user = await sub.account(first)
    person_id = (await sub.person_of(first)).id
    sub.clock.advance(timedelta(days=1))
    second = await sub.request(starts=timedelta(minutes=2), days=1, person_id=person_id)
    sub.clock.advance(timedelta(minutes=1))
    assert await expire(sub) == {"expired": 1} and user.account_enabled is False

    directory = sub.directory()
    listing = directory.list_managed_users

    def while_it_starts(*args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        async def pages() -> AsyncIterator[Any]:
            sub.clock.advance(timedelta(minutes=1, seconds=1))  # the second period has started
            assert await activate_due(sub.c.uow(), sub.c) == {"activated": 1}
            async for page in listing(*args, **kwargs):
                yield page
        return pages()

    directory.list_managed_users = while_it_starts  # type: ignore[method-assign]
    assert await recheck_recent_ends(sub.c.uow(), sub.c) == {}
    assert (await sub.period(second)).status == "active" and user.account_enabled is True


async def test_an_end_whose_disabling_write_lands_after_the_next_period_started_gives_the_access_back(
    sub: Substitutes,
) -> None:
    """Two processes: ``expire`` decides a minute before the person's next period starts that the account
    must be off; its write is slow, and meanwhile the next period starts and ``activate`` (elsewhere)
    enables the account and records the period active. The disable then lands on an account that a
    running period needs: ``expire`` decides again after its write and gives the access back."""
    first = await sub.request(days=1)
    user = await sub.account(first)
    person_id = (await sub.person_of(first)).id
    sub.clock.advance(timedelta(days=1))
    second = await sub.request(starts=timedelta(minutes=1), days=1, person_id=person_id)

    directory = sub.directory()
    write = directory.apply_account_changes
    slow: list[object] = []

    async def lands_late(*args: Any, **kwargs: Any) -> Any:
        if not slow:  # the expire's write (activate's own, below, passes straight through)
            slow.append(args)
            sub.clock.advance(timedelta(minutes=1))  # the next period has started
            assert await activate_due(sub.c.uow(), sub.c) == {"activated": 1}
            assert user.account_enabled and sub.has_access(user)
        return await write(*args, **kwargs)

    directory.apply_account_changes = lands_late  # type: ignore[method-assign]
    assert await expire(sub) == {"expired": 1, "access_restored": 1}

    assert (await sub.period(first)).status == "expired"
    assert (await sub.period(second)).status == "active"
    assert user.account_enabled is True and sub.has_access(user)
    event = (await sub.events(person_id, "person"))[-1]
    assert (event.action, event.details["reason"]) == ("access_restored", "period_started_during_end")
    assert await expire(sub) == {}  # nothing left to do, nothing done twice


async def test_an_end_beside_a_running_period_at_a_school_with_another_licence_gives_nothing_back(
    make_sub: MakeSubstitutes,
) -> None:
    """The decision after the write (above) acts only on what a period that started meanwhile needs: an
    end whose person has another period running all along loses its own school's licence, and that is
    not "given back"."""
    def other_licence(region: dict[str, Any]) -> None:
        for m in region["municipalities"]:
            for s in m["schools"]:
                if f"{m['key']}/{s['key']}" == OTHER_SCHOOL:
                    s["licence_sku_ids"] = ["0f5c5e1a-7d2b-4c89-9d36-5a3c2f1b8e77"]

    sub = await make_sub(region=other_licence)
    short = await sub.request(days=2)
    person_id = (await sub.person_of(short)).id
    await sub.request(school=OTHER_SCHOOL, days=5, person_id=person_id)
    user = await sub.account(short)
    assert sub.has_access(user) and sub.has_access(user, OTHER_SCHOOL)
    sub.clock.advance(timedelta(days=2, minutes=1))

    assert await expire(sub) == {"expired": 1}

    assert user.account_enabled and sub.has_access(user, OTHER_SCHOOL) and sub.has_none_of(user)
    assert "access_restored" not in await sub.actions(person_id, "person")


async def test_the_account_is_deleted_after_the_grace_period_and_the_person_scrubbed_after_retention(
    sub: Substitutes,
) -> None:
    pid = await sub.request(days=1, contact={"email": "aino@example.fi"})
    user = await sub.account(pid)
    policy = sub.c.config.settings.policy
    sub.clock.advance(timedelta(days=1, minutes=1))
    await expire(sub)

    sub.clock.advance(timedelta(days=policy.grace_days) - timedelta(minutes=2))
    assert await purge(sub.c.uow(), sub.c) == {}
    assert sub.state().user(user.id) is user

    sub.clock.advance(timedelta(minutes=2))
    assert await purge(sub.c.uow(), sub.c) == {"accounts_deleted": 1}
    assert sub.state().user(user.id) is None and sub.state().deleted_user(user.id) is user
    assert (await sub.period(pid)).status == "deleted"
    assert (await sub.person_of(pid)).account_deleted_at == sub.clock.now()

    sub.clock.set((await sub.period(pid)).ends_at + timedelta(days=policy.retention_days, minutes=1))
    assert (await purge(sub.c.uow(), sub.c)).get("persons_scrubbed") == 1
    person = await sub.person_of(pid)
    assert person.scrubbed_at == sub.clock.now() and "Aino" not in (person.given_name, person.display_name)
    assert (person.email, person.user_principal_name) == (None, None)
    assert all(e.personal is None for e in await sub.events(pid))
    assert (await sub.actions(person.id, "person")) == ["scrubbed"]
    assert "persons_scrubbed" not in await purge(sub.c.uow(), sub.c)


async def test_a_refused_recycle_bin_purge_holds_the_scrub_only_while_entra_could_still_restore_the_account(
    make_sub: MakeSubstitutes,
) -> None:
    """App-only purge from the recycle bin is permission- and version-dependent (graph-facts.md §2).
    While the deleted account is restorable the person is kept (its id is needed to purge it later);
    once Entra's 30 days are over the account is gone anyway and retention must not wait for ever."""
    sub = await make_sub(policy={"grace_days": 7, "retention_days": 20})
    pid = await sub.request(days=1, contact={"email": "aino@example.fi"})
    user = await sub.account(pid)
    sub.clock.advance(timedelta(days=1, minutes=1))
    await expire(sub)
    sub.clock.advance(timedelta(days=7))
    assert await purge(sub.c.uow(), sub.c) == {"accounts_deleted": 1}
    deleted_at = (await sub.person_of(pid)).account_deleted_at
    assert deleted_at is not None
    sub.directory().fail_next("purge_deleted_user", GraphForbidden("Authorization_RequestDenied"), times=50)

    sub.clock.advance(timedelta(days=13))  # retention is due; the deletion is 13 days old
    assert await purge(sub.c.uow(), sub.c) == {"failed": 1}
    assert (await sub.person_of(pid)).email == "aino@example.fi"
    assert sub.state().deleted_user(user.id) is user  # still restorable: the id is still needed

    sub.clock.set(deleted_at + timedelta(days=30))  # Entra has emptied its recycle bin itself
    assert await purge(sub.c.uow(), sub.c) == {"persons_scrubbed": 1}
    person = await sub.person_of(pid)
    assert person.scrubbed_at is not None and (person.email, person.entra_user_id) == (None, None)
