"""Requesting and provisioning substitute accounts.

A request is committed (status ``requested``) before any Graph call. Provisioning is a sequence
of idempotent steps, each recorded in its own unit of work, so a crash between any two steps is
repaired by the next attempt (the API request itself, or the ``activate`` job):

    UPN reserved → account ready (created / restored / reused) → access granted → done

Transient Graph failures leave the period ``provisioning`` with a next attempt time; permanent
ones clean up what was half-created and end in ``failed``.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import string
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy.exc import IntegrityError

from idops.audit import repository as audit
from idops.auth.scope import Caller
from idops.graph.errors import GraphConflict, GraphError, GraphForbidden, GraphNotFound
from idops.graph.port import AccountChange, Directory, DirectoryUser, NewUser
from idops.kit.errors import Conflict, Message, NotFound
from idops.substitutes import names, policy
from idops.substitutes import repository as repo
from idops.substitutes.access import school_groups, target
from idops.substitutes.models import (
    LIVE,
    IdempotencyRecord,
    ProvisionStep,
    Status,
    SubstitutePeriod,
    SubstitutePerson,
)
from idops.substitutes.schemas import SubstituteRequest
from idops.substitutes.seats import SeatCache

if TYPE_CHECKING:
    from idops.bootstrap import Container

log = structlog.get_logger("idops.substitutes")

CLAIM = timedelta(minutes=2)
MAX_ATTEMPTS = 12

NOT_FOUND = Message("Sijaistunnusta ei löytynyt.", "Substitute account not found.")
NO_SEATS = Message(
    "Koulun lisenssit ovat loppuneet: uutta sijaistunnusta ei voi luoda ennen kuin lisenssejä vapautuu tai "
    "niitä hankitaan lisää.",
    "The school has no licences left: no new substitute account can be created until seats are freed or bought.",
)


# --------------------------------------------------------------------------------------------- helpers


def seat_cache(c: Container) -> SeatCache:
    cache: SeatCache = c.extras.setdefault(
        "seat_cache", SeatCache(timedelta(seconds=c.config.settings.substitutes.sku_cache_seconds))
    )
    return cache


def leave_date_allowed(c: Container, tenant_id: str) -> bool:
    return c.config.settings.substitutes.set_leave_date and tenant_id not in c.extras.setdefault(
        "leave_date_forbidden", set()
    )


def forbid_leave_date(c: Container, tenant_id: str) -> None:
    c.extras.setdefault("leave_date_forbidden", set()).add(tenant_id)
    log.warning("leave_date_not_permitted", tenant=tenant_id,
                hint="grant User-LifeCycleInfo.ReadWrite.All to set employeeLeaveDateTime")


def directory_for(c: Container, tenant_id: str) -> Directory:
    return c.directories.for_tenant(tenant_id)


def random_password() -> str:
    """A strong one-time password (never stored, never logged)."""
    alphabet = string.ascii_letters + string.digits
    core = "".join(secrets.choice(alphabet) for _ in range(16))
    return core[:8] + secrets.choice("!#%+-=?") + secrets.choice(string.digits) + core[8:] + "Aa"


def request_hash(body: SubstituteRequest) -> str:
    data = body.model_dump(mode="json")
    # The same instant written with another offset is the same request.
    data["starts_at"], data["ends_at"] = body.starts_at.timestamp(), body.ends_at.timestamp()
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def mask_email(email: str | None) -> str | None:
    if not email or "@" not in email:
        return None
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


@dataclass
class RequestResult:
    period_id: str
    created: bool  # False when an Idempotency-Key replayed an earlier request


# --------------------------------------------------------------------------------------------- request


async def request_substitute(
    c: Container, caller: Caller, body: SubstituteRequest, idempotency_key: str | None
) -> RequestResult:
    """Validate and durably record a request, then provision it. Raises typed domain errors."""
    if not caller.scope.sees_school(body.school):
        raise NotFound(Message("Koulua ei löytynyt.", "School not found."))
    found = c.config.region.school(body.school)
    if found is None:  # pragma: no cover - scope only holds configured schools
        raise NotFound()
    municipality, school = found
    now = c.clock.now()
    pol = c.config.policy_for(municipality, school)
    starts_at = policy.check_new_period(pol, body.starts_at, body.ends_at, now)
    ends_at = body.ends_at
    key_hash = request_hash(body) if idempotency_key else None

    async with c.db.session() as s:
        if idempotency_key:
            record = await repo.get_idempotency(s, caller.actor, idempotency_key)
            if record is not None:
                if record.request_hash != key_hash:
                    raise Conflict(Message(
                        "Samaa Idempotency-Key-avainta käytettiin toiseen pyyntöön.",
                        "The Idempotency-Key was already used for a different request.",
                    ))
                if record.period_id:
                    first = await repo.get_period(s, record.period_id)
                    if first is not None and first.status == Status.FAILED and first.last_error == "no seats":
                        raise Conflict(NO_SEATS, period_id=first.id)  # the first answer was this 409: replay it
                    return RequestResult(record.period_id, created=False)
        person = await _person_for(c, s, caller, body, municipality.tenant_id, municipality.key)
        duplicate = None
        if person.id and body.person_id:
            duplicate = await repo.find_overlapping_for_person(s, person.id, body.school, starts_at, ends_at)
        elif not body.person_id:
            duplicate = await repo.find_live_duplicate_by_name(
                s, municipality.tenant_id, person.search_name, person.email, body.school, starts_at, ends_at
            )
        if duplicate is not None:
            raise Conflict(
                Message(
                    "Samalle henkilölle on jo sijaistunnus tähän kouluun samalle ajalle.",
                    "This person already has a substitute account at this school for that time.",
                ),
                existing_id=duplicate.id,
            )
        policy.check_quota(pol, await repo.count_overlapping(s, body.school, starts_at, ends_at), school.name)
        if person.user_principal_name is None:
            await _reserve_upn(c, s, person, municipality.upn_domain)
        period = SubstitutePeriod(
            person_id=person.id, school=body.school, municipality=municipality.key,
            tenant_id=municipality.tenant_id, starts_at=starts_at, ends_at=ends_at, original_ends_at=ends_at,
            status=Status.REQUESTED, step=ProvisionStep.UPN_RESERVED, created_at=now, created_by=caller.actor,
            request_id=structlog.contextvars.get_contextvars().get("request_id"), next_attempt_at=now + CLAIM,
        )
        s.add(period)
        await s.flush()
        if idempotency_key:
            s.add(IdempotencyRecord(caller=caller.actor, key=idempotency_key, request_hash=key_hash or "",
                                    period_id=period.id, created_at=now))
        audit.record(
            s, at=now, actor=caller.actor, action="requested", subject_type="period", subject_id=period.id,
            person_id=person.id, school=body.school,
            details={"starts_at": starts_at.isoformat(), "ends_at": ends_at.isoformat(),
                     "returning": bool(body.person_id)},
            personal={"upn": person.user_principal_name},
        )
        try:
            await s.flush()
        except IntegrityError as exc:  # the same Idempotency-Key raced in from a parallel request
            raise Conflict(Message("Sama pyyntö on jo käsittelyssä.", "The same request is already being processed."),
                           ) from exc
        period_id = period.id

    await _check_seats(c, period_id)
    await provision(c, period_id, claimed=True)
    return RequestResult(period_id, created=True)


async def _person_for(
    c: Container, s: Any, caller: Caller, body: SubstituteRequest, tenant_id: str, municipality: str
) -> SubstitutePerson:
    if body.person_id:
        person = await repo.get_person(s, body.person_id)
        visible = person is not None and person.tenant_id == tenant_id and person.scrubbed_at is None
        if visible and person is not None and not caller.scope.is_admin:
            periods = await repo.periods_of_person(s, person.id)
            visible = any(caller.scope.touches_municipality(p.municipality) for p in periods)
        if not visible or person is None:
            raise NotFound(Message("Sijaista ei löytynyt.", "Substitute person not found."))
        if body.contact and body.contact.email:
            person.email = body.contact.email
        return person
    contact = body.contact
    person = SubstitutePerson(
        tenant_id=tenant_id, municipality=municipality, given_name=body.given_name, surname=body.surname,
        search_name=names.search_key(body.given_name, body.surname),
        email=contact.email if contact else None, mobile_phone=contact.mobile_phone if contact else None,
        display_name=names.display_name(c.config.settings.substitutes.display_name_template, body.given_name,
                                        body.surname),
        created_at=c.clock.now(), created_by=caller.actor,
    )
    s.add(person)
    await s.flush()
    return person


async def _reserve_upn(c: Container, s: Any, person: SubstitutePerson, domain: str, *, skip: set[str] | None = None
                       ) -> None:
    """Pick the first UPN not used by any idops person of the tenant (Entra collisions come later)."""
    # The prefix all numbered candidates share: a shortened long name ("aleksandra-ka.…2") no longer
    # starts with its unshortened base, so base[:20] missed earlier holders and the insert hit the unique key.
    prefix = os.path.commonprefix(list(names.candidates(person.given_name, person.surname)))  # noqa: RUF071 - strings, not paths
    taken = await repo.upns_like(s, person.tenant_id, prefix[:20])
    taken |= skip or set()
    given, surname = person.given_name, person.surname
    for _ in range(5):
        upn, nickname = names.choose_upn(given, surname, domain, lambda u: u in taken)
        try:
            async with s.begin_nested():  # a parallel request may take the same UPN first
                person.user_principal_name, person.mail_nickname = upn, nickname
                await s.flush()
            return
        except IntegrityError:
            taken.add(upn)
            await s.refresh(person)  # the rolled-back savepoint expired it; async code must not lazy-load
    raise Conflict(Message("Tunnuksen nimeä ei saatu varattua; yritä uudelleen.",
                           "Could not reserve an account name; please retry."))


async def _check_seats(c: Container, period_id: str) -> None:
    """Refuse (409) when the school's licence has no free seat; the refusal is recorded."""
    async with c.db.session() as s:
        period = await repo.get_period(s, period_id)
        assert period is not None
        _, skus = school_groups(c.config, period.school)
        tenant, school = period.tenant_id, period.school
    if not skus:
        return
    free = await seat_cache(c).available(directory_for(c, tenant), skus, c.clock.now())
    if all(n > 0 for n in free.values()):
        return
    async with c.db.session() as s:
        if await repo.transition(s, period_id, [Status.REQUESTED], status=Status.FAILED, last_error="no seats",
                                 next_attempt_at=None):
            audit.record(s, at=c.clock.now(), actor="idops", action="failed", subject_type="period",
                         subject_id=period_id, school=school, details={"reason": "no_seats", "free": free})
            # A new person refused before any account existed gives the UPN back, so the next request
            # for them does not become "aino.aijala2" next to a name nobody holds.
            pair = await repo.period_with_person(s, period_id)
            if pair is not None and pair[1].entra_user_id is None and pair[1].account_deleted_at is None and all(
                p.id == period_id for p in await repo.periods_of_person(s, pair[1].id)
            ):
                pair[1].user_principal_name = pair[1].mail_nickname = None
    raise Conflict(NO_SEATS, period_id=period_id)


