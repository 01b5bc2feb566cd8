"""Taking access away: at the end of a period (expiry), when it was brought forward (revoke), and
once more shortly after an end (an enabling write may land late).

Deadlines are due-or-overdue (``<= now``), never "today": a job that did not run for a day catches
up everything whose time has passed. State changes are conditional updates, so two runners (job and
API, or two processes) record each change — and its audit event — exactly once. Graph is called
between transactions: read what to change, change it in Entra, record what Graph confirmed.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

import structlog

from idops.config.region import Shard
from idops.graph.errors import GraphError
from idops.graph.port import AccountChange, ChangeResult, ManagedMarker
from idops.substitutes.access import apply_changes, school_groups, target
from idops.substitutes.accounts import adopt_lost_account
from idops.substitutes.counts import Counts
from idops.substitutes.deps import SubstituteDeps
from idops.substitutes.models import (
    ENDED,
    LIVE,
    PROVISIONING_CLAIM,
    Status,
    SubstitutePeriod,
    SubstitutePerson,
)
from idops.substitutes.repository import SubstitutesUnitOfWork

log = structlog.get_logger("idops.substitutes")

#: How long after an end the expire job re-checks the account. Provisioning's enabling write (create or
#: re-enable) may still be in flight when a period ends and land after the disable; the provisioner then
#: notices and disables again — unless it dies first. Its claim lasts PROVISIONING_CLAIM, so twice that
#: covers it.
RECHECK_AFTER_END = 2 * PROVISIONING_CLAIM


def managed_marker(c: SubstituteDeps) -> ManagedMarker:
    """How accounts idops manages are marked (the configured extension attribute)."""
    s_cfg = c.config.settings.substitutes
    return ManagedMarker(s_cfg.marker_attribute, s_cfg.marker_value)


async def load_people(
    uow: SubstitutesUnitOfWork, person_ids: Sequence[str]
) -> tuple[dict[str, SubstitutePerson], dict[str, list[SubstitutePeriod]]]:
    """Persons and all their periods, in a constant number of queries (chunks of 500 ids)."""
    async with uow:
        persons = await uow.substitutes.persons_by_ids(list(person_ids))
        periods = await uow.substitutes.periods_of_persons(list(person_ids))
    return persons, periods


async def end_access(
    uow: SubstitutesUnitOfWork, c: SubstituteDeps, period_ids: Sequence[str], *, actor: str, force: bool = False
) -> dict[str, int]:
    """Take away the access of periods whose end has come (expiry) or was brought forward (revoke).

    For every affected account: disable unless another period is running, revoke sign-in
    sessions, remove the groups and licences no remaining period needs. A period is marked
    ``expired`` / ``revoked`` only after Graph confirmed; failures stay due for the next run.
    ``force`` also handles periods that are no longer live (provisioning lost a race).
    """
    counts = Counts()
    now = c.clock.now()
    async with uow:
        periods = await uow.substitutes.periods_by_ids(list(period_ids))
    periods = [p for p in periods if force or (p.status in LIVE and p.ends_at <= now)]
    if not periods:
        return {}
    persons, all_periods = await load_people(uow, sorted({p.person_id for p in periods}))
    ending_ids = {p.id for p in periods}

    by_tenant: dict[str, list[AccountChange]] = defaultdict(list)
    change_of: dict[str, str] = {}  # person id → user id
    upcoming: dict[str, AccountChange] = {}  # persons with a period still to come → what was taken away
    unsure: dict[str, str] = {}  # persons Graph could not tell us about (→ why): their periods stay due
    for person_id, person in persons.items():
        if not person.entra_user_id:
            try:  # provisioning may have crashed after Graph created the account, before we recorded it
                await adopt_lost_account(uow, c.directories.for_tenant(person.tenant_id), person)
            except GraphError as exc:
                unsure[person_id] = type(exc).__name__
        if not person.entra_user_id:
            continue
        remaining = [p for p in all_periods[person_id] if p.id not in ending_ids]
        want = target(c.config, remaining, now)
        groups: set[str] = set()
        skus: set[str] = set()
        for q in all_periods[person_id]:
            if q.id in ending_ids:
                g, k = school_groups(c.config, q.school)
                groups |= g
                skus |= k
        change = AccountChange(
            person.entra_user_id,
            enabled=False if not want.enabled else None,
            revoke_sessions=not want.enabled,
            remove_groups=tuple(sorted(groups - want.groups)),
            remove_skus=tuple(sorted(skus - want.skus)),
            leave_date=want.leave_date if want.enabled else None,
        )
        if want.leave_date is None and any(q.revoked_at for q in periods if q.person_id == person_id):
            # Ended early with nothing left to come: the leave date still names the planned end (a
            # future date a leaver workflow would act on). It becomes the end that really happened —
            # or nothing, when no period of the person ever ran.
            ran = [q.ended_at or q.ends_at for q in remaining if q.activated_at is not None]
            ran += [now for q in all_periods[person_id] if q.id in ending_ids and q.activated_at is not None]
            change.leave_date = max(ran, default=None)
            change.clear_leave_date = change.leave_date is None
        by_tenant[person.tenant_id].append(change)
        change_of[person_id] = person.entra_user_id
        if want.leave_date is not None and (change.enabled is False or change.remove_skus):
            upcoming[person_id] = change

    results: dict[str, ChangeResult] = {}
    tenant_failed: dict[str, str] = {}  # tenant → why its whole batch failed
    outcomes = await asyncio.gather(
        *(apply_changes(c, tenant, changes) for tenant, changes in by_tenant.items()),
        return_exceptions=True,
    )
    for tenant, outcome in zip(by_tenant, outcomes, strict=True):
        if isinstance(outcome, BaseException):  # its periods stay due; counted below, once each
            log.warning("end_access_tenant_failed", tenant=tenant, error=type(outcome).__name__)
            tenant_failed[tenant] = type(outcome).__name__
            continue
        results.update(outcome)

    # Record what Graph confirmed: one transaction for the whole batch, a conditional update per period.
    # A period Graph did not confirm stays due for the next run, and says why (overdue_since, the
    # attempt, the reason; an audit event when it first becomes overdue).
    async with uow:
        for period in periods:
            owner = persons.get(period.person_id)
            user_id = change_of.get(period.person_id)
            res = results.get(user_id) if user_id else None
            reason = _failure_reason(period, owner, user_id, res, unsure, tenant_failed)
            if reason is not None:
                counts.add("failed")
                counts.add(f"failed.{reason}")
                if period.ends_at <= now and await uow.substitutes.mark_end_failed(period.id, now, reason):
                    uow.audit.record(
                        at=now, actor=actor, action="end_overdue", subject_type="period", subject_id=period.id,
                        person_id=period.person_id, school=period.school, details={"reason": reason},
                    )
                    log.warning("end_overdue", period_id=period.id, school=period.school, reason=reason)
                continue
            final = Status.REVOKED if period.revoked_at else (Status.MISSING if res and res.gone else Status.EXPIRED)
            changed = await uow.substitutes.transition(
                period.id,
                [*LIVE] if not force else [*LIVE, *ENDED, Status.FAILED],
                status=final if period.status in LIVE else period.status,
                ended_at=now,
                next_attempt_at=None,
                end_error=None,
            )
            if changed:
                if res and res.gone and owner is not None:
                    row = await uow.substitutes.get_person(owner.id)
                    if row is not None:
                        row.account_deleted_at = now
                uow.audit.record(
                    at=now,
                    actor=actor,
                    action=final.value,
                    subject_type="period",
                    subject_id=period.id,
                    person_id=period.person_id,
                    school=period.school,
                    details={"disabled": bool(user_id), "late_seconds": int((now - period.ends_at).total_seconds())},
                )
                counts.add(final.value)
        await uow.commit()
    confirmed = {pid: ch for pid, ch in upcoming.items() if (r := results.get(ch.user_id)) is not None and r.ok}
    counts.merge(await _give_back_started(uow, c, persons, confirmed, actor=actor))
    return counts.as_dict()


async def _give_back_started(
    uow: SubstitutesUnitOfWork, c: SubstituteDeps, persons: dict[str, SubstitutePerson],
    taken: dict[str, AccountChange], *, actor: str,
) -> dict[str, int]:
    """Decide again after the write, for persons with a period still to come: one that started while the
    write was in flight has had its account enabled by ``activate`` (another process, recorded active)
    — and the disable landed after that. Give back what the write took and the running period needs.
    (Only these persons can flip: nothing else of theirs was due to start.)"""
    if not taken:
        return {}
    now = c.clock.now()
    async with uow:
        periods = await uow.substitutes.periods_of_persons(sorted(taken))
    by_tenant: dict[str, list[AccountChange]] = defaultdict(list)
    owner_of: dict[str, SubstitutePerson] = {}
    for person_id, sent in taken.items():
        want = target(c.config, periods[person_id], now)
        if not want.enabled:
            continue
        back = AccountChange(sent.user_id, enabled=True if sent.enabled is False else None,
                             add_skus=tuple(sorted(set(sent.remove_skus) & want.skus)))
        if not (back.enabled or back.add_skus):
            continue  # the write took nothing the running period needs (it was running at the decision)
        back.leave_date = want.leave_date if back.enabled else None
        by_tenant[persons[person_id].tenant_id].append(back)
        owner_of[sent.user_id] = persons[person_id]
    counts = Counts()
    for tenant, changes in by_tenant.items():
        try:
            results = await apply_changes(c, tenant, changes)
        except GraphError as exc:  # reconcile finds the account disabled under a running period
            log.warning("access_restore_failed", tenant=tenant, error=type(exc).__name__)
            counts.add("failed", len(changes))
            continue
        async with uow:
            for user_id, res in results.items():
                person = owner_of[user_id]
                if not res.ok:
                    counts.add("failed")
                    continue
                uow.audit.record(
                    at=now, actor=actor, action="access_restored", subject_type="person", subject_id=person.id,
                    person_id=person.id,
                    details={"entra_user_id": user_id, "reason": "period_started_during_end"},
                )
                log.warning("access_restored_after_end", person_id=person.id)
                counts.add("access_restored")
            await uow.commit()
    return counts.as_dict()


def _failure_reason(
    period: SubstitutePeriod,
    owner: SubstitutePerson | None,
    user_id: str | None,
    res: ChangeResult | None,
    unsure: dict[str, str],
    tenant_failed: dict[str, str],
) -> str | None:
    """Why ``period``'s access could not be taken away (a short code for counts and the period), or None."""
    if period.person_id in unsure:
        return unsure[period.person_id]
    if not user_id:
        return None
    if owner is not None and owner.tenant_id in tenant_failed and res is None:
        return tenant_failed[owner.tenant_id]
    if res is None:
        return "no_answer"
    if res.ok or res.gone:
        return None
    return res.codes[0].value if res.codes else "rejected"


