"""Demo wiring: the built-in Graph emulator seeded with a generated region for the configured municipalities."""

from __future__ import annotations

import tomllib
from typing import TYPE_CHECKING, Any

import structlog

from idops.config import Config
from idops.kit.clock import Clock, SystemClock

if TYPE_CHECKING:
    from idops.emulator.server import EmulatorServer

log = structlog.get_logger("idops.demo")


def _toml(config: Config, name: str) -> dict[str, Any]:
    path = config.config_dir / name
    if not path.exists():
        return {}
    with path.open("rb") as f:
        return tomllib.load(f)


def start_emulator(config: Config, clock: Clock | None = None) -> EmulatorServer:
    """Generate the demo region (deterministic from the seed) and serve it on loopback.

    ``clock`` is shared with the service, so the demo's "advance the clock" moves Entra's time too."""
    from idops.emulator.generator import generate_region
    from idops.emulator.server import EmulatorServer

    s = config.settings.emulator
    clock = clock or SystemClock()
    generated = generate_region(
        _toml(config, "region.toml"), _toml(config, "apps.toml"),
        seed=s.seed, users_per_tenant=s.users_per_tenant, now=clock.now(), eager_truth=False,
    )
    server = EmulatorServer(generated.state, clock=clock, port=s.port)
    server.start()
    log.info("emulator_started", base_url=server.base_url, users_per_tenant=s.users_per_tenant, seed=s.seed)
    return server