# --------------------------------------------------------------------------------------------- provisioning


class _Transient(Exception):
    pass


class _Permanent(Exception):
    pass


async def provision(c: Container, period_id: str, *, claimed: bool = False) -> None:
    """Move one period forward as far as it can go now. Safe to call repeatedly and after crashes."""
    now = c.clock.now()
    if not claimed:
        async with c.db.session() as s:
            if not await repo.claim_for_provisioning(s, period_id, now, now + CLAIM):
                return
    async with c.db.session() as s:
        current = await repo.get_period(s, period_id)
    if current is not None and current.step == ProvisionStep.CLEANUP:
        await _fail_and_clean(c, period_id, current.last_error or "clean-up retried")
        return
    try:
        await _provision_steps(c, period_id)
    except _Transient as exc:
        await _retry_later(c, period_id, str(exc))
    except _Permanent as exc:
        await _fail_and_clean(c, period_id, str(exc))


async def _load(c: Container, period_id: str) -> tuple[SubstitutePeriod, SubstitutePerson, list[SubstitutePeriod]]:
    async with c.db.session() as s:
        pair = await repo.period_with_person(s, period_id)
        if pair is None:
            raise _Permanent("period vanished")
        period, person = pair
        periods = list(await repo.periods_of_person(s, person.id))
        return period, person, periods