async def expire_due(
    uow: SubstitutesUnitOfWork, c: SubstituteDeps, *, actor: str = "job:expire", batch_size: int = 1000,
    shard: Shard | None = None,
) -> dict[str, int]:
    """Every live period whose end is due or overdue loses its access (of ``shard`` only, if given)."""
    total = Counts()
    seen: set[str] = set()
    while True:
        async with uow:
            due = [
                p
                for p in await uow.substitutes.due(list(LIVE), ends_before=c.clock.now(), limit=batch_size,
                                                   shard=shard)
                if p.id not in seen
            ]
        if not due:
            break
        seen.update(p.id for p in due)
        total.merge(await end_access(uow, c, [p.id for p in due], actor=actor))
        if len(due) < batch_size:
            break
    return total.as_dict()


def _must_be_off(c: SubstituteDeps, periods: Sequence[SubstitutePeriod], now: datetime) -> bool:
    """Must the person's account be disabled now (no period running, none being provisioned)?"""
    in_flight = any(p.status in (Status.REQUESTED, Status.PROVISIONING) and p.ends_at > now for p in periods)
    return not in_flight and not target(c.config, periods, now).enabled


async def recheck_recent_ends(
    uow: SubstitutesUnitOfWork, c: SubstituteDeps, *, actor: str = "job:expire", shard: Shard | None = None
) -> dict[str, int]:
    """Disable accounts enabled again after their period ended (see ``RECHECK_AFTER_END``).

    One listing of the tenant's enabled idops-marked accounts, matched to persons whose periods ended
    lately by account id — or by ``employeeId`` (our person id) when the create was never recorded.
    """
    counts = Counts()
    now = c.clock.now()
    async with uow:
        recent = await uow.substitutes.ended_since(now - RECHECK_AFTER_END, shard)
    if not recent:
        return {}
    persons, periods = await load_people(uow, sorted({p.person_id for p in recent}))
    quiet: dict[str, list[SubstitutePerson]] = defaultdict(list)  # tenant → persons who must be disabled
    for person_id, person in persons.items():
        if _must_be_off(c, periods[person_id], now):
            quiet[person.tenant_id].append(person)
    marker = managed_marker(c)
    for tenant_id, candidates in quiet.items():
        by_account = {p.entra_user_id: p for p in candidates if p.entra_user_id}
        by_person = {p.id: p for p in candidates}
        found: dict[str, SubstitutePerson] = {}
        directory = c.directories.for_tenant(tenant_id)
        try:
            async for page in directory.list_managed_users(marker, enabled_only=True):
                for user in page:
                    owner = by_account.get(user.id) or by_person.get(user.employee_id or "")
                    if owner is not None and user.account_enabled:
                        found[user.id] = owner
        except GraphError as exc:
            log.warning("recheck_tenant_failed", tenant=tenant_id, error=type(exc).__name__)
            counts.add("failed")
            continue
        # Decided again now, after the listing: a next period that started meanwhile has had its account
        # enabled by ``activate`` (another process, recorded active) and keeps it.
        now = c.clock.now()
        _, periods = await load_people(uow, sorted({p.id for p in found.values()}))
        found = {uid: p for uid, p in found.items() if _must_be_off(c, periods[p.id], now)}
        if not found:
            continue
        changes = [AccountChange(uid, enabled=False, revoke_sessions=True) for uid in found]
        results = await directory.apply_account_changes(changes, leave_date_allowed=False)
        async with uow:
            for user_id, res in results.items():
                if not (res.ok or res.gone):
                    counts.add("failed")
                    continue
                person = found[user_id]
                uow.audit.record(
                    at=now,
                    actor=actor,
                    action="re_disabled",
                    subject_type="person",
                    subject_id=person.id,
                    person_id=person.id,
                    details={"tenant_id": tenant_id, "entra_user_id": user_id, "reason": "enabled_after_end"},
                )
                log.warning("re_disabled_after_end", person_id=person.id)
                counts.add("re_disabled")
            await uow.commit()
    return counts.as_dict()
