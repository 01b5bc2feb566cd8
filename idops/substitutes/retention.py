"""After the end: delete accounts once the grace period has passed, scrub personal data once the
retention period has passed (an anonymised audit trail and every count stay).

Who is retired: every person none of whose periods is live — whatever terminal state the periods
reached (expired, revoked, missing, failed before or during provisioning, deleted after grace, or a
mix: an account restored for a returning substitute and ended again). The clock starts at the
person's **last end** (``last_end``). Each nightly ``purge`` run picks up whatever has come due, so a
run that was missed is caught up by the next; each step is idempotent.

What scrubbing removes (``scrub_person``): names, search key, contact e-mail and phone, UPN, mail
nickname, display name, the Entra object id and a legal-hold reference from the person; ``personal``
and every naming value in ``details`` of the audit events about the person and their periods; the
account's rows in the directory mirror, the sign-in aggregate and the orphans table; a period's
``last_error`` where it quotes one of those values. Periods (school, dates, status) and the audit
trail's actions stay: they are the counts.

A **legal hold** on a person suspends both the account's deletion and the scrubbing until lifted.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import structlog

from idops.audit.anonymise import REDACTED, ids_in, names_anyone, needles
from idops.config import EffectivePolicy
from idops.graph.errors import GraphError
from idops.substitutes.accounts import adopt_lost_account
from idops.substitutes.counts import Counts
from idops.substitutes.deps import SubstituteDeps
from idops.substitutes.models import ENDED, Status, SubstitutePeriod, SubstitutePerson
from idops.substitutes.repository import ForgettingUnitOfWork, SubstitutesUnitOfWork

log = structlog.get_logger("idops.substitutes")


def policy_of(c: SubstituteDeps, person: SubstitutePerson) -> EffectivePolicy:
    """The person's municipality's effective policy (the region default if it is no longer configured)."""
    municipality = c.config.region.municipality(person.municipality)
    if municipality is None:
        base = c.config.settings.policy
        return EffectivePolicy(**{k: getattr(base, k) for k in EffectivePolicy.model_fields})
    return c.config.policy_for(municipality, None)


def last_end(person: SubstitutePerson, periods: Sequence[SubstitutePeriod]) -> datetime:
    """When the person's last period ended: when access was actually taken away (``ended_at``: expiry,
    revoke, a deleted account found missing, a failure), else the planned end. A person without
    periods (never the case through the API) counts from its creation."""
    return max((p.ended_at or p.ends_at for p in periods), default=person.created_at)


def account_present(person: SubstitutePerson) -> bool:
    """Whether Entra may still hold the person's account: recorded and not yet deleted, or a UPN was
    reserved and the create may have landed without being recorded (a crash)."""
    if person.account_deleted_at is not None:
        return False
    return bool(person.entra_user_id or person.user_principal_name)


async def purge(uow: ForgettingUnitOfWork, c: SubstituteDeps, *, actor: str = "job:purge") -> dict[str, int]:
    """Delete the accounts of retired persons ``grace_days`` after their last end, and scrub them
    ``retention_days`` after it (each the municipality's effective policy; scrubbing deletes the
    account first if it is still there, and empties it from Entra's recycle bin). Persons under a
    legal hold are counted in ``held`` and left alone; orphans not seen for the retention period are
    forgotten. Counts: ``accounts_deleted``, ``persons_scrubbed``, ``orphans_forgotten``, ``held``,
    ``failed`` (Graph refused; tried again on the next run)."""
    counts = Counts()
    now = c.clock.now()
    async with uow:
        persons = await uow.substitutes.persons_to_retire()
        periods = await uow.substitutes.periods_of_persons([p.id for p in persons])
    for person in persons:
        mine = periods[person.id]
        pol = policy_of(c, person)
        end = last_end(person, mine)
        scrub_due = end + timedelta(days=pol.retention_days) <= now
        delete_due = scrub_due or end + timedelta(days=pol.grace_days) <= now
        if not delete_due:
            continue
        if person.legal_hold_at is not None:
            counts.add("held")
            continue
        emptied = False
        if account_present(person):
            try:
                emptied = await delete_account(uow, c, person, mine, actor=actor, purge_deleted=scrub_due)
            except GraphError as exc:
                log.warning("purge_delete_failed", person_id=person.id, error=type(exc).__name__)
                counts.add("failed")
                continue
            if emptied:
                counts.add("accounts_deleted")
        if not scrub_due:
            continue
        if person.entra_user_id and not emptied and not await _empty_recycle_bin(c, person):
            counts.add("failed")
            continue
        async with uow:
            scrubbed = await scrub_person(uow, person.id, now, actor=actor, action="scrubbed")
            await uow.commit()
        if scrubbed:
            c.metrics.persons_scrubbed.inc()
            counts.add("persons_scrubbed")
    counts.merge(await forget_orphans(uow, c, now))
    if counts.get("persons_scrubbed"):
        log.info("persons_scrubbed", persons=counts["persons_scrubbed"])
    return counts.as_dict()


async def delete_account(
    uow: SubstitutesUnitOfWork,
    c: SubstituteDeps,
    person: SubstitutePerson,
    periods: Sequence[SubstitutePeriod],
    *,
    actor: str,
    purge_deleted: bool,
) -> bool:
    """Delete the person's Entra account (``purge_deleted``: also from the recycle bin, so nothing of
    it can be restored) and record it: ``account_deleted_at`` on the person, ended periods become
    ``deleted`` (audited). An account that was never recorded is looked for by its reserved UPN first.
    Returns whether an account was deleted. Raises ``GraphError``; nothing is recorded then."""
    directory = c.directories.for_tenant(person.tenant_id)
    user_id = await adopt_lost_account(uow, directory, person)
    now = c.clock.now()
    if user_id:
        await directory.delete_user(user_id)
        if purge_deleted:
            await directory.purge_deleted_user(user_id)
    async with uow:
        row = await uow.substitutes.get_person(person.id)
        assert row is not None
        row.account_deleted_at = now
        person.account_deleted_at = now
        if user_id:
            for period in periods:
                if await uow.substitutes.transition(
                    period.id, [*ENDED, Status.MISSING], status=Status.DELETED, deleted_at=now
                ):
                    uow.audit.record(
                        at=now,
                        actor=actor,
                        action="deleted",
                        subject_type="period",
                        subject_id=period.id,
                        person_id=person.id,
                        school=period.school,
                    )
        await uow.commit()
    return user_id is not None


#: How long Entra keeps a deleted user restorable before purging it itself (graph-facts.md §2).
RECYCLE_BIN = timedelta(days=30)


async def _empty_recycle_bin(c: SubstituteDeps, person: SubstitutePerson) -> bool:
    """Purge the deleted account from Entra's recycle bin before its id is forgotten (Entra would
    keep it, restorable, for up to 30 days). False when Graph refused: scrubbing waits a night —
    unless the deletion is older than the recycle bin's 30 days: Entra has purged the account itself,
    so a refusal (app-only purge is permission- and version-dependent) must not keep the person's
    data in idops past retention for ever."""
    assert person.entra_user_id
    try:
        await c.directories.for_tenant(person.tenant_id).purge_deleted_user(person.entra_user_id)
    except GraphError as exc:
        emptied_itself = (person.account_deleted_at is not None
                          and person.account_deleted_at + RECYCLE_BIN <= c.clock.now())
        log.warning("purge_recycle_bin_failed", person_id=person.id, error=type(exc).__name__,
                    scrubbing_anyway=emptied_itself)
        return emptied_itself
    return True


def personal_values(person: SubstitutePerson) -> list[str | None]:
    """Everything on the person row that identifies them."""
    return [
        person.given_name,
        person.surname,
        f"{person.given_name} {person.surname}",
        person.search_name,
        person.email,
        person.mobile_phone,
        person.user_principal_name,
        person.mail_nickname,
        person.display_name,
        person.entra_user_id,
    ]


async def scrub_person(
    uow: ForgettingUnitOfWork,
    person_id: str,
    now: datetime,
    *,
    actor: str,
    action: str,
    details: dict[str, object] | None = None,
) -> bool:
    """Remove the person's personal data everywhere idops holds it (see the module docstring) and
    record ``action`` (``scrubbed`` or ``erased``) on the person — the event names no one. Runs in
    the caller's open transaction; the caller commits. False when the person is gone or already
    scrubbed (idempotent)."""
    person = await uow.substitutes.get_person(person_id)
    if person is None or person.scrubbed_at is not None:
        return False
    periods = list(await uow.substitutes.periods_of_person(person_id))
    events = await uow.audit.events_naming(person_id, [p.id for p in periods])
    values = personal_values(person)
    account_ids = {person.entra_user_id.lower()} if person.entra_user_id else set()
    for event in events:  # UPNs and accounts the person had before (a collision, a recreated account)
        values += [v for v in (event.personal or {}).values() if isinstance(v, str)]
        account_ids |= ids_in(event.details)
    found = needles([*values, *account_ids])
    uow.audit.anonymise(events, found)
    for period in periods:
        if period.last_error and names_anyone(period.last_error, found):
            period.last_error = REDACTED
    tenant = person.tenant_id.lower()
    for account_id in sorted(account_ids):
        await uow.directory.forget_user(tenant, account_id)
        await uow.signins.forget_user(tenant, account_id)
        await uow.substitutes.forget_orphan(person.tenant_id, account_id)
        await uow.audit.anonymise_orphan(account_id, found)
    person.given_name = person.surname = person.search_name = "-"
    person.email = person.mobile_phone = person.display_name = None
    person.user_principal_name = person.mail_nickname = None
    person.entra_user_id = None
    person.legal_hold_reason = None
    person.scrubbed_at = now
    uow.audit.record(
        at=now,
        actor=actor,
        action=action,
        subject_type="person",
        subject_id=person_id,
        person_id=person_id,
        details=details,
    )
    return True


async def forget_orphans(uow: ForgettingUnitOfWork, c: SubstituteDeps, now: datetime) -> dict[str, int]:
    """Orphan accounts (marked accounts idops had no record of) that reconcile has not seen for the
    retention period (the longest of the tenant's municipalities): the row goes, with the account's
    rows in the directory mirror and the sign-in aggregate, and their audit events lose the UPN and
    the account id."""
    counts = Counts()
    region = c.config.region
    default = c.config.settings.policy.retention_days
    keep = {
        t: timedelta(days=max((c.config.policy_for(m, None).retention_days for m in region.municipalities_of_tenant(t)),
                              default=default))
        for t in region.tenants()
    }
    shortest = min([timedelta(days=default), *keep.values()])
    async with uow:
        for orphan in await uow.substitutes.orphans_unseen_since(now - shortest):
            if orphan.last_seen_at + keep.get(orphan.tenant_id, timedelta(days=default)) > now:
                continue
            found = needles([orphan.user_principal_name, orphan.entra_user_id])
            await uow.audit.anonymise_orphan(orphan.entra_user_id, found)
            await uow.directory.forget_user(orphan.tenant_id.lower(), orphan.entra_user_id)
            await uow.signins.forget_user(orphan.tenant_id.lower(), orphan.entra_user_id)
            counts.add("orphans_forgotten", await uow.substitutes.forget_orphan(orphan.tenant_id, orphan.entra_user_id))
        await uow.commit()
    return counts.as_dict()
