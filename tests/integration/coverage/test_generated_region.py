"""On a generated region the report equals the generator's ground truth (docs/definitions.md).

The whole chain runs for real: the emulator over HTTP, the directory sync (``sync_mfa``'s mirror),
sign-in ingestion through the adapter, and the report.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from idops.bootstrap import bootstrap
from idops.config import Config
from idops.directory.sync import sync_tenants
from idops.emulator.generator import generate_region
from idops.emulator.server import EmulatorServer
from idops.emulator.truth import Coverage
from idops.graph.sdk import GraphDirectoryProvider
from idops.jobruntime.runner import run_job
from idops.kit.clock import FrozenClock
from idops.signins.service import IngestOptions, ingest
from idops.uow import UnitOfWork
from tests.conftest import CONFIG_DIR
from tests.integration.signins.conftest import fast_settings

NOW = datetime(2026, 11, 20, 4, 30, tzinfo=UTC)


def as_truth(n: dict[str, Any]) -> dict[str, Any]:
    return {
        "staff_persons": n["staff_persons"], "single_account_persons": n["single_account_persons"],
        "multiplicity_coverage": n["account_coverage"], "apps_in_use": n["apps_in_use"],
        "single_login_apps": n["single_login_apps"], "app_coverage": n["app_coverage"],
        "weighted_app_coverage": n["weighted_app_coverage"], "headline_persons": n["headline_persons"],
        "headline": n["headline_share"],
    }


def truth_numbers(c: Coverage) -> dict[str, Any]:
    return {
        "staff_persons": c.staff_persons, "single_account_persons": c.single_account_persons,
        "multiplicity_coverage": c.multiplicity_coverage, "apps_in_use": len(c.apps_in_use),
        "single_login_apps": len(c.single_login_apps), "app_coverage": c.app_coverage,
        "weighted_app_coverage": c.weighted_app_coverage, "headline_persons": c.headline_persons,
        "headline": c.headline,
    }


def approx(d: dict[str, Any]) -> dict[str, Any]:
    return {k: (pytest.approx(v) if isinstance(v, float) else v) for k, v in d.items()}


@pytest.mark.timeout(120)
async def test_report_equals_ground_truth(make_config: Callable[..., Config], uow: UnitOfWork) -> None:
    config = make_config()
    region = tomllib.loads((CONFIG_DIR / "region.toml").read_text())
    apps = tomllib.loads((CONFIG_DIR / "apps.toml").read_text())
    gen = generate_region(region, apps, seed=7, users_per_tenant=120, now=NOW,
                          fallback_attribute=config.settings.coverage.fallback_attribute)
    server = EmulatorServer(gen.state).start()
    directories = GraphDirectoryProvider.from_config(config.region, fast_settings(), base_url_override=server.base_url)
    try:
        tenants = list(config.region.tenants())
        synced = await sync_tenants(uow, directories, config, tenants, NOW)
        assert all(not isinstance(r, BaseException) for r in synced.values()), synced
        result = await ingest(uow, directories, tenants, NOW, IngestOptions(lag=timedelta(0)))
        assert result.counts()["failed"] == 0 and result.counts()["unavailable"] == 1
        # the job: ingestion (nothing new: the watermark is at NOW) and the report, recorded as a run
        container = bootstrap(config, clock=FrozenClock(NOW), directories=directories)
        run = await run_job(container, "single_login_report", trigger="cli")
        await container.database.dispose()
        assert run.outcome == "succeeded", run.error
        assert run.counts["signins_unavailable"] == 1 and run.counts["sign_ins"] == 0
        async with uow:
            row = await uow.coverage.latest()
            assert row is not None
            body = row.body
    finally:
        await directories.aclose()
        server.stop()

    truth = gen.truth
    assert truth.region is not None
    assert as_truth(body["region"]["numbers"]) == approx(truth_numbers(truth.region))
    for m in body["municipalities"]:
        assert as_truth(m["numbers"]) == approx(truth_numbers(truth.municipality[m["key"]])), m["key"]
        for s in m["schools"]:
            t = truth.school[(m["key"], s["school"])]
            assert as_truth(s["numbers"]) == approx(truth_numbers(t)), s["path"]
            assert {a["key"]: a["users"] for a in s["apps"]} == dict(t.app_users), s["path"]
    unknown = {u["app_id"] for u in body["region"]["unknown_apps"]}
    assert unknown == set(truth.region.unknown_apps)
    assert body["region"]["numbers"]["multi_account_persons"] > 0  # the generator made some
