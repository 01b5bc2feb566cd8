"""Provisioning a requested period: a sequence of idempotent steps, each recorded in its own
transaction, with Graph called between them (never inside one):

    UPN reserved → account ready (created / restored / reused) → access granted → done

A crash between any two steps is repaired by the next attempt (the API request itself, or the
``activate`` job). Transient Graph failures leave the period ``provisioning`` with a next attempt
time; permanent ones clean up what was half-created and end in ``failed``.
"""

from __future__ import annotations

from datetime import timedelta

import structlog

from idops.graph.errors import GraphConflict, GraphError, GraphForbidden, GraphNotFound
from idops.graph.port import AccountChange, Directory, DirectoryUser, NewUser
from idops.substitutes.access import school_groups, target
from idops.substitutes.accounts import adopt_lost_account, own_account, reserve_upn
from idops.substitutes.deps import SubstituteDeps
from idops.substitutes.ending import end_access
from idops.substitutes.models import (
    LIVE,
    PROVISIONING_CLAIM,
    ProvisionStep,
    Status,
    SubstitutePeriod,
    SubstitutePerson,
)
from idops.substitutes.passwords import random_password
from idops.substitutes.repository import SubstitutesUnitOfWork

log = structlog.get_logger("idops.substitutes")

MAX_ATTEMPTS = 12


class _Transient(Exception):
    pass


class _Permanent(Exception):
    pass


async def provision(uow: SubstitutesUnitOfWork, c: SubstituteDeps, period_id: str, *, claimed: bool = False) -> None:
    """Move one period forward as far as it can go now. Safe to call repeatedly and after crashes."""
    now = c.clock.now()
    if not claimed:
        async with uow:
            mine = await uow.substitutes.claim_for_provisioning(period_id, now, now + PROVISIONING_CLAIM)
            await uow.commit()
        if not mine:
            return
    async with uow:
        current = await uow.substitutes.get_period(period_id)
    if current is not None and current.step == ProvisionStep.CLEANUP:
        await _fail_and_clean(uow, c, period_id, current.last_error or "clean-up retried")
        return
    try:
        await _provision_steps(uow, c, period_id)
    except _Transient as exc:
        await _retry_later(uow, c, period_id, str(exc))
    except _Permanent as exc:
        await _fail_and_clean(uow, c, period_id, str(exc))


async def _load(
    uow: SubstitutesUnitOfWork, period_id: str
) -> tuple[SubstitutePeriod, SubstitutePerson, list[SubstitutePeriod]]:
    async with uow:
        pair = await uow.substitutes.period_with_person(period_id)
        if pair is None:
            raise _Permanent("period vanished")
        period, person = pair
        return period, person, list(await uow.substitutes.periods_of_person(person.id))


