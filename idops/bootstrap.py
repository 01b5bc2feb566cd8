"""The one place where idops is wired together. Tests build their own Container the same way."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from idops.config import Config
from idops.graph.port import DirectoryProvider
from idops.kit.clock import Clock
from idops.kit.db import Database


@dataclass
class Container:
    """Everything a service, a job or a request handler needs, built once."""

    config: Config
    clock: Clock
    db: Database
    directories: DirectoryProvider
    # free-form extras the demo wiring attaches (the emulator server, the demo signer)
    extras: dict[str, Any] = field(default_factory=dict)


def build_directories(config: Config, *, base_url_override: str | None = None) -> DirectoryProvider:
    """The msgraph-sdk adapter for every configured tenant (imported here: msgraph is heavy)."""
    from idops.graph.sdk import GraphDirectoryProvider

    provider: DirectoryProvider = GraphDirectoryProvider.from_config(
        config.region, config.settings.graph, base_url_override=base_url_override
    )
    return provider


def build_container(
    config: Config,
    *,
    clock: Clock | None = None,
    directories: DirectoryProvider | None = None,
    base_url_override: str | None = None,
) -> Container:
    """Wire idops from a validated Config. Nothing connects until first use."""
    from idops.kit.clock import SystemClock
    from idops.kit.metrics import Metrics

    s = config.settings
    db = Database(_database_url(config), echo=s.database.echo, pool_size=s.database.pool_size)
    c = Container(
        config=config,
        clock=clock or SystemClock(),
        db=db,
        directories=directories or build_directories(config, base_url_override=base_url_override),
    )
    c.extras["metrics"] = Metrics()
    return c


def _database_url(config: Config) -> str:
    """Resolve a relative SQLite path against the working directory and make sure its folder exists."""
    url = config.settings.database.url
    prefix = "sqlite+aiosqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
        from pathlib import Path

        path = Path(url.removeprefix(prefix)).resolve()
        path.parent.mkdir(parents=True, exist_ok=True)
        return prefix + str(path)
    return url
