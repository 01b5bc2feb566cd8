"""A generated region served by the emulator in a *child process*.

Timing tests and benchmarks need it: in-process, the emulator's rendering competes with idops for
the GIL and the measured numbers describe that contention, not idops or Graph's budget.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from multiprocessing.connection import Connection
from typing import Any

import httpx


def _serve(
    conn: Connection,
    region: Mapping[str, Any],
    apps: Mapping[str, Any],
    seed: int,
    users: int,
    now: datetime,
    non_premium: Sequence[str] | None,
    faults: Mapping[str, Any] | None,
) -> None:
    from idops.emulator.faults import Faults
    from idops.emulator.generator import generate_region
    from idops.emulator.server import EmulatorServer
    from idops.kit.clock import FrozenClock

    gen = generate_region(region, apps, seed=seed, users_per_tenant=users, now=now,
                          non_premium_tenants=non_premium, eager_truth=False)
    # The generated state lives as long as this process: keep the collector from re-scanning its
    # millions of objects (a full collection during a 100 000-row report listing cost ~0.2 s).
    gc.freeze()
    f = Faults()
    if faults:
        f.load_json(dict(faults))
    server = EmulatorServer(gen.state, faults=f, clock=FrozenClock(now)).start()
    conn.send(server.base_url)
    conn.recv()  # any message: stop
    server.stop()


@contextmanager
def remote_emulator(
    region: Mapping[str, Any],
    apps: Mapping[str, Any],
    *,
    seed: int,
    users_per_tenant: int,
    now: datetime,
    non_premium_tenants: Sequence[str] | None = None,
    faults: Mapping[str, Any] | None = None,
    start_timeout: float = 300.0,
) -> Iterator[str]:
    """Yield the base URL (``…/v1.0``) of an emulator serving the generated region in a child."""
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(
        target=_serve, args=(child, region, apps, seed, users_per_tenant, now, non_premium_tenants, faults),
        daemon=True,
    )
    proc.start()
    try:
        if not parent.poll(start_timeout):
            raise RuntimeError("the emulator process did not start")
        yield str(parent.recv())
    finally:
        with contextlib.suppress(BrokenPipeError, OSError):
            parent.send("stop")
        proc.join(timeout=10)
        if proc.is_alive():
            proc.kill()


def request_log(base_url: str) -> list[dict[str, Any]]:
    """The emulator's request log (``GET /_emulator/log``)."""
    root = base_url.removesuffix("/v1.0")
    entries: list[dict[str, Any]] = httpx.get(f"{root}/_emulator/log", timeout=30).json()["entries"]
    return entries
