"""Comparing Entra with idops and repairing drift, tenant by tenant.

For every idops-managed account the Entra state must equal what idops' record says (``access.target``):
the enabled flag, membership of idops' groups (the substitute groups of the tenant's schools) and idops'
licences (their licence SKUs). Groups and licences idops does not manage are none of its business.
Each correction is one audit event (``DRIFT_ACTIONS``) on the person — or, for a marked account idops has
no record of (an orphan), on the orphan — and ``GET /v1/drift`` lists them.

Reading the state costs one listing of the tenant's marked accounts (which carries ``accountEnabled`` and
``assignedLicenses``) and one listing of the direct members of each idops group — not a read per account
(``memberOf`` per user would be one request per account: 1 000 accounts, 1 000 requests, or 50 ``$batch``
calls, against a handful of group listings that grow by one page per 999 members).

Accounts whose periods are mid-transition (provisioning in flight, a start or an end due) are left to the
lifecycle jobs (``activate``, ``expire``): reconcile repairs the steady state, it does not race them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import structlog

from idops.config.region import Shard
from idops.graph.errors import GraphError, GraphNotFound
from idops.graph.port import AccountChange, ChangeFailure, ChangeResult, Directory, DirectoryUser
from idops.substitutes.access import apply_changes, school_groups, target
from idops.substitutes.counts import Counts
from idops.substitutes.deps import SubstituteDeps
from idops.substitutes.ending import load_people, managed_marker
from idops.substitutes.models import LIVE, Status, SubstitutePeriod, SubstitutePerson
from idops.substitutes.repository import SubstitutesUnitOfWork

log = structlog.get_logger("idops.substitutes")

#: The audit actions of a drift correction (one event each).
DRIFT_ACTIONS = (
    "re_disabled",
    "re_enabled",
    "group_added",
    "group_removed",
    "licence_added",
    "licence_removed",
    "orphan_disabled",
)


@dataclass
class _Correction:
    action: str
    details: dict[str, str] = field(default_factory=dict)


@dataclass
class _Repair:
    """One account's corrections and the change that makes them."""

    user: DirectoryUser
    person: SubstitutePerson | None  # None: an orphan
    change: AccountChange
    corrections: list[_Correction]


@dataclass(frozen=True)
class _Managed:
    """What idops manages in a tenant: the substitute groups and licence SKUs of its schools."""

    groups: frozenset[str]
    skus: frozenset[str]


async def reconcile(
    uow: SubstitutesUnitOfWork, c: SubstituteDeps, *, actor: str = "job:reconcile", shard: Shard | None = None
) -> dict[str, int]:
    """Repair drift between Entra and idops' records, tenant by tenant:

    - an idops account whose enabled flag, idops groups or idops licences differ from its periods'
      target → corrected (disabling also revokes its sessions), one audit event per correction;
    - a marked account idops has no record of → reported, and by policy (``orphan_action = "disable"``)
      disabled and stripped of idops' groups and licences;
    - a live period whose account was deleted in Entra → ``missing``.

    ``shard``: only its tenant; limited to some municipalities of a shared tenant, only persons of
    those municipalities are repaired, and orphans (of no municipality) are left to a whole-tenant run.
    """
    counts = Counts()
    shard = shard or Shard()
    for tenant_id in shard.tenant_ids(c.config.region):
        await _reconcile_tenant(uow, c, tenant_id, actor, counts, shard)
    return counts.as_dict()


def _managed(c: SubstituteDeps, tenant_id: str) -> _Managed:
    groups: set[str] = set()
    skus: set[str] = set()
    for municipality in c.config.region.municipalities_of_tenant(tenant_id):
        for school in municipality.schools:
            g, k = school_groups(c.config, f"{municipality.key}/{school.key}")
            groups |= g
            skus |= k
    return _Managed(frozenset(groups), frozenset(skus))


async def _memberships(directory: Directory, groups: frozenset[str]) -> dict[str, set[str]]:
    """user id → the idops groups it is a direct member of (idops adds direct members only)."""
    member_of: dict[str, set[str]] = {}
    for gid in sorted(groups):
        try:
            async for page in directory.list_group_members_bulk(gid, transitive=False):
                for m in page:
                    if not m.is_group:
                        member_of.setdefault(m.id.lower(), set()).add(gid)
        except GraphNotFound:
            log.warning("reconcile_group_missing", group_id=gid)  # a misconfigured group: nobody is in it
    return member_of


