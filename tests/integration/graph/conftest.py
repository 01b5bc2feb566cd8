"""Fixtures for the Graph contract tests: a real emulator over HTTP and the adapter pointed at it, and
``world`` — the adapter or the in-memory fake, for the cases both must pass."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from idops.config.region import GraphConnection
from idops.config.settings import GraphSettings
from idops.emulator.server import EmulatorServer
from idops.emulator.state import EmulatorState
from idops.graph.sdk import GraphDirectory
from tests.support.graph import DOMAIN, TENANT

if TYPE_CHECKING:
    from tests.integration.graph.worlds import World


def fast_settings(**overrides: Any) -> GraphSettings:
    """Settings that keep the suite fast: tiny back-off, short replication wait."""
    base: dict[str, Any] = {
        "max_retries": 4,
        "max_backoff_seconds": 0.05,
        "replication_wait_seconds": 3.0,
        "request_timeout_seconds": 5.0,
    }
    base.update(overrides)
    return GraphSettings(**base)


class VirtualTime:
    """The pacer's clock and sleep: sleeping advances the clock at once and is recorded."""

    def __init__(self) -> None:
        self.t = 0.0
        self.slept: list[float] = []

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.t += seconds
        await asyncio.sleep(0)


@pytest.fixture
def emulator() -> Iterator[EmulatorServer]:
    server = EmulatorServer(EmulatorState.empty_tenant(TENANT, [DOMAIN])).start()
    try:
        yield server
    finally:
        server.stop()


DirectoryFactory = Callable[..., GraphDirectory]


@pytest.fixture
async def make_directory(emulator: EmulatorServer) -> AsyncIterator[DirectoryFactory]:
    built: list[GraphDirectory] = []

    def make(settings: GraphSettings | None = None, **kw: Any) -> GraphDirectory:
        conn = GraphConnection(credential="static", base_url=emulator.base_url)
        d = GraphDirectory.create(TENANT, conn, settings or fast_settings(), **kw)
        built.append(d)
        return d

    yield make
    for d in built:
        await d.aclose()


@pytest.fixture
def directory(make_directory: DirectoryFactory) -> GraphDirectory:
    return make_directory()


@pytest.fixture(params=["graph", "fake"])
async def world(request: pytest.FixtureRequest) -> AsyncIterator[World]:
    """The contract suite's subject: each case runs against the adapter (over HTTP to the emulator)
    and against the in-memory fake."""
    from tests.integration.graph.worlds import FakeWorld, GraphWorld

    if request.param == "fake":
        yield FakeWorld()
        return
    server = EmulatorServer(EmulatorState.empty_tenant(TENANT, [DOMAIN])).start()
    graph = GraphWorld(server)
    try:
        yield graph
    finally:
        await graph.aclose()
        server.stop()