async def _provision_steps(c: Container, period_id: str) -> None:
    period, person, periods = await _load(c, period_id)
    if period.status not in (Status.REQUESTED, Status.PROVISIONING):
        return
    now = c.clock.now()
    if period.ends_at <= now:
        raise _Permanent("the period ended before its account could be provisioned")
    async with c.db.session() as s:
        await repo.transition(s, period_id, [Status.REQUESTED], status=Status.PROVISIONING)
    directory = directory_for(c, period.tenant_id)
    created_now = False

    if period.step in (ProvisionStep.NONE, ProvisionStep.UPN_RESERVED):
        user, how = await _ensure_account(c, directory, person, periods)
        created_now = how == "created"
        async with c.db.session() as s:
            p = await repo.get_person(s, person.id)
            assert p is not None
            p.entra_user_id, p.account_deleted_at = user.id, None
            p.user_principal_name = user.user_principal_name
            ok = await repo.transition(s, period_id, LIVE, step=ProvisionStep.ACCOUNT_READY)
            audit.record(s, at=c.clock.now(), actor="idops", action=f"account_{how}", subject_type="period",
                         subject_id=period_id, person_id=person.id, school=period.school,
                         details={"entra_user_id": user.id}, personal={"upn": user.user_principal_name})
        if not ok:
            await _end_if_no_longer_live(c, period_id)
            return
        period, person, periods = await _load(c, period_id)

    if period.step == ProvisionStep.ACCOUNT_READY:
        assert person.entra_user_id
        want = target(c.config, periods, c.clock.now())
        groups, skus = school_groups(c.config, period.school)
        change = AccountChange(
            person.entra_user_id, add_groups=tuple(sorted(groups)), add_skus=tuple(sorted(skus)),
        )
        if not created_now:  # a reused or restored account: set enabled/leave date for the new period
            change.enabled = want.enabled
            change.leave_date = want.leave_date
        result = (await directory.apply_account_changes(
            [change], leave_date_allowed=leave_date_allowed(c, period.tenant_id),
            replication_wait=c.config.settings.graph.replication_wait_seconds,
        ))[person.entra_user_id]
        if result.gone:
            async with c.db.session() as s:
                p = await repo.get_person(s, person.id)
                assert p is not None
                p.entra_user_id = None
                await repo.transition(s, period_id, LIVE, step=ProvisionStep.UPN_RESERVED)
            raise _Transient("account vanished; it will be recreated")
        if not result.ok:
            if result.transient:
                raise _Transient("; ".join(result.errors))
            raise _Permanent("; ".join(result.errors))
        seat_cache(c).consume(period.tenant_id, skus)
        async with c.db.session() as s:
            ok = await repo.transition(s, period_id, LIVE, step=ProvisionStep.ACCESS_GRANTED)
        if not ok:
            await _end_if_no_longer_live(c, period_id)
            return
        period, person, periods = await _load(c, period_id)

    if period.step == ProvisionStep.ACCESS_GRANTED:
        now = c.clock.now()
        running = period.starts_at <= now < period.ends_at
        status = Status.ACTIVE if running else Status.SCHEDULED
        async with c.db.session() as s:
            ok = await repo.transition(
                s, period_id, [Status.REQUESTED, Status.PROVISIONING], status=status, step=ProvisionStep.DONE,
                next_attempt_at=None, last_error=None, activated_at=now if running else None,
            )
            if ok:
                audit.record(s, at=now, actor="idops", action="provisioned", subject_type="period",
                             subject_id=period_id, person_id=person.id, school=period.school,
                             details={"status": status.value})
        if not ok:
            await _end_if_no_longer_live(c, period_id)


