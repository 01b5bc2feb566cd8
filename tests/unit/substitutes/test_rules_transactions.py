"""Graph is never awaited inside an open database transaction.

The fake, like the adapter, asks ``assert_no_transaction`` before every operation. The first tests
show the guard bites (a deliberately wrong snippet inside ``async with uow:``); the last runs the
whole lifecycle — every service and job that calls Graph — and shows the product never trips it.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

import idops.graph.fence
from idops.graph.errors import GraphBadRequest, GraphUnavailable
from idops.graph.port import AccountChange, ManagedMarker
from idops.jobruntime.runner import run_job
from idops.kit.db import TransactionOpenError, transaction_open
from idops.substitutes.access_pass import issue
from idops.substitutes.changes import extend, revoke

if TYPE_CHECKING:
    from tests.unit.substitutes.conftest import Substitutes


async def test_awaiting_the_fake_inside_a_unit_of_work_raises_and_rolls_the_block_back(sub: Substitutes) -> None:
    pid = await sub.request(days=2)
    user = await sub.account(pid)
    calls = sub.state().count()

    async def wrong() -> None:
        async with sub.c.uow() as uow:
            period = await uow.substitutes.get_period(pid)
            assert period is not None
            period.last_error = "written inside the block"
            await sub.directory().get_user(user.id)  # wrong: Graph inside the transaction
            await uow.commit()

    with pytest.raises(TransactionOpenError, match=r"Directory\.get_user"):
        await wrong()
    assert (await sub.period(pid)).last_error is None  # the block's write was rolled back
    assert sub.state().count() == calls  # and Graph was never asked

    assert (await sub.directory().get_user(user.id)).id == user.id  # outside the block it works


async def test_every_kind_of_directory_operation_is_refused_inside_a_unit_of_work(sub: Substitutes) -> None:
    pid = await sub.request(days=2)
    user = await sub.account(pid)
    directory = sub.directory()
    calls = sub.state().count()
    wrong = {
        "apply_account_changes": lambda: directory.apply_account_changes([AccountChange(user.id, enabled=False)]),
        "create_access_pass": lambda: directory.create_access_pass(
            user.id, start=None, lifetime_minutes=60, usable_once=False),
        "delete_user": lambda: directory.delete_user(user.id),
        "list_subscribed_skus": directory.list_subscribed_skus,
        "send_mail": lambda: directory.send_mail("idops-noreply@tampere.fi", ["x@example.fi"], "s", "b"),
    }
    uow = sub.c.uow()
    for name, call in wrong.items():
        async with uow:
            with pytest.raises(TransactionOpenError, match=name):
                await call()
            with pytest.raises(TransactionOpenError, match="list_managed_users"):  # a listing, before page one
                directory.list_managed_users(ManagedMarker(*next(iter(sub.marker().items()))))
            with pytest.raises(TransactionOpenError):  # a task started inside the block inherits it
                await asyncio.gather(call())
    assert user.account_enabled and sub.state().user(user.id) is user and user.id not in sub.state().passes
    assert sub.state().count() == calls


@pytest.fixture
def guard_checks(monkeypatch: pytest.MonkeyPatch) -> Counter[tuple[str, bool]]:
    """Every check the fake makes, counted as (operation, a transaction was open); the check itself is
    the real one. A ``TransactionOpenError`` a service swallowed still shows up here."""
    checks: Counter[tuple[str, bool]] = Counter()
    real = idops.graph.fence.assert_no_transaction  # what the fake's guard calls first

    def counted(what: str) -> None:
        checks[what.removeprefix("Directory."), transaction_open()] += 1
        real(what)

    monkeypatch.setattr(idops.graph.fence, "assert_no_transaction", counted)
    return checks


async def test_the_whole_lifecycle_never_awaits_graph_with_a_transaction_open(
    sub: Substitutes, guard_checks: Counter[tuple[str, bool]]
) -> None:
    async def job(name: str) -> dict[str, int]:
        record = await run_job(sub.c, name, trigger="test")
        assert record.outcome == "succeeded", record
        return record.counts

    elsewhere = "pirkkala/killo"
    # request → provision: one upcoming, one deferred by an outage, one failing for good with a
    # clean-up that must wait; another tenant's TAP policy is off
    upcoming = await sub.request(starts=timedelta(days=1), days=3)
    sub.directory().fail_next("create_user", GraphUnavailable("down", status=503))
    deferred = await sub.request(days=10, given="Bertta", surname="Björk")
    sub.directory().fail_next("assign_licence", GraphBadRequest("refused", status=400))
    sub.directory().fail_next("delete_user", GraphUnavailable("down", status=503))
    doomed = await sub.request(days=10, given="Cecilia", surname="Castrén")
    sub.state(elsewhere).tap_policy = type(sub.state().tap_policy)("disabled", 60, 60, 480, False)
    fallback = await sub.request(school=elsewhere, days=10, given="Pertti", surname="Pirkkalainen")

    # activate: starts one, resumes one, finishes the clean-up of another
    sub.clock.advance(timedelta(days=1, seconds=1))
    assert await job("activate") == {"provisioning_resumed": 2, "activated": 1}
    assert [(await sub.period(p)).status for p in (upcoming, deferred, doomed)] == ["active", "active", "failed"]

    # extend, sign-in codes (a TAP, and the one-time password where TAP is off), revoke
    await extend(sub.c.uow(), sub.c, sub.principal(), upcoming, sub.clock.now() + timedelta(days=4))
    assert (await issue(sub.c.uow(), sub.c, sub.principal(), upcoming)).kind == "temporary_access_pass"
    assert (await issue(sub.c.uow(), sub.c, sub.principal(elsewhere), fallback)).kind == "one_time_password"
    await revoke(sub.c.uow(), sub.c, sub.principal(), deferred)

    # notify before the end, expire after it (with the re-check's listing), reconcile drift
    sub.clock.advance(timedelta(days=3))
    assert await job("notify_expiring") == {"periods": 1, "recipients": 1, "mails": 1}
    assert [m.to for m in sub.state().outbox] == [("rehtori0.hervanta@sijaiset.tampere.fi",)]
    sub.clock.advance(timedelta(days=1, minutes=1))
    assert await job("expire") == {"expired": 1}
    (await sub.account(upcoming)).account_enabled = True  # enabled by hand
    sub.state().add_user("vanha@sijaiset.tampere.fi", extension_attributes=sub.marker())  # an orphan
    await sub.directory(elsewhere).delete_user((await sub.account(fallback)).id)  # deleted in Entra
    assert await job("reconcile") == {"re_disabled": 1, "orphans_found": 1, "orphan_disabled": 1, "missing": 1}

    # purge after the grace period, scrub after retention
    sub.clock.advance(timedelta(days=sub.c.config.settings.policy.grace_days, minutes=1))
    assert (await job("purge"))["accounts_deleted"] == 3
    sub.clock.advance(timedelta(days=sub.c.config.settings.policy.retention_days))
    assert (await job("purge"))["persons_scrubbed"] == 4

    opened = {op: n for (op, open_), n in guard_checks.items() if open_}
    assert opened == {}, f"Graph awaited inside a transaction: {opened}"
    checked = {op for op, _ in guard_checks}
    assert checked >= {
        "create_user", "get_user", "apply_account_changes",
        "delete_user", "purge_deleted_user", "list_managed_users", "list_subscribed_skus", "get_access_pass_policy",
        "create_access_pass", "update_user", "send_mail",
    }, checked
