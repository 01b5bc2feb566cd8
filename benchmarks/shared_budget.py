"""Benchmark: several idops processes listing one tenant's sign-ins at the reports budget (PostgreSQL).

    .venv/bin/python -m benchmarks.shared_budget --database postgresql+psycopg://postgres@127.0.0.1:55432/postgres

- The emulator (this process) serves one tenant with ``--sign-ins`` sign-ins and **enforces** the
  reports budget (``--budget`` per ``--window`` s, a token bucket whose usage keeps counting while
  throttled, as Graph's). Each idops process (``tests/integration/throttle/budget_process.py``, wired by
  ``bootstrap()``) lists them ``--page`` rows a page; all start at one wall-clock moment.
- **shared**: the processes' pacers also ask the deployment's budget in PostgreSQL
  (``idops.throttle.service.DatabaseBudget``). **local**: each process's pacer alone (main before it).
- Reported per run: 429s the emulator answered, listings completed, the slowest listing's wall time
  and its ratio to the budget's ideal (the first ``budget`` requests free, the rest at
  ``budget / window``).
- **Cost per request** of the shared budget: ``DatabaseBudget.take`` on an unlimited-in-practice
  budget, sequentially, in this process (one short transaction each: insert-if-missing, lock, read
  the server's clock, update, commit).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select

from benchmarks.fleet import fresh_database
from idops.graph.budget import Budget
from idops.kit.db import Database
from idops.throttle.service import DatabaseBudget
from idops.uow import UnitOfWork
from tests.integration.throttle.budget_process import emulator_with_sign_ins, spawn

TENANT = "2b9fbc3d-6284-566a-9f9c-8c8e78852612"  # the demo region's first tenant


def listing_run(url: str, processes: int, local: bool, a: argparse.Namespace) -> dict[str, Any]:
    emulator = emulator_with_sign_ins(TENANT, a.sign_ins, a.budget, a.window)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            start_at = time.time() + 3.0 + processes
            procs = [spawn(url, Path(tmp), emulator, TENANT, start_at, budget=a.budget, window=a.window,
                           page_size=a.page, local=local) for _ in range(processes)]
            outs = [p.communicate(timeout=900) for p in procs]
        listed = [e for e in emulator.log.snapshot() if e.path.endswith("/auditLogs/signIns")]
    finally:
        emulator.stop()
    done = [json.loads(o.strip().splitlines()[-1]) for (o, _), p in zip(outs, procs, strict=True)
            if p.returncode == 0 and o.strip()]
    complete = sum(1 for d in done if d["rows"] == a.sign_ins)
    ok = len(listed) - sum(e.throttled for e in listed)
    ideal = max(0, ok - a.budget) * a.window / a.budget
    slowest = max((d["seconds"] for d in done), default=float("nan"))
    return {
        "processes": processes, "budget": "local" if local else "shared",
        "requests": len(listed), "429": sum(e.throttled for e in listed),
        "complete": f"{complete}/{processes}", "slowest_s": slowest, "ideal_s": round(ideal, 2),
        "ratio": round(slowest / ideal, 3) if ideal else None,
    }


async def take_cost(url: str, n: int) -> dict[str, float]:
    """Milliseconds per ``take`` (median, p95), beside the same process's bare transaction (a unit of
    work that reads ``SELECT 1`` and commits) as the baseline: the machine's floor for one round."""
    database = Database(url)
    budget = DatabaseBudget(lambda: UnitOfWork(database))
    plenty = Budget(1_000_000, 1.0)

    async def take() -> None:
        assert await budget.take(TENANT, "bench", 1, plenty) == 0.0

    async def bare() -> None:
        async with UnitOfWork(database) as uow:
            await uow.throttle.session.execute(select(1))
            await uow.commit()

    async def timed(op: Callable[[], Awaitable[None]]) -> list[float]:
        times = []
        for _ in range(n):
            t = time.perf_counter()
            await op()
            times.append((time.perf_counter() - t) * 1000)
        return sorted(times)

    try:
        await take()  # creates the row
        takes, bares = await timed(take), await timed(bare)
    finally:
        await database.dispose()
    p95 = int(0.95 * (n - 1))
    return {"n": n, "take_median_ms": round(statistics.median(takes), 3), "take_p95_ms": round(takes[p95], 3),
            "bare_median_ms": round(statistics.median(bares), 3), "bare_p95_ms": round(bares[p95], 3)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--database", required=True, help="a PostgreSQL URL whose server may create databases")
    p.add_argument("--processes", type=int, nargs="*", default=[1, 2, 3], help="none: only the cost per request")
    p.add_argument("--sign-ins", type=int, default=300)
    p.add_argument("--page", type=int, default=10)
    p.add_argument("--budget", type=int, default=5)
    p.add_argument("--window", type=float, default=2.0, help="the reports window in seconds (Graph: 10)")
    p.add_argument("--takes", type=int, default=500)
    a = p.parse_args()
    url = fresh_database(a.database)
    print(json.dumps(asyncio.run(take_cost(url, a.takes))), flush=True)
    for n in a.processes:
        for local in (True, False):
            print(json.dumps(listing_run(url, n, local, a)), flush=True)


if __name__ == "__main__":
    main()