async def _provision_steps(uow: SubstitutesUnitOfWork, c: SubstituteDeps, period_id: str) -> None:
    period, person, periods = await _load(uow, period_id)
    if period.status not in (Status.REQUESTED, Status.PROVISIONING):
        return
    if period.ends_at <= c.clock.now():
        raise _Permanent("the period ended before its account could be provisioned")
    async with uow:
        await uow.substitutes.transition(period_id, [Status.REQUESTED], status=Status.PROVISIONING)
        await uow.commit()
    directory = c.directories.for_tenant(period.tenant_id)
    created_now = False

    if period.step in (ProvisionStep.NONE, ProvisionStep.UPN_RESERVED):
        user, how = await _ensure_account(uow, c, directory, person, periods)
        created_now = how == "created"
        async with uow:
            row = await uow.substitutes.get_person(person.id)
            assert row is not None
            row.entra_user_id, row.account_deleted_at = user.id, None
            row.user_principal_name = user.user_principal_name
            ok = await uow.substitutes.transition(period_id, LIVE, step=ProvisionStep.ACCOUNT_READY)
            uow.audit.record(
                at=c.clock.now(),
                actor="idops",
                action=f"account_{how}",
                subject_type="period",
                subject_id=period_id,
                person_id=person.id,
                school=period.school,
                details={"entra_user_id": user.id},
                personal={"upn": user.user_principal_name},
            )
            await uow.commit()
        if not ok:
            await _end_if_no_longer_live(uow, c, period_id)
            return
        period, person, periods = await _load(uow, period_id)

    if period.step == ProvisionStep.ACCOUNT_READY:
        assert person.entra_user_id
        want = target(c.config, periods, c.clock.now())
        groups, skus = school_groups(c.config, period.school)
        change = AccountChange(
            person.entra_user_id,
            add_groups=tuple(sorted(groups)),
            add_skus=tuple(sorted(skus)),
        )
        if not created_now:  # a reused or restored account: set enabled/leave date for the new period
            change.enabled = want.enabled
            change.leave_date = want.leave_date
        result = (
            await directory.apply_account_changes(
                [change],
                leave_date_allowed=c.leave_dates.allowed(period.tenant_id),
                replication_wait=c.config.settings.graph.replication_wait_seconds,
            )
        )[person.entra_user_id]
        if result.gone:
            async with uow:
                row = await uow.substitutes.get_person(person.id)
                assert row is not None
                row.entra_user_id = None
                await uow.substitutes.transition(period_id, LIVE, step=ProvisionStep.UPN_RESERVED)
                await uow.commit()
            raise _Transient("account vanished; it will be recreated")
        if not result.ok:
            if result.transient:
                raise _Transient("; ".join(result.errors))
            raise _Permanent("; ".join(result.errors))
        c.seats.consume(period.tenant_id, skus)
        async with uow:
            ok = await uow.substitutes.transition(period_id, LIVE, step=ProvisionStep.ACCESS_GRANTED)
            await uow.commit()
        if not ok:
            await _end_if_no_longer_live(uow, c, period_id)
            return
        period, person, periods = await _load(uow, period_id)

    if period.step == ProvisionStep.ACCESS_GRANTED:
        now = c.clock.now()
        running = period.starts_at <= now < period.ends_at
        status = Status.ACTIVE if running else Status.SCHEDULED
        async with uow:
            ok = await uow.substitutes.transition(
                period_id,
                [Status.REQUESTED, Status.PROVISIONING],
                status=status,
                step=ProvisionStep.DONE,
                next_attempt_at=None,
                last_error=None,
                activated_at=now if running else None,
            )
            if ok:
                uow.audit.record(
                    at=now,
                    actor="idops",
                    action="provisioned",
                    subject_type="period",
                    subject_id=period_id,
                    person_id=person.id,
                    school=period.school,
                    details={"status": status.value},
                )
            await uow.commit()
        if not ok:
            await _end_if_no_longer_live(uow, c, period_id)


