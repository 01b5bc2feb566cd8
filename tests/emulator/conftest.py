"""Emulator fixtures: a small hand-made tenant served over HTTP, and httpx clients per tenant."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from idops.emulator.server import EmulatorServer
from idops.emulator.state import EmulatorState

REPO = Path(__file__).resolve().parents[2]
TENANT = "11111111-1111-4111-8111-111111111111"
OTHER = "22222222-2222-4222-8222-222222222222"
SKU = "c9b5543c-634a-5e4f-bc36-20377d0d9793"
STAFF = "6f5ef298-56c7-5c0e-b6cf-ada60fdb23d8"
NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def make_state(users: int = 5) -> EmulatorState:
    st = EmulatorState.empty_tenant(TENANT, ["edu.tampere.fi", "sijaiset.tampere.fi"])
    st.add_tenant(OTHER, ["edu.nokia.fi"], premium=False)
    st.add_sku(TENANT, SKU, "M365EDU_A3_FACULTY", 2)
    staff = st.add_group(TENANT, "Hervanta staff", id=STAFF)
    for i in range(users):
        u = st.add_user(
            TENANT, f"opettaja{i}@edu.tampere.fi", f"Opettaja {i}", usage_location="FI", employee_id=f"E{i}"
        )
        staff.members[u.id] = None
    return st


def load_config() -> tuple[dict[str, Any], dict[str, Any]]:
    with (REPO / "config" / "region.toml").open("rb") as f:
        region = tomllib.load(f)
    with (REPO / "config" / "apps.toml").open("rb") as f:
        apps = tomllib.load(f)
    return region, apps


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


def new_user_body(upn: str, **extra: Any) -> dict[str, Any]:
    return {
        "@odata.type": "#microsoft.graph.user",
        "accountEnabled": True,
        "displayName": "Sijainen Säde",
        "mailNickname": upn.split("@")[0],
        "userPrincipalName": upn,
        "usageLocation": "FI",
        "passwordProfile": {"password": "Xy7!kq-Lw29", "forceChangePasswordNextSignIn": True},
        **extra,
    }
