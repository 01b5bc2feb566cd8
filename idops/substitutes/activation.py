"""Starting: enable accounts whose period has begun — and, where the licence is held only while a period
runs (``licence_while = "active"``), give them their school's licence — and resume provisioning that was
deferred or cut short (by a Graph outage or a crash)."""

from __future__ import annotations

from collections import defaultdict

from idops.config.region import Shard
from idops.graph.port import AccountChange, ChangeFailure, ChangeResult
from idops.substitutes.access import apply_changes, target
from idops.substitutes.counts import Counts
from idops.substitutes.deps import SubstituteDeps
from idops.substitutes.ending import load_people
from idops.substitutes.models import Status
from idops.substitutes.provisioning import provision
from idops.substitutes.repository import SubstitutesUnitOfWork


async def activate_due(
    uow: SubstitutesUnitOfWork, c: SubstituteDeps, *, actor: str = "job:activate", shard: Shard | None = None
) -> dict[str, int]:
    """Enable accounts whose period has started and give them their licences; resume provisioning whose
    next attempt is due. ``shard``: only periods of that tenant / those municipalities (a job unit's).

    An account whose licence Graph refuses for want of a seat is still enabled — the substitute can sign
    in, and the school sees the shortage (``no_seats`` in the counts, ``licence`` in the audit event);
    ``reconcile`` assigns the licence once a seat is free."""
    counts = Counts()
    now = c.clock.now()
    async with uow:
        pending = await uow.substitutes.due([Status.REQUESTED, Status.PROVISIONING], shard=shard)
    for p in pending:  # ended ones are the expire job's; provision() skips claimed ones
        if p.ends_at > now and (p.next_attempt_at is None or p.next_attempt_at <= now):
            await provision(uow, c, p.id)
            counts.add("provisioning_resumed")
    # Read after provisioning: a resumed period it could not record active (``provisioning._finish``)
    # is scheduled and due, and is enabled in this run.
    async with uow:
        starting = [
            p for p in await uow.substitutes.due([Status.SCHEDULED], starts_before=now, shard=shard) if p.ends_at > now
        ]
    if not starting:
        return counts.as_dict()
    persons, all_periods = await load_people(uow, sorted({p.person_id for p in starting}))
    by_tenant: dict[str, list[AccountChange]] = defaultdict(list)
    for person in persons.values():
        if person.entra_user_id:
            want = target(c.config, all_periods[person.id], now)
            by_tenant[person.tenant_id].append(
                AccountChange(
                    person.entra_user_id,
                    enabled=want.enabled,
                    leave_date=want.leave_date,
                    add_skus=tuple(sorted(want.skus)),  # assigning one already held is a no-op
                )
            )
    results: dict[str, ChangeResult] = {}
    for tenant, changes in by_tenant.items():
        results.update(await apply_changes(c, tenant, changes))
    async with uow:
        for p in starting:
            res = results.get(persons[p.person_id].entra_user_id or "")
            seatless = res is not None and set(res.codes) == {ChangeFailure.NO_LICENCES_AVAILABLE}
            if res is None or not (res.ok or seatless):
                counts.add("failed")
                continue
            if await uow.substitutes.transition(p.id, [Status.SCHEDULED], status=Status.ACTIVE, activated_at=now):
                uow.audit.record(
                    at=now,
                    actor=actor,
                    action="activated",
                    subject_type="period",
                    subject_id=p.id,
                    person_id=p.person_id,
                    school=p.school,
                    details={
                        "late_seconds": int((now - p.starts_at).total_seconds()),
                        **({"licence": "no_seats"} if seatless else {}),
                    },
                )
                counts.add("activated")
                if seatless:
                    counts.add("no_seats")
        await uow.commit()
    return counts.as_dict()
