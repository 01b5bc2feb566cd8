"""Limits a stolen or buggy client runs into: body size (413), page sizes (422), and per-principal rate
limits on creating substitutes and issuing access passes (429 with Retry-After) — all problem+json."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from datetime import timedelta

import httpx
import pytest

from idops.app import create_app
from idops.bootstrap import bootstrap
from idops.config import Config
from idops.emulator.server import EmulatorServer
from idops.emulator.state import EmulatorState
from idops.kit.clock import FrozenClock
from tests.conftest import TokenFactory, bearer
from tests.integration.substitutes.conftest import START, load_toml

PROBLEM = "application/problem+json"
SCHOOL, OTHER = "tampere/hervanta", "tampere/kaleva"


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
def emulator(clock: FrozenClock) -> Iterator[EmulatorServer]:
    from idops.emulator.generator import generate_region

    state: EmulatorState = generate_region(load_toml("region.toml"), load_toml("apps.toml"), seed=3,
                                           users_per_tenant=50, now=clock.now(), days_of_signins=1).state
    server = EmulatorServer(state, clock=clock).start()
    yield server
    server.stop()


@pytest.fixture
def limited_config(make_config: Callable[..., Config]) -> Config:
    return make_config(api={"create_rate_per_hour": 3, "tap_rate_per_hour": 2},
                       graph={"max_backoff_seconds": 0.2, "replication_wait_seconds": 2.0})


@pytest.fixture
async def client(limited_config: Config, clock: FrozenClock, emulator: EmulatorServer
                 ) -> AsyncIterator[httpx.AsyncClient]:
    container = bootstrap(limited_config, clock=clock, graph_base_url=emulator.base_url)
    app = create_app(limited_config, container_factory=lambda: container)
    async with app.router.lifespan_context(app), httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://idops.test"
    ) as c:
        yield c


def body(clock: FrozenClock, n: int, school: str = SCHOOL, days: int = 5) -> dict[str, str]:
    return {"school": school, "given_name": "Aino", "surname": f"Rajala{'a' * n}",
            "starts_at": clock.now().isoformat(), "ends_at": (clock.now() + timedelta(days=days)).isoformat()}


def assert_problem(r: httpx.Response, status: int) -> dict[str, object]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    problem: dict[str, object] = r.json()
    assert problem["status"] == status
    return problem


async def test_substitute_creation_is_rate_limited_per_principal_with_retry_after(
    client: httpx.AsyncClient, clock: FrozenClock, make_token: TokenFactory
) -> None:
    me = bearer(make_token("Principal", school=SCHOOL))
    for n in range(3):
        assert (await client.post("/v1/substitutes", json=body(clock, n), headers=me)).status_code == 201
    r = await client.post("/v1/substitutes", json=body(clock, 9), headers=me)
    assert_problem(r, 429)
    assert 1 <= int(r.headers["retry-after"]) <= 3600
    # another principal has their own budget
    other = bearer(make_token("Principal", school=OTHER))
    assert (await client.post("/v1/substitutes", json=body(clock, 0, OTHER), headers=other)).status_code == 201
    # a refused request created nothing
    listed = (await client.get("/v1/substitutes", params={"school": SCHOOL}, headers=me)).json()
    assert len(listed["items"]) == 3


async def test_access_pass_issuance_is_rate_limited_per_principal_with_retry_after(
    client: httpx.AsyncClient, clock: FrozenClock, make_token: TokenFactory
) -> None:
    me = bearer(make_token("Principal", school=SCHOOL))
    created = await client.post("/v1/substitutes", json=body(clock, 0), headers=me)
    assert created.status_code == 201, created.text
    pid = created.json()["id"]
    for _ in range(2):
        r = await client.post(f"/v1/substitutes/{pid}/access-pass", headers=me)
        assert r.status_code == 200, r.text
        assert r.headers["cache-control"] == "no-store"
    r = await client.post(f"/v1/substitutes/{pid}/access-pass", headers=me)
    problem = assert_problem(r, 429)
    assert int(r.headers["retry-after"]) >= 1
    assert "temporary_access_pass" not in problem
    # guessing ids does not get around the limit either (the limit is checked before the lookup)
    r = await client.post("/v1/substitutes/00000000-0000-0000-0000-000000000000/access-pass", headers=me)
    assert_problem(r, 429)
    admin = bearer(make_token("ItAdmin", municipality="tampere"))
    assert (await client.post(f"/v1/substitutes/{pid}/access-pass", headers=admin)).status_code == 200


async def test_page_sizes_above_the_cap_are_refused(client: httpx.AsyncClient, make_token: TokenFactory) -> None:
    admin = bearer(make_token("RegionAdmin"))
    assert (await client.get("/v1/substitutes", params={"limit": 200}, headers=admin)).status_code == 200
    for path, too_many in (("/v1/substitutes", 201), ("/v1/substitutes", 10**9), ("/v1/substitutes", 0),
                           ("/v1/substitute-persons?q=ai", 51), ("/v1/mfa/users", 10_001)):
        r = await client.get(path, params={"limit": too_many}, headers=admin)
        problem = assert_problem(r, 422)
        assert any("limit" in e["loc"] for e in problem["errors"]), problem  # type: ignore[attr-defined]


async def test_bodies_over_the_limit_are_refused_before_they_are_read(
    client: httpx.AsyncClient, clock: FrozenClock, make_token: TokenFactory
) -> None:
    me = bearer(make_token("Principal", school=SCHOOL))
    big = {**body(clock, 0), "surname": "x" * (64 * 1024)}
    assert_problem(await client.post("/v1/substitutes", json=big, headers=me), 413)

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted while streaming
        for _ in range(80):
            yield b" " * 1024

    r = await client.post("/v1/substitutes", content=chunks(), headers={**me, "content-type": "application/json"})
    assert_problem(r, 413)
    # unauthenticated callers are refused as early
    assert_problem(await client.post("/v1/substitutes", json=big), 413)
    # just under the limit is an ordinary validation error
    ok_size = {**body(clock, 0), "surname": "x" * 1000}
    assert_problem(await client.post("/v1/substitutes", json=ok_size, headers=me), 422)