async def _ensure_account(
    uow: SubstitutesUnitOfWork,
    c: SubstituteDeps,
    directory: Directory,
    person: SubstitutePerson,
    periods: list[SubstitutePeriod],
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
        return await _create(uow, c, directory, person, periods), "created"
    except GraphError as exc:
        raise (_Transient if exc.retryable else _Permanent)(f"{type(exc).__name__}: {exc.code}") from exc


async def _create(
    uow: SubstitutesUnitOfWork,
    c: SubstituteDeps,
    directory: Directory,
    person: SubstitutePerson,
    periods: list[SubstitutePeriod],
) -> DirectoryUser:
    s_cfg = c.config.settings.substitutes
    tried: set[str] = set()
    municipality = c.config.region.municipality(person.municipality)
    domain = municipality.upn_domain if municipality else person.user_principal_name.split("@")[1]  # type: ignore[union-attr]
    for _ in range(10):
        want = target(c.config, periods, c.clock.now())
        assert person.user_principal_name and person.mail_nickname
        new = NewUser(
            user_principal_name=person.user_principal_name,
            display_name=person.display_name or person.surname,
            mail_nickname=person.mail_nickname,
            given_name=person.given_name,
            surname=person.surname,
            account_enabled=want.enabled,
            password=random_password(),
            usage_location=s_cfg.usage_location,
            employee_type=s_cfg.employee_type,
            employee_id=person.id,
            employee_leave_date_time=want.leave_date if c.leave_dates.allowed(person.tenant_id) else None,
            extension_attributes={s_cfg.marker_attribute: s_cfg.marker_value},
            other_mails=(person.email,) if person.email else (),
            mobile_phone=person.mobile_phone,
        )
        try:
            return await directory.create_user(new)
        except GraphForbidden:
            if new.employee_leave_date_time is None or not c.leave_dates.allowed(person.tenant_id):
                raise
            c.leave_dates.forbid(person.tenant_id)
        except GraphConflict:
            mine = await own_account(directory, person)
            if mine is not None:  # an earlier attempt created it and crashed before recording it
                return mine
            # Someone outside idops holds this UPN: take the next free one and remember it first.
            tried.add(person.user_principal_name)
            async with uow:
                row = await uow.substitutes.get_person(person.id)
                assert row is not None
                await reserve_upn(uow, row, domain, skip=tried)
                await uow.commit()
            person.user_principal_name, person.mail_nickname = row.user_principal_name, row.mail_nickname
            log.info("upn_collision", person_id=person.id, attempt=len(tried))
    raise _Permanent("no free user principal name")


def _backoff(attempts: int) -> timedelta:
    return min(timedelta(minutes=15), timedelta(seconds=15 * 2 ** min(attempts, 6)))


async def _retry_later(
    uow: SubstitutesUnitOfWork, c: SubstituteDeps, period_id: str, error: str, *, cleanup: bool = False
) -> None:
    """Defer to a later attempt (the ``activate`` job resumes it). Gives up after MAX_ATTEMPTS."""
    async with uow:
        period = await uow.substitutes.get_period(period_id)
        if period is None or period.status not in (Status.REQUESTED, Status.PROVISIONING):
            return
        attempts = period.attempts + 1
        give_up = attempts >= MAX_ATTEMPTS and not cleanup
        if not give_up:
            period.attempts, period.last_error = attempts, error[:500]
            period.status, period.next_attempt_at = Status.PROVISIONING, c.clock.now() + _backoff(attempts)
            if cleanup:
                period.step = ProvisionStep.CLEANUP
            uow.audit.record(
                at=c.clock.now(),
                actor="idops",
                action="provisioning_retry",
                subject_type="period",
                subject_id=period_id,
                school=period.school,
                details={"attempt": attempts, "error": error[:200], "cleanup": cleanup},
            )
            await uow.commit()
            log.info("provisioning_deferred", period_id=period_id, attempt=attempts, cleanup=cleanup)
            return
    await _fail_and_clean(uow, c, period_id, f"gave up after {MAX_ATTEMPTS} attempts: {error}")


async def _fail_and_clean(uow: SubstitutesUnitOfWork, c: SubstituteDeps, period_id: str, error: str) -> None:
    """End in ``failed`` with nothing half-created left behind in Entra. If the clean-up itself cannot
    reach Graph, the period waits in step ``cleanup`` and the clean-up is retried — never forgotten."""
    period, person, periods = await _load(uow, period_id)
    if period.status not in LIVE:
        return
    now = c.clock.now()
    others = [p for p in periods if p.id != period.id and p.status not in (Status.FAILED, Status.DELETED)]
    directory = c.directories.for_tenant(period.tenant_id)
    try:
        await adopt_lost_account(uow, directory, person)
        if person.entra_user_id and not others:
            await directory.delete_user(person.entra_user_id)
            await directory.purge_deleted_user(person.entra_user_id)
        elif person.entra_user_id:
            want = target(c.config, others, now)
            groups, skus = school_groups(c.config, period.school)
            res = (
                await directory.apply_account_changes(
                    [
                        AccountChange(
                            person.entra_user_id,
                            enabled=want.enabled,
                            remove_groups=tuple(sorted(groups - want.groups)),
                            remove_skus=tuple(sorted(skus - want.skus)),
                        )
                    ],
                    leave_date_allowed=False,
                )
            )[person.entra_user_id]
            if not (res.ok or res.gone):
                raise _Transient("; ".join(res.errors))
    except (GraphError, _Transient) as exc:
        await _retry_later(uow, c, period_id, f"{error}; clean-up pending: {type(exc).__name__}", cleanup=True)
        return
    async with uow:
        if not others:
            row = await uow.substitutes.get_person(person.id)
            if row is not None and row.entra_user_id:
                row.entra_user_id, row.account_deleted_at = None, now
        if await uow.substitutes.transition(
            period_id, LIVE, status=Status.FAILED, next_attempt_at=None, last_error=error[:500], ended_at=now
        ):
            uow.audit.record(
                at=now,
                actor="idops",
                action="failed",
                subject_type="period",
                subject_id=period_id,
                person_id=person.id,
                school=period.school,
                details={"reason": error[:300]},
            )
        await uow.commit()
    log.warning("provisioning_failed", period_id=period_id, error=error[:300])


async def _end_if_no_longer_live(uow: SubstitutesUnitOfWork, c: SubstituteDeps, period_id: str) -> None:
    """Provisioning lost a race with revoke/expiry: make sure the account ends up without access."""
    await end_access(uow, c, [period_id], actor="idops", force=True)
