"""Benchmark: sign-in ingestion at the reports budget, and the single-login report at 100 000 users.

    .venv/bin/python -m benchmarks.single_login                          # 100 000 users, ~1 000 000 sign-ins
    .venv/bin/python -m benchmarks.single_login --users-per-tenant 2000 --window 0.5   # quick

- The emulator serves the generated demo region (8 municipalities, 7 tenants, one non-premium) from a
  child process and **enforces** the reports budget (5 requests per window, token bucket); idops' pacer
  is set to the same window. The window is time-scaled (``--window``, Graph's is 10 s).
- **Ingestion**: ``idops.signins.service.ingest`` over every tenant (concurrently, one paced stream per
  tenant), 30 days of sign-ins into a fresh SQLite file. Compared with the budget's ideal time: a
  tenant that needs N requests cannot finish before ``floor((N-1)/5) × window``; the slowest tenant
  sets the ideal.
- ``--latency-ms``/``--jitter-ms`` make the emulator answer each sign-in page that much later (after
  counting it against the budget), as Graph's own seconds per page would.
- **Report**: ``idops.coverage.service.generate`` in a fresh subprocess (its own wall time and peak RSS,
  ``VmHWM``), streaming the mirror and the aggregate. **Naive baseline** in the same run, also in a
  subprocess: the same calculation after loading every mirror row and aggregate row as ORM objects.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import math
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from benchmarks.fleet import REPO, EmulatorSpec, peak_rss_mb, region_of, remote_emulator

NOW = datetime(2026, 11, 20, 4, 30, tzinfo=UTC)


def _config(db_url: str, data_dir: Path, window: float) -> Any:
    from idops.config import load_config

    return load_config(
        REPO / "config", demo=True, database={"url": db_url}, data_dir=data_dir, scheduler={"enabled": False},
        logging={"format": "console", "level": "WARNING"},
        graph={"reports_window_seconds": window, "request_timeout_seconds": 120.0},
    )


async def _child(kind: str, db_url: str, data_dir: str) -> dict[str, Any]:
    from idops.coverage import service
    from idops.kit.db import Database
    from idops.uow import UnitOfWork

    config = _config(db_url, Path(data_dir), 10.0)
    db = Database(db_url)
    t0 = time.perf_counter()
    if kind == "report":
        report = await service.generate(UnitOfWork(db), config, None, NOW)
        staff = report.staff_persons
    else:
        staff = await _naive(db, config)
    seconds = time.perf_counter() - t0
    await db.dispose()
    return {"seconds": seconds, "peak_rss_mb": peak_rss_mb(), "staff_persons": staff}


async def _naive(db: Any, config: Any) -> int:
    """Everything as ORM objects in lists first, then the same calculation."""
    from sqlalchemy import select

    from idops.coverage.calculation import Account, AppUse, Membership, compute
    from idops.directory.models import DirectoryMembership, DirectoryUserRow
    from idops.signins.models import SignInDaily

    async with db.session() as s:
        users = list((await s.execute(select(DirectoryUserRow))).scalars())
        memberships = list((await s.execute(select(DirectoryMembership))).scalars())
        daily = list((await s.execute(select(SignInDaily))).scalars())
    accounts = [Account(u.tenant_id, u.user_id, u.display_name, u.upn, u.account_enabled, u.employee_id, u.mail)
                for u in users]
    members = [Membership(m.tenant_id, m.user_id, m.municipality, m.school, m.role, m.excluded_reason)
               for m in memberships]
    uses = [AppUse(d.tenant_id, d.user_id, d.app_id, d.app_display_name) for d in daily]
    body = compute(config.region, config.apps, accounts, members, uses,
                   fallback=config.settings.coverage.fallback_attribute)
    return int(body["region"]["numbers"]["staff_persons"])


def _run_child(kind: str, db_url: str, data_dir: Path) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.single_login", "--child", kind, "--db", db_url,
         "--data-dir", str(data_dir)],
        cwd=REPO, capture_output=True, text=True, check=True,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


async def _main(args: argparse.Namespace) -> None:
    from idops.directory.sync import sync_tenants
    from idops.emulator.faults import Faults
    from idops.graph.sdk import GraphDirectoryProvider
    from idops.kit.db import Base, Database
    from idops.signins.service import IngestOptions, ingest
    from idops.uow import UnitOfWork

    region, apps = region_of()
    faults = Faults()
    faults.set_budget("reports", 5, 10.0)
    faults.time_scale = args.window / 10.0
    if args.latency_ms:  # Graph's own time per sign-in page (counted on arrival, answered this much later)
        faults.add_rule("latency", path_prefix="/auditLogs/signIns", latency_ms=args.latency_ms,
                        jitter_ms=args.jitter_ms)
    tmp = Path(tempfile.mkdtemp(prefix="idops-bench-"))
    db_url = f"sqlite+aiosqlite:///{tmp / 'idops.db'}"
    config = _config(db_url, tmp, args.window)
    import idops.models  # noqa: F401

    db = Database(db_url)
    async with db.engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    uow = UnitOfWork(db)
    t0 = time.perf_counter()
    spec = EmulatorSpec(region, apps, args.users_per_tenant, faults.to_json(), seed=args.seed,
                        signins_per_user_per_day=args.rate, frozen_at=NOW)
    with remote_emulator(spec) as emulator:
        base_url, admin = emulator.base_url, emulator.admin
        print(f"emulator ready in {time.perf_counter() - t0:.1f} s", flush=True)
        directories = GraphDirectoryProvider.from_config(config.region, config.settings.graph,
                                                         base_url_override=base_url)
        tenants = list(config.region.tenants())
        t0 = time.perf_counter()
        synced = await sync_tenants(uow, directories, config, tenants, NOW)
        users = sum(getattr(r, "users", 0) for r in synced.values())
        print(f"directory mirror: {users:,} users in {time.perf_counter() - t0:.1f} s", flush=True)
        async with httpx.AsyncClient(timeout=60) as http:
            await http.delete(f"{admin}/log")
        await asyncio.sleep(args.window * 1.1)  # let the budget refill after the sync's report reads
        t0 = time.perf_counter()
        result = await ingest(uow, directories, tenants, NOW, IngestOptions(lag=timedelta(0)))
        ingest_s = time.perf_counter() - t0
        async with httpx.AsyncClient(timeout=120) as http:
            log = (await http.get(f"{admin}/log")).json()["entries"]
        await directories.aclose()
    await db.dispose()

    per_tenant = Counter(e["tenant_id"] for e in log if e["path"].endswith("/auditLogs/signIns"))
    throttled = sum(1 for e in log if e["path"].endswith("/auditLogs/signIns") and e["status"] == 429)
    cycles, chains = _cycles(log)
    ideal = max((math.floor((n - 1) / 5) * args.window for n in per_tenant.values()), default=0.0)
    counts = result.counts()
    report = _run_child("report", db_url, tmp)
    naive = _run_child("naive", db_url, tmp)
    scale = 10.0 / args.window
    print()
    print(f"users {users:,} · sign-ins ingested {counts['sign_ins']:,} · tenants {len(tenants)} "
          f"({counts['unavailable']} without sign-in data) · window {args.window:g} s (Graph: 10 s, ×{scale:g})"
          + (f" · +{args.latency_ms:g}..{args.latency_ms + args.jitter_ms:g} ms per sign-in page"
             if args.latency_ms or args.jitter_ms else ""))
    print(f"ingestion: {ingest_s:.1f} s for {sum(per_tenant.values())} requests "
          f"(max {max(per_tenant.values(), default=0)} per tenant, {throttled} answered 429); "
          f"ideal {ideal:.1f} s → {ingest_s / ideal:.3f}× ideal; at Graph's 10 s: ~{ingest_s * scale / 60:.0f} min")
    if cycles:
        print(f"cycles of 5 requests per tenant (arrival to arrival, {len(cycles)}): median "
              f"{statistics.median(cycles):.2f} s, max {max(cycles):.2f} s (window {args.window:g} s); "
              f"its 5 requests arrive within median "
              f"{statistics.median(chains):.2f} s, max {max(chains):.2f} s")
    print(f"{'report':<8}{'seconds':>10}{'peak RSS MB':>14}{'staff persons':>16}")
    for name, r in (("idops", report), ("naive", naive)):
        print(f"{name:<8}{r['seconds']:>10.1f}{r['peak_rss_mb']:>14.1f}{r['staff_persons']:>16,}")


def _cycles(log: list[dict[str, Any]]) -> tuple[list[float], list[float]]:
    """Per tenant, from the emulator's arrival stamps of its sign-in requests: the time from the first
    request of one cycle of 5 to the first of the next (ideal: the window), and the time the 5
    requests of a cycle take to arrive (how much of the window the sequential page chain uses)."""
    stamps: dict[str, list[float]] = {}
    for e in log:
        if e["path"].endswith("/auditLogs/signIns") and e["status"] == 200:
            stamps.setdefault(e["tenant_id"], []).append(e["at"])
    cycles: list[float] = []
    chains: list[float] = []
    for at in stamps.values():
        at.sort()
        firsts = at[::5]
        cycles += [b - a for a, b in itertools.pairwise(firsts)]
        chains += [at[i + 4] - at[i] for i in range(0, len(at) - 4, 5)]
    return cycles, chains


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--users-per-tenant", type=int, default=14_300)
    p.add_argument("--rate", type=float, default=0.8, help="sign-ins per user per day (generator)")
    p.add_argument("--window", type=float, default=2.5, help="the reports budget's window in seconds")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--latency-ms", type=float, default=0.0,
                   help="added to every sign-in page by the emulator (Graph can take seconds per page)")
    p.add_argument("--jitter-ms", type=float, default=0.0, help="plus uniform 0..jitter")
    p.add_argument("--child", choices=("report", "naive"))
    p.add_argument("--db")
    p.add_argument("--data-dir")
    args = p.parse_args()
    if args.child:
        print(json.dumps(asyncio.run(_child(args.child, args.db, args.data_dir))))
        return
    asyncio.run(_main(args))


if __name__ == "__main__":
    main()
