"""A fork server for the crash and concurrency tests: ``python -m tests.integration.substitutes.worker``.

Importing idops and msgraph-sdk takes seconds; a test that SIGKILLs its worker twenty times cannot pay
that on every restart. This process imports everything once, then for each JSON command read from
stdin forks ``copies`` fresh children (no thread, event loop or connection exists before the fork),
answers ``{"pids": [...]}`` at once and ``{"exits": [...]}`` when they have all ended (a negative
exit is the signal that killed the child). Each child is a real process with its own database
connections and Graph client: killing it is a real crash.

A command: ``{"mode": "crash" | "jobs" | "expire_direct", "emulator": URL, "offset_seconds": float,
"start_at": unix time or 0, "copies": n, "config": {...load_config overrides}, "plan": path,
"jobs": [names], "out": path, "ready": path}``. Children run on a real clock shifted by ``offset_seconds``.
The crash plan is a JSON list of ``{"submit_at", "key", "body"}``: requests made once their time came.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import idops.models  # noqa: F401 — every table mapped before the fork
from idops.auth.demo import demo_claims
from idops.auth.scope import Caller, resolve_scope
from idops.bootstrap import bootstrap
from idops.config import load_config
from idops.graph import sdk  # noqa: F401 — the heavy import, paid once
from idops.jobruntime.runner import run_job
from idops.kit.clock import ShiftedClock
from idops.kit.errors import IdopsError
from idops.kit.logging import configure_logging
from idops.substitutes.ending import expire_due
from idops.substitutes.requests import request_substitute
from idops.substitutes.schemas import SubstituteRequest
from tests.conftest import CONFIG_DIR


def region_admin(config: Any) -> Caller:
    claims = demo_claims(config, role="RegionAdmin", now=datetime.now(UTC))
    return Caller(oid=claims["oid"], tid=claims["tid"], roles=frozenset(claims["roles"]),
                  scope=resolve_scope(claims, config.region, region_admin_tenants=None))


async def child(cmd: dict[str, Any], index: int) -> dict[str, Any]:
    config = load_config(CONFIG_DIR, **cmd["config"])
    c = bootstrap(config, clock=ShiftedClock(timedelta(seconds=cmd.get("offset_seconds", 0))),
                        graph_base_url=cmd["emulator"])
    out: dict[str, Any] = {"pid": os.getpid()}
    if cmd.get("ready"):
        Path(cmd["ready"]).touch()  # start-up is over: from here on every moment is a kill point
    try:
        if cmd.get("start_at"):
            await asyncio.sleep(max(0.0, cmd["start_at"] - time.time()))
        if cmd["mode"] == "crash":
            caller = region_admin(config)
            refused = 0
            plan = json.loads(Path(cmd["plan"]).read_text())
            random.Random(cmd.get("offset_seconds", 0)).shuffle(plan)  # each life starts somewhere else
            for item in plan:
                if datetime.fromisoformat(item["submit_at"]) > c.clock.now():
                    continue  # the principal has not asked yet
                try:
                    await request_substitute(c.uow(), c, caller, SubstituteRequest.model_validate(item["body"]),
                                             item["key"])
                except IdopsError:
                    refused += 1  # its time passed before a life got to it, or an expected conflict
            out["refused"] = refused
        if cmd["mode"] == "expire_direct":
            out["counts"] = await expire_due(c.uow(), c, actor=f"job:expire:{index}")
        for name in cmd.get("jobs", []):
            record = await run_job(c, name, trigger="cli")
            out[name] = {"outcome": record.outcome, "counts": record.counts, "error": record.error}
    finally:
        await c.aclose()
    return out


def serve() -> None:
    for line in sys.stdin:
        if not line.strip():
            continue
        cmd = json.loads(line)
        pids = []
        for i in range(int(cmd.get("copies", 1))):
            pid = os.fork()
            if pid == 0:  # the child: do the work, never return into the server loop
                code = 0
                os.dup2(2, 1)  # stdout is the protocol: the child's output goes to stderr
                configure_logging("json", "WARNING", stream=sys.stderr)
                try:
                    result = asyncio.run(child(cmd, i))
                    if cmd.get("out"):
                        Path(f"{cmd['out']}.{i}").write_text(json.dumps(result, default=str))
                except BaseException as exc:  # report, then exit non-zero
                    print(f"worker child failed: {exc!r}", file=sys.stderr, flush=True)
                    code = 1
                finally:
                    sys.stdout.flush()
                    sys.stderr.flush()
                    os._exit(code)
            pids.append(pid)
        print(json.dumps({"pids": pids}), flush=True)
        exits = []
        for pid in pids:
            _, status = os.waitpid(pid, 0)
            exits.append(os.waitstatus_to_exitcode(status))
        print(json.dumps({"exits": exits}), flush=True)


def warm_up() -> None:
    """Build one container and throw it away: the SDK's first client costs most of a second, later ones
    a fraction (nothing connects, so nothing is shared with the children)."""
    config = load_config(CONFIG_DIR, demo=True, database={"url": "sqlite+aiosqlite:///:memory:"})
    for _ in range(2):
        bootstrap(config, graph_base_url="http://127.0.0.1:9/v1.0")


if __name__ == "__main__":
    warm_up()
    print(json.dumps({"ready": True}), flush=True)
    serve()
