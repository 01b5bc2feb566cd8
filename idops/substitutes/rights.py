"""Data-subject rights over a substitute person, exercised by the IT admins of the person's municipality
(and region admins): see everything idops holds (``export``), erase it now (``erase``), and put the
data under a legal hold that stops both (``set_legal_hold`` / ``lift_legal_hold``).

Scope: a person belongs to the municipality where they first substituted. Only admins who see that
municipality whole see the person; everyone else — principals, the admins of another municipality,
also one sharing the tenant (Lempäälä and Vesilahti) — gets the same 404 as for a person who does
not exist.

Erasure is refused (409) while

- a **legal hold** is on (lift it first: the hold exists precisely to stop deletion), or
- a period is **open** (requested, scheduled or running) and the admin has not confirmed that the
  erasure ends it now (``end_open_periods``): a principal counts on that substitute, so ending the
  substitution must be a deliberate choice — then each open period is revoked by the admin, as
  ``POST /v1/substitutes/{id}/revoke`` would, before anything is erased; or
- an account is being **provisioned** at this moment (a provisioning claim is held): the
  provisioner would write the new account onto the erased person; retry in a few minutes.

Every export and erasure is audited; the events carry counts, never the exported or erased values.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import structlog

from idops.auth.scope import Caller
from idops.kit.errors import Conflict, GraphUnavailableError, Message, NotFound
from idops.substitutes.deps import SubstituteDeps
from idops.substitutes.ending import end_access
from idops.substitutes.models import LIVE, Status, SubstitutePeriod, SubstitutePerson
from idops.substitutes.repository import ForgettingUnitOfWork
from idops.substitutes.retention import account_present, delete_account, last_end, policy_of, scrub_person
from idops.substitutes.schemas import (
    ErasureIn,
    ErasureOut,
    ExportAccount,
    ExportEvent,
    ExportMembership,
    ExportPeriod,
    ExportPerson,
    ExportRetention,
    ExportSignInDay,
    LegalHoldOut,
    PersonDetail,
    PersonExport,
)
from idops.substitutes.views import to_out

log = structlog.get_logger("idops.substitutes")

PERSON_NOT_FOUND = Message("Sijaista ei löytynyt.", "Substitute person not found.")
UNDER_HOLD = Message(
    "Henkilön tiedoilla on oikeudellinen säilytysvelvoite (legal hold): niitä ei voi poistaa ennen kuin "
    "säilytysvelvoite puretaan.",
    "The person's data is under a legal hold: it cannot be erased until the hold is lifted.",
)
OPEN_PERIODS = Message(
    "Henkilöllä on avoimia sijaisuuksia. Päätä ne ensin tai vahvista, että poisto päättää ne heti.",
    "The person has open substitutions. End them first, or confirm that erasure ends them now "
    "(end_open_periods).",
)
BEING_PROVISIONED = Message(
    "Henkilön tunnusta käsitellään juuri nyt; yritä poistoa uudelleen muutaman minuutin kuluttua.",
    "The person's account is being provisioned right now; retry the erasure in a few minutes.",
)
NOT_ENDED = Message(
    "Sijaisuuksia ei saatu päätettyä juuri nyt (hakemistopalvelu ei vastannut). Ne on merkitty "
    "päättyviksi; yritä poistoa uudelleen hetken kuluttua.",
    "The substitutions could not be ended right now (the directory did not answer). They are marked "
    "to end; retry the erasure shortly.",
)
ALREADY_ERASED = Message("Henkilön tiedot on jo poistettu.", "The person's data has already been removed.")

#: Microsoft's part, for the export's ``processors`` (docs/data-protection.md lists the details).
PROCESSORS = [
    "Microsoft Corporation / Microsoft Ireland Operations Ltd: Microsoft Entra ID and Microsoft Graph "
    "(the account itself, its sign-in log and registration state live in the municipality's tenant)",
]


def actor_role(actor: str | None) -> str:
    """An actor without the person behind it: ``Principal:<oid>`` → ``Principal``; jobs stay as they are.
    A data subject's export must not hand out the ids of the staff who handled their data."""
    if not actor:
        return ""
    role, sep, _ = actor.partition(":")
    return role if sep and role in ("Principal", "ItAdmin", "RegionAdmin") else actor


