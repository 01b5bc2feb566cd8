"""MFA fixtures: a generated region served by the emulator over HTTP, the real adapter, the app."""

from __future__ import annotations

import tomllib
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from idops.bootstrap import bootstrap
from idops.config import Config
from idops.container import Container
from idops.emulator.generator import GeneratedRegion, generate_region
from idops.emulator.server import EmulatorServer
from idops.emulator.truth import MfaRow
from idops.kit.clock import FrozenClock
from tests.conftest import CONFIG_DIR

NOW = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)  # 08:00 in Helsinki


def region_dicts() -> tuple[dict[str, Any], dict[str, Any]]:
    with (CONFIG_DIR / "region.toml").open("rb") as f:
        region = tomllib.load(f)
    with (CONFIG_DIR / "apps.toml").open("rb") as f:
        apps = tomllib.load(f)
    return region, apps


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(NOW)


@pytest.fixture
def generated() -> GeneratedRegion:
    region, apps = region_dicts()
    return generate_region(region, apps, seed=7, users_per_tenant=300, now=NOW)


@pytest.fixture
def emulator(generated: GeneratedRegion, clock: FrozenClock) -> Iterator[EmulatorServer]:
    with EmulatorServer(generated.state, clock=clock) as server:
        yield server


@pytest.fixture
def mfa_config(make_config: Callable[..., Config]) -> Config:
    """The demo config with a fast pacer (the real budget is exercised by the pacing test)."""
    return make_config(
        graph={"reports_window_seconds": 0.001, "max_backoff_seconds": 0.05, "replication_wait_seconds": 1.0}
    )


@pytest.fixture
async def container(mfa_config: Config, emulator: EmulatorServer, clock: FrozenClock) -> AsyncIterator[Container]:
    c = bootstrap(mfa_config, clock=clock, graph_base_url=emulator.base_url)
    try:
        yield c
    finally:
        await c.directories.aclose()
        await c.database.dispose()


@pytest.fixture
async def mfa_api(container: Container) -> AsyncIterator[httpx.AsyncClient]:
    """The real app over the test container (emulator-backed directories, frozen clock)."""
    from idops.app import create_app

    app = create_app(container.config, container_factory=lambda: container, start_scheduler=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://idops.test") as client:
            yield client


@dataclass(frozen=True)
class Observed:
    total: int
    registered: int
    capable: int
    passwordless_capable: int
    excluded: dict[str, int]


def truth_rows(truth: dict[tuple[str, str, str], MfaRow]) -> dict[tuple[str, str, str], Observed]:
    """Ground truth without the empty rows (a row nobody is in is not observed)."""
    out = {}
    for key, r in truth.items():
        if r.total or any(r.excluded.values()):
            out[key] = Observed(r.total, r.registered, r.capable, r.passwordless_capable, dict(r.excluded))
    return out


def observed_rows(rows: list[dict[str, Any]]) -> dict[tuple[str, str, str], Observed]:
    """Summary/trend JSON rows (grouped by municipality, school, role) in the same shape."""
    out = {}
    for r in rows:
        muni, school = r["school"].split("/", 1)
        out[(muni, school, r["role"])] = Observed(
            r["total"], r["registered"], r["capable"], r["passwordless_capable"], dict(r["excluded"])
        )
    return out