def _pending(periods: Sequence[SubstitutePeriod], now: datetime) -> bool:
    """A lifecycle job has work on this person: provisioning in flight, a start or an end due."""
    for p in periods:
        if p.status in (Status.REQUESTED, Status.PROVISIONING):
            return True
        if p.status == Status.SCHEDULED and p.starts_at <= now:
            return True
        if p.status in LIVE and p.ends_at <= now:
            return True
    return False


def _repair(
    user: DirectoryUser,
    person: SubstitutePerson | None,
    *,
    enabled: bool,
    groups: frozenset[str],
    skus: frozenset[str],
    member_of: set[str],
    managed: _Managed,
) -> _Repair | None:
    """The change that brings ``user`` to the wanted state in what idops manages; None when it is there."""
    held_skus = {s.lower() for s in user.assigned_license_sku_ids} & managed.skus
    held_groups = member_of & managed.groups
    change = AccountChange(
        user.id,
        add_groups=tuple(sorted(groups - held_groups)),
        remove_groups=tuple(sorted(held_groups - groups)),
        add_skus=tuple(sorted(skus - held_skus)),
        remove_skus=tuple(sorted(held_skus - skus)),
    )
    fixes: list[_Correction] = []
    if user.account_enabled != enabled:
        change.enabled = enabled
        change.revoke_sessions = not enabled
        action = ("orphan_disabled" if person is None else "re_disabled") if not enabled else "re_enabled"
        fixes.append(_Correction(action))
    fixes += [_Correction("group_added", {"group_id": g}) for g in change.add_groups]
    fixes += [_Correction("group_removed", {"group_id": g}) for g in change.remove_groups]
    fixes += [_Correction("licence_added", {"sku_id": s}) for s in change.add_skus]
    fixes += [_Correction("licence_removed", {"sku_id": s}) for s in change.remove_skus]
    return _Repair(user, person, change, fixes) if fixes else None


async def _reconcile_tenant(
    uow: SubstitutesUnitOfWork, c: SubstituteDeps, tenant_id: str, actor: str, counts: Counts, shard: Shard
) -> None:
    directory = c.directories.for_tenant(tenant_id)
    now = c.clock.now()
    managed = _managed(c, tenant_id)
    strip_orphans = c.config.settings.policy.orphan_action == "disable"
    async with uow:
        everyone = await uow.substitutes.persons_with_account(tenant_id)
    known = {uid: p for uid, p in everyone.items() if shard.includes(p.tenant_id, p.municipality)}
    periods = (await load_people(uow, [p.id for p in known.values()]))[1] if known else {}
    repairs: list[_Repair] = []
    seen: set[str] = set()
    orphans: list[DirectoryUser] = []
    try:
        member_of = await _memberships(directory, managed.groups)
        async for page in directory.list_managed_users(managed_marker(c)):
            for user in page:
                seen.add(user.id)
                person = known.get(user.id)
                groups = member_of.get(user.id.lower(), set())
                if person is None:
                    if user.id in everyone or not shard.whole_tenants:
                        continue  # another municipality's person, or an orphan a whole-tenant run judges
                    orphans.append(user)
                    if strip_orphans:
                        repair = _repair(user, None, enabled=False, groups=frozenset(), skus=frozenset(),
                                         member_of=groups, managed=managed)
                        repairs += [repair] if repair else []
                    continue
                mine = periods.get(person.id, [])
                if _pending(mine, now):
                    continue
                want = target(c.config, mine, now)
                repair = _repair(user, person, enabled=want.enabled, groups=want.groups, skus=want.skus,
                                 member_of=groups, managed=managed)
                repairs += [repair] if repair else []
    except GraphError as exc:
        log.warning("reconcile_tenant_failed", tenant=tenant_id, error=type(exc).__name__)
        counts.add("failed")
        return
    await _record_orphans(uow, c, tenant_id, orphans, seen, now, actor, counts)
    if repairs:
        results = await apply_changes(c, tenant_id, [r.change for r in repairs], leave_date=False)
        await _record_repairs(uow, tenant_id, repairs, results, now, actor, counts)
    await _mark_missing(uow, directory, known, periods, seen, now, actor, counts)


