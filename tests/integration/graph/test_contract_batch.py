"""Adapter only: the private ``$batch`` helper (``idops.graph.batch``) against the emulator — per-item
throttling, chunking, validation. The fake has no ``$batch``: it applies account changes in place, so
these request-level rules have nothing to hold it to."""

from __future__ import annotations

import pytest

from idops.emulator.server import EmulatorServer
from idops.graph.batch import BatchRequest, send_batch
from idops.graph.sdk import GraphDirectory
from tests.integration.graph.conftest import DirectoryFactory, VirtualTime
from tests.support.graph import DOMAIN, TENANT


def batch_posts(emulator: EmulatorServer) -> int:
    return emulator.log.count("POST", "/v1.0/$batch", in_batch=False)


def item_calls(emulator: EmulatorServer, path: str) -> int:
    return emulator.log.count(None, path, in_batch=True)


async def test_an_item_throttled_inside_a_batch_is_retried_alone(
    emulator: EmulatorServer, directory: GraphDirectory
) -> None:
    users = [emulator.state.add_user(TENANT, f"u{i}@{DOMAIN}", f"U{i}") for i in range(3)]
    victim = f"/users/{users[1].id}"
    emulator.faults.add_rule("batch_429", path_prefix=victim, remaining=1, retry_after=0)
    out = await send_batch(
        directory.transport, [BatchRequest(f"g{i}", "GET", f"/users/{u.id}") for i, u in enumerate(users)]
    )
    assert all(r.status == 200 for r in out.values())
    assert batch_posts(emulator) == 2
    assert item_calls(emulator, "/v1.0" + victim) == 2  # throttled once, re-sent once
    assert item_calls(emulator, f"/v1.0/users/{users[0].id}") == 1  # the others were not re-sent
    assert item_calls(emulator, f"/v1.0/users/{users[2].id}") == 1


async def test_a_batch_waits_for_the_longest_item_retry_after(
    emulator: EmulatorServer, make_directory: DirectoryFactory
) -> None:
    clock = VirtualTime()
    directory = make_directory(clock=clock.now, sleep=clock.sleep)
    a = emulator.state.add_user(TENANT, f"a@{DOMAIN}", "A")
    b = emulator.state.add_user(TENANT, f"b@{DOMAIN}", "B")
    emulator.faults.add_rule("batch_429", path_prefix=f"/users/{a.id}", remaining=1, retry_after=1)
    emulator.faults.add_rule("batch_429", path_prefix=f"/users/{b.id}", remaining=1, retry_after=7)
    out = await send_batch(
        directory.transport, [BatchRequest("a", "GET", f"/users/{a.id}"), BatchRequest("b", "GET", f"/users/{b.id}")]
    )
    assert [out["a"].status, out["b"].status] == [200, 200]
    assert batch_posts(emulator) == 2
    assert clock.slept == [7.0]  # one wait, as long as the longest Retry-After


async def test_exhausted_item_throttling_returns_the_last_429(
    emulator: EmulatorServer, directory: GraphDirectory
) -> None:
    user = emulator.state.add_user(TENANT, f"a@{DOMAIN}", "A")
    emulator.faults.add_rule("batch_429", path_prefix=f"/users/{user.id}", retry_after=0)
    out = await send_batch(directory.transport, [BatchRequest("a", "GET", f"/users/{user.id}")])
    assert out["a"].status == 429
    assert batch_posts(emulator) == 1 + directory.settings.max_retries


async def test_large_batches_are_split_into_calls_of_twenty(
    emulator: EmulatorServer, directory: GraphDirectory
) -> None:
    users = [emulator.state.add_user(TENANT, f"u{i}@{DOMAIN}", f"U{i}") for i in range(45)]
    out = await send_batch(
        directory.transport, [BatchRequest(f"r{i}", "GET", f"/users/{u.id}") for i, u in enumerate(users)]
    )
    assert len(out) == 45
    assert all(r.ok for r in out.values())
    assert batch_posts(emulator) == 3


async def test_malformed_batches_are_refused_before_sending(
    emulator: EmulatorServer, directory: GraphDirectory
) -> None:
    bad = [
        [BatchRequest("a", "GET", "/users"), BatchRequest("A", "GET", "/users")],  # ids are case-insensitive
        [BatchRequest("", "GET", "/users")],
        [BatchRequest("a", "GET", "https://graph.microsoft.com/v1.0/users")],
        [BatchRequest("a", "GET", "//evil.example/users")],
        [BatchRequest("a", "GET", "/v1.0/users")],
    ]
    for requests in bad:
        with pytest.raises(ValueError, match="batch"):
            await send_batch(directory.transport, requests)
    assert emulator.log.round_trips() == 0
