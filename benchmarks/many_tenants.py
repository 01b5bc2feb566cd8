"""Benchmark: ``sync_mfa`` over a region of hundreds of tenants (generated) with 1, 2 and 4 ``idops
scheduler`` processes on PostgreSQL.

    .venv/bin/python -m benchmarks.many_tenants --database postgresql+psycopg://postgres@127.0.0.1:55432/postgres
    ./dev bench many_tenants --database … --tenants 30 --processes 1 2 --users-per-tenant 2000

- For each ``--tenants`` count: a generated region of that many municipalities, each its own tenant
  (two schools), ``--users-per-tenant`` users each, every tenant premium, no sign-ins; **one emulator**
  (a child process) serves every tenant — its state is per tenant — and enforces Graph's budgets
  (``Faults.realistic_budgets``) time-scaled to a reports window of ``--window`` s.
- For each count of ``--processes``: a fresh PostgreSQL database, that many ``idops scheduler``
  processes (the shipped settings: ``unit_concurrency`` 8 per process), one ``sync_mfa`` run opened here
  (as the API does) and awaited: one unit per tenant, spread over the processes by their ``pick_up``.
- Reported: wall time; units succeeded; the slowest unit and the sum of the units' own times; the
  budget's ideal (the slowest tenant's reports-class requests under its token bucket); 429s; per
  process peak RSS (``VmHWM``, read before it stops) and CPU; the emulator's CPU; the share of the whole
  machine's CPU that was busy during the run (``/proc/stat``: idops, PostgreSQL, the emulator and
  whatever else runs on the box); the database's size after the run.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from benchmarks.fleet import (
    EmulatorSpec,
    config_dir,
    generated_region_toml,
    ideal_window_seconds,
    measure,
    realistic_faults,
    region_of,
    remote_emulator,
)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--database", required=True, help="a PostgreSQL URL whose server may create databases")
    p.add_argument("--tenants", type=int, nargs="+", default=[30, 300])
    p.add_argument("--processes", type=int, nargs="+", default=[1, 2, 4])
    p.add_argument("--users-per-tenant", type=int, default=2000)
    p.add_argument("--window", type=float, default=2.5, help="the reports window in seconds (Graph: 10)")
    p.add_argument("--poll", type=float, default=1.0, help="[scheduler] poll_seconds of the processes")
    a = p.parse_args()
    faults = realistic_faults(a.window)
    for tenants in a.tenants:
        config = config_dir(Path(tempfile.mkdtemp(prefix="idops-bench-config-")), generated_region_toml(tenants))
        region, apps = region_of(config)
        spec = EmulatorSpec(region, apps, a.users_per_tenant, faults, signins_per_user_per_day=0.0,
                            non_premium_tenants=[])
        with remote_emulator(spec) as emulator:
            for n in a.processes:
                m = measure(emulator, config, a.database, n, ["sync_mfa"], window=a.window, faults=faults,
                            SCHEDULER__POLL_SECONDS=a.poll)
                per_tenant = m.pop("reports_ok")
                ideal = max((ideal_window_seconds(r, 5, a.window) for r in per_tenant.values()), default=0.0)
                print(json.dumps({"tenants": tenants, **m, "ideal_s": round(ideal, 2),
                                  "max_reports_requests_per_tenant": max(per_tenant.values(), default=0)}),
                      flush=True)


if __name__ == "__main__":
    main()
