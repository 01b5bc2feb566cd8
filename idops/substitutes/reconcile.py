"""Comparing Entra with idops and repairing drift, tenant by tenant."""

from __future__ import annotations

import structlog

from idops.config.region import Shard
from idops.graph.errors import GraphError, GraphNotFound
from idops.graph.port import AccountChange
from idops.substitutes.access import is_running
from idops.substitutes.counts import Counts
from idops.substitutes.deps import SubstituteDeps
from idops.substitutes.ending import load_people, managed_marker
from idops.substitutes.models import LIVE, Status
from idops.substitutes.repository import SubstitutesUnitOfWork

log = structlog.get_logger("idops.substitutes")


async def reconcile(
    uow: SubstitutesUnitOfWork, c: SubstituteDeps, *, actor: str = "job:reconcile", shard: Shard | None = None
) -> dict[str, int]:
    """Repair drift between Entra and idops' records:

    - an account enabled although none of its periods is running → disabled again (audited);
    - a marked account idops has no record of → reported, and disabled when policy says so;
    - a live period whose account was deleted in Entra → ``missing``.

    ``shard``: only its tenant; limited to some municipalities of a shared tenant, only persons of
    those municipalities are repaired, and orphans (of no municipality) are left to a whole-tenant run.
    """
    counts = Counts()
    marker = managed_marker(c)
    shard = shard or Shard()
    for tenant_id in shard.tenant_ids(c.config.region):
        directory = c.directories.for_tenant(tenant_id)
        now = c.clock.now()
        async with uow:
            everyone = await uow.substitutes.persons_with_account(tenant_id)
        known = {uid: p for uid, p in everyone.items() if shard.includes(p.tenant_id, p.municipality)}
        periods = (await load_people(uow, [p.id for p in known.values()]))[1] if known else {}
        to_disable: list[AccountChange] = []
        reasons: dict[str, str] = {}
        seen: set[str] = set()
        orphans = []
        try:
            async for page in directory.list_managed_users(marker):
                for user in page:
                    seen.add(user.id)
                    person = known.get(user.id)
                    if person is None:
                        if user.id in everyone or not shard.whole_tenants:
                            continue  # another municipality's person, or an orphan a whole-tenant run judges
                        orphans.append(user)
                        if user.account_enabled and c.config.settings.policy.orphan_action == "disable":
                            to_disable.append(AccountChange(user.id, enabled=False, revoke_sessions=True))
                            reasons[user.id] = "orphan_disabled"
                        continue
                    if user.account_enabled and not any(is_running(p, now) for p in periods.get(person.id, [])):
                        to_disable.append(AccountChange(user.id, enabled=False, revoke_sessions=True))
                        reasons[user.id] = "re_disabled"
        except GraphError as exc:
            log.warning("reconcile_tenant_failed", tenant=tenant_id, error=type(exc).__name__)
            counts.add("failed")
            continue
        if orphans:
            async with uow:
                for user in orphans:
                    if await uow.substitutes.upsert_orphan(tenant_id, user.id, user.user_principal_name, now):
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
                await uow.commit()
        if to_disable:
            results = await directory.apply_account_changes(to_disable, leave_date_allowed=False)
            async with uow:
                for user_id, res in results.items():
                    if not res.ok:
                        counts.add("failed")
                        continue
                    owner = known.get(user_id)
                    uow.audit.record(
                        at=now,
                        actor=actor,
                        action=reasons[user_id],
                        subject_type="person" if owner else "orphan",
                        subject_id=owner.id if owner else user_id,
                        person_id=owner.id if owner else None,
                        details={"tenant_id": tenant_id},
                    )
                    counts.add(reasons[user_id])
                await uow.commit()
        # Accounts idops knows that Entra no longer lists: deleted by someone else?
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
    return counts.as_dict()
