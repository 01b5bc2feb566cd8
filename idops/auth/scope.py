"""Who may see what. The ONE place where roles and claims become a set of visible schools.

A principal sees the schools whose ``principals`` list their ``oid`` or one of their groups;
an IT admin sees the municipalities whose ``it_admins`` list them (or, failing that, the
municipalities of their tenant); a region admin — a token from one of
``auth.region_admin_tenant_ids`` — sees everything. Every endpoint asks the
``Scope``; a school outside it is answered exactly like one that does not exist (404).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from idops.config.region import RegionConfig

Role = Literal["Principal", "ItAdmin", "RegionAdmin"]
ROLE_ORDER: tuple[Role, ...] = ("RegionAdmin", "ItAdmin", "Principal")


@dataclass(frozen=True, slots=True)
class Scope:
    role: Role
    schools: frozenset[str]  # "municipality/school" paths
    municipalities: frozenset[str]  # municipalities the caller sees *whole* (admins)

    def sees_school(self, path: str) -> bool:
        return path in self.schools

    def sees_municipality(self, key: str) -> bool:
        """True only for callers who see the municipality as a whole (IT and region admins)."""
        return key in self.municipalities

    def touches_municipality(self, key: str) -> bool:
        """True when the caller sees at least one school of the municipality."""
        return any(p.split("/", 1)[0] == key for p in self.schools)

    @property
    def is_admin(self) -> bool:
        return self.role in ("ItAdmin", "RegionAdmin")

    @property
    def job_limit(self) -> frozenset[str] | None:
        """The municipalities an administrator's job runs and run records are limited to; None: the whole
        region (RegionAdmin only — an IT admin never runs a job region-wide, issue 12)."""
        return None if self.role == "RegionAdmin" else self.municipalities


@dataclass(frozen=True, slots=True)
class Caller:
    """An authenticated caller; ``oid`` + ``tid`` identify them (never names or UPNs)."""

    oid: str
    tid: str
    roles: frozenset[str]
    scope: Scope
    name: str | None = None
    token_id: str | None = None

    @property
    def actor(self) -> str:
        return f"{self.scope.role}:{self.oid}"


class NoScope(Exception):
    """A valid token whose roles/claims grant nothing in this region (→ 403)."""


def resolve_scope(
    claims: Mapping[str, Any], region: RegionConfig, *, region_admin_tenants: frozenset[str] | None
) -> Scope:
    """Turn validated token claims into a Scope. Raises ``NoScope`` when nothing is granted.

    The highest role wins (RegionAdmin > ItAdmin > Principal): one token, one view. ``RegionAdmin``
    counts only from a tenant in ``region_admin_tenants`` (None: from any region tenant — the demo);
    from any other tenant the role is ignored and the token's next role decides.
    """
    roles = claims.get("roles") or []
    if not isinstance(roles, list):
        raise NoScope("roles claim is not a list")
    oid = str(claims.get("oid", "")).lower()
    tid = str(claims.get("tid", "")).lower()
    groups = {str(g).lower() for g in claims.get("groups") or [] if isinstance(g, str)}

    for role in ROLE_ORDER:
        if role not in roles:
            continue
        if role == "RegionAdmin":
            if region_admin_tenants is not None and tid not in region_admin_tenants:
                continue
            all_schools = frozenset(region.school_paths())
            return Scope(role, all_schools, frozenset(m.key for m in region.municipalities))
        if role == "ItAdmin":
            munis = [
                m
                for m in region.municipalities
                if m.tenant_id == tid and (oid in m.it_admins.object_ids or groups & set(m.it_admins.group_ids))
            ]
            if not munis:  # no explicit listing: the admin's own tenant's municipalities
                munis = [
                    m
                    for m in region.municipalities
                    if m.tenant_id == tid and not m.it_admins.object_ids and not m.it_admins.group_ids
                ]
            if munis:
                keys = frozenset(m.key for m in munis)
                schools = frozenset(f"{m.key}/{s.key}" for m in munis for s in m.schools)
                return Scope(role, schools, keys)
        if role == "Principal":
            schools = frozenset(
                f"{m.key}/{s.key}"
                for m in region.municipalities
                if m.tenant_id == tid
                for s in m.schools
                if oid in s.principals.object_ids or groups & set(s.principals.group_ids)
            )
            if schools:
                return Scope(role, schools, frozenset())
    raise NoScope("no role of this token grants a scope in this region")
