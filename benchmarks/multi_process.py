"""Benchmark: ``idops scheduler`` processes on PostgreSQL sharing the demo region's 8 municipalities (7
tenants): ``ingest_signins`` and ``sync_mfa`` at once, at Graph's real budgets (``--window`` scales them).

    .venv/bin/python -m benchmarks.multi_process --database postgresql+psycopg://postgres@127.0.0.1:55432/postgres
    ./dev bench multi_process --database … --processes 1 3 --users-per-tenant 2000 --window 2.5   # time-scaled ×4

- The emulator (a child process) serves the generated demo region, **every tenant premium** (a tenant
  without P1 has its users' methods read one by one: ~72 min per 2 000 staff at Graph's budget, which
  ``mfa_method_scan`` measures), 30 days of sign-ins, and **enforces** Graph's budgets
  (``Faults.realistic_budgets``: reports 5 / 10 s, reads 4 000 / 10 s, writes 3 000 / 150 s per tenant),
  time-scaled when the reports window ``--window`` is not Graph's 10 s. idops' reports window is the same.
- For each count of ``--processes``: a fresh PostgreSQL database, full buckets, that many ``idops
  scheduler`` processes (the shipped config, PostgreSQL: shared Graph budget and job units; their own
  crons never fire here). This process then opens a run of each job at one moment, as the API does,
  and waits until both are closed; the schedulers' ``pick_up`` (every ``--poll`` s) works on the units.
- Reported: wall time from opening to the last close; the **ideal** for the tenant with the most
  reports-class requests (sign-in pages and registration-report pages of both jobs, as the emulator
  answered them): ``floor((N − 1) / 5) × window`` (at most 5 in any window, as ``single_login``), and
  beside it the token bucket's (the first 5 free, then 5 per window); 429s the emulator answered; units
  succeeded per job (each tenant complete); per process peak RSS (``VmHWM``) and CPU; database size.
  The run with 1 process is the baseline.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.fleet import (
    EmulatorSpec,
    config_dir,
    ideal_seconds,
    ideal_window_seconds,
    measure,
    realistic_faults,
    region_of,
    remote_emulator,
)

JOBS = ("ingest_signins", "sync_mfa")


def one_run(emulator: Any, config: Path, processes: int, a: argparse.Namespace,
            faults: dict[str, Any]) -> dict[str, Any]:
    m = measure(emulator, config, a.database, processes, JOBS, window=a.window, faults=faults,
                SCHEDULER__POLL_SECONDS=a.poll)
    per_tenant = m.pop("reports_ok")
    most = max(per_tenant.values(), default=0)
    ideal, bucket = ideal_window_seconds(most, 5, a.window), ideal_seconds(most, 5, a.window)
    seconds = m.pop("seconds")
    return {"processes": m.pop("processes"), "seconds": seconds, "ideal_s": round(ideal, 2),
            "ratio": round(seconds / ideal, 3) if ideal else None, "ideal_bucket_s": round(bucket, 2),
            "ratio_bucket": round(seconds / bucket, 3) if bucket else None,
            **m,
            "max_reports_requests_per_tenant": max(per_tenant.values(), default=0)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--database", required=True, help="a PostgreSQL URL whose server may create databases")
    p.add_argument("--processes", type=int, nargs="+", default=[1, 3])
    p.add_argument("--users-per-tenant", type=int, default=5000)
    p.add_argument("--rate", type=float, default=0.6, help="sign-ins per user per day (generator)")
    p.add_argument("--window", type=float, default=10.0, help="the reports window in seconds (Graph: 10)")
    p.add_argument("--poll", type=float, default=1.0, help="[scheduler] poll_seconds of the processes")
    a = p.parse_args()
    config = config_dir(Path(tempfile.mkdtemp(prefix="idops-bench-config-")))
    region, apps = region_of(config)
    faults = realistic_faults(a.window)
    spec = EmulatorSpec(region, apps, a.users_per_tenant, faults, signins_per_user_per_day=a.rate,
                        non_premium_tenants=[])
    with remote_emulator(spec) as emulator:
        for n in a.processes:
            print(json.dumps(one_run(emulator, config, n, a, faults)), flush=True)


if __name__ == "__main__":
    main()
