"""Regression tests for defects the adversarial runs (chaos soak, schemathesis) found. See RELIABILITY.md."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from idops.emulator.server import EmulatorServer
from idops.kit.clock import FrozenClock
from tests.conftest import TokenFactory, bearer
from tests.integration.fuzz.test_limits import SCHOOL, body, client, clock, emulator, limited_config  # noqa: F401


async def test_an_unfinished_revoke_cannot_be_undone_by_an_extension(
    client: httpx.AsyncClient, clock: FrozenClock, emulator: EmulatorServer,  # noqa: F811
    make_token: TokenFactory,
) -> None:
    me = bearer(make_token("Principal", school=SCHOOL))
    created = await client.post("/v1/substitutes", json=body(clock, 0, days=2), headers=me)
    assert created.status_code == 201, created.text
    pid = created.json()["id"]
    # Graph refuses to disable the account for now: the revoke is recorded but not yet carried out
    emulator.faults.add_rule("503", path_prefix="/users", method="PATCH", retry_after=0)
    emulator.faults.add_rule("503", path_prefix="/$batch", retry_after=0)
    revoked = await client.post(f"/v1/substitutes/{pid}/revoke", headers=me)
    assert revoked.status_code in (200, 503), revoked.text
    emulator.faults.clear()
    later = (clock.now() + timedelta(days=1)).isoformat()
    r = await client.patch(f"/v1/substitutes/{pid}", json={"ends_at": later}, headers=me)
    assert r.status_code == 409, f"a revoked period was extended: {r.status_code} {r.text}"


@pytest.mark.parametrize("active_on", ["2026-11-30", "2026-11-30T08:00:00", "6.103515625e-05", "0"])
async def test_list_filter_times_without_an_offset_are_422_not_500(
    api: httpx.AsyncClient, make_token: TokenFactory, active_on: str
) -> None:
    """Fixed: a naive ``active_on`` reached the database layer (which refuses naive times) → 500;
    a number was read as a Unix timestamp (schemathesis ST201)."""
    r = await api.get("/v1/substitutes", params={"active_on": active_on}, headers=bearer(make_token("RegionAdmin")))
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json"), r.text
    ok = await api.get("/v1/substitutes", params={"active_on": "2026-11-30T08:00:00+02:00"},
                       headers=bearer(make_token("RegionAdmin")))
    assert ok.status_code == 200


async def test_dates_in_queries_must_be_iso_8601(
    client: httpx.AsyncClient, make_token: TokenFactory,  # noqa: F811
) -> None:
    admin = bearer(make_token("RegionAdmin"))
    for path in ("/v1/mfa/trend?to=0.0", "/v1/mfa/trend?from=1700000000", "/v1/substitutes?active_on=6.1e-05",
                 "/v1/substitutes?active_on=2026-11-30T08:00:00"):
        r = await client.get(path, headers=admin)
        assert r.status_code == 422, (path, r.status_code, r.text)
        assert r.headers["content-type"] == "application/problem+json"
    assert (await client.get("/v1/mfa/trend?to=2026-11-30", headers=admin)).status_code == 200
