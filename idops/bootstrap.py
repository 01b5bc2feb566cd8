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
