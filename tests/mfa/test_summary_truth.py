"""Against a generated region over real HTTP through the real adapter, the summary equals the
generator's ground truth exactly for every municipality × school × role."""

from __future__ import annotations

import httpx

from idops.bootstrap import Container
from idops.emulator.generator import GeneratedRegion
from idops.emulator.server import EmulatorServer
from jobs import sync_mfa
from tests.conftest import TokenFactory, bearer
from tests.mfa.conftest import observed_rows, truth_rows


async def test_summary_equals_ground_truth_for_every_row(
    container: Container, generated: GeneratedRegion, mfa_api: httpx.AsyncClient, make_token: TokenFactory
) -> None:
    counts = await sync_mfa.run(container)
    assert counts["failed"] == 0
    assert counts["tenants"] == len(container.config.region.tenants())

    r = await mfa_api.get("/v1/mfa/summary", headers=bearer(make_token("RegionAdmin")))
    assert r.status_code == 200, r.text
    body = r.json()
    expected = truth_rows(generated.truth.mfa)
    assert observed_rows(body["rows"]) == expected
    assert sum(v.excluded["not_started"] for v in expected.values()) > 0  # the region exercises every reason
    assert all(sum(v.excluded[k] for v in expected.values()) > 0 for k in ("disabled", "guest", "excluded_group"))
    assert body["as_of"]["synced_at"] is not None


async def test_a_failing_tenant_is_counted_and_the_others_still_get_their_snapshot(
    container: Container, emulator: EmulatorServer, mfa_api: httpx.AsyncClient, make_token: TokenFactory
) -> None:
    broken = next(m for m in container.config.region.municipalities if m.key == "nokia")
    emulator.faults.add_rule("503", path_prefix="/users", tenant_id=broken.tenant_id)

    counts = await sync_mfa.run(container)

    tenants = len(container.config.region.tenants())
    assert counts["failed"] == 1 and counts["tenants"] == tenants - 1
    r = await mfa_api.get("/v1/mfa/summary", params={"group_by": "municipality"},
                          headers=bearer(make_token("RegionAdmin")))
    munis = {row["municipality"] for row in r.json()["rows"]}
    assert "nokia" not in munis and "tampere" in munis
