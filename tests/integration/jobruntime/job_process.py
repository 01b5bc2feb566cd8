"""A job runner process for the lease tests:
``python -m tests.integration.jobruntime.job_process NAME START_AT SECONDS``.

Registers a test job that sleeps, waits until the wall-clock START_AT (so two processes start
at the same moment), runs it through the real runner, and prints the outcome as JSON.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from datetime import timedelta
from pathlib import Path

from idops.bootstrap import bootstrap
from idops.config import load_config
from idops.jobruntime.runner import run_job
from idops.jobruntime.spec import JobSpec, cron
from idops.kit.clock import ShiftedClock
from jobs.registry import JOBS
from tests.conftest import NoDirectories

SLEEP = float(os.environ.get("SLEEPY_SECONDS", "1"))


async def run(_c: object) -> dict[str, int]:
    Path(os.environ["SLEEPY_MARK"]).write_text(str(os.getpid()))
    await asyncio.sleep(SLEEP)
    return {"slept": 1}


async def main(name: str, start_at: float) -> None:
    JOBS[name] = JobSpec(name, "test job that sleeps", cron("0 0 1 1 *"),
                         module="tests.integration.jobruntime.job_process")
    config = load_config(Path(os.environ["IDOPS_CONFIG_DIR"]), demo=True)  # the shipped (demo) config
    # CLOCK_OFFSET lets a test look past a lease's expiry without sleeping through it.
    clock = ShiftedClock(timedelta(seconds=float(os.environ.get("CLOCK_OFFSET", "0"))))
    c = bootstrap(config, clock=clock, directories=NoDirectories())
    await asyncio.sleep(max(0.0, start_at - time.time()))
    record = await run_job(c, name, trigger="cli")
    print(json.dumps({"outcome": record.outcome, "error": record.error, "id": record.id}), flush=True)
    await c.aclose()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], float(sys.argv[2])))