async def visible_person(
    uow: ForgettingUnitOfWork, caller: Caller, person_id: str
) -> tuple[SubstitutePerson, list[SubstitutePeriod]]:
    """The person and their periods if the caller is an admin who sees the person's municipality
    whole; otherwise exactly the same 404 as for a person who does not exist."""
    if not caller.scope.is_admin:
        raise NotFound(PERSON_NOT_FOUND)
    async with uow:
        person = await uow.substitutes.get_person(person_id)
        if person is None or not caller.scope.sees_municipality(person.municipality):
            raise NotFound(PERSON_NOT_FOUND)
        periods = sorted(await uow.substitutes.periods_of_person(person_id), key=lambda p: p.starts_at)
    return person, periods


def _hold(person: SubstitutePerson) -> LegalHoldOut | None:
    if person.legal_hold_at is None:
        return None
    return LegalHoldOut(at=person.legal_hold_at, by=actor_role(person.legal_hold_by), reason=person.legal_hold_reason)


def _dues(
    c: SubstituteDeps, person: SubstitutePerson, periods: list[SubstitutePeriod]
) -> tuple[datetime | None, datetime | None, datetime | None]:
    """(last end, account deletion due, scrub due) — None while a period is open or a hold is on."""
    if person.scrubbed_at is not None or any(p.status in LIVE for p in periods):
        return None, None, None
    end = last_end(person, periods)
    if person.legal_hold_at is not None:
        return end, None, None
    pol = policy_of(c, person)
    return end, end + timedelta(days=pol.grace_days), end + timedelta(days=pol.retention_days)


async def detail(uow: ForgettingUnitOfWork, c: SubstituteDeps, caller: Caller, person_id: str) -> PersonDetail:
    person, periods = await visible_person(uow, caller, person_id)
    scrubbed = person.scrubbed_at is not None
    return PersonDetail(
        person_id=person.id,
        municipality=person.municipality,
        given_name=None if scrubbed else person.given_name,
        surname=None if scrubbed else person.surname,
        display_name=person.display_name,
        email=person.email,
        mobile_phone=person.mobile_phone,
        user_principal_name=person.user_principal_name,
        entra_user_id=person.entra_user_id,
        created_at=person.created_at,
        account_deleted_at=person.account_deleted_at,
        scrubbed_at=person.scrubbed_at,
        legal_hold=_hold(person),
        scrub_due_at=_dues(c, person, periods)[2],
        periods=[to_out(p, person) for p in reversed(periods)],
    )


