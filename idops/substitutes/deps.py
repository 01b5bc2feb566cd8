"""What the substitute services need from the process, besides a unit of work.

A protocol, so the services depend on nothing above them; ``idops.container.Container`` provides it.
"""

from __future__ import annotations

from typing import Protocol

from idops.config import Config
from idops.graph.port import DirectoryProvider
from idops.kit.clock import Clock
from idops.kit.metrics import Metrics
from idops.substitutes.seats import SeatCache
from idops.substitutes.tenants import LeaveDates, TapPolicies


class SubstituteDeps(Protocol):
    config: Config
    clock: Clock
    directories: DirectoryProvider
    metrics: Metrics
    seats: SeatCache
    leave_dates: LeaveDates
    tap_policies: TapPolicies
