"""``python -m idops.emulator [--users N] [--seed S] [--host H] [--port P] [--config DIR]``.

The CLI's ``idops emulator serve`` calls ``serve``; it blocks until interrupted.
"""

from __future__ import annotations

import argparse
import os
import time
import tomllib
from datetime import UTC, datetime
from pathlib import Path

from idops.emulator.generator import GeneratedRegion, generate_region
from idops.emulator.server import EmulatorServer


def load_region(
    users_per_tenant: int, seed: int, config_dir: str | Path | None = None, now: datetime | None = None
) -> GeneratedRegion:
    """Generate the region described by ``config_dir``/region.toml and apps.toml."""
    cfg = Path(config_dir or os.environ.get("IDOPS_CONFIG_DIR") or "config")
    with (cfg / "region.toml").open("rb") as f:
        region = tomllib.load(f)
    with (cfg / "apps.toml").open("rb") as f:
        apps = tomllib.load(f)
    return generate_region(
        region,
        apps,
        seed=seed,
        users_per_tenant=users_per_tenant,
        now=now or datetime.now(UTC).replace(microsecond=0),
        eager_truth=False,
    )


def serve(
    host: str = "127.0.0.1",
    port: int = 8765,
    users_per_tenant: int = 400,
    seed: int = 1,
    config_dir: str | Path | None = None,
    *,
    block: bool = True,
) -> EmulatorServer:
    """Generate the region and serve it; with ``block=False`` return the running server instead."""
    t0 = time.monotonic()
    gen = load_region(users_per_tenant, seed, config_dir)
    server = EmulatorServer(gen.state, port=port, host=host, log_level="warning").start()
    users = sum(len(t.users) for t in gen.state.tenants.values())
    print(
        f"Graph emulator: {users} users in {len(gen.state.tenants)} tenants at {server.base_url} "
        f"(ready in {time.monotonic() - t0:.1f} s); token: 'Bearer emu.<tenant_id>'",
        flush=True,
    )
    if not block:
        return server
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()
    return server


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m idops.emulator", description="Serve the Graph emulator.")
    p.add_argument("--users", type=int, default=400, help="users per tenant")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8765)
    p.add_argument("--config", default="config")
    a = p.parse_args(argv)
    serve(a.host, a.port, a.users, a.seed, a.config)


if __name__ == "__main__":
    main()
