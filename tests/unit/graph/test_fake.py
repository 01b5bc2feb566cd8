"""What only the fake has: its seeding and fault-injection interface, and the promises it makes to the
unit tests that use it (it keeps no pass code; its provider stands in for the adapter's)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from idops.config.region import GraphConnection, Municipality, RegionConfig, School
from idops.graph.errors import GraphBadRequest, GraphThrottled, GraphUnavailable
from idops.graph.fake import FakeDirectory, FakeDirectoryProvider
from idops.graph.port import AccountChange, ChangeFailure, DirectoryProvider
from idops.kit.clock import FrozenClock
from idops.kit.db import TransactionOpenError, transaction_open
from tests.support.graph import DOMAIN, TENANT, make_new_user, transaction_scope

OTHER = "22222222-3333-4444-8555-666666666666"
NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
GROUP = "33333333-4444-4555-8666-777777777777"


def make_fake() -> FakeDirectory:
    return FakeDirectory(TENANT, [DOMAIN], clock=FrozenClock(NOW))


async def test_the_fake_keeps_no_trace_of_an_access_pass_code() -> None:
    fake = make_fake()
    user = fake.state.add_user(f"t@{DOMAIN}")
    tap = await fake.create_access_pass(user.id, start=None, lifetime_minutes=60, usable_once=True)
    issued = fake.state.passes[user.id]
    assert (issued.id, issued.start_date_time, issued.is_usable_once) == (tap.id, NOW, True)
    everything = repr(vars(fake.state)) + repr(fake.state.calls)
    assert tap.code not in everything


async def test_a_fault_can_target_one_account_and_one_step() -> None:
    fake = make_fake()
    a, b = fake.state.add_user(f"a@{DOMAIN}"), fake.state.add_user(f"b@{DOMAIN}")
    fake.fail_next("revoke", GraphThrottled("slow down", status=429), subject=b.id)
    results = await fake.apply_account_changes(
        [AccountChange(u.id, enabled=False, revoke_sessions=True) for u in (a, b)]
    )
    assert results[a.id].ok
    assert (results[b.id].ok, results[b.id].transient, results[b.id].codes) == (False, True, [ChangeFailure.THROTTLED])
    assert not b.account_enabled and b.sign_in_sessions_valid_from is None  # disabled, but not revoked
    assert (await fake.apply_account_changes([AccountChange(b.id, revoke_sessions=True)]))[b.id].ok  # used up
    assert b.sign_in_sessions_valid_from == NOW


async def test_an_injected_error_is_raised_once_and_an_outage_until_it_ends() -> None:
    fake = make_fake()
    user = fake.state.add_user(f"a@{DOMAIN}")
    fake.fail_next("get_user", GraphUnavailable("gateway", status=504))
    with pytest.raises(GraphUnavailable):
        await fake.get_user(user.id)
    assert (await fake.get_user(user.id)).id == user.id
    fake.outage()
    with pytest.raises(GraphUnavailable):
        await fake.list_subscribed_skus()
    fake.outage(False)
    assert await fake.list_subscribed_skus() == []
    assert fake.state.count("get_user") == 2 and fake.state.count() == 4


async def test_views_share_one_tenant_but_each_remembers_what_it_created() -> None:
    fake = make_fake()
    fake.lag_new_users()
    created = await fake.create_user(make_new_user())
    other = fake.another_process()
    assert other.state is fake.state
    assert not (await other.apply_account_changes([AccountChange(created.id, enabled=False)]))[created.id].ok
    assert (await fake.apply_account_changes([AccountChange(created.id, enabled=False)]))[created.id].ok
    assert fake.state.users[created.id].account_enabled is False


async def test_the_provider_serves_one_fake_per_tenant_of_the_region() -> None:
    conn = GraphConnection(credential="static", base_url="http://emulator.invalid/v1.0")
    region = RegionConfig(municipalities=[
        Municipality(key=key, name=key.title(), tenant_id=tenant, upn_domain=domain, graph=conn,
                     schools=[School(key=f"{key}-koulu", name="Koulu", staff_group_ids=[GROUP])])
        for key, tenant, domain in (("tampere", TENANT, DOMAIN), ("nokia", OTHER, "nokia.example.fi"))
    ])
    provider: DirectoryProvider = FakeDirectoryProvider.for_region(region, clock=FrozenClock(NOW))
    tampere = provider.for_tenant(TENANT.upper())
    assert tampere.tenant_id == TENANT
    await tampere.create_user(make_new_user())
    with pytest.raises(GraphBadRequest, match="userPrincipalName"):  # nokia's tenant does not verify koulu.example.fi
        await provider.for_tenant(OTHER).create_user(make_new_user())
    with pytest.raises(LookupError):
        provider.for_tenant("99999999-9999-4999-8999-999999999999")
    assert isinstance(provider, FakeDirectoryProvider) and provider.calls() == {"create_user": 2}
    await provider.aclose()


async def test_the_transaction_guard_follows_the_task_that_opened_the_transaction() -> None:
    fake = make_fake()
    user = fake.state.add_user(f"a@{DOMAIN}")
    outside = asyncio.Event()

    async def elsewhere() -> None:  # started before the transaction: not inside it
        await outside.wait()
        await fake.get_user(user.id)

    task = asyncio.create_task(elsewhere())
    with transaction_scope():
        assert transaction_open()
        inner = asyncio.create_task(fake.get_user(user.id))  # a task started inside inherits it
        with pytest.raises(TransactionOpenError, match=r"Directory\.get_user"):
            await inner
        outside.set()
        await task
    assert not transaction_open()