async def export(uow: ForgettingUnitOfWork, c: SubstituteDeps, caller: Caller, person_id: str) -> PersonExport:
    """Everything idops holds about the person: the person row, every period, every audit event about
    them or their periods, their account in the directory mirror and its sign-in aggregate, and when
    retention will remove what is left. Nothing about anyone else: actors are reduced to their role.
    Audited (``exported``, with counts only)."""
    person, periods = await visible_person(uow, caller, person_id)
    now = c.clock.now()
    account: dict[str, Any] | None = None
    memberships: list[dict[str, Any]] = []
    days: list[Any] = []
    async with uow:
        events = await uow.audit.events_naming(person.id, [p.id for p in periods])
        if person.entra_user_id:
            tenant = person.tenant_id.lower()
            account, memberships = await uow.directory.account(tenant, person.entra_user_id)
            days = await uow.signins.days_of_user(tenant, person.entra_user_id)
    end, deletion_due, scrub_due = _dues(c, person, periods)
    pol = policy_of(c, person)
    municipality = c.config.region.municipality(person.municipality)
    out = PersonExport(
        generated_at=now,
        controller=municipality.name if municipality else person.municipality,
        person=ExportPerson(
            id=person.id,
            tenant_id=person.tenant_id,
            municipality=person.municipality,
            given_name=person.given_name,
            surname=person.surname,
            display_name=person.display_name,
            email=person.email,
            mobile_phone=person.mobile_phone,
            user_principal_name=person.user_principal_name,
            mail_nickname=person.mail_nickname,
            entra_user_id=person.entra_user_id,
            created_at=person.created_at,
            created_by=actor_role(person.created_by),
            account_deleted_at=person.account_deleted_at,
            scrubbed_at=person.scrubbed_at,
            legal_hold=_hold(person),
        ),
        periods=[
            ExportPeriod(
                id=p.id, school=p.school, municipality=p.municipality, status=p.status, starts_at=p.starts_at,
                ends_at=p.ends_at, original_ends_at=p.original_ends_at, created_at=p.created_at,
                created_by=actor_role(p.created_by), activated_at=p.activated_at, ended_at=p.ended_at,
                revoked_at=p.revoked_at, revoked_by=actor_role(p.revoked_by) or None, notified_at=p.notified_at,
                deleted_at=p.deleted_at, last_error=p.last_error,
            )
            for p in periods
        ],
        events=[
            ExportEvent(
                id=e.id, at=e.at, actor=actor_role(e.actor), action=e.action, subject_type=e.subject_type,
                subject_id=e.subject_id, school=e.school, details=dict(e.details or {}), personal=e.personal,
            )
            for e in events
        ],
        directory_account=None if account is None else ExportAccount(
            tenant_id=account["tenant_id"], user_id=account["user_id"], user_principal_name=account["upn"],
            display_name=account["display_name"], mail=account["mail"], employee_id=account["employee_id"],
            account_enabled=account["account_enabled"], employee_type=account["employee_type"],
            employee_hire_date=account["employee_hire_date"], is_mfa_registered=account["is_mfa_registered"],
            is_mfa_capable=account["is_mfa_capable"], is_passwordless_capable=account["is_passwordless_capable"],
            methods_registered=list(account["methods_registered"] or []),
            report_updated_at=account["report_updated_at"], synced_at=account["synced_at"],
            memberships=[
                ExportMembership(municipality=m["municipality"], school=m["school"], role=m["role"],
                                 excluded_reason=m["excluded_reason"])
                for m in memberships
            ],
        ),
        sign_ins=[
            ExportSignInDay(day=d.day, app_id=d.app_id, app_display_name=d.app_display_name, sign_ins=d.sign_ins,
                            mfa_sign_ins=d.mfa_sign_ins, failed_sign_ins=d.failed_sign_ins)
            for d in days
        ],
        retention=ExportRetention(
            grace_days=pol.grace_days, retention_days=pol.retention_days, last_end=end,
            account_deletion_due_at=deletion_due, scrub_due_at=scrub_due,
        ),
        processors=PROCESSORS,
    )
    async with uow:
        uow.audit.record(
            at=now, actor=caller.actor, action="exported", subject_type="person", subject_id=person.id,
            person_id=person.id, details={"periods": len(out.periods), "events": len(out.events)},
        )
        await uow.commit()
    log.info("person_exported", person_id=person.id)
    return out


