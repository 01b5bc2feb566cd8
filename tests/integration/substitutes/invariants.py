"""The invariants the substitute tests check, read straight from the database and the emulator's state
(never through idops' own queries, so a bug there cannot hide a bug elsewhere)."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from idops.audit.models import AuditEvent
from idops.emulator.state import EmulatorState, User
from idops.substitutes.models import SubstitutePeriod, SubstitutePerson

MARKER = ("extensionAttribute15", "idops-managed")


def sync_url(url: str) -> str:
    return url.replace("+aiosqlite", "").replace("+asyncpg", "+psycopg")


@dataclass
class Snapshot:
    """Everything idops stored about substitutes, read in one go with a synchronous engine."""

    persons: dict[str, SubstitutePerson]
    periods: list[SubstitutePeriod]
    events: dict[str, list[str]]  # period id → audit actions in order

    @classmethod
    def read(cls, database_url: str) -> Snapshot:
        engine = create_engine(sync_url(database_url))
        try:
            with Session(engine) as s:
                persons = {p.id: p for p in s.scalars(select(SubstitutePerson))}
                periods = list(s.scalars(select(SubstitutePeriod)))
                events: dict[str, list[str]] = defaultdict(list)
                for e in s.scalars(select(AuditEvent).where(AuditEvent.subject_type == "period")
                                   .order_by(AuditEvent.seq)):
                    events[e.subject_id].append(e.action)
                s.expunge_all()
        finally:
            engine.dispose()
        return cls(persons, periods, dict(events))

    def tracked_user_ids(self, tenant_id: str) -> set[str]:
        return {p.entra_user_id for p in self.persons.values() if p.tenant_id == tenant_id and p.entra_user_id}

    def by_status(self) -> Counter[str]:
        return Counter(p.status for p in self.periods)


def marked_users(state: EmulatorState, tenant_id: str) -> list[User]:
    return state.users_with_marker(tenant_id, *MARKER)


def duplicates(state: EmulatorState, tenant_id: str) -> dict[str, int]:
    """Persons (idops writes its person id into ``employeeId``) with more than one marked account."""
    per_person = Counter(u.employee_id for u in marked_users(state, tenant_id))
    return {pid: n for pid, n in per_person.items() if n > 1}


def orphans(state: EmulatorState, tenant_id: str, snap: Snapshot) -> list[str]:
    """Marked accounts in the emulator that idops does not track."""
    tracked = snap.tracked_user_ids(tenant_id)
    return sorted(u.user_principal_name for u in marked_users(state, tenant_id) if u.id not in tracked)


def assert_no_duplicates_or_orphans(state: EmulatorState, tenant_id: str, snap: Snapshot) -> None:
    assert duplicates(state, tenant_id) == {}, "two marked accounts for one person"
    assert orphans(state, tenant_id, snap) == [], "marked accounts idops does not know"


# Audit trails: the first event is always "requested"; provisioning ends in exactly one terminal
# outcome; every status the period is in has the event that put it there.
ENTERED_BY: dict[str, set[str]] = {
    "scheduled": {"provisioned"},
    "active": {"provisioned", "activated"},
    "failed": {"failed"},
    "expired": {"expired"},
    "revoked": {"revoked"},
    "missing": {"missing"},
    "deleted": {"deleted"},
}
ONCE = ("requested", "provisioned", "activated", "failed", "expired", "revoked", "missing", "deleted")


def audit_problems(snap: Snapshot) -> dict[str, Any]:
    """Periods whose audit trail does not explain their state (empty when all are consistent)."""
    problems: dict[str, Any] = {}
    for p in snap.periods:
        actions = snap.events.get(p.id, [])
        counts = Counter(actions)
        why = []
        if not actions or actions[0] != "requested":
            why.append("does not start with 'requested'")
        why += [f"{a} ×{counts[a]}" for a in ONCE if counts[a] > 1]
        if p.status in ENTERED_BY and not ENTERED_BY[p.status] & set(actions):
            why.append(f"status {p.status} without its event")
        if counts["provisioned"] and counts["failed"]:
            why.append("both provisioned and failed")
        if counts["account_created"] > 1:
            why.append("account created twice")
        if why:
            problems[p.id] = {"status": p.status, "actions": actions, "why": why}
    return problems
