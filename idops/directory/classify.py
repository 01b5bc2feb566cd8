"""Classification of directory users, exactly as ``docs/definitions.md`` states it.

Shared by MFA and single-login. Pure functions over plain values: no I/O, no SQL, so the
rules can be read and unit-tested next to the definitions.

- **Schools of a user**: every school (of a municipality in the tenant) whose staff, pupil or
  substitute groups contain the user (transitively). A user may belong to several schools.
- **Role at a school**: ``substitute`` if in that school's substitute group, else ``staff`` if
  in its staff group, else ``pupil``. A user in no school group has role ``other``.
- **Exclusion**, first matching reason wins: ``disabled``, ``guest``, ``excluded_group``
  (a global ``[mfa].exclusion_group_ids`` group or the row's municipality's), ``not_started``
  (substitute at that school with ``employeeHireDate`` in the future).

Group membership is kept as one ``int`` bit mask per user (one bit per *slot*: a school's
staff/pupil/substitute group set, or an exclusion scope), so 100 000 users cost a few MB.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol

from idops.config.region import RegionConfig

Role = Literal["staff", "pupil", "substitute", "other"]
SchoolRole = Literal["staff", "pupil", "substitute"]
ExclusionReason = Literal["disabled", "guest", "excluded_group", "not_started"]

#: Reasons in the order they are tested; the first that matches wins.
EXCLUSION_REASONS: tuple[ExclusionReason, ...] = ("disabled", "guest", "excluded_group", "not_started")
#: Roles that appear in municipality × school rows (``other`` never does).
SCHOOL_ROLES: tuple[SchoolRole, ...] = ("staff", "pupil", "substitute")

GLOBAL = ""  # exclusion scope key of the global ``[mfa].exclusion_group_ids``


class UserFacts(Protocol):
    """What classification reads from a user (``idops.graph.DirectoryUser`` fits)."""

    @property
    def account_enabled(self) -> bool: ...

    @property
    def user_type(self) -> str | None: ...

    @property
    def employee_hire_date(self) -> datetime | None: ...


@dataclass(frozen=True, slots=True)
class Placement:
    """One (municipality, school) row a user counts in, with the reason they are left out, if any."""

    municipality: str
    school: str
    role: SchoolRole
    excluded_reason: ExclusionReason | None

    @property
    def path(self) -> str:
        return f"{self.municipality}/{self.school}"


@dataclass(frozen=True, slots=True)
class Classification:
    """``user_reason`` is the school-independent reason (1–3), used where no school is in view
    (single-login's "not excluded"); ``placements`` is empty for role ``other``."""

    user_reason: ExclusionReason | None
    placements: tuple[Placement, ...]

    @property
    def role(self) -> Role:
        """The user's role when one word is needed: ``other`` without schools, else the first one."""
        return self.placements[0].role if self.placements else "other"


@dataclass(frozen=True, slots=True)
class _Slot:
    municipality: str
    school: str
    kind: SchoolRole


@dataclass
class GroupIndex:
    """The configured groups of one tenant and which bit each one sets in a user's mask.

    Build with ``GroupIndex.for_tenant``; feed group members with ``mark``; classify with
    ``classify``. One index per sync run (it holds the masks).
    """

    slots: list[_Slot] = field(default_factory=list)
    # group id → bits set on its (transitive) members
    group_bits: dict[str, int] = field(default_factory=dict)
    # exclusion scope (municipality key, or GLOBAL) → bit
    exclusion_bits: dict[str, int] = field(default_factory=dict)
    # (municipality, school) in configuration order → (substitute, staff, pupil) bits
    schools: list[tuple[str, str, int, int, int]] = field(default_factory=list)
    masks: dict[str, int] = field(default_factory=dict)

    @classmethod
    def for_tenant(
        cls, region: RegionConfig, tenant_id: str, global_exclusion_group_ids: Sequence[str] = ()
    ) -> GroupIndex:
        idx = cls()
        bit = 0

        def new_bit() -> int:
            nonlocal bit
            b = 1 << bit
            bit += 1
            return b

        def add(group_ids: Iterable[str], b: int) -> None:
            for gid in group_ids:
                key = gid.lower()
                idx.group_bits[key] = idx.group_bits.get(key, 0) | b

        idx.exclusion_bits[GLOBAL] = new_bit()
        add(global_exclusion_group_ids, idx.exclusion_bits[GLOBAL])
        for m in region.municipalities_of_tenant(tenant_id.lower()):
            idx.exclusion_bits[m.key] = new_bit()
            add(m.exclusion_group_ids, idx.exclusion_bits[m.key])
            for s in m.schools:
                sub, staff, pupil = new_bit(), new_bit(), new_bit()
                add(s.substitute_group_ids, sub)
                add(s.staff_group_ids, staff)
                add(s.pupil_group_ids, pupil)
                idx.schools.append((m.key, s.key, sub, staff, pupil))
        return idx

    @property
    def group_ids(self) -> list[str]:
        """Every group whose transitive members must be read, each once."""
        return list(self.group_bits)

    @property
    def any_exclusion(self) -> int:
        out = 0
        for b in self.exclusion_bits.values():
            out |= b
        return out

    def mark(self, group_id: str, user_ids: Iterable[str]) -> None:
        """Record that ``user_ids`` are (transitive) members of ``group_id``."""
        b = self.group_bits.get(group_id.lower(), 0)
        if not b:
            return
        masks = self.masks
        for uid in user_ids:
            masks[uid] = masks.get(uid, 0) | b

    def classify(self, user_id: str, user: UserFacts, now: datetime) -> Classification:
        return classify(user, self.masks.get(user_id, 0), self, now)


def user_reason(user: UserFacts, mask: int, exclusion_mask: int) -> ExclusionReason | None:
    """Reasons 1–3, independent of any school."""
    if not user.account_enabled:
        return "disabled"
    if (user.user_type or "").lower() == "guest":
        return "guest"
    if mask & exclusion_mask:
        return "excluded_group"
    return None


def classify(user: UserFacts, mask: int, index: GroupIndex, now: datetime) -> Classification:
    """Schools, role per school and exclusion reason per school of one user (see module doc).

    ``now`` is aware UTC; a substitute whose ``employeeHireDate`` is after it has not started.
    """
    base = user_reason(user, mask, index.any_exclusion)
    placements: list[Placement] = []
    if mask:
        global_bit = index.exclusion_bits[GLOBAL]
        hire = user.employee_hire_date
        for muni, school, sub, staff, pupil in index.schools:
            role: SchoolRole
            if mask & sub:
                role = "substitute"
            elif mask & staff:
                role = "staff"
            elif mask & pupil:
                role = "pupil"
            else:
                continue
            reason: ExclusionReason | None
            if base in ("disabled", "guest"):
                reason = base
            elif mask & (global_bit | index.exclusion_bits[muni]):
                reason = "excluded_group"
            elif role == "substitute" and hire is not None and hire > now:
                reason = "not_started"
            else:
                reason = None
            placements.append(Placement(muni, school, role, reason))
    return Classification(base, tuple(placements))
