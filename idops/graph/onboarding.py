"""``idops config check --online``: per tenant, a token and the cheapest proof of each permission.

For every tenant of the region: obtain a token from its credential and check that its ``tid`` is the
tenant (a credential that serves another tenant would otherwise act there); then, for each permission
an enabled feature needs (``idops.graph.permissions``):

- a permission with a ``Probe`` is proven by that harmless read: ``ok``, ``missing`` (403
  Authorization_RequestDenied), ``premium required`` (403 Authentication_RequestFromNonPremiumTenantOrB2CTenant:
  the tenant has no Entra ID P1/P2; the reports are unavailable there, not mis-configured) or ``error``;
- any other (a write: nothing harmless proves it) by the token's ``roles`` claim: ``ok`` or ``missing``;
  ``unverified`` when the token does not list roles (the emulator's tokens name only the tenant).

``failed`` is true when a token is wrong or missing, or any permission of an enabled feature is
``missing`` or ``error``; a premium-required tenant alone does not fail the check.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from enum import StrEnum

from idops.config import Config
from idops.graph.errors import GraphError, GraphPremiumRequired
from idops.graph.permissions import Feature, Permission, enabled_features
from idops.graph.port import Directory, DirectoryProvider, Probe, TokenClaims


class Status(StrEnum):
    OK = "ok"
    MISSING = "missing"
    PREMIUM_REQUIRED = "premium required"
    ERROR = "error"
    UNVERIFIED = "unverified"


FAILING = frozenset({Status.MISSING, Status.ERROR})


@dataclass(frozen=True, slots=True)
class PermissionResult:
    permission: Permission
    status: Status
    features: tuple[Feature, ...]
    detail: str = ""

    @property
    def label(self) -> str:
        """The permission, with the read that proved it where one name has several (AuditLog.Read.All)."""
        return self.permission.name + (f" ({self.permission.probe.value})" if self.permission.probe else "")


@dataclass
class TenantResult:
    tenant_id: str
    municipalities: list[str]
    token: TokenClaims | None = None
    token_problem: str | None = None
    results: list[PermissionResult] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return self.token_problem is not None or any(r.status in FAILING for r in self.results)


def _needed(features: list[Feature]) -> list[tuple[Permission, tuple[Feature, ...]]]:
    """Each distinct (permission, probe) of the enabled features, with the features that need it."""
    out: dict[tuple[str, Probe | None], tuple[Permission, list[Feature]]] = {}
    for feat in features:
        for perm, _ in feat.permissions():
            key = (perm.name, perm.probe)
            entry = out.setdefault(key, (perm, []))
            if feat not in entry[1]:
                entry[1].append(feat)
    return [(perm, tuple(feats)) for perm, feats in out.values()]


async def _judge(directory: Directory, claims: TokenClaims, perm: Permission,
                 features: tuple[Feature, ...]) -> PermissionResult:
    note = f"also needs the Entra role {perm.directory_role} (not checked)" if perm.directory_role else ""
    if perm.probe is not None:
        try:
            await directory.probe(perm.probe)
        except GraphPremiumRequired:
            return PermissionResult(perm, Status.PREMIUM_REQUIRED, features, "the tenant has no Entra ID P1/P2")
        except GraphError as exc:
            status = Status.MISSING if exc.status == 403 else Status.ERROR
            return PermissionResult(perm, status, features, f"{exc.status} {exc.code or ''}".strip())
        return PermissionResult(perm, Status.OK, features, note)
    if claims.roles is None:
        return PermissionResult(perm, Status.UNVERIFIED, features, "a write: the token lists no roles to prove it")
    if perm.granted_by(claims.roles):
        return PermissionResult(perm, Status.OK, features, note)
    return PermissionResult(perm, Status.MISSING, features, "not in the token's roles")


async def check_tenant(config: Config, tenant_id: str, directory: Directory) -> TenantResult:
    """The token and every needed permission of one configured tenant, through its directory."""
    tenant = tenant_id.lower()
    result = TenantResult(tenant, [m.key for m in config.region.municipalities_of_tenant(tenant_id)])
    try:
        claims = await directory.token_claims()
    except GraphError as exc:
        result.token_problem = f"no token: {exc.message}"
        return result
    result.token = claims
    if claims.tenant_id != tenant:
        result.token_problem = (f"the credential's token is for tenant {claims.tenant_id or '(none)'}, "
                                f"not {tenant}: it would act in another tenant")
        return result
    features = enabled_features(config.settings, config.region)
    for perm, feats in _needed(features):  # one at a time: the reports' budget is 5 requests / 10 s
        result.results.append(await _judge(directory, claims, perm, feats))
    return result


async def check_online(config: Config, directories: DirectoryProvider) -> list[TenantResult]:
    """Every tenant of the region, concurrently (each tenant's requests are paced by its adapter)."""
    tenants = list(config.region.tenants())
    return list(await asyncio.gather(*(check_tenant(config, t, directories.for_tenant(t)) for t in tenants)))


def render(results: list[TenantResult], *, lang: str = "en") -> str:
    """The table an operator reads: tenant × permission → status, and what a failure disables."""
    lines: list[str] = []
    for tr in results:
        head = f"tenant {tr.tenant_id} ({', '.join(tr.municipalities)})"
        if tr.token_problem:
            lines += [head, f"  token: FAILED — {tr.token_problem}", ""]
            continue
        roles = "roles not listed" if tr.token is None or tr.token.roles is None else f"{len(tr.token.roles)} roles"
        lines.append(f"{head}: token ok (tid matches; {roles})")
        width = max((len(r.label) for r in tr.results), default=10) + 2
        for r in tr.results:
            line = f"  {r.label:<{width}}{r.status.value:<18}"
            if r.status is not Status.OK:
                names = ", ".join(f.key for f in r.features)
                what = "; ".join((f.disabled_fi if lang == "fi" else f.disabled_en) for f in r.features)
                line += f"{r.detail} — {names}: {what}" if r.status is not Status.UNVERIFIED else r.detail
            elif r.detail:
                line += r.detail
            lines.append(line.rstrip())
        lines.append("")
    failed = [tr.tenant_id for tr in results if tr.failed]
    lines.append(f"{len(results) - len(failed)} of {len(results)} tenants OK" + (
        f"; problems in {', '.join(failed)}" if failed else ""))
    return "\n".join(lines)
