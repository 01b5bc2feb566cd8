"""Emulator fixtures: a small hand-made tenant served over HTTP, and httpx clients per tenant."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from idops.emulator.server import EmulatorServer
from idops.emulator.state import EmulatorState
from tests.support.emulator import TENANT, make_state


@pytest.fixture
def state() -> EmulatorState:
    return make_state()


@pytest.fixture
def server(state: EmulatorState) -> Iterator[EmulatorServer]:
    with EmulatorServer(state) as srv:
        yield srv


@pytest.fixture
def client(server: EmulatorServer) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=server.base_url, headers={"Authorization": f"Bearer emu.{TENANT}"}, timeout=10
    ) as c:
        yield c
