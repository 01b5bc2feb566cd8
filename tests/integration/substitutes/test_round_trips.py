"""Graph round trips, counted from the emulator's request log (HTTP requests; ``$batch`` items are
logged too, flagged ``in_batch``, and not counted as round trips)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from datetime import timedelta

import pytest

from idops.config import Config
from idops.emulator.faults import RequestLog
from tests.integration.substitutes.conftest import Api
from tests.integration.substitutes.factories import make_due_accounts


@pytest.fixture
def sub_config(make_config: Callable[..., Config]) -> Config:
    """As the package's, without client-side write pacing: 4 000 batched writes at the default
    50/s would take 80 s. Pacing has its own tests in tests/unit/graph; here only the count matters."""
    return make_config(graph={"max_backoff_seconds": 0.2, "replication_wait_seconds": 5.0, "max_retries": 6,
                              "writes_per_second": 100_000})


def trips(log: RequestLog) -> Counter[str]:
    return Counter(f"{e.method} {e.path.removeprefix('/v1.0')}" for e in log.snapshot() if not e.in_batch)


async def warm_up(api: Api) -> None:
    """One earlier request fills the seat cache (``subscribedSkus``, kept a few minutes)."""
    r = await api.request(given="Eero", surname="Esimerkki")
    assert r.status_code == 201, r.text
    api.emulator.log.clear()


async def test_immediate_start_takes_two_graph_requests_with_a_warm_seat_cache(api: Api) -> None:
    await warm_up(api)
    r = await api.request(given="Aino", surname="Äijälä")
    assert r.status_code == 201 and r.json()["status"] == "active", r.text
    assert trips(api.emulator.log) == {"POST /users": 1, "POST /$batch": 1}
    assert api.emulator.log.round_trips() == 2
    # groups and licence travelled inside the one batch
    assert api.emulator.log.count("POST", "/v1.0/groups/", in_batch=True) >= 1
    assert api.emulator.log.count("POST", "/v1.0/users/", in_batch=True) == 1  # assignLicense


async def test_a_future_start_also_takes_two_graph_requests(api: Api) -> None:
    await warm_up(api)
    r = await api.request(starts=timedelta(days=3), given="Aino", surname="Äijälä")
    assert r.json()["status"] == "scheduled"
    assert api.emulator.log.round_trips() == 2


async def test_a_name_collision_in_entra_adds_a_read_and_a_second_create(api: Api) -> None:
    await warm_up(api)
    api.emulator.state.add_user(api.tenant(), "aino.aijala@sijaiset.tampere.fi", "Aino Äijälä (staff)")
    r = await api.request(given="Aino", surname="Äijälä")
    assert r.status_code == 201, r.text
    assert r.json()["user_principal_name"] != "aino.aijala@sijaiset.tampere.fi"
    got = trips(api.emulator.log)
    # the 409, a read of the holder (idops' own account from a crashed attempt would be adopted,
    # not duplicated), then the next free UPN and the batch: 2 requests more than the common case
    assert got.pop("GET /users/aino.aijala@sijaiset.tampere.fi") == 1
    assert got == {"POST /users": 2, "POST /$batch": 1}


async def test_a_cold_seat_cache_adds_one_subscribed_skus_read(api: Api) -> None:
    await warm_up(api)
    api.container.seats.forget(api.tenant())
    r = await api.request(given="Aino", surname="Äijälä")
    assert r.status_code == 201, r.text
    assert trips(api.emulator.log) == {"GET /subscribedSkus": 1, "POST /users": 1, "POST /$batch": 1}

    api.emulator.log.clear()
    api.clock.advance(timedelta(hours=1))  # older than the cache's TTL: read again
    r = await api.request(given="Bertta", surname="Björk")
    assert trips(api.emulator.log)["GET /subscribedSkus"] == 1


async def test_expiring_a_thousand_due_accounts_is_batched_twenty_operations_per_request(api: Api) -> None:
    n = 1000
    ends_at = api.clock.now() + timedelta(hours=1)
    user_ids, ops = await make_due_accounts(api.container, api.emulator.state, n, ends_at=ends_at)
    api.clock.advance(timedelta(hours=1, minutes=1))
    api.emulator.log.clear()

    started = time.monotonic()
    run = await api.run_job("expire")
    elapsed = time.monotonic() - started

    assert run["counts"] == {"expired": n}
    round_trips = api.emulator.log.round_trips()
    bound = n * ops // 20 + 10
    print(f"\nexpire {n}: {round_trips} round trips (bound {bound}, {ops} operations each) in {elapsed:.1f} s")
    assert round_trips <= bound
    # the batches, then one listing of the tenant's still-enabled idops accounts (recheck_recent_ends)
    assert trips(api.emulator.log) == {"POST /$batch": round_trips - 1, "GET /users": 1}
    assert api.emulator.log.count(in_batch=True) == n * ops
    tenant = api.emulator.state.tenant(api.tenant())
    for uid in user_ids:
        user = api.emulator.state.user(api.tenant(), uid)
        assert user is not None and user.account_enabled is False and not user.licenses
        assert user.sign_in_sessions_valid_from == api.clock.now()
    assert not any(set(user_ids) & set(g.members) for g in tenant.groups.values())
