"""Benchmark: the per-user method scan of a tenant without Entra ID P1, at the real reports budget.

    .venv/bin/python -m benchmarks.mfa_method_scan                     # 2 000 staff, window 0.25 s (×40)
    .venv/bin/python -m benchmarks.mfa_method_scan --staff 500 --window 0.1   # quick

- The emulator (in a thread of this process) serves a generated one-municipality region (Orivesi, no P1:
  its registration report answers 403) and **enforces** the identity & access reports budget on
  ``GET /users/{id}/authentication/methods`` — 5 requests per window, a token bucket, time-scaled
  (``--window``; Graph's is 10 s). idops' pacer is set to the same window.
- The directory is mirrored first (``sync_tenants``, unthrottled), then ``scan_tenant`` reads the
  methods of ``--staff`` users — the staff come first in its order — with the same ``max_requests``
  and ``concurrency`` ``sync_mfa`` would use, into a fresh SQLite file.
- **Ideal**: N requests at 5 per window cannot finish before ``floor((N − 1) / 5) × window``. Target:
  wall time ≤ 1.15 × ideal with 0 answers 429. Plain requests, not ``$batch``: a batch's items count one
  each against this budget (graph-facts §8), so batching would only send the budget's worth at once.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import tempfile
import time
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
MUNICIPALITY = "orivesi"
METHODS = "/authentication/methods"


async def _main(args: argparse.Namespace) -> None:
    import dataclasses

    import idops.models  # noqa: F401 — every table, for create_all
    from idops.config import load_config
    from idops.config.region import RegionConfig
    from idops.directory.method_scan import scan_tenant
    from idops.directory.sync import sync_tenants
    from idops.emulator.generator import generate_region
    from idops.emulator.server import EmulatorServer
    from idops.graph.sdk import GraphDirectoryProvider
    from idops.kit.clock import FrozenClock
    from idops.kit.db import Base, Database
    from idops.uow import UnitOfWork

    region = tomllib.loads((REPO / "config" / "region.toml").read_text())
    apps = tomllib.loads((REPO / "config" / "apps.toml").read_text())
    region["municipalities"] = [m for m in region["municipalities"] if m["key"] == MUNICIPALITY]
    tenant = str(region["municipalities"][0]["tenant_id"]).lower()
    # staff are ~11 % of the users: enough users for --staff staff
    generated = generate_region(region, apps, seed=args.seed, users_per_tenant=math.ceil(args.staff / 0.10),
                                now=NOW, days_of_signins=0, non_premium_tenants=[tenant])
    tmp = Path(tempfile.mkdtemp(prefix="idops-bench-"))
    db_url = f"sqlite+aiosqlite:///{tmp / 'idops.db'}"
    config = load_config(
        REPO / "config", demo=True, database={"url": db_url}, data_dir=tmp, scheduler={"enabled": False},
        logging={"format": "console", "level": "WARNING"},
        graph={"reports_window_seconds": args.window, "request_timeout_seconds": 120.0},
    )
    config = dataclasses.replace(config, region=RegionConfig.model_validate(region))
    db = Database(db_url)
    async with db.engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    uow = UnitOfWork(db)
    with EmulatorServer(generated.state, clock=FrozenClock(NOW)) as emulator:
        directories = GraphDirectoryProvider.from_config(config.region, config.settings.graph,
                                                         base_url_override=emulator.base_url)
        t0 = time.perf_counter()
        synced = (await sync_tenants(uow, directories, config, [tenant], NOW))[tenant]
        print(f"directory mirror: {getattr(synced, 'users', synced)} users in {time.perf_counter() - t0:.1f} s",
              flush=True)
        async with uow:
            staff = sum(1 for c in await uow.directory.scan_candidates(tenant) if c[1] == 0)
        emulator.faults.set_budget("reports", 5, 10.0)
        emulator.faults.time_scale = args.window / 10.0
        emulator.log.entries.clear()
        await asyncio.sleep(args.window * 1.1)  # a full bucket, as after any quiet window
        t0 = time.perf_counter()
        result = await scan_tenant(uow, directories.for_tenant(tenant), tenant, NOW, refresh=timedelta(days=7),
                                   max_requests=args.staff, concurrency=config.settings.graph.reports_requests)
        wall = time.perf_counter() - t0
        log = [e for e in emulator.log.snapshot() if e.path.endswith(METHODS)]
        await directories.aclose()
    await db.dispose()

    throttled = sum(1 for e in log if e.status == 429)
    ideal = math.floor((len(log) - 1) / 5) * args.window
    print(f"window {args.window:g} s (Graph: 10 s, ×{10 / args.window:g}); candidates {result.candidates} "
          f"({staff} staff), read {result.scanned}, status {result.status}")
    print(f"scan: {wall:.1f} s for {len(log)} requests ({throttled} answered 429); ideal {ideal:.1f} s → "
          f"{wall / ideal:.3f}× ideal (target ≤ 1.15×, 0 × 429); "
          f"at Graph's 10 s: ~{wall * 10 / args.window / 60:.0f} min")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--staff", type=int, default=2000, help="users to read (staff first)")
    p.add_argument("--window", type=float, default=0.25, help="the reports window in seconds (Graph: 10)")
    p.add_argument("--seed", type=int, default=7)
    asyncio.run(_main(p.parse_args()))


if __name__ == "__main__":
    main()
