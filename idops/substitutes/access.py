"""What access a substitute's account should have right now, derived from all their periods.

One person, one account: the account is enabled while any period is running; it holds the
groups and licences of every school with a period that has not ended; its leave date is the
latest end. Everything that changes accounts computes the difference to this target.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from idops.config import Config
from idops.substitutes.models import Status, SubstitutePeriod

RUNNING = (Status.SCHEDULED, Status.ACTIVE, Status.PROVISIONING, Status.REQUESTED)


@dataclass(frozen=True)
class Target:
    enabled: bool
    groups: frozenset[str]
    skus: frozenset[str]
    leave_date: datetime | None


def is_running(p: SubstitutePeriod, now: datetime) -> bool:
    return p.status in RUNNING and p.starts_at <= now < p.ends_at


def keeps_access(p: SubstitutePeriod, now: datetime) -> bool:
    """A period not yet ended (running or upcoming) keeps its school's groups and licence."""
    return p.status in RUNNING and p.ends_at > now


def school_groups(config: Config, school: str) -> tuple[frozenset[str], frozenset[str]]:
    found = config.region.school(school)
    if found is None:
        return frozenset(), frozenset()
    _, s = found
    return frozenset(s.substitute_group_ids), frozenset(s.licence_sku_ids)


def target(config: Config, periods: Iterable[SubstitutePeriod], now: datetime) -> Target:
    groups: set[str] = set()
    skus: set[str] = set()
    enabled = False
    leave: datetime | None = None
    for p in periods:
        if keeps_access(p, now):
            g, k = school_groups(config, p.school)
            groups |= g
            skus |= k
            leave = p.ends_at if leave is None or p.ends_at > leave else leave
            enabled = enabled or is_running(p, now)
    return Target(enabled, frozenset(groups), frozenset(skus), leave)
