"""Against a generated region over real HTTP through the real adapter, the summary equals the
generator's ground truth exactly for every municipality × school × role."""

from __future__ import annotations

import httpx
import structlog

from idops.container import Container
from idops.emulator.generator import GeneratedRegion
from idops.emulator.server import EmulatorServer
from jobs import sync_mfa
from tests.conftest import TokenFactory, bearer
from tests.integration.mfa.conftest import observed_rows, truth_rows


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


async def test_users_in_no_school_group_are_counted_per_tenant_in_the_sync_output(
    container: Container, generated: GeneratedRegion
) -> None:
    with structlog.testing.capture_logs() as logs:
        counts = await sync_mfa.run(container)
    assert counts["failed"] == 0

    truth = generated.truth.mfa_other
    region = container.config.region
    logged = {e["tenant"]: e for e in logs if e["event"] == "mfa_other_users"}
    assert set(logged) == set(truth) == set(region.tenants())
    for tenant_id, expected in truth.items():
        event = logged[tenant_id]
        assert event["municipalities"] == [m.key for m in region.municipalities_of_tenant(tenant_id)]
        assert {k: event[k] for k in ("total", "registered", "capable", "passwordless_capable")} == {
            k: expected[k] for k in ("total", "registered", "capable", "passwordless_capable")
        }
        assert event["excluded"] == {
            "disabled": expected["excluded_disabled"],
            "guest": expected["excluded_guest"],
            "excluded_group": expected["excluded_excluded_group"],  # truth names it excluded_<reason>
            "not_started": 0,
        }
        assert counts[f"other.{'+'.join(event['municipalities'])}"] == expected["total"]
    assert counts["other"] == sum(t["total"] for t in truth.values()) > 0
    excluded = sum(t["excluded_disabled"] + t["excluded_guest"] + t["excluded_excluded_group"] for t in truth.values())
    assert counts["other_excluded"] == excluded > 0
    assert any(t["registered"] for t in truth.values())  # the registration columns are exercised too
