"""Substitute tests run the real app and the real msgraph-sdk adapter against the emulator over HTTP,
with one frozen clock shared by idops and the emulator (no sleeping through real time)."""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from idops.app import create_app
from idops.bootstrap import bootstrap
from idops.config import Config
from idops.config.region import RegionConfig
from idops.container import Container
from idops.emulator.generator import generate_region
from idops.emulator.server import EmulatorServer
from idops.emulator.state import EmulatorState
from idops.graph.fake import FakeDirectoryProvider, FakeTenant
from idops.jobruntime import runner
from idops.kit.clock import FrozenClock
from tests.conftest import CONFIG_DIR, TokenFactory, bearer

# Monday 30 November 2026, 08:00 in Helsinki.
START = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)
SCHOOL = "tampere/hervanta"
OTHER_SCHOOL = "tampere/kaleva"


def load_toml(name: str) -> dict[str, Any]:
    with (CONFIG_DIR / name).open("rb") as f:
        return tomllib.load(f)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
def region_state(clock: FrozenClock) -> EmulatorState:
    return generate_region(load_toml("region.toml"), load_toml("apps.toml"), seed=7, users_per_tenant=60,
                           now=clock.now(), days_of_signins=1).state


@pytest.fixture
def emulator(region_state: EmulatorState, clock: FrozenClock) -> Iterator[EmulatorServer]:
    server = EmulatorServer(region_state, clock=clock).start()
    yield server
    server.stop()


@pytest.fixture
def sub_config(make_config: Callable[..., Config]) -> Config:
    return make_config(graph={"max_backoff_seconds": 0.2, "replication_wait_seconds": 5.0, "max_retries": 6})


@pytest.fixture
def container(sub_config: Config, clock: FrozenClock, emulator: EmulatorServer) -> Container:
    return bootstrap(sub_config, clock=clock, graph_base_url=emulator.base_url)


class Calls:
    """What the tests ask the app as a principal or an IT admin (``client``, ``clock``, ``token`` given)."""

    client: httpx.AsyncClient
    clock: FrozenClock
    token: TokenFactory

    def principal(self, school: str = SCHOOL) -> dict[str, str]:
        return bearer(self.token("Principal", school=school))

    def admin(self, municipality: str = "tampere") -> dict[str, str]:
        return bearer(self.token("ItAdmin", municipality=municipality))

    async def request(self, *, starts: timedelta = timedelta(0), days: float = 5, school: str = SCHOOL,
                      given: str = "Aino", surname: str = "Äijälä", headers: dict[str, str] | None = None,
                      **extra: Any) -> httpx.Response:
        body = {
            "school": school, "given_name": given, "surname": surname,
            "starts_at": (self.clock.now() + starts).isoformat(),
            "ends_at": (self.clock.now() + starts + timedelta(days=days)).isoformat(),
            **extra,
        }
        return await self.client.post("/v1/substitutes", json=body, headers=headers or self.principal(school))


@dataclass
class Api(Calls):
    client: httpx.AsyncClient
    container: Container
    emulator: EmulatorServer
    clock: FrozenClock
    token: TokenFactory

    async def run_job(self, name: str) -> dict[str, Any]:
        r = await self.client.post(f"/v1/jobs/{name}/run", headers=bearer(self.token("RegionAdmin")))
        assert r.status_code == 200, r.text
        run: dict[str, Any] = r.json()
        assert run["outcome"] in ("succeeded", "partial"), run
        return run

    def tenant(self, school: str = SCHOOL) -> str:
        found = self.container.config.region.school(school)
        assert found is not None
        return found[0].tenant_id


@pytest.fixture
async def api(container: Container, sub_config: Config, emulator: EmulatorServer, clock: FrozenClock,
              make_token: TokenFactory) -> AsyncIterator[Api]:
    app = create_app(sub_config, container_factory=lambda: container)
    async with app.router.lifespan_context(app), httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://idops.test"
    ) as client:
        yield Api(client, container, emulator, clock, make_token)


# --- the same app over the in-memory fake of the Directory port (no emulator, no sockets) -----------


def seed_fake_region(fakes: FakeDirectoryProvider, config: Config, *, seats: int = 50) -> None:
    """Every school's groups and every tenant's licences in the fake, as the emulator's region has them."""
    for m in config.region.municipalities:
        tenant = fakes.for_tenant(m.tenant_id).state
        for gid in (*m.exclusion_group_ids, *config.settings.mfa.exclusion_group_ids):
            if tenant.group(gid) is None:
                tenant.add_group(f"{m.name}: excluded", id=gid)
        for s in m.schools:
            for gid in (*s.staff_group_ids, *s.pupil_group_ids, *s.substitute_group_ids):
                if tenant.group(gid) is None:
                    tenant.add_group(f"{s.name} {gid[:4]}", id=gid)
            for sku in s.licence_sku_ids:
                if sku.lower() not in tenant.skus:
                    tenant.add_sku(sku, "STANDARDWOFFPACK_FACULTY", seats)


@dataclass
class FakeApi(Calls):
    """The real app (routers, services, job runner, database) over ``FakeDirectoryProvider``."""

    client: httpx.AsyncClient
    container: Container
    fakes: FakeDirectoryProvider
    clock: FrozenClock
    token: TokenFactory

    def tenant(self, school: str = SCHOOL) -> FakeTenant:
        found = self.container.config.region.school(school)
        assert found is not None
        return self.fakes.for_tenant(found[0].tenant_id).state

    async def run_job(self, name: str) -> dict[str, Any]:
        """One run through the job runtime, as the scheduler starts it (lease, run record, counts)."""
        run = await runner.run_job(self.container, name, trigger="scheduler")
        assert run.outcome in ("succeeded", "partial"), run
        return run.counts


#: The municipalities of ``fake_api``'s region: three tenants, one shared (Lempäälä and Vesilahti).
#: Fewer tenants, fewer nightly reads: the jobs' work grows with the tenants, not with what a test checks.
FAKE_REGION = ("tampere", "pirkkala", "lempaala", "vesilahti")


@pytest.fixture
async def fake_api(make_config: Callable[..., Config], clock: FrozenClock,
                   make_token: TokenFactory) -> AsyncIterator[FakeApi]:
    config = make_config()
    region = load_toml("region.toml")
    region["municipalities"] = [m for m in region["municipalities"] if m["key"] in FAKE_REGION]
    config = dataclasses.replace(config, region=RegionConfig.model_validate(region))
    fakes = FakeDirectoryProvider.for_region(config.region, clock=clock)
    seed_fake_region(fakes, config)
    container = bootstrap(config, clock=clock, directories=fakes)
    app = create_app(config, container_factory=lambda: container)
    async with app.router.lifespan_context(app), httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://idops.test"
    ) as client:
        yield FakeApi(client, container, fakes, clock, make_token)
