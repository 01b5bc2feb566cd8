"""Emulator test data shared by the unit tests (generator, parser) and the integration tests that serve
it over HTTP: a small hand-made tenant, the shipped region configuration, the generator's sample region."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime
from typing import Any

from idops.emulator.generator import GeneratedRegion, generate_region
from idops.emulator.state import EmulatorState
from tests.conftest import CONFIG_DIR

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
    with (CONFIG_DIR / "region.toml").open("rb") as f:
        region = tomllib.load(f)
    with (CONFIG_DIR / "apps.toml").open("rb") as f:
        apps = tomllib.load(f)
    return region, apps


def sample_region() -> GeneratedRegion:
    """The generator's tests' region: 400 users per tenant and 30 days of sign-ins up to ``NOW``."""
    region, apps = load_config()
    return generate_region(region, apps, seed=7, users_per_tenant=400, now=NOW, days_of_signins=30)


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
