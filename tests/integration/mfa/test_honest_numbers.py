"""Honest MFA numbers for a tenant without Entra ID P1 (Orivesi in the test region: its registration report
answers 403): read per user within the budget and marked with source and age — or, where not read,
*unavailable* with a reason: never 0 %, never in the unregistered list, named in the totals' footnote."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from datetime import timedelta
from typing import Any

import httpx
import pytest

from idops.app import create_app
from idops.bootstrap import bootstrap
from idops.config import Config
from idops.container import Container
from idops.emulator.generator import GeneratedRegion, generate_region
from idops.emulator.server import EmulatorServer
from idops.jobruntime.runner import run_job
from idops.kit.clock import FrozenClock
from tests.conftest import TokenFactory, bearer, demo_sign_in
from tests.integration.mfa.conftest import NOW, observed_rows, region_dicts, truth_rows

ORIVESI = "orivesi"
FAST = {"reports_window_seconds": 0.001, "max_backoff_seconds": 0.05, "replication_wait_seconds": 1.0}


@pytest.fixture
def generated() -> GeneratedRegion:
    region, apps = region_dicts()
    return generate_region(region, apps, seed=11, users_per_tenant=60, now=NOW)


MakeApp = Callable[..., Awaitable[tuple[Container, httpx.AsyncClient]]]


@pytest.fixture
async def make_app(
    make_config: Callable[..., Config], emulator: EmulatorServer, clock: FrozenClock
) -> AsyncIterator[MakeApp]:
    """An app over the emulator with the given ``[graph]``/``[mfa]`` settings: (container, client)."""
    async with AsyncExitStack() as stack:

        async def make(graph: dict[str, object] | None = None, mfa: dict[str, object] | None = None
                       ) -> tuple[Container, httpx.AsyncClient]:
            config = make_config(graph={**FAST, **(graph or {})}, mfa=mfa or {})
            c = bootstrap(config, clock=clock, graph_base_url=emulator.base_url)
            app = create_app(config, container_factory=lambda: c, start_scheduler=False)
            await stack.enter_async_context(app.router.lifespan_context(app))
            client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://idops.test")
            await stack.enter_async_context(client)
            return c, client

        yield make


def municipality_row(body: dict[str, Any], key: str) -> dict[str, Any]:
    rows = [r for r in body["rows"] if r["municipality"] == key]
    assert len(rows) == 1, rows
    return dict(rows[0])


async def test_without_the_fallback_a_tenant_without_p1_is_unavailable_never_zero(
    make_app: MakeApp, make_token: TokenFactory, generated: GeneratedRegion
) -> None:
    c, client = await make_app(mfa={"scan_methods": False})
    region = bearer(make_token("RegionAdmin"))

    run = await run_job(c, "sync_mfa", trigger="cli")

    assert run.outcome == "partial" and run.counts["unavailable.premium_required"] == 1
    assert run.error is not None and "premium_required 1" in run.error
    assert c.metrics.registry.get_sample_value("idops_mfa_tenants_unavailable", {"reason": "premium_required"}) == 1
    body = (await client.get("/v1/mfa/summary", params={"group_by": "municipality"}, headers=region)).json()
    orivesi = municipality_row(body, ORIVESI)
    assert orivesi["state"] == "unavailable" and orivesi["unavailable_reason"] == "premium_required"
    assert orivesi["measured"] == 0 and orivesi["total"] > 0 and orivesi["unmeasured"] == orivesi["total"]
    for key in ("registered", "capable", "registered_share", "capable_share", "passwordless_share", "source",
                "as_of"):
        assert orivesi[key] is None, key  # null with a reason, not 0
    # the totals add the measured users only, and say which municipality they leave out and why
    others = [r for r in body["rows"] if r["municipality"] != ORIVESI]
    assert body["totals"]["measured"] == sum(r["measured"] for r in others)
    assert body["totals"]["capable"] == sum(r["capable"] for r in others)
    assert body["totals"]["unmeasured"] == orivesi["total"]
    assert body["missing"] == [{"municipality": ORIVESI, "reason": "premium_required", "users": orivesi["total"]}]
    # nobody of Orivesi is listed as without MFA: their registration is not known
    users = (await client.get("/v1/mfa/users", params={"limit": 1000}, headers=region)).json()["items"]
    assert users and not [u for u in users if u["municipality"] == ORIVESI]
    listed = await client.get("/v1/mfa/users", params={"limit": 1000}, headers={**region, "accept": "text/csv"})
    assert listed.status_code == 200
    assert not [r for r in csv.DictReader(io.StringIO(listed.text)) if r["municipality"] == ORIVESI]
    # the page: "ei tietoa" with the reason in plain Finnish, and the footnote names Orivesi
    await demo_sign_in(client, "region")
    page = (await client.get("/admin/mfa")).text
    assert 'id="mfa-missing-note"' in page and f'data-municipality="{ORIVESI}" data-reason="premium_required"' in page
    assert "ei tietoa" in page and "Entra ID P1" in page


async def test_the_fallback_reads_each_users_methods_and_matches_the_truth_with_source_and_age(
    make_app: MakeApp, make_token: TokenFactory, generated: GeneratedRegion, emulator: EmulatorServer,
    clock: FrozenClock,
) -> None:
    c, client = await make_app()
    region = bearer(make_token("RegionAdmin"))
    tenant = next(m.tenant_id for m in c.config.region.municipalities if m.key == ORIVESI)

    run = await run_job(c, "sync_mfa", trigger="cli")

    assert run.outcome == "succeeded", run.error
    assert run.counts["scanned"] > 0 and run.counts["scan_overdue"] == 0
    assert c.metrics.registry.get_sample_value("idops_mfa_methods_scanned_total", {"tenant": tenant}) == (
        run.counts["scanned"])
    # one plain GET per user, only where there is no report (a $batch would cost as many requests)
    method_reads = [e for e in emulator.log.snapshot() if e.path.endswith("/authentication/methods")]
    assert len(method_reads) == run.counts["scanned"]
    assert {e.tenant_id for e in method_reads} == {tenant}
    assert generated.truth.source[tenant] == "per_user_scan"
    detail = (await client.get("/v1/mfa/summary", headers=region)).json()
    expected = {k: v for k, v in truth_rows(generated.truth.mfa).items() if k[0] == ORIVESI}
    assert expected and {k: v for k, v in observed_rows(detail["rows"]).items() if k[0] == ORIVESI} == expected
    orivesi = municipality_row(
        (await client.get("/v1/mfa/summary", params={"group_by": "municipality"}, headers=region)).json(), ORIVESI
    )
    assert orivesi["state"] == "measured" and orivesi["source"] == "per_user_scan"
    assert orivesi["as_of"] is not None and orivesi["unmeasured"] == 0 and orivesi["capable_share"] is not None

    # the trend carries each role's target and the gap to it, in JSON and CSV
    trend = (await client.get("/v1/mfa/trend", params={"group_by": "role"}, headers=region)).json()
    points = {p["role"]: p for p in trend["points"]}
    assert trend["targets"] == {"staff": 1.0, "pupil": 0.8}
    for role, target in trend["targets"].items():
        assert points[role]["target"] == target
        assert points[role]["gap"] == pytest.approx(target - points[role]["capable_share"])
    exported = await client.get("/v1/mfa/trend", params={"group_by": "role"}, headers={**region, "accept": "text/csv"})
    staff = next(r for r in csv.DictReader(io.StringIO(exported.text)) if r["role"] == "staff")
    assert float(staff["target"]) == 1.0 and float(staff["gap"]) == pytest.approx(points["staff"]["gap"], abs=1e-6)

    # two days on without a new sync: the same numbers, marked stale ([mfa] stale_after_hours = 36)
    clock.advance(timedelta(days=2))
    c.mfa_responses.clear()
    later = municipality_row(
        (await client.get("/v1/mfa/summary", params={"group_by": "municipality"}, headers=region)).json(), ORIVESI
    )
    assert later["state"] == "stale" and later["stale"] is True and later["capable"] == orivesi["capable"]


async def test_a_small_budget_reads_staff_first_and_leaves_the_rest_unavailable(
    make_app: MakeApp, make_token: TokenFactory, generated: GeneratedRegion
) -> None:
    # 5 requests per second and 1 s a run: 5 users a run
    c, client = await make_app(graph={"reports_window_seconds": 1.0}, mfa={"scan_max_seconds": 1})
    region = bearer(make_token("RegionAdmin"))

    run = await run_job(c, "sync_mfa", trigger="cli")

    assert run.counts["scanned"] == 5 and run.counts["scan_overdue"] > 0
    assert run.outcome == "partial" and run.counts["unavailable.premium_required"] == 1
    rows = (await client.get("/v1/mfa/summary", params={"group_by": "municipality,role"}, headers=region)).json()
    by_role = {r["role"]: r for r in rows["rows"] if r["municipality"] == ORIVESI}
    assert by_role["staff"]["measured"] == 5 and by_role["staff"]["source"] == "per_user_scan"
    assert by_role["staff"]["unavailable_reason"] == "premium_required"  # the rest of the staff: not read yet
    assert by_role["pupil"]["measured"] == 0 and by_role["pupil"]["state"] == "unavailable"
    assert by_role["pupil"]["capable_share"] is None


async def test_the_region_numbers_do_not_wait_for_the_per_user_scan(
    make_app: MakeApp, make_token: TokenFactory, generated: GeneratedRegion
) -> None:
    # 5 requests per 2 s and 4 s a run: 10 users, the second five two seconds after the first
    c, client = await make_app(graph={"reports_window_seconds": 2.0}, mfa={"scan_max_seconds": 4})
    region = bearer(make_token("RegionAdmin"))
    job = asyncio.create_task(run_job(c, "sync_mfa", trigger="cli"))
    try:
        # until Tampere's numbers are there and Orivesi's unit (a unit per tenant, run side by side) has
        # recorded that its users are still to be read …
        while True:
            body = (await client.get("/v1/mfa/summary", params={"group_by": "municipality"}, headers=region)).json()
            if {"tampere", ORIVESI} <= {r["municipality"] for r in body["rows"]}:
                break
            assert not job.done(), job.result()
            await asyncio.sleep(0.05)
        assert not job.done()  # … while Orivesi's users are still being read
        assert municipality_row(body, "tampere")["state"] == "measured"
        assert municipality_row(body, ORIVESI)["state"] == "unavailable"
        run = await asyncio.wait_for(job, 60)
    finally:
        job.cancel()
    assert run.counts["scanned"] == 10 and run.counts["tenants"] == len(c.config.region.tenants())
    after = (await client.get("/v1/mfa/summary", params={"group_by": "municipality"}, headers=region)).json()
    assert municipality_row(after, ORIVESI)["measured"] == 10