async def _ensure_account(
    c: Container, directory: Directory, person: SubstitutePerson, periods: list[SubstitutePeriod]
) -> tuple[DirectoryUser, str]:
    """The person's one account: reused if it exists, restored if soft-deleted, else created."""
    try:
        if person.entra_user_id:
            try:
                return await directory.get_user(person.entra_user_id), "reused"
            except GraphNotFound:
                try:
                    return await directory.restore_deleted_user(person.entra_user_id), "restored"
                except GraphNotFound:
                    pass  # purged for good: recreate under the same UPN where it is free
                except GraphConflict:
                    pass  # its UPN was reused meanwhile: a new account with a new UPN
        return await _create(c, directory, person, periods), "created"
    except GraphError as exc:
        raise (_Transient if exc.retryable else _Permanent)(f"{type(exc).__name__}: {exc.code}") from exc


async def _create(c: Container, directory: Directory, person: SubstitutePerson,
                  periods: list[SubstitutePeriod]) -> DirectoryUser:
    s_cfg = c.config.settings.substitutes
    tried: set[str] = set()
    municipality = c.config.region.municipality(person.municipality)
    domain = municipality.upn_domain if municipality else person.user_principal_name.split("@")[1]  # type: ignore[union-attr]
    for _ in range(10):
        want = target(c.config, periods, c.clock.now())
        assert person.user_principal_name and person.mail_nickname
        new = NewUser(
            user_principal_name=person.user_principal_name, display_name=person.display_name or person.surname,
            mail_nickname=person.mail_nickname, given_name=person.given_name, surname=person.surname,
            account_enabled=want.enabled, password=random_password(), usage_location=s_cfg.usage_location,
            employee_type=s_cfg.employee_type, employee_id=person.id,
            employee_leave_date_time=want.leave_date if leave_date_allowed(c, person.tenant_id) else None,
            extension_attributes={s_cfg.marker_attribute: s_cfg.marker_value},
            other_mails=(person.email,) if person.email else (),
            mobile_phone=person.mobile_phone,
        )
        try:
            return await directory.create_user(new)
        except GraphForbidden:
            if new.employee_leave_date_time is None or not leave_date_allowed(c, person.tenant_id):
                raise
            forbid_leave_date(c, person.tenant_id)
        except GraphConflict:
            mine = await _own_account(directory, person)
            if mine is not None:  # an earlier attempt created it and crashed before recording it
                return mine
            # Someone outside idops holds this UPN: take the next free one and remember it first.
            tried.add(person.user_principal_name)
            async with c.db.session() as s:
                p = await repo.get_person(s, person.id)
                assert p is not None
                await _reserve_upn(c, s, p, domain, skip=tried)
                person.user_principal_name, person.mail_nickname = p.user_principal_name, p.mail_nickname
            log.info("upn_collision", person_id=person.id, attempt=len(tried))
    raise _Permanent("no free user principal name")


