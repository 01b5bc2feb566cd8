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
from idops.kit.db import new_id
from idops.substitutes.models import ProvisionStep, Status, SubstitutePeriod, SubstitutePerson
from idops.substitutes.service import seat_cache
from tests.substitutes.conftest import SCHOOL, Api
from tests.substitutes.invariants import MARKER


@pytest.fixture
def sub_config(make_config: Callable[..., Config]) -> Config:
    """As the package's, without client-side write pacing: 4 000 batched writes at the default
    50/s would take 80 s. Pacing has its own tests in tests/graph; here only the count matters."""
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


async def test_a_name_collision_in_entra_adds_one_create_attempt(api: Api) -> None:
    await warm_up(api)
    api.emulator.state.add_user(api.tenant(), "aino.aijala@sijaiset.tampere.fi", "Aino Äijälä (staff)")
    r = await api.request(given="Aino", surname="Äijälä")
    assert r.status_code == 201, r.text
    assert r.json()["user_principal_name"] != "aino.aijala@sijaiset.tampere.fi"
    assert trips(api.emulator.log) == {"POST /users": 2, "POST /$batch": 1}  # 409, then the next free UPN


async def test_a_cold_seat_cache_adds_one_subscribed_skus_read(api: Api) -> None:
    await warm_up(api)
    seat_cache(api.container).forget(api.tenant())
    r = await api.request(given="Aino", surname="Äijälä")
    assert r.status_code == 201, r.text
    assert trips(api.emulator.log) == {"GET /subscribedSkus": 1, "POST /users": 1, "POST /$batch": 1}

    api.emulator.log.clear()
    api.clock.advance(timedelta(hours=1))  # older than the cache's TTL: read again
    r = await api.request(given="Bertta", surname="Björk")
    assert trips(api.emulator.log)["GET /subscribedSkus"] == 1


async def make_due_accounts(api: Api, n: int) -> tuple[list[str], int]:
    """``n`` running accounts at SCHOOL, straight into the database and the emulator (fast);
    returns the user ids and the Graph operations expiry needs per account."""
    found = api.container.config.region.school(SCHOOL)
    assert found is not None
    municipality, school = found
    tid, now = municipality.tenant_id, api.clock.now()
    tenant = api.emulator.state.tenant(tid)
    sku = school.licence_sku_ids[0]
    tenant.skus[sku].enabled_units += n  # type: ignore[attr-defined]
    user_ids = []
    async with api.container.db.session() as s:
        for i in range(n):
            pid, upn = new_id(), f"bulk.{i}@{municipality.upn_domain}"
            user = api.emulator.state.add_user(
                tid, upn, f"Bulk {i} (sijainen)", account_enabled=True, employee_id=pid, ext={MARKER[0]: MARKER[1]},
                licenses=tuple((k, ()) for k in school.licence_sku_ids),
            )
            for gid in school.substitute_group_ids:
                tenant.groups[gid].members[user.id] = None
            user_ids.append(user.id)
            s.add(SubstitutePerson(
                id=pid, tenant_id=tid, municipality=municipality.key, given_name="Bulk", surname=str(i),
                search_name=f"bulk {i}", user_principal_name=upn, mail_nickname=f"bulk.{i}",
                display_name=f"Bulk {i} (sijainen)", entra_user_id=user.id, created_at=now, created_by="test",
            ))
            s.add(SubstitutePeriod(
                person_id=pid, school=SCHOOL, municipality=municipality.key, tenant_id=tid,
                starts_at=now - timedelta(days=1), ends_at=now + timedelta(hours=1),
                original_ends_at=now + timedelta(hours=1), status=Status.ACTIVE, step=ProvisionStep.DONE,
                created_at=now, created_by="test", activated_at=now - timedelta(days=1),
            ))
    # disable (PATCH), revoke sessions, each substitute group, one assignLicense for all SKUs
    ops = 1 + 1 + len(school.substitute_group_ids) + 1
    return user_ids, ops


async def test_expiring_a_thousand_due_accounts_is_batched_twenty_operations_per_request(api: Api) -> None:
    n = 1000
    user_ids, ops = await make_due_accounts(api, n)
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
    assert trips(api.emulator.log) == {"POST /$batch": round_trips}
    assert api.emulator.log.count(in_batch=True) == n * ops
    tenant = api.emulator.state.tenant(api.tenant())
    for uid in user_ids:
        user = api.emulator.state.user(api.tenant(), uid)
        assert user is not None and user.account_enabled is False and not user.licenses
        assert user.sign_in_sessions_valid_from == api.clock.now()
    assert not any(set(user_ids) & set(g.members) for g in tenant.groups.values())