def orphan_municipality(c: SubstituteDeps, tenant_id: str, upn: str) -> str | None:
    """The municipality an orphan belongs to: the one whose substitute UPN domain it carries, or the
    tenant's only municipality; None when neither tells."""
    municipalities = c.config.region.municipalities_of_tenant(tenant_id)
    domain = upn.rpartition("@")[2].lower()
    by_domain = [m.key for m in municipalities if m.upn_domain == domain]
    if len(by_domain) == 1:
        return by_domain[0]
    return municipalities[0].key if len(municipalities) == 1 else None


async def _record_orphans(
    uow: SubstitutesUnitOfWork,
    c: SubstituteDeps,
    tenant_id: str,
    orphans: list[DirectoryUser],
    seen: set[str],
    now: datetime,
    actor: str,
    counts: Counts,
) -> None:
    """Each orphan reported once (``orphan_found``); orphans no longer listed are marked gone."""
    async with uow:
        for user in orphans:
            municipality = orphan_municipality(c, tenant_id, user.user_principal_name)
            if await uow.substitutes.upsert_orphan(tenant_id, user.id, user.user_principal_name, municipality, now):
                uow.audit.record(
                    at=now,
                    actor=actor,
                    action="orphan_found",
                    subject_type="orphan",
                    subject_id=user.id,
                    details={"tenant_id": tenant_id, "enabled": user.account_enabled},
                    personal={"upn": user.user_principal_name},
                )
                counts.add("orphans_found")
        await uow.substitutes.orphans_gone(tenant_id, seen, now)
        await uow.commit()


async def _record_repairs(
    uow: SubstitutesUnitOfWork,
    tenant_id: str,
    repairs: list[_Repair],
    results: dict[str, ChangeResult],
    now: datetime,
    actor: str,
    counts: Counts,
) -> None:
    """One audit event per correction Graph confirmed. A licence refused for want of a seat is counted
    (``no_seats``) and tried again on the next run; the account's other corrections stand."""
    async with uow:
        for repair in repairs:
            res = results.get(repair.user.id)
            seatless = res is not None and not res.gone and set(res.codes) == {ChangeFailure.NO_LICENCES_AVAILABLE}
            if res is None or not (res.ok or seatless):
                counts.add("failed")
                log.warning("reconcile_repair_failed", entra_user_id=repair.user.id,
                            errors=res.errors if res else None)
                continue
            fixes = [f for f in repair.corrections if not (seatless and f.action == "licence_added")]
            if seatless:
                counts.add("no_seats")
            owner = repair.person
            for fix in fixes:
                details: dict[str, Any] = {"tenant_id": tenant_id, "entra_user_id": repair.user.id, **fix.details}
                uow.audit.record(
                    at=now,
                    actor=actor,
                    action=fix.action,
                    subject_type="person" if owner else "orphan",
                    subject_id=owner.id if owner else repair.user.id,
                    person_id=owner.id if owner else None,
                    details=details,
                    personal=None if owner else {"upn": repair.user.user_principal_name},
                )
                counts.add(fix.action)
            if owner is None and repair.change.enabled is False:
                await uow.substitutes.mark_orphan_disabled(tenant_id, repair.user.id, now)
        await uow.commit()


async def _mark_missing(
    uow: SubstitutesUnitOfWork,
    directory: Directory,
    known: dict[str, SubstitutePerson],
    periods: dict[str, list[SubstitutePeriod]],
    seen: set[str],
    now: datetime,
    actor: str,
    counts: Counts,
) -> None:
    """Accounts idops knows that Entra no longer lists: deleted by someone else?"""
    for user_id, person in known.items():
        if user_id in seen or person.account_deleted_at is not None:
            continue
        live = [p for p in periods.get(person.id, []) if p.status in LIVE]
        if not live:
            continue
        try:
            await directory.get_user(user_id)
            continue  # listed late (replication) or marker removed by hand: not missing
        except GraphNotFound:
            pass
        except GraphError:
            counts.add("failed")
            continue
        async with uow:
            for p in live:
                if await uow.substitutes.transition(p.id, list(LIVE), status=Status.MISSING, ended_at=now):
                    uow.audit.record(
                        at=now,
                        actor=actor,
                        action="missing",
                        subject_type="period",
                        subject_id=p.id,
                        person_id=person.id,
                        school=p.school,
                        details={"entra_user_id": user_id},
                    )
                    counts.add("missing")
            await uow.commit()
