"""Limits shared by every process of a deployment (PostgreSQL): one tenant's Graph budget, and the
API's per-caller rate limits.

A SQLite deployment is one process by design (one writer) and keeps the in-process pacer and limiter
(``idops.bootstrap._shared_limits``; their tests are in ``tests/unit/graph/test_pacer_budget.py`` and
``tests/unit``), so these tests need ``IDOPS_TEST_DATABASE_URL``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from idops.bootstrap import bootstrap
from idops.config import Config
from idops.kit.errors import RateLimited
from idops.throttle.service import DatabaseRateLimiter
from tests.conftest import PG_URL, NoDirectories
from tests.integration.throttle.budget_process import emulator_with_sign_ins, spawn

pytestmark = pytest.mark.skipif(
    not PG_URL, reason="the shared limits live in PostgreSQL; SQLite deployments are one process"
)

SIGN_INS = 120
PAGE = 10  # 12 reports requests per process
BUDGET, WINDOW = 5, 2.0  # the emulator's and idops' reports budget (Graph's 5 / 10 s, time-scaled)


@pytest.mark.xdist_group("processes")
def test_two_processes_share_one_tenants_reports_budget_without_a_429(config: Config, clean_db: str,
                                                                       data_dir: Path) -> None:
    tenant_id = config.region.municipalities[0].tenant_id
    emulator = emulator_with_sign_ins(tenant_id, SIGN_INS, BUDGET, WINDOW)
    try:
        start_at = time.time() + 4.0  # both processes are up by then, even on a loaded machine
        procs = [spawn(clean_db, data_dir, emulator, tenant_id, start_at, budget=BUDGET, window=WINDOW, page_size=PAGE)
                 for _ in range(2)]
        results = []
        for p in procs:
            out, err = p.communicate(timeout=120)
            assert p.returncode == 0, err
            results.append(json.loads(out.strip().splitlines()[-1]))
        listed = [e for e in emulator.log.snapshot() if e.path.endswith("/auditLogs/signIns")]
    finally:
        emulator.stop()
    assert [r["rows"] for r in results] == [SIGN_INS, SIGN_INS]  # both listings complete
    assert sum(e.throttled for e in listed) == 0  # and Graph never had to say 429
    requests = len(listed)
    assert requests == 2 * SIGN_INS // PAGE
    # Not slower than the budget allows by much: the first BUDGET are free, the rest at BUDGET / WINDOW.
    ideal = (requests - BUDGET) * WINDOW / BUDGET
    assert max(r["seconds"] for r in results) <= ideal * 1.5 + 1.0


async def test_two_app_instances_share_a_callers_rate_limit(make_config: Callable[..., Config]) -> None:
    config = make_config()
    first = bootstrap(config, directories=NoDirectories())
    second = bootstrap(config, directories=NoDirectories())
    try:
        assert isinstance(first.rate_limits, DatabaseRateLimiter)
        await first.rate_limits.check("tap", "principal-1", 3)
        await second.rate_limits.check("tap", "principal-1", 3)
        await first.rate_limits.check("tap", "principal-1", 3)
        with pytest.raises(RateLimited) as refused:
            await second.rate_limits.check("tap", "principal-1", 3)  # the fourth within the hour
        assert 3500 <= refused.value.retry_after <= 3600
        await second.rate_limits.check("tap", "principal-2", 3)  # another caller has a window of its own
        await second.rate_limits.check("create", "principal-1", 3)  # and another action
    finally:
        await first.aclose()
        await second.aclose()
