"""Adapter only: throttling, transient faults, timeouts, replication waits, retried creates, priority and
pacing — how the adapter behaves on the wire. The fake answers at once and never retries, so these
have no equivalent there; what a caller sees (``GraphUnavailable`` in an outage, replication waited
out for new accounts) is held to both in ``test_contract_directory`` / ``test_contract_changes``."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from idops.emulator.server import EmulatorServer, token_for
from idops.graph.errors import GraphConflict, GraphNotFound, GraphThrottled, GraphUnavailable
from idops.graph.port import AccountChange
from idops.graph.retry import low_priority
from idops.graph.sdk import GraphDirectory
from tests.integration.graph.conftest import DirectoryFactory, VirtualTime, fast_settings
from tests.integration.graph.test_contract_directory import collect
from tests.support.graph import DOMAIN, TENANT, make_new_user


def attempts(emulator: EmulatorServer, method: str, path: str) -> list[str | None]:
    """Retry-Attempt header of each request the emulator saw for ``method path``.

    De-duplicated on the header because the emulator logs a dropped connection twice (0, then 500).
    """
    seen = [e.retry_attempt for e in emulator.log.snapshot() if e.method == method and e.path == path]
    return list(dict.fromkeys(seen))


async def test_retry_after_is_honoured(emulator: EmulatorServer, make_directory: DirectoryFactory) -> None:
    clock = VirtualTime()
    directory = make_directory(clock=clock.now, sleep=clock.sleep)
    user = emulator.state.add_user(TENANT, f"a@{DOMAIN}", "A")
    emulator.faults.add_rule("429", path_prefix="/users/", remaining=1, retry_after=9)
    got = await directory.get_user(user.id)
    assert got.id == user.id
    assert clock.slept == [9.0]  # exactly the server's Retry-After, once
    assert attempts(emulator, "GET", f"/v1.0/users/{user.id}") == [None, "1"]


async def test_429_without_retry_after_backs_off_and_exhaustion_raises_throttled(
    emulator: EmulatorServer, make_directory: DirectoryFactory
) -> None:
    directory = make_directory(fast_settings(max_retries=2))
    user = emulator.state.add_user(TENANT, f"a@{DOMAIN}", "A")
    emulator.faults.add_rule("429", path_prefix="/users/", retry_after=None)
    with pytest.raises(GraphThrottled) as info:
        await directory.get_user(user.id)
    assert info.value.status == 429
    assert info.value.request_id
    assert len(attempts(emulator, "GET", f"/v1.0/users/{user.id}")) == 3  # 1 + max_retries


@pytest.mark.parametrize("kind", ["503", "504", "drop"])
async def test_transient_failures_are_retried(
    emulator: EmulatorServer, directory: GraphDirectory, kind: str
) -> None:
    user = emulator.state.add_user(TENANT, f"a@{DOMAIN}", "A")
    emulator.faults.add_rule(kind, path_prefix="/users/", remaining=2)  # type: ignore[arg-type]
    assert (await directory.get_user(user.id)).id == user.id
    assert len(attempts(emulator, "GET", f"/v1.0/users/{user.id}")) == 3


@pytest.mark.parametrize("kind", ["503", "drop"])
async def test_exhausted_transient_failures_raise_unavailable(
    emulator: EmulatorServer, make_directory: DirectoryFactory, kind: str
) -> None:
    directory = make_directory(fast_settings(max_retries=2))
    user = emulator.state.add_user(TENANT, f"a@{DOMAIN}", "A")
    emulator.faults.add_rule(kind, path_prefix="/users/")  # type: ignore[arg-type]
    with pytest.raises(GraphUnavailable):
        await directory.get_user(user.id)
    assert len(attempts(emulator, "GET", f"/v1.0/users/{user.id}")) == 3


async def test_timeouts_are_retried_then_surface_as_unavailable(
    emulator: EmulatorServer, make_directory: DirectoryFactory
) -> None:
    directory = make_directory(fast_settings(max_retries=1, request_timeout_seconds=0.2))
    user = emulator.state.add_user(TENANT, f"a@{DOMAIN}", "A")
    emulator.faults.add_rule("latency", path_prefix="/users/", latency_ms=600)
    with pytest.raises(GraphUnavailable):
        await directory.get_user(user.id)
    emulator.faults.clear()
    emulator.faults.add_rule("latency", path_prefix="/users/", latency_ms=600, remaining=1)
    assert (await directory.get_user(user.id)).id == user.id


async def test_replication_delay_is_absorbed_for_just_created_objects(
    emulator: EmulatorServer, directory: GraphDirectory
) -> None:
    group = emulator.state.add_group(TENANT, "Sijaiset")
    emulator.faults.replication_delay_s = 0.4
    created = await directory.create_user(make_new_user())
    change = AccountChange(created.id, add_groups=(group.id,))
    assert (await directory.apply_account_changes([change]))[created.id].ok  # the creator waits by itself
    assert emulator.state.members(TENANT, group.id) == [created.id]
    statuses = [e.status for e in emulator.log.snapshot() if e.method == "POST" and "members" in e.path]
    assert statuses[0] == 400  # "source resource object … don't exist" while it replicates
    assert statuses[-1] == 204
    second = await directory.create_user(make_new_user("toinen.sijainen"))
    got = await directory.get_user(second.id, just_created=True)
    assert got.id == second.id
    gets = [e.status for e in emulator.log.snapshot() if e.method == "GET" and e.path.endswith(second.id)]
    assert gets[0] == 404 and gets[-1] == 200  # Request_ResourceNotFound first, then found


async def test_without_just_created_a_missing_user_fails_fast(
    emulator: EmulatorServer, directory: GraphDirectory, make_directory: DirectoryFactory
) -> None:
    emulator.faults.replication_delay_s = 5.0
    created = await directory.create_user(make_new_user())
    other = make_directory()  # another process: it did not create the user
    t0 = time.monotonic()
    with pytest.raises(GraphNotFound):
        await other.get_user(created.id)
    assert time.monotonic() - t0 < 1.0


async def test_retried_create_that_meets_its_own_user_returns_it(
    emulator: EmulatorServer, directory: GraphDirectory
) -> None:
    """The first POST "created the user but the response was lost" (503), the retry meets
    ObjectConflict: the adapter looks the UPN up and returns the user it recognises as its own."""
    new = make_new_user()
    existing = emulator.state.add_user(
        TENANT, new.user_principal_name, new.display_name, mail_nickname=new.mail_nickname,
        ext=dict(new.extension_attributes),
    )
    emulator.faults.add_rule("503", path_prefix="/users", method="POST", remaining=1)
    user = await directory.create_user(new)
    assert user.id == existing.id
    assert [e.status for e in emulator.log.snapshot() if e.method == "POST"] == [503, 400]


async def test_retried_create_that_meets_someone_else_is_a_conflict(
    emulator: EmulatorServer, directory: GraphDirectory
) -> None:
    new = make_new_user()
    emulator.state.add_user(TENANT, new.user_principal_name, "Joku Muu", mail_nickname=new.mail_nickname)
    emulator.faults.add_rule("503", path_prefix="/users", method="POST", remaining=1)
    with pytest.raises(GraphConflict):
        await directory.create_user(new)


async def test_low_priority_is_sent_from_jobs(emulator: EmulatorServer, directory: GraphDirectory) -> None:
    emulator.state.add_user(TENANT, f"a@{DOMAIN}", "A")
    await collect(directory.list_users_bulk())
    with low_priority():
        await collect(directory.list_users_bulk())
    assert [e.priority for e in emulator.log.snapshot()] == [None, "low"]


async def test_send_mail_is_not_repeated_after_a_timeout(
    emulator: EmulatorServer, make_directory: DirectoryFactory
) -> None:
    directory = make_directory(fast_settings(request_timeout_seconds=0.2))
    emulator.state.add_user(TENANT, f"noreply@{DOMAIN}", "Noreply")
    emulator.faults.add_rule("latency", path_prefix="/users/", latency_ms=500)
    with pytest.raises(GraphUnavailable):
        await directory.send_mail(f"noreply@{DOMAIN}", ["x@example.fi"], "s", "b")
    # The slow handler finishes after the client gave up: wait for the emulator to record it.
    done = await asyncio.to_thread(emulator.log.wait_for, lambda e: e.path.endswith("/sendMail"), 5.0)
    assert done.status == 202
    assert len(emulator.state.sent_mail(TENANT)) == 1  # Graph acted once; we did not send it twice
    assert emulator.log.count("POST", f"/v1.0/users/noreply@{DOMAIN}/sendMail") == 1


# ---------------------------------------------------------------------------------------- pacing

# Emulator time scale: Graph's 10 s window lasts 1 s here. Large enough that a sequential reader
# (~20 requests/s on loopback) is faster than the budget (5 per window), so the pacer has to work.
SCALE = 0.1


async def test_pacer_keeps_a_reports_sync_under_the_budget_while_a_naive_client_is_throttled(
    emulator: EmulatorServer, make_directory: DirectoryFactory
) -> None:
    """Real time on purpose: the emulator's bucket and the pacer must agree on the wire, at speed."""
    for i in range(60):
        emulator.state.add_user(TENANT, f"r{i}@{DOMAIN}", f"R {i}")
    emulator.faults.set_budget("reports", 5, 10.0)
    emulator.faults.time_scale = SCALE

    # The pacer thinks in Graph seconds; its clock and sleep are scaled like the emulator's.
    directory = make_directory(
        fast_settings(page_size=4),  # 15 pages = three 10 s windows
        clock=lambda: time.monotonic() / SCALE,
        sleep=lambda s: asyncio.sleep(s * SCALE),
    )
    t0 = time.monotonic()
    rows = await collect(directory.list_registration_details_bulk())
    elapsed = time.monotonic() - t0
    assert len(rows) == 60
    paced = [e for e in emulator.log.snapshot() if e.path.startswith("/v1.0/reports/")]
    assert len(paced) == 15
    assert sum(e.throttled for e in paced) == 0  # zero 429s received
    assert elapsed >= 2 * 10.0 * SCALE  # 15 requests at 5 per window: the pacer waited two windows

    # A naive client (no pacer) asking for the same pages as fast as it can.
    emulator.faults.set_budget("reports", 5, 10.0)  # a full bucket for it (no waiting for the refill)
    emulator.log.clear()
    url = f"{emulator.base_url}/reports/authenticationMethods/userRegistrationDetails?$top=4"
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {token_for(TENANT)}"}) as naive:
        statuses = [(await naive.get(url)).status_code for _ in range(15)]
    throttled = statuses.count(429)
    assert throttled >= 3
    assert sum(e.throttled for e in emulator.log.snapshot()) == throttled
