"""Requesting a substitute account: validate, record durably, then provision.

The request (person, period, Idempotency-Key, audit event) is committed in one transaction before
any Graph call; the seat check and provisioning follow, each in transactions of their own.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import NoReturn

import structlog

from idops.auth.scope import Caller
from idops.kit.errors import Conflict, FieldProblem, Message, NotFound
from idops.substitutes import names, policy
from idops.substitutes.access import holds_licence, school_groups
from idops.substitutes.accounts import release_unused_upn, reserve_upn
from idops.substitutes.deps import SubstituteDeps
from idops.substitutes.models import (
    NO_SEATS_ERROR,
    PROVISIONING_CLAIM,
    IdempotencyRecord,
    ProvisionStep,
    Status,
    SubstitutePeriod,
)
from idops.substitutes.provisioning import provision
from idops.substitutes.repository import SubstitutesUnitOfWork
from idops.substitutes.returning import resolve_person
from idops.substitutes.schemas import SubstituteRequest

log = structlog.get_logger("idops.substitutes")

NO_SEATS = Message(
    "Koulun lisenssit ovat loppuneet: uutta sijaistunnusta ei voi luoda ennen kuin lisenssejä vapautuu tai "
    "niitä hankitaan lisää.",
    "The school has no licences left: no new substitute account can be created until seats are freed or bought.",
)
_SCHOOL_NOT_FOUND = Message("Koulua ei löytynyt.", "School not found.")
_KEY_REUSED = Message(
    "Samaa Idempotency-Key-avainta käytettiin toiseen pyyntöön.",
    "The Idempotency-Key was already used for a different request.",
)
_IN_PROGRESS = Message("Sama pyyntö on jo käsittelyssä.", "The same request is already being processed.")
_DUPLICATE = Message(
    "Samalle henkilölle on jo sijaistunnus tähän kouluun samalle ajalle.",
    "This person already has a substitute account at this school for that time.",
)


@dataclass
class RequestResult:
    period_id: str
    created: bool  # False when an Idempotency-Key replayed an earlier request
    awaiting_approval: bool = False  # over a limit under ``on_limit = "approval"``: nothing provisioned yet
    to_provision: bool = False  # recorded and claimed: the caller provisions it (``record_request``)


def request_hash(body: SubstituteRequest) -> str:
    data = body.model_dump(mode="json")
    # The same instant written with another offset is the same request.
    data["starts_at"], data["ends_at"] = body.starts_at.timestamp(), body.ends_at.timestamp()
    if not body.force_new_person:  # absent and false are one request (and keys stored before it existed match)
        del data["force_new_person"]
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def period_problems(c: SubstituteDeps, school: str, starts_at: datetime, ends_at: datetime) -> list[FieldProblem]:
    """Every period rule a request for ``school`` would break now — what ``request_substitute`` refuses
    before anything else — so a form with other mistakes can show these too after one submit."""
    found = c.config.region.school(school)
    if found is None:
        return []
    return policy.period_problems(c.config.policy_for(*found), starts_at, ends_at, c.clock.now())


async def request_substitute(
    uow: SubstitutesUnitOfWork, c: SubstituteDeps, caller: Caller, body: SubstituteRequest, idempotency_key: str | None
) -> RequestResult:
    """Validate and durably record a request, then provision it. Raises typed domain errors: among them
    ``Conflict`` with ``candidates`` when the name matches earlier persons but no contact does (see
    ``returning``), and ``Conflict`` ``NO_SEATS`` when the school's licence has no free seat."""
    result = await record_request(uow, c, caller, body, idempotency_key)
    if result.to_provision:
        await provision(uow, c, result.period_id, claimed=True)
        await refuse_if_seats_ran_out(uow, result.period_id)
    return result


async def refuse_if_seats_ran_out(uow: SubstitutesUnitOfWork, period_id: str) -> None:
    """After provisioning: Graph refused the licence (a seat taken outside idops since the count was read)
    — the same 409 as the seat check's, and whatever provisioning created is gone again."""
    async with uow:
        done = await uow.substitutes.get_period(period_id)
    if done is not None and done.status == Status.FAILED and done.last_error == NO_SEATS_ERROR:
        await _refuse_for_seats(uow, period_id)