async def _own_account(directory: Directory, person: SubstitutePerson) -> DirectoryUser | None:
    """The user under the person's reserved UPN if idops created it for this person (``employeeId``)."""
    if not person.user_principal_name:
        return None
    try:
        user = await directory.get_user(person.user_principal_name)
    except GraphNotFound:
        return None
    return user if user.employee_id == person.id else None


async def adopt_lost_account(c: Container, directory: Directory, person: SubstitutePerson) -> str | None:
    """A crash between Graph's create and our record of it leaves an account idops does not know:
    find it under the reserved UPN and record it, so expiry and clean-up reach it. Returns the
    person's account id (None when there is none). Raises ``GraphError`` when Graph cannot tell."""
    if person.entra_user_id:
        return person.entra_user_id
    user = await _own_account(directory, person)
    if user is None:
        return None
    async with c.db.session() as s:
        p = await repo.get_person(s, person.id)
        if p is not None and p.entra_user_id is None:
            p.entra_user_id = user.id
    person.entra_user_id = user.id
    log.warning("lost_account_adopted", person_id=person.id)
    return user.id


def _backoff(attempts: int) -> timedelta:
    return min(timedelta(minutes=15), timedelta(seconds=15 * 2 ** min(attempts, 6)))


async def _retry_later(c: Container, period_id: str, error: str, *, cleanup: bool = False) -> None:
    """Defer to a later attempt (the ``activate`` job resumes it). Gives up after MAX_ATTEMPTS."""
    async with c.db.session() as s:
        period = await repo.get_period(s, period_id)
        if period is None or period.status not in (Status.REQUESTED, Status.PROVISIONING):
            return
        attempts = period.attempts + 1
        give_up = attempts >= MAX_ATTEMPTS and not cleanup
        if not give_up:
            period.attempts, period.last_error = attempts, error[:500]
            period.status, period.next_attempt_at = Status.PROVISIONING, c.clock.now() + _backoff(attempts)
            if cleanup:
                period.step = ProvisionStep.CLEANUP
            audit.record(s, at=c.clock.now(), actor="idops", action="provisioning_retry", subject_type="period",
                         subject_id=period_id, school=period.school,
                         details={"attempt": attempts, "error": error[:200], "cleanup": cleanup})
            log.info("provisioning_deferred", period_id=period_id, attempt=attempts, cleanup=cleanup)
            return
    await _fail_and_clean(c, period_id, f"gave up after {MAX_ATTEMPTS} attempts: {error}")


