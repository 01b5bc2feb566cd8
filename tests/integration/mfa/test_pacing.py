"""Pacing: a 20 000-user tenant at Graph's real reports budget (5 requests / 10 s), time-scaled
by 5 in both the emulator and the pacer, syncs with zero 429s within 1.15 × the ideal time.

The ideal time of N report requests under "at most 5 in any 10 s window" is
``(ceil(N / 5) - 1) × 10 s``: five at once, then five more each window. The emulator runs in a
child process so that its page rendering does not compete with idops for the GIL.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Iterator

import pytest

from idops.bootstrap import bootstrap
from idops.config import Config
from idops.config.region import RegionConfig
from idops.emulator.faults import Faults
from idops.kit.clock import FrozenClock
from jobs import sync_mfa
from tests.integration.mfa.conftest import NOW, region_dicts
from tests.integration.mfa.remote_emulator import remote_emulator, request_log

SCALE = 0.2  # 10 s of Graph's window is 2 s here (fixed start-up costs stay small beside it)
USERS = 20_000
REPORT_PATH = "/reports/authenticationMethods/userRegistrationDetails"


def one_municipality() -> dict[str, object]:
    region, _ = region_dicts()
    return {**region, "municipalities": [m for m in region["municipalities"] if m["key"] == "pirkkala"]}


@pytest.fixture(scope="module")
def throttled() -> Iterator[str]:
    faults = Faults()
    faults.realistic_budgets(time_scale=SCALE)
    _, apps = region_dicts()
    with remote_emulator(one_municipality(), apps, seed=5, users_per_tenant=USERS, now=NOW,
                         non_premium_tenants=[], faults=faults.to_json()) as base_url:
        yield base_url


@pytest.mark.slow
@pytest.mark.xdist_group("timing")  # never beside the chaos soak: its processes would take the CPU it measures
async def test_twenty_thousand_users_sync_at_the_budget_without_a_429(
    make_config: Callable[..., Config], throttled: str
) -> None:
    config = make_config(graph={"reports_requests": 5, "reports_window_seconds": 10.0 * SCALE})
    config = dataclasses.replace(config, region=RegionConfig.model_validate(one_municipality()))
    c = bootstrap(config, clock=FrozenClock(NOW), graph_base_url=throttled)
    try:
        started = time.perf_counter()
        counts = await sync_mfa.run(c)
        elapsed = time.perf_counter() - started
    finally:
        await c.directories.aclose()
        await c.database.dispose()

    assert counts["failed"] == 0 and counts["users"] >= USERS * 0.97
    entries = request_log(throttled)
    assert [e for e in entries if e["status"] == 429] == []
    reports = sum(1 for e in entries if e["path"].endswith(REPORT_PATH) and not e["in_batch"])
    assert reports == math.ceil(counts["report_rows"] / 999)
    ideal = (math.ceil(reports / 5) - 1) * 10.0 * SCALE
    # A pacer that waits one window more than needed fails; the tighter ≤ 1.15 × lives in the benchmark
    # (benchmarks/), measured on a quiet machine — here the other worker's tests share the 2 cores.
    window = 10.0 * SCALE
    assert elapsed < ideal + 0.9 * window, f"{elapsed:.2f} s for {reports} report pages; ideal {ideal:.2f} s"