async def record_request(
    uow: SubstitutesUnitOfWork,
    c: SubstituteDeps,
    caller: Caller,
    body: SubstituteRequest,
    idempotency_key: str | None,
    *,
    taken: Counter[str] | None = None,
) -> RequestResult:
    """``request_substitute`` without the provisioning: validated, recorded, the seats checked. The
    result's ``to_provision`` says whether the caller must now provision the period (it holds the claim).
    ``taken``: seats earlier requests of the same batch will take (not yet assigned in Graph); a period
    that takes a seat adds to it."""
    if not caller.scope.sees_school(body.school):
        raise NotFound(_SCHOOL_NOT_FOUND)
    found = c.config.region.school(body.school)
    if found is None:  # pragma: no cover - scope only holds configured schools
        raise NotFound()
    municipality, school = found
    now = c.clock.now()
    pol = c.config.policy_for(municipality, school)
    starts_at, limits = policy.check_new_period_or_limits(pol, body.starts_at, body.ends_at, now)
    ends_at = body.ends_at
    key_hash = request_hash(body) if idempotency_key else None

    async with uow:
        if idempotency_key:
            record = await uow.substitutes.get_idempotency(caller.actor, idempotency_key)
            if record is not None:
                if record.request_hash != key_hash:
                    raise Conflict(_KEY_REUSED)
                if record.period_id:
                    first = await uow.substitutes.get_period(record.period_id)
                    if first is not None and first.status == Status.FAILED and first.last_error == NO_SEATS_ERROR:
                        raise Conflict(NO_SEATS, period_id=first.id)  # the first answer was this 409: replay it
                    return RequestResult(
                        record.period_id,
                        created=False,
                        awaiting_approval=first is not None and first.status == Status.AWAITING_APPROVAL,
                    )
        if not body.person_id and not body.force_new_person:
            duplicate = await uow.substitutes.find_live_duplicate_by_name(
                municipality.key,
                names.search_key(body.given_name, body.surname),
                body.contact.email if body.contact else None,
                body.school,
                starts_at,
                ends_at,
            )
            if duplicate is not None:  # a double-submitted form
                raise Conflict(_DUPLICATE, field="person", existing_id=duplicate.id)
        who = await resolve_person(uow, c, caller, body, municipality)
        person = who.person
        if not who.new:
            duplicate = await uow.substitutes.find_overlapping_for_person(person.id, body.school, starts_at, ends_at)
            if duplicate is not None:
                raise Conflict(_DUPLICATE, field="person", existing_id=duplicate.id)
        overlapping = await uow.substitutes.count_overlapping(body.school, starts_at, ends_at)
        if pol.on_limit == "approval" and overlapping >= pol.quota:
            limits.append("quota")
        else:
            policy.check_quota(pol, overlapping, school.name)
        if person.user_principal_name is None:
            await reserve_upn(uow, person, municipality.upn_domain)
        period = SubstitutePeriod(
            person_id=person.id,
            school=body.school,
            municipality=municipality.key,
            tenant_id=municipality.tenant_id,
            starts_at=starts_at,
            ends_at=ends_at,
            original_ends_at=ends_at,
            status=Status.AWAITING_APPROVAL if limits else Status.REQUESTED,
            approval_limits=",".join(limits) or None,
            step=ProvisionStep.UPN_RESERVED,
            created_at=now,
            created_by=caller.actor,
            request_id=structlog.contextvars.get_contextvars().get("request_id"),
            next_attempt_at=None if limits else now + PROVISIONING_CLAIM,
        )
        uow.substitutes.add(period)
        await uow.flush()
        if idempotency_key and not await uow.substitutes.try_add_idempotency(
            IdempotencyRecord(
                caller=caller.actor,
                key=idempotency_key,
                request_hash=key_hash or "",
                period_id=period.id,
                created_at=now,
            )
        ):
            raise Conflict(_IN_PROGRESS)  # the same key raced in from a parallel request
        if who.candidates:
            uow.audit.record(
                at=now,
                actor=caller.actor,
                action="new_person_forced",
                subject_type="person",
                subject_id=person.id,
                person_id=person.id,
                school=body.school,
                details={"candidates": list(who.candidates), "period_id": period.id},
            )
        uow.audit.record(
            at=now,
            actor=caller.actor,
            action="requested",
            subject_type="period",
            subject_id=period.id,
            person_id=person.id,
            school=body.school,
            details={
                "starts_at": starts_at.isoformat(),
                "ends_at": ends_at.isoformat(),
                "returning": not who.new,
                **({"matched_by": who.matched_by} if who.matched_by else {}),
            },
            personal={"upn": person.user_principal_name},
        )
        if limits:
            _record_approval_request(uow, now, period, limits)
        await uow.commit()
        period_id = period.id

    if limits or await _check_seats(uow, c, period_id, taken):
        log.info("approval_requested", period_id=period_id, limits=limits or ["seats"])
        return RequestResult(period_id, created=True, awaiting_approval=True)
    return RequestResult(period_id, created=True, to_provision=True)