async def _fail_and_clean(c: Container, period_id: str, error: str) -> None:
    """End in ``failed`` with nothing half-created left behind in Entra. If the clean-up itself cannot
    reach Graph, the period waits in step ``cleanup`` and the clean-up is retried — never forgotten."""
    period, person, periods = await _load(c, period_id)
    if period.status not in LIVE:
        return
    now = c.clock.now()
    others = [p for p in periods if p.id != period.id and p.status not in (Status.FAILED, Status.DELETED)]
    directory = directory_for(c, period.tenant_id)
    try:
        await adopt_lost_account(c, directory, person)
        if person.entra_user_id and not others:
            await directory.delete_user(person.entra_user_id)
            await directory.purge_deleted_user(person.entra_user_id)
        elif person.entra_user_id:
            want = target(c.config, others, now)
            groups, skus = school_groups(c.config, period.school)
            res = (await directory.apply_account_changes([AccountChange(
                person.entra_user_id, enabled=want.enabled,
                remove_groups=tuple(sorted(groups - want.groups)), remove_skus=tuple(sorted(skus - want.skus)),
            )], leave_date_allowed=False))[person.entra_user_id]
            if not (res.ok or res.gone):
                raise _Transient("; ".join(res.errors))
    except (GraphError, _Transient) as exc:
        await _retry_later(c, period_id, f"{error}; clean-up pending: {type(exc).__name__}", cleanup=True)
        return
    async with c.db.session() as s:
        if not others:
            p = await repo.get_person(s, person.id)
            if p is not None and p.entra_user_id:
                p.entra_user_id, p.account_deleted_at = None, now
        if await repo.transition(s, period_id, LIVE, status=Status.FAILED, next_attempt_at=None,
                                 last_error=error[:500]):
            audit.record(s, at=now, actor="idops", action="failed", subject_type="period", subject_id=period_id,
                         person_id=person.id, school=period.school, details={"reason": error[:300]})
    log.warning("provisioning_failed", period_id=period_id, error=error[:300])


