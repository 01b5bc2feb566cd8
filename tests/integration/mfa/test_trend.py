"""Trend: 30 simulated days (frozen clock; the emulator flips users to registered day by day) give
30 snapshots equal to each day's ground truth; re-running a day replaces it; a user who leaves
vanishes from the per-user rows but not from past snapshots."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from datetime import timedelta
from typing import Any

import httpx
import pytest

from idops.auth.demo import DEMO_ISSUER
from idops.config import Config
from idops.config.region import RegionConfig
from idops.container import Container
from idops.emulator.generator import GeneratedRegion, generate_region
from idops.kit.clock import FrozenClock
from jobs import sync_mfa
from tests.conftest import TokenFactory, bearer
from tests.integration.mfa.conftest import NOW, Observed, observed_rows, region_dicts, truth_rows

DAYS = 30


KEEP = ("pirkkala", "lempaala", "vesilahti")  # two tenants, one shared by two municipalities


def small_region() -> dict[str, Any]:
    region, _ = region_dicts()
    return {**region, "municipalities": [m for m in region["municipalities"] if m["key"] in KEEP]}


@pytest.fixture
def mfa_config(mfa_config: Config) -> Config:
    """A smaller region keeps 31 syncs quick; the full region is checked by test_summary_truth."""
    return dataclasses.replace(mfa_config, region=RegionConfig.model_validate(small_region()))


@pytest.fixture
def generated() -> GeneratedRegion:
    _, apps = region_dicts()
    return generate_region(small_region(), apps, seed=11, users_per_tenant=150, now=NOW)


def _remove_user(g: GeneratedRegion, tenant_id: str, user_id: str) -> None:
    """The user is deleted in Entra: gone from /users, from every group and from the report."""
    with g.state.lock:
        t = g.state.tenants[tenant_id]
        u = t.users[user_id]
        t.unindex_user(u)
        for group in t.groups.values():
            group.members.pop(user_id, None)


async def test_thirty_days_of_snapshots_match_each_days_truth(
    container: Container, generated: GeneratedRegion, clock: FrozenClock, mfa_api: httpx.AsyncClient,
    make_token: TokenFactory,
) -> None:
    tid = container.config.region.municipalities[0].tenant_id
    admin = bearer(make_token("RegionAdmin", claims={"tid": tid, "iss": DEMO_ISSUER.replace("{tid}", tid)}))
    expected: dict[str, dict[tuple[str, str, str], Observed]] = {}
    leaver: tuple[str, str, str] | None = None  # (tenant, user id, school path)
    for day in range(DAYS):
        clock.set(NOW + timedelta(days=day))
        if day == 10:
            r = await mfa_api.get("/v1/mfa/users", params={"role": "staff", "limit": 1}, headers=admin)
            item = r.json()["items"][0]
            tenant = next(m.tenant_id for m in container.config.region.municipalities
                          if m.key == item["municipality"])
            leaver = (tenant, item["user_id"], item["school"])
            _remove_user(generated, tenant, item["user_id"])
        truth = generated.advance_registration(day, fraction=0.04)
        counts = await sync_mfa.run(container)
        assert counts["failed"] == 0, counts
        expected[(NOW + timedelta(days=day)).date().isoformat()] = truth_rows(truth.mfa)

    # re-running the last day replaces it
    await sync_mfa.run(container)

    r = await mfa_api.get(
        "/v1/mfa/trend",
        params={"from": NOW.date().isoformat(), "to": (NOW + timedelta(days=DAYS - 1)).date().isoformat(),
                "group_by": "municipality,school,role"},
        headers=admin,
    )
    assert r.status_code == 200, r.text
    by_day: dict[str, list[dict[str, object]]] = defaultdict(list)
    for p in r.json()["points"]:
        by_day[str(p["date"])].append(p)
    assert sorted(by_day) == sorted(expected)
    for day, points in by_day.items():
        keys = [(p["school"], p["role"]) for p in points]
        assert len(keys) == len(set(keys)), f"duplicate rows on {day}"
        assert observed_rows(points) == expected[day], day  # type: ignore[arg-type]

    # registration grew over the month
    first, last = sorted(by_day)[0], sorted(by_day)[-1]
    assert sum(p["registered"] for p in by_day[last]) > sum(p["registered"] for p in by_day[first])  # type: ignore[misc]

    # the leaver: gone from the per-user rows, still counted in the snapshots before they left
    assert leaver is not None
    users = await mfa_api.get("/v1/mfa/users", params={"school": leaver[2], "limit": 200}, headers=admin)
    assert leaver[1] not in {u["user_id"] for u in users.json()["items"]}
    muni, school = leaver[2].split("/")
    day9 = (NOW + timedelta(days=9)).date().isoformat()
    day10 = (NOW + timedelta(days=10)).date().isoformat()
    staff9 = expected[day9][(muni, school, "staff")].total
    staff10 = expected[day10][(muni, school, "staff")].total
    assert staff9 == staff10 + 1  # the snapshot of day 9 still counts them
