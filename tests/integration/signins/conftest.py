"""Fixtures: the emulator over HTTP, the adapter pointed at it, and the tables of this package.

Until the lead regenerates the initial migration, tables missing from it are created here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

import idops.directory.models  # the report reads the mirror
import idops.models  # noqa: F401
from idops.config.region import GraphConnection
from idops.config.settings import GraphSettings
from idops.emulator.server import EmulatorServer
from idops.emulator.state import EmulatorState
from idops.graph.sdk import GraphDirectory

TENANT = "11111111-2222-4333-8444-555555555555"
DOMAIN = "koulu.example.fi"






def fast_settings(**overrides: Any) -> GraphSettings:
    base: dict[str, Any] = {"max_retries": 1, "max_backoff_seconds": 0.01, "request_timeout_seconds": 5.0,
                            "reports_requests": 1000, "reports_window_seconds": 0.01}
    base.update(overrides)
    return GraphSettings(**base)


@pytest.fixture
def emulator() -> Iterator[EmulatorServer]:
    server = EmulatorServer(EmulatorState.empty_tenant(TENANT, [DOMAIN])).start()
    try:
        yield server
    finally:
        server.stop()


class Provider:
    """A ``DirectoryProvider`` over given directories (the tests' own wiring)."""

    def __init__(self, directories: dict[str, Any]) -> None:
        self.directories = directories

    def for_tenant(self, tenant_id: str) -> Any:
        return self.directories[tenant_id]

    async def aclose(self) -> None:
        for d in self.directories.values():
            if hasattr(d, "aclose"):
                await d.aclose()


@pytest.fixture
async def provider(emulator: EmulatorServer) -> AsyncIterator[Provider]:
    conn = GraphConnection(credential="static", base_url=emulator.base_url)
    p = Provider({TENANT: GraphDirectory.create(TENANT, conn, fast_settings(page_size=2))})
    yield p
    await p.aclose()