async def _end_if_no_longer_live(c: Container, period_id: str) -> None:
    """Provisioning lost a race with revoke/expiry: make sure the account ends up without access."""
    from idops.substitutes.lifecycle import end_access

    await end_access(c, [period_id], actor="idops", force=True)


# --------------------------------------------------------------------------------------------- changes


async def visible_period(c: Container, caller: Caller, period_id: str) -> tuple[SubstitutePeriod, SubstitutePerson]:
    """The period if the caller may see its school — otherwise exactly the same 404 as a missing one."""
    async with c.db.session() as s:
        pair = await repo.period_with_person(s, period_id)
    if pair is None or not caller.scope.sees_school(pair[0].school):
        raise NotFound(NOT_FOUND)
    return pair


async def extend(c: Container, caller: Caller, period_id: str, ends_at: datetime) -> None:
    """Change the end of a running or upcoming period (within policy); the leave date follows."""
    period, person = await visible_period(c, caller, period_id)
    live = (Status.SCHEDULED, Status.ACTIVE, Status.PROVISIONING, Status.REQUESTED)
    if period.status not in live or period.revoked_at is not None:  # a recorded revoke is final
        raise Conflict(Message("Päättynyttä sijaisuutta ei voi muuttaa.", "An ended substitution cannot be changed."))
    now = c.clock.now()
    if ends_at <= now:
        raise policy.PolicyViolation(Message(
            "Uuden päättymisajan on oltava tulevaisuudessa; päätä tunnus heti toiminnolla 'Päätä nyt'.",
            "The new end must be in the future; use 'end now' to end the account at once.",
        ))
    found = c.config.region.school(period.school)
    assert found is not None
    policy.check_duration(c.config.policy_for(*found), period.starts_at, ends_at)
    async with c.db.session() as s:
        if not await repo.transition(s, period_id, list(LIVE), ends_at=ends_at, notified_at=None, not_revoked=True):
            raise Conflict(
                Message("Sijaisuus muuttui juuri; yritä uudelleen.", "The substitution just changed; retry.")
            )
        audit.record(s, at=now, actor=caller.actor, action="ends_at_changed", subject_type="period",
                     subject_id=period_id, person_id=person.id, school=period.school,
                     details={"from": period.ends_at.isoformat(), "to": ends_at.isoformat()})
    if person.entra_user_id and leave_date_allowed(c, period.tenant_id):
        async with c.db.session() as s:
            periods = list(await repo.periods_of_person(s, person.id))
        want = target(c.config, periods, now)
        res = await directory_for(c, period.tenant_id).apply_account_changes([AccountChange(
            person.entra_user_id, leave_date=want.leave_date)])
        if not res[person.entra_user_id].ok:  # the database is the truth; the leave date is a second net
            log.warning("leave_date_update_failed", period_id=period_id)


async def revoke(c: Container, caller: Caller, period_id: str) -> None:
    """End a period now. Recorded first (so the expire job finishes it if Graph is down), then applied."""
    from idops.substitutes.lifecycle import end_access

    period, person = await visible_period(c, caller, period_id)
    now = c.clock.now()
    if period.status in LIVE:
        async with c.db.session() as s:
            if await repo.transition(s, period_id, list(LIVE), ends_at=min(period.ends_at, now), revoked_at=now,
                                     revoked_by=caller.actor):
                audit.record(s, at=now, actor=caller.actor, action="revoke_requested", subject_type="period",
                             subject_id=period_id, person_id=person.id, school=period.school)
    elif period.status != Status.REVOKED:
        raise Conflict(Message("Sijaisuus on jo päättynyt.", "The substitution has already ended."))
    await end_access(c, [period_id], actor=caller.actor)
