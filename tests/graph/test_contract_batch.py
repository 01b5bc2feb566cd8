"""Contract: ``$batch`` built by idops — dependencies, per-item throttling, chunking."""

from __future__ import annotations

import time

import pytest

from idops.emulator.server import EmulatorServer
from idops.graph.port import BatchRequest
from idops.graph.sdk import GraphDirectory
from tests.graph.conftest import DOMAIN, TENANT

MISSING = "99999999-9999-4999-8999-999999999999"


def batch_posts(emulator: EmulatorServer) -> int:
    return emulator.log.count("POST", "/v1.0/$batch", in_batch=False)


def item_calls(emulator: EmulatorServer, path: str) -> int:
    return emulator.log.count(None, path, in_batch=True)


async def test_failed_dependency_gives_424_and_independent_items_succeed(
    emulator: EmulatorServer, directory: GraphDirectory
) -> None:
    user = emulator.state.add_user(TENANT, f"a@{DOMAIN}", "A")
    out = await directory.batch([
        BatchRequest("get-missing", "GET", f"/users/{MISSING}"),
        BatchRequest("disable", "PATCH", f"/users/{MISSING}", body={"accountEnabled": False},
                     depends_on=("get-missing",)),
        BatchRequest("get-a", "GET", f"/users/{user.id}"),
    ])
    assert {k: v.status for k, v in out.items()} == {"get-missing": 404, "disable": 424, "get-a": 200}
    assert out["get-a"].body["id"] == user.id
    assert batch_posts(emulator) == 1


async def test_an_item_throttled_inside_a_batch_is_retried_alone(
    emulator: EmulatorServer, directory: GraphDirectory
) -> None:
    users = [emulator.state.add_user(TENANT, f"u{i}@{DOMAIN}", f"U{i}") for i in range(3)]
    victim = f"/users/{users[1].id}"
    emulator.faults.add_rule("batch_429", path_prefix=victim, remaining=1, retry_after=0)
    out = await directory.batch([BatchRequest(f"g{i}", "GET", f"/users/{u.id}") for i, u in enumerate(users)])
    assert all(r.status == 200 for r in out.values())
    assert batch_posts(emulator) == 2
    assert item_calls(emulator, "/v1.0" + victim) == 2  # throttled once, re-sent once
    assert item_calls(emulator, f"/v1.0/users/{users[0].id}") == 1  # the others were not re-sent
    assert item_calls(emulator, f"/v1.0/users/{users[2].id}") == 1


async def test_batch_waits_for_the_longest_item_retry_after(
    emulator: EmulatorServer, directory: GraphDirectory
) -> None:
    a = emulator.state.add_user(TENANT, f"a@{DOMAIN}", "A")
    b = emulator.state.add_user(TENANT, f"b@{DOMAIN}", "B")
    emulator.faults.add_rule("batch_429", path_prefix=f"/users/{a.id}", remaining=1, retry_after=0)
    emulator.faults.add_rule("batch_429", path_prefix=f"/users/{b.id}", remaining=1, retry_after=1)
    t0 = time.monotonic()
    out = await directory.batch(
        [BatchRequest("a", "GET", f"/users/{a.id}"), BatchRequest("b", "GET", f"/users/{b.id}")]
    )
    assert time.monotonic() - t0 >= 1.0
    assert [out["a"].status, out["b"].status] == [200, 200]
    assert batch_posts(emulator) == 2


async def test_a_424_is_resent_with_its_retried_dependency(
    emulator: EmulatorServer, directory: GraphDirectory
) -> None:
    user = emulator.state.add_user(TENANT, f"a@{DOMAIN}", "A")
    group = emulator.state.add_group(TENANT, "G")
    emulator.faults.add_rule("batch_429", path_prefix=f"/users/{user.id}", method="PATCH", remaining=1,
                             retry_after=0)
    ref = {"@odata.id": f"https://graph.microsoft.com/v1.0/directoryObjects/{user.id}"}
    out = await directory.batch([
        BatchRequest("patch", "PATCH", f"/users/{user.id}", body={"employeeType": "Substitute"}),
        BatchRequest("add", "POST", f"/groups/{group.id}/members/$ref", body=ref, depends_on=("patch",)),
    ])
    assert {k: v.status for k, v in out.items()} == {"patch": 204, "add": 204}
    assert emulator.state.members(TENANT, group.id) == [user.id]
    assert item_calls(emulator, f"/v1.0/groups/{group.id}/members/$ref") == 2  # 424, then 204


async def test_exhausted_item_throttling_returns_the_last_429(
    emulator: EmulatorServer, directory: GraphDirectory
) -> None:
    user = emulator.state.add_user(TENANT, f"a@{DOMAIN}", "A")
    emulator.faults.add_rule("batch_429", path_prefix=f"/users/{user.id}", retry_after=0)
    out = await directory.batch([BatchRequest("a", "GET", f"/users/{user.id}")])
    assert out["a"].status == 429
    assert batch_posts(emulator) == 1 + directory.settings.max_retries


async def test_large_batches_are_split_into_calls_of_twenty(
    emulator: EmulatorServer, directory: GraphDirectory
) -> None:
    users = [emulator.state.add_user(TENANT, f"u{i}@{DOMAIN}", f"U{i}") for i in range(45)]
    out = await directory.batch([BatchRequest(f"r{i}", "GET", f"/users/{u.id}") for i, u in enumerate(users)])
    assert len(out) == 45
    assert all(r.ok for r in out.values())
    assert batch_posts(emulator) == 3


async def test_malformed_batches_are_refused_before_sending(
    emulator: EmulatorServer, directory: GraphDirectory
) -> None:
    bad = [
        [BatchRequest("a", "GET", "/users"), BatchRequest("A", "GET", "/users")],  # ids are case-insensitive
        [BatchRequest("a", "GET", "https://graph.microsoft.com/v1.0/users")],
        [BatchRequest("a", "GET", "/v1.0/users")],
        [BatchRequest("a", "GET", "/users", depends_on=("nope",))],
        [BatchRequest(f"r{i}", "GET", "/users", depends_on=(f"r{i - 1}",) if i else ()) for i in range(21)],
    ]
    for requests in bad:
        with pytest.raises(ValueError, match=r"batch|depends_on"):
            await directory.batch(requests)
    assert emulator.log.round_trips() == 0
