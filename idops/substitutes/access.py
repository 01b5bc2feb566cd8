"""What access a substitute's account should have right now, derived from all their periods, and the
one way account changes reach Entra.

One person, one account: the account is enabled while any period is running; it holds the groups of
every school with a period that has not ended, and the licences of every school with a period running
now — or, where the school's policy says ``licence_while = "requested"``, not yet ended (the seat is
reserved ahead). Its leave date is the latest end. Everything that changes accounts computes the
difference to this target and applies it through ``apply_changes``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from idops.config import Config
from idops.graph.port import AccountChange, ChangeFailure, ChangeResult
from idops.substitutes.deps import SubstituteDeps
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
    """A period not yet ended (running or upcoming) keeps its school's groups."""
    return p.status in RUNNING and p.ends_at > now


def school_groups(config: Config, school: str) -> tuple[frozenset[str], frozenset[str]]:
    """The substitute groups and licence SKUs of a school (lower-case ids, as configuration stores them)."""
    found = config.region.school(school)
    if found is None:
        return frozenset(), frozenset()
    _, s = found
    return frozenset(s.substitute_group_ids), frozenset(s.licence_sku_ids)


def licence_reserved(config: Config, school: str) -> bool:
    """Does the school hold a substitute's seat from the request on (``licence_while = "requested"``)?"""
    found = config.region.school(school)
    return found is not None and config.policy_for(*found).licence_while == "requested"


def holds_licence(config: Config, p: SubstitutePeriod, now: datetime) -> bool:
    """Does this period hold its school's licence now?"""
    return is_running(p, now) or (keeps_access(p, now) and licence_reserved(config, p.school))


def target(config: Config, periods: Iterable[SubstitutePeriod], now: datetime) -> Target:
    groups: set[str] = set()
    skus: set[str] = set()
    enabled = False
    leave: datetime | None = None
    for p in periods:
        if keeps_access(p, now):
            g, k = school_groups(config, p.school)
            groups |= g
            if holds_licence(config, p, now):
                skus |= k
            leave = p.ends_at if leave is None or p.ends_at > leave else leave
            enabled = enabled or is_running(p, now)
    return Target(enabled, frozenset(groups), frozenset(skus), leave)


def no_seats(result: ChangeResult) -> bool:
    """Graph refused a licence because its SKU has no free seat."""
    return ChangeFailure.NO_LICENCES_AVAILABLE in result.codes


async def apply_changes(
    c: SubstituteDeps,
    tenant_id: str,
    changes: Sequence[AccountChange],
    *,
    leave_date: bool = True,
    replication_wait: float = 0.0,
    new_accounts: bool = False,
) -> dict[str, ChangeResult]:
    """Apply ``changes`` to one tenant's accounts and keep the seat cache honest.

    Every assignment or removal of a licence invalidates the tenant's cached seat counts (Graph's count
    is the truth; the next seat check reads it again) — except licences given to accounts created moments
    ago (``new_accounts``), which held none before: those are counted locally, so a run of requests does
    not read ``subscribedSkus`` for each. Graph's "no free seat" always invalidates. ``leave_date=False``
    leaves ``employeeLeaveDateTime`` alone; where the tenant refused to let idops write it, it is left
    alone anyway. Raises ``GraphError`` only when Graph cannot be reached at all (see ``Directory``).
    """
    results = await c.directories.for_tenant(tenant_id).apply_account_changes(
        changes,
        leave_date_allowed=leave_date and c.leave_dates.allowed(tenant_id),
        replication_wait=replication_wait,
    )
    refused = any(no_seats(r) for r in results.values())
    if refused or (not new_accounts and any(ch.add_skus or ch.remove_skus for ch in changes)):
        c.seats.forget(tenant_id)
    elif new_accounts:
        for ch in changes:
            if results[ch.user_id].ok and ch.add_skus:
                c.seats.consume(tenant_id, frozenset(ch.add_skus))
    return results