async def _check_seats(
    uow: SubstitutesUnitOfWork, c: SubstituteDeps, period_id: str, taken: Counter[str] | None = None
) -> bool:
    """Refuse (409) when the period takes its school's licence now and the licence has no free seat (less
    those ``taken`` by the batch so far); the refusal is recorded. Near the edge
    (``substitutes.seat_margin``) the count is read fresh. Under ``on_limit = "approval"`` the period awaits
    approval instead: returns True."""
    async with uow:
        period = await uow.substitutes.get_period(period_id)
    assert period is not None
    _, skus = school_groups(c.config, period.school)
    if not skus or not holds_licence(c.config, period, c.clock.now()):
        return False  # the seat is taken at the start (licence_while = "active"), not now
    directory = c.directories.for_tenant(period.tenant_id)
    free = await c.seats.available(directory, skus, c.clock.now(), margin=c.config.settings.substitutes.seat_margin)
    if taken is not None:
        free = {sku: n - taken[sku] for sku, n in free.items()}
    if all(n > 0 for n in free.values()):
        if taken is not None:
            taken.update(free.keys())
        return False
    found = c.config.region.school(period.school)
    if found is not None and c.config.policy_for(*found).on_limit == "approval":
        async with uow:
            awaiting = await uow.substitutes.transition(
                period_id, [Status.REQUESTED], status=Status.AWAITING_APPROVAL, approval_limits="seats",
                next_attempt_at=None,
            )
            if awaiting:
                _record_approval_request(uow, c.clock.now(), period, ["seats"], free=free)
            await uow.commit()
        if awaiting:
            return True
    async with uow:
        if await uow.substitutes.transition(
            period_id, [Status.REQUESTED], status=Status.FAILED, last_error=NO_SEATS_ERROR, next_attempt_at=None,
            ended_at=c.clock.now(),  # the retention period counts from here (idops.substitutes.retention)
        ):
            uow.audit.record(
                at=c.clock.now(),
                actor="idops",
                action="failed",
                subject_type="period",
                subject_id=period_id,
                school=period.school,
                details={"reason": "no_seats", "free": free},
            )
        await uow.commit()
    await _refuse_for_seats(uow, period_id)


async def _refuse_for_seats(uow: SubstitutesUnitOfWork, period_id: str) -> NoReturn:
    """Answer a period failed for want of seats with 409, the person's unused UPN given back."""
    async with uow:
        await release_unused_upn(uow, period_id)
        await uow.commit()
    raise Conflict(NO_SEATS, period_id=period_id)


def _record_approval_request(
    uow: SubstitutesUnitOfWork, at: datetime, period: SubstitutePeriod, limits: list[str], **details: object
) -> None:
    uow.audit.record(
        at=at,
        actor="idops",
        action="approval_requested",
        subject_type="period",
        subject_id=period.id,
        school=period.school,
        details={"limits": limits, **details},
    )
