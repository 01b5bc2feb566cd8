"""One idops process listing one tenant's sign-ins, for the shared Graph budget test and benchmark:
``python -m tests.integration.throttle.budget_process TENANT START_AT [--local]``.

Wired by ``bootstrap()`` from the shipped (demo) config and the ``IDOPS_*`` environment (database,
Graph budget, page size), with every ``static`` tenant pointed at ``EMULATOR_URL``: on PostgreSQL the
pacer then also asks the deployment's shared budget, as in production. ``--local`` wires the
directories without it (each process's own pacer alone: what main did before the shared budget).
Waits until the wall-clock START_AT (so several processes start together), lists the sign-ins of the
last 30 days and prints rows, pages and seconds as JSON.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from idops.bootstrap import bootstrap
from idops.config import load_config
from idops.emulator.server import EmulatorServer
from idops.emulator.state import EmulatorState
from idops.graph.sdk import GraphDirectoryProvider

REPO = Path(__file__).resolve().parents[3]


def emulator_with_sign_ins(tenant_id: str, sign_ins: int, budget: int, window: float) -> EmulatorServer:
    """A started emulator: one tenant with ``sign_ins`` sign-ins in the last days, and Graph's reports
    budget enforced as ``budget`` per ``window`` seconds (a token bucket, usage counted while throttled)."""
    state = EmulatorState.empty_tenant(tenant_id, ["koulu.example.fi"])
    user = state.add_user(tenant_id, "opettaja@koulu.example.fi", "Opettaja")
    now = datetime.now(UTC)
    for i in range(sign_ins):
        state.add_signin(tenant_id, user, "app-1", "Wilma", now - timedelta(minutes=5 + i))
    server = EmulatorServer(state).start()
    server.faults.set_budget("reports", budget, window)
    return server


def spawn(database_url: str, data_dir: Path, emulator: EmulatorServer, tenant_id: str, start_at: float, *,
          budget: int, window: float, page_size: int, local: bool = False) -> subprocess.Popen[str]:
    """Start one listing process (see the module docstring); idops' budget is set to ``budget`` per
    ``window``, as the emulator's."""
    env = {
        **os.environ,
        "IDOPS_CONFIG_DIR": str(REPO / "config"),
        "IDOPS_DATABASE__URL": database_url,
        "IDOPS_DATA_DIR": str(data_dir),
        "IDOPS_LOGGING__LEVEL": "WARNING",
        "IDOPS_GRAPH__REPORTS_REQUESTS": str(budget),
        "IDOPS_GRAPH__REPORTS_WINDOW_SECONDS": str(window),
        "IDOPS_GRAPH__PAGE_SIZE": str(page_size),
        "EMULATOR_URL": emulator.base_url,
    }
    args = [sys.executable, "-m", "tests.integration.throttle.budget_process", tenant_id, str(start_at)]
    return subprocess.Popen([*args, *(["--local"] if local else [])], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


async def main(tenant_id: str, start_at: float, local: bool) -> None:
    config = load_config(Path(os.environ["IDOPS_CONFIG_DIR"]), demo=True)
    base_url = os.environ["EMULATOR_URL"]
    directories = None
    if local:
        directories = GraphDirectoryProvider.from_config(
            config.region, config.settings.graph, base_url_override=base_url
        )
    c = bootstrap(config, directories=directories, graph_base_url=base_url)
    try:
        directory = c.directories.for_tenant(tenant_id)
        end = c.clock.now()
        await asyncio.sleep(max(0.0, start_at - time.time()))
        started = time.monotonic()
        rows = pages = 0
        async for page in directory.list_sign_ins(end - timedelta(days=30), end):
            rows += len(page)
            pages += 1
        seconds = time.monotonic() - started
    finally:
        await c.aclose()
    print(json.dumps({"rows": rows, "pages": pages, "seconds": round(seconds, 3)}), flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], float(sys.argv[2]), "--local" in sys.argv[3:]))
