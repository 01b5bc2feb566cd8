"""Moving periods through time: activate, expire/revoke, reconcile drift, purge and scrub, notify.

Deadlines are due-or-overdue (``<= now``), never "today": a job that did not run for a day catches
up everything whose time has passed. State changes are conditional updates, so two runners
(job and API, or two processes) record each change — and its audit event — exactly once.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

import structlog

from idops.audit import repository as audit
from idops.graph.errors import GraphError, GraphNotFound
from idops.graph.port import AccountChange, ChangeResult, ManagedMarker
from idops.substitutes import repository as repo
from idops.substitutes.access import is_running, school_groups, target
from idops.substitutes.models import ENDED, LIVE, Status, SubstitutePeriod, SubstitutePerson
from idops.substitutes.service import (
    CLAIM,
    adopt_lost_account,
    directory_for,
    leave_date_allowed,
    provision,
    seat_cache,
)

if TYPE_CHECKING:
    from idops.bootstrap import Container

log = structlog.get_logger("idops.substitutes")


@dataclass
class Counts:
    values: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, key: str, n: int = 1) -> None:
        self.values[key] += n

    def as_dict(self) -> dict[str, int]:
        return dict(self.values)


def _marker(c: Container) -> ManagedMarker:
    """How accounts idops manages are marked (the configured extension attribute)."""
    s_cfg = c.config.settings.substitutes
    return ManagedMarker(s_cfg.marker_attribute, s_cfg.marker_value)


async def _load_people(
    c: Container, person_ids: Sequence[str]
) -> tuple[dict[str, SubstitutePerson], dict[str, list[SubstitutePeriod]]]:
    async with c.db.session() as s:
        persons = await repo.persons_by_ids(s, list(person_ids))
        periods = await repo.periods_of_persons(s, list(person_ids))
    return persons, periods


# ------------------------------------------------------------------------------------------- ending


async def end_access(
    c: Container, period_ids: Sequence[str], *, actor: str, force: bool = False
) -> dict[str, int]:
    """Take away the access of periods whose end has come (expiry) or was brought forward (revoke).

    For every affected account: disable unless another period is running, revoke sign-in
    sessions, remove the groups and licences no remaining period needs. A period is marked
    ``expired`` / ``revoked`` only after Graph confirmed; failures stay due for the next run.
    ``force`` also handles periods that are no longer live (provisioning lost a race).
    """
    counts = Counts()
    now = c.clock.now()
    async with c.db.session() as s:
        periods = [p for pid in period_ids if (p := await repo.get_period(s, pid)) is not None]
    periods = [p for p in periods if force or (p.status in LIVE and p.ends_at <= now)]
    if not periods:
        return {}
    persons, all_periods = await _load_people(c, sorted({p.person_id for p in periods}))
    ending_ids = {p.id for p in periods}

    by_tenant: dict[str, list[AccountChange]] = defaultdict(list)
    change_of: dict[str, str] = {}  # person id → user id
    unsure: set[str] = set()  # persons Graph could not tell us about: their periods stay due
    for person_id, person in persons.items():
        if not person.entra_user_id:
            try:  # provisioning may have crashed after Graph created the account, before we recorded it
                await adopt_lost_account(c, directory_for(c, person.tenant_id), person)
            except GraphError:
                unsure.add(person_id)
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
        by_tenant[person.tenant_id].append(AccountChange(
            person.entra_user_id,
            enabled=False if not want.enabled else None,
            revoke_sessions=not want.enabled,
            remove_groups=tuple(sorted(groups - want.groups)),
            remove_skus=tuple(sorted(skus - want.skus)),
            leave_date=want.leave_date if want.enabled else None,
        ))
        change_of[person_id] = person.entra_user_id

    results: dict[str, ChangeResult] = {}
    outcomes = await asyncio.gather(*(
        directory_for(c, tenant).apply_account_changes(changes, leave_date_allowed=leave_date_allowed(c, tenant))
        for tenant, changes in by_tenant.items()
    ), return_exceptions=True)
    for tenant, outcome in zip(by_tenant, outcomes, strict=True):
        if isinstance(outcome, BaseException):
            log.warning("end_access_tenant_failed", tenant=tenant, error=type(outcome).__name__)
            counts.add("failed", len(by_tenant[tenant]))
            continue
        results.update(outcome)

    for period in periods:
        owner = persons.get(period.person_id)
        user_id = change_of.get(period.person_id)
        res = results.get(user_id) if user_id else None
        if period.person_id in unsure or (user_id and (res is None or not (res.ok or res.gone))):
            counts.add("failed")
            continue
        final = Status.REVOKED if period.revoked_at else (Status.MISSING if res and res.gone else Status.EXPIRED)
        async with c.db.session() as s:
            changed = await repo.transition(
                s, period.id, [*LIVE] if not force else [*LIVE, *ENDED, Status.FAILED],
                status=final if period.status in LIVE else period.status, ended_at=now, next_attempt_at=None,
            )
            if changed:
                if res and res.gone and owner is not None:
                    row = await repo.get_person(s, owner.id)
                    if row is not None:
                        row.account_deleted_at = now
                audit.record(
                    s, at=now, actor=actor, action=final.value, subject_type="period", subject_id=period.id,
                    person_id=period.person_id, school=period.school,
                    details={"disabled": bool(user_id), "late_seconds": int((now - period.ends_at).total_seconds())},
                )
                counts.add(final.value)
        seat_cache(c).consume(period.tenant_id, school_groups(c.config, period.school)[1], -1)
    return counts.as_dict()


async def expire_due(c: Container, *, actor: str = "job:expire", batch_size: int = 1000) -> dict[str, int]:
    """Every live period whose end is due or overdue loses its access."""
    total = Counts()
    seen: set[str] = set()
    while True:
        async with c.db.session() as s:
            due = [p for p in await repo.due(s, list(LIVE), ends_before=c.clock.now(), limit=batch_size)
                   if p.id not in seen]
        if not due:
            break
        seen.update(p.id for p in due)
        for k, v in (await end_access(c, [p.id for p in due], actor=actor)).items():
            total.add(k, v)
        if len(due) < batch_size:
            break
    return total.as_dict()


#: How long after an end the expire job re-checks the account. Provisioning's enabling write (create or
#: re-enable) may still be in flight when a period ends and land after the disable; the provisioner then
#: notices and disables again — unless it dies first. Its claim lasts CLAIM, so twice that covers it.
RECHECK_AFTER_END = 2 * CLAIM


async def recheck_recent_ends(c: Container, *, actor: str = "job:expire") -> dict[str, int]:
    """Disable accounts enabled again after their period ended (see ``RECHECK_AFTER_END``).

    One listing of the tenant's enabled idops-marked accounts, matched to persons whose periods ended
    lately by account id — or by ``employeeId`` (our person id) when the create was never recorded.
    """
    counts = Counts()
    now = c.clock.now()
    async with c.db.session() as s:
        recent = await repo.ended_since(s, now - RECHECK_AFTER_END)
    if not recent:
        return {}
    persons, periods = await _load_people(c, sorted({p.person_id for p in recent}))
    quiet: dict[str, list[SubstitutePerson]] = defaultdict(list)  # tenant → persons who must be disabled
    for person_id, person in persons.items():
        mine = periods[person_id]
        in_flight = any(p.status in (Status.REQUESTED, Status.PROVISIONING) and p.ends_at > now for p in mine)
        if not in_flight and not target(c.config, mine, now).enabled:
            quiet[person.tenant_id].append(person)
    marker = _marker(c)
    for tenant_id, candidates in quiet.items():
        by_account = {p.entra_user_id: p for p in candidates if p.entra_user_id}
        by_person = {p.id: p for p in candidates}
        found: dict[str, SubstitutePerson] = {}
        directory = directory_for(c, tenant_id)
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
        if not found:
            continue
        changes = [AccountChange(uid, enabled=False, revoke_sessions=True) for uid in found]
        for user_id, res in (await directory.apply_account_changes(changes, leave_date_allowed=False)).items():
            if not (res.ok or res.gone):
                counts.add("failed")
                continue
            person = found[user_id]
            async with c.db.session() as s:
                audit.record(s, at=now, actor=actor, action="re_disabled", subject_type="person",
                             subject_id=person.id, person_id=person.id,
                             details={"tenant_id": tenant_id, "entra_user_id": user_id, "reason": "enabled_after_end"})
            log.warning("re_disabled_after_end", person_id=person.id)
            counts.add("re_disabled")
    return counts.as_dict()


# ------------------------------------------------------------------------------------------- starting


async def activate_due(c: Container, *, actor: str = "job:activate") -> dict[str, int]:
    """Enable accounts whose period has started; resume provisioning that was deferred or cut short."""
    counts = Counts()
    now = c.clock.now()
    async with c.db.session() as s:
        pending = await repo.due(s, [Status.REQUESTED, Status.PROVISIONING])
        starting = [p for p in await repo.due(s, [Status.SCHEDULED], starts_before=now) if p.ends_at > now]
    for p in pending:  # ended ones are the expire job's; provision() skips claimed ones
        if p.ends_at > now and (p.next_attempt_at is None or p.next_attempt_at <= now):
            await provision(c, p.id)
            counts.add("provisioning_resumed")
    if not starting:
        return counts.as_dict()
    persons, all_periods = await _load_people(c, sorted({p.person_id for p in starting}))
    by_tenant: dict[str, list[AccountChange]] = defaultdict(list)
    for person in persons.values():
        if person.entra_user_id:
            want = target(c.config, all_periods[person.id], now)
            by_tenant[person.tenant_id].append(
                AccountChange(person.entra_user_id, enabled=want.enabled, leave_date=want.leave_date)
            )
    results: dict[str, ChangeResult] = {}
    for tenant, changes in by_tenant.items():
        results.update(await directory_for(c, tenant).apply_account_changes(
            changes, leave_date_allowed=leave_date_allowed(c, tenant)))
    for p in starting:
        person = persons[p.person_id]
        res = results.get(person.entra_user_id or "")
        if res is None or not res.ok:
            counts.add("failed")
            continue
        async with c.db.session() as s:
            if await repo.transition(s, p.id, [Status.SCHEDULED], status=Status.ACTIVE, activated_at=now):
                audit.record(s, at=now, actor=actor, action="activated", subject_type="period", subject_id=p.id,
                             person_id=p.person_id, school=p.school,
                             details={"late_seconds": int((now - p.starts_at).total_seconds())})
                counts.add("activated")
    return counts.as_dict()


# ------------------------------------------------------------------------------------------- reconcile


async def reconcile(c: Container, *, actor: str = "job:reconcile") -> dict[str, int]:
    """Compare Entra with idops and repair drift, tenant by tenant:

    - an account enabled although none of its periods is running → disabled again (audited);
    - a marked account idops has no record of → reported, and disabled when policy says so;
    - a live period whose account was deleted in Entra → ``missing``.
    """
    counts = Counts()
    marker = _marker(c)
    for tenant_id in c.config.region.tenants():
        directory = directory_for(c, tenant_id)
        now = c.clock.now()
        async with c.db.session() as s:
            known = await repo.persons_with_account(s, tenant_id)
        periods = (await _load_people(c, [p.id for p in known.values()]))[1] if known else {}
        to_disable: list[AccountChange] = []
        reasons: dict[str, str] = {}
        seen: set[str] = set()
        try:
            async for page in directory.list_managed_users(marker):
                for user in page:
                    seen.add(user.id)
                    person = known.get(user.id)
                    if person is None:
                        async with c.db.session() as s:
                            if await repo.upsert_orphan(s, tenant_id, user.id, user.user_principal_name, now):
                                audit.record(s, at=now, actor=actor, action="orphan_found", subject_type="orphan",
                                             subject_id=user.id, details={"tenant_id": tenant_id,
                                                                          "enabled": user.account_enabled},
                                             personal={"upn": user.user_principal_name})
                                counts.add("orphans_found")
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
        if to_disable:
            results = await directory.apply_account_changes(to_disable, leave_date_allowed=False)
            for user_id, res in results.items():
                if not res.ok:
                    counts.add("failed")
                    continue
                person = known.get(user_id)
                async with c.db.session() as s:
                    audit.record(s, at=now, actor=actor, action=reasons[user_id],
                                 subject_type="person" if person else "orphan",
                                 subject_id=person.id if person else user_id,
                                 person_id=person.id if person else None, details={"tenant_id": tenant_id})
                counts.add(reasons[user_id])
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
            async with c.db.session() as s:
                for p in live:
                    if await repo.transition(s, p.id, list(LIVE), status=Status.MISSING, ended_at=now):
                        audit.record(s, at=now, actor=actor, action="missing", subject_type="period",
                                     subject_id=p.id, person_id=person.id, school=p.school,
                                     details={"entra_user_id": user_id})
                        counts.add("missing")
    return counts.as_dict()


# ------------------------------------------------------------------------------------------- purge


async def purge(c: Container, *, actor: str = "job:purge") -> dict[str, int]:
    """Delete accounts whose every period ended more than the grace period ago; scrub personal data
    of persons whose last period ended more than the retention period ago."""
    counts = Counts()
    now = c.clock.now()
    async with c.db.session() as s:
        ended = await repo.due(s, [*ENDED, Status.MISSING, Status.FAILED], ends_before=now, limit=100000)
    by_person: dict[str, list[SubstitutePeriod]] = defaultdict(list)
    for p in ended:
        by_person[p.person_id].append(p)
    persons, all_periods = await _load_people(c, sorted(by_person))
    for person_id, person in persons.items():
        periods = all_periods[person_id]
        if any(p.status in LIVE for p in periods):
            continue
        municipality = c.config.region.municipality(person.municipality)
        pol = c.config.policy_for(municipality, None) if municipality else c.config.settings.policy
        last_end = max((p.ended_at or p.ends_at) for p in periods)
        if person.entra_user_id and last_end + timedelta(days=pol.grace_days) <= now:
            try:
                await directory_for(c, person.tenant_id).delete_user(person.entra_user_id)
            except GraphError as exc:
                log.warning("purge_delete_failed", person_id=person_id, error=type(exc).__name__)
                counts.add("failed")
                continue
            async with c.db.session() as s:
                row = await repo.get_person(s, person_id)
                assert row is not None
                row.account_deleted_at = now
                for period in periods:
                    if await repo.transition(s, period.id, [*ENDED, Status.MISSING], status=Status.DELETED,
                                             deleted_at=now):
                        audit.record(s, at=now, actor=actor, action="deleted", subject_type="period",
                                     subject_id=period.id, person_id=person_id, school=period.school)
                counts.add("accounts_deleted")
        if person.scrubbed_at is None and last_end + timedelta(days=pol.retention_days) <= now:
            async with c.db.session() as s:
                row = await repo.get_person(s, person_id)
                assert row is not None
                row.given_name = row.surname = row.search_name = "-"
                row.email = row.mobile_phone = row.display_name = None
                row.user_principal_name = row.mail_nickname = None
                row.scrubbed_at = now
                await audit.anonymise_person(s, person_id)
                audit.record(s, at=now, actor=actor, action="scrubbed", subject_type="person",
                             subject_id=person_id, person_id=person_id)
            counts.add("persons_scrubbed")
    return counts.as_dict()


# ------------------------------------------------------------------------------------------- notify


async def notify_expiring(c: Container, *, actor: str = "job:notify_expiring") -> dict[str, int]:
    """E-mail the school's principals once, a configured time before an account ends."""
    counts = Counts()
    now = c.clock.now()
    async with c.db.session() as s:
        active = await repo.due(s, [Status.ACTIVE, Status.SCHEDULED])
    for period in active:
        found = c.config.region.school(period.school)
        if found is None or period.notified_at is not None or period.ends_at <= now:
            continue
        municipality, school = found
        pol = c.config.policy_for(municipality, school)
        if period.ends_at - timedelta(hours=pol.notify_before_hours) > now:
            continue
        if municipality.notification_sender and school.principals.object_ids:
            directory = directory_for(c, period.tenant_id)
            try:
                recipients = []
                for oid in school.principals.object_ids:
                    try:
                        user = await directory.get_user(oid)
                    except GraphNotFound:
                        continue
                    if user.mail:
                        recipients.append(user.mail)
                if recipients:
                    await directory.send_mail(
                        municipality.notification_sender, recipients,
                        "Sijaistunnus päättymässä / Substitute account ending",
                        _notice_text(period, school.name),
                    )
                    counts.add("sent")
                else:
                    counts.add("no_recipient")
            except GraphError as exc:
                log.warning("notify_failed", period_id=period.id, error=type(exc).__name__)
                counts.add("failed")
                continue
        else:
            counts.add("not_configured")
        async with c.db.session() as s:
            if await repo.transition(s, period.id, [Status.ACTIVE, Status.SCHEDULED], notified_at=now):
                audit.record(s, at=now, actor=actor, action="expiry_notice", subject_type="period",
                             subject_id=period.id, person_id=period.person_id, school=period.school)
    return counts.as_dict()


def _notice_text(period: SubstitutePeriod, school_name: str) -> str:
    from idops.substitutes.policy import fmt, fmt_en

    return (
        f"Koulun {school_name} sijaistunnus päättyy {fmt(period.ends_at)}. Voit jatkaa sen voimassaoloa "
        f"idopsissa (tunnus {period.id}).\n\n"
        f"A substitute account of {school_name} ends on {fmt_en(period.ends_at)} (Helsinki time). "
        f"You can extend it in idops (id {period.id})."
    )