async def erase(
    uow: ForgettingUnitOfWork, c: SubstituteDeps, caller: Caller, person_id: str, body: ErasureIn
) -> ErasureOut:
    """Erase the person now: end open periods (only with ``body.end_open_periods``), delete the Entra
    account and purge it from the recycle bin, then scrub everything idops holds (as retention would,
    at once). Refusals: see the module docstring. Graph failures raise before anything is scrubbed
    (503/502); the erasure can simply be retried. Idempotent: an erased person answers
    ``already_erased``."""
    person, periods = await visible_person(uow, caller, person_id)
    now = c.clock.now()
    if person.scrubbed_at is not None:
        return ErasureOut(person_id=person.id, erased_at=person.scrubbed_at, already_erased=True, periods_ended=0,
                          account_deleted=False)
    if person.legal_hold_at is not None:
        raise Conflict(UNDER_HOLD, code="legal_hold")
    open_periods = [p for p in periods if p.status in LIVE]
    if open_periods and not body.end_open_periods:
        raise Conflict(OPEN_PERIODS, code="open_periods", open_periods=[p.id for p in open_periods])
    if any(p.status in (Status.REQUESTED, Status.PROVISIONING) and p.next_attempt_at and p.next_attempt_at > now
           for p in open_periods):
        raise Conflict(BEING_PROVISIONED, code="provisioning")
    ended = await _end_open_periods(uow, c, caller, person, open_periods, now) if open_periods else 0
    async with uow:
        fresh = await uow.substitutes.get_person(person.id)
        periods = list(await uow.substitutes.periods_of_person(person.id))
    assert fresh is not None
    person = fresh
    if any(p.status in LIVE for p in periods):
        raise GraphUnavailableError(NOT_ENDED)
    deleted = False
    if account_present(person):
        deleted = await delete_account(uow, c, person, periods, actor=caller.actor, purge_deleted=True)
    elif person.entra_user_id:  # deleted after the grace period, maybe still restorable from the recycle bin
        await c.directories.for_tenant(person.tenant_id).purge_deleted_user(person.entra_user_id)
    async with uow:
        await scrub_person(uow, person.id, now, actor=caller.actor, action="erased",
                           details={"periods_ended": ended, "account_deleted": deleted})
        await uow.commit()
    c.metrics.persons_scrubbed.inc()
    log.info("person_erased", person_id=person.id, periods_ended=ended, account_deleted=deleted)
    return ErasureOut(person_id=person.id, erased_at=now, already_erased=False, periods_ended=ended,
                      account_deleted=deleted)


async def _end_open_periods(
    uow: ForgettingUnitOfWork, c: SubstituteDeps, caller: Caller, person: SubstitutePerson,
    open_periods: list[SubstitutePeriod], now: datetime,
) -> int:
    """Revoke the open periods as the caller (recorded first, as ``changes.revoke`` does), then take
    the account's access away. Returns how many this call revoked."""
    revoked = 0
    async with uow:
        for p in open_periods:
            if await uow.substitutes.transition(
                p.id, list(LIVE), ends_at=min(p.ends_at, now), revoked_at=now, revoked_by=caller.actor
            ):
                uow.audit.record(at=now, actor=caller.actor, action="revoke_requested", subject_type="period",
                                 subject_id=p.id, person_id=person.id, school=p.school, details={"erasure": True})
                revoked += 1
        await uow.commit()
    await end_access(uow, c, [p.id for p in open_periods], actor=caller.actor)
    return revoked


async def set_legal_hold(
    uow: ForgettingUnitOfWork, c: SubstituteDeps, caller: Caller, person_id: str, reason: str
) -> PersonDetail:
    """Put the person's data under a legal hold (or change its reference): the nightly purge neither
    deletes the account nor scrubs the person, and erasure is refused, until the hold is lifted."""
    person, _ = await visible_person(uow, caller, person_id)
    if person.scrubbed_at is not None:
        raise Conflict(ALREADY_ERASED)
    now = c.clock.now()
    async with uow:
        row = await uow.substitutes.get_person(person.id)
        assert row is not None
        row.legal_hold_at, row.legal_hold_by, row.legal_hold_reason = now, caller.actor, reason
        uow.audit.record(at=now, actor=caller.actor, action="legal_hold_set", subject_type="person",
                         subject_id=person.id, person_id=person.id, personal={"reason": reason})
        await uow.commit()
    return await detail(uow, c, caller, person_id)


async def lift_legal_hold(uow: ForgettingUnitOfWork, c: SubstituteDeps, caller: Caller, person_id: str) -> PersonDetail:
    """Lift the hold; retention resumes (what came due meanwhile goes on the next nightly purge).
    Lifting a hold that is not on changes nothing."""
    person, _ = await visible_person(uow, caller, person_id)
    if person.legal_hold_at is not None:
        now = c.clock.now()
        async with uow:
            row = await uow.substitutes.get_person(person.id)
            assert row is not None
            row.legal_hold_at = row.legal_hold_by = row.legal_hold_reason = None
            uow.audit.record(at=now, actor=caller.actor, action="legal_hold_lifted", subject_type="person",
                             subject_id=person.id, person_id=person.id)
            await uow.commit()
    return await detail(uow, c, caller, person_id)
