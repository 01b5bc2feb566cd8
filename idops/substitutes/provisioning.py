"""Provisioning a requested period: a sequence of idempotent steps, each recorded in its own
transaction, with Graph called between them (never inside one):

    UPN reserved → account ready (created / restored / reused) → access granted → done

A crash between any two steps is repaired by the next attempt (the API request itself, or the
``activate`` job). Transient Graph failures leave the period ``provisioning`` with a next attempt
time; permanent ones clean up what was half-created and end in ``failed``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta

import structlog

from idops.graph.errors import GraphConflict, GraphError, GraphForbidden, GraphNotFound
from idops.graph.port import AccountChange, ChangeResult, Directory, DirectoryUser, NewUser
from idops.substitutes.access import apply_changes, no_seats, school_groups, target
from idops.substitutes.accounts import adopt_lost_account, own_account, reserve_upn
from idops.substitutes.deps import SubstituteDeps
from idops.substitutes.ending import end_access
from idops.substitutes.models import (
    LIVE,
    NO_SEATS_ERROR,
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
    except (_Transient, _Permanent) as exc:
        await _handle(uow, c, period_id, exc)


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
    ready = await _through_account(uow, c, period_id)
    if ready is None:
        return
    period, person, periods, created_at = ready
    decided_at: datetime | None = None  # resumed after access was granted: an earlier attempt decided it
    if period.step == ProvisionStep.ACCOUNT_READY:
        change, decided_at = _access_change(c, period, person, periods, created_at)
        results = await apply_changes(
            c, period.tenant_id, [change],
            replication_wait=c.config.settings.graph.replication_wait_seconds, new_accounts=created_at is not None,
        )
        if not await _record_access(uow, c, period_id, person, results[change.user_id]):
            return
        period, person, periods = await _load(uow, period_id)
    if period.step == ProvisionStep.ACCESS_GRANTED:
        await _finish(uow, c, period_id, person, decided_at)


async def provision_many(uow: SubstitutesUnitOfWork, c: SubstituteDeps, period_ids: Sequence[str]) -> None:
    """Provision periods claimed together (a bulk request) with their Graph work batched: each account is
    made as ``provision`` makes it, then the access of all of them goes to Graph in one
    ``apply_account_changes`` per tenant (the adapter sends it as ``$batch`` calls of 20 steps, so 20 new
    accounts' group and licence steps take 2 round trips instead of 20), then each is finished. A period's
    failure is its own, handled as ``provision`` handles it; Graph unreachable for the batch defers every
    period in it to the ``activate`` job."""
    batches: dict[tuple[str, bool], list[tuple[str, SubstitutePerson, AccountChange, datetime]]] = defaultdict(list)
    for period_id in period_ids:
        try:
            ready = await _through_account(uow, c, period_id)
            if ready is None:
                continue
            period, person, periods, created_at = ready
            if period.step == ProvisionStep.ACCOUNT_READY:
                change, decided_at = _access_change(c, period, person, periods, created_at)
                batches[(period.tenant_id, created_at is not None)].append((period_id, person, change, decided_at))
            elif period.step == ProvisionStep.ACCESS_GRANTED:
                await _finish(uow, c, period_id, person, None)
        except (_Transient, _Permanent) as exc:
            await _handle(uow, c, period_id, exc)
    for (tenant_id, new_accounts), batch in batches.items():
        try:
            results = await apply_changes(
                c, tenant_id, [change for _, _, change, _ in batch],
                replication_wait=c.config.settings.graph.replication_wait_seconds, new_accounts=new_accounts,
            )
        except GraphError as exc:
            for period_id, *_ in batch:
                await _retry_later(uow, c, period_id, f"{type(exc).__name__}: {exc.code}")
            continue
        for period_id, person, change, decided_at in batch:
            try:
                if await _record_access(uow, c, period_id, person, results[change.user_id]):
                    await _finish(uow, c, period_id, person, decided_at)
            except (_Transient, _Permanent) as exc:
                await _handle(uow, c, period_id, exc)


async def _handle(uow: SubstitutesUnitOfWork, c: SubstituteDeps, period_id: str, exc: Exception) -> None:
    if isinstance(exc, _Transient):
        await _retry_later(uow, c, period_id, str(exc))
    else:
        await _fail_and_clean(uow, c, period_id, str(exc))


async def _through_account(
    uow: SubstitutesUnitOfWork, c: SubstituteDeps, period_id: str
) -> tuple[SubstitutePeriod, SubstitutePerson, list[SubstitutePeriod], datetime | None] | None:
    """The claimed period marked ``provisioning`` and its person's account made (the first steps), with
    when this attempt created the account (None: it did not); None when there is nothing (more) to do."""
    period, person, periods = await _load(uow, period_id)
    if period.status not in (Status.REQUESTED, Status.PROVISIONING):
        return None
    if period.ends_at <= c.clock.now():
        raise _Permanent("the period ended before its account could be provisioned")
    async with uow:
        await uow.substitutes.transition(period_id, [Status.REQUESTED], status=Status.PROVISIONING)
        await uow.commit()
    if period.step not in (ProvisionStep.NONE, ProvisionStep.UPN_RESERVED):
        return period, person, periods, None
    live, created_at = await _account_step(uow, c, period, person, periods)
    if not live:
        return None
    period, person, periods = await _load(uow, period_id)
    return period, person, periods, created_at


async def _account_step(
    uow: SubstitutesUnitOfWork,
    c: SubstituteDeps,
    period: SubstitutePeriod,
    person: SubstitutePerson,
    periods: list[SubstitutePeriod],
) -> tuple[bool, datetime | None]:
    """Make sure the person has their account, and record it. Returns whether the period is still live
    (if not, its access is ended) and when this attempt created the account (None: it did not)."""
    directory = c.directories.for_tenant(period.tenant_id)
    user, how, created_at = await _ensure_account(uow, c, directory, person, periods)
    async with uow:
        row = await uow.substitutes.get_person(person.id)
        assert row is not None
        row.entra_user_id, row.account_deleted_at = user.id, None
        row.user_principal_name = user.user_principal_name
        ok = await uow.substitutes.transition(period.id, LIVE, step=ProvisionStep.ACCOUNT_READY)
        uow.audit.record(
            at=c.clock.now(),
            actor="idops",
            action=f"account_{how}",
            subject_type="period",
            subject_id=period.id,
            person_id=person.id,
            school=period.school,
            details={"entra_user_id": user.id},
            personal={"upn": user.user_principal_name},
        )
        await uow.commit()
    if not ok:
        await _end_if_no_longer_live(uow, c, period.id)
        return False, None
    return True, created_at


def _access_change(
    c: SubstituteDeps,
    period: SubstitutePeriod,
    person: SubstitutePerson,
    periods: list[SubstitutePeriod],
    created_at: datetime | None,
) -> tuple[AccountChange, datetime]:
    """The school's groups, and its licence when held now (policy ``licence_while``); and when the
    account's ``accountEnabled`` was decided — at ``created_at`` (the create of this attempt, if what it
    decided still holds), or now."""
    assert person.entra_user_id
    now = c.clock.now()
    want = target(c.config, periods, now)
    groups, skus = school_groups(c.config, period.school)
    change = AccountChange(
        person.entra_user_id,
        add_groups=tuple(sorted(groups)),
        add_skus=tuple(sorted(skus & want.skus)),
    )
    if created_at is not None and target(c.config, periods, created_at).enabled == want.enabled:
        return change, created_at
    # A reused or restored account, one an attempt that died created (its state decided then, for a
    # moment that has passed), or one created just before the period started: enabled and the leave
    # date for the period as it is now.
    change.enabled = want.enabled
    change.leave_date = want.leave_date
    return change, now


async def _record_access(
    uow: SubstitutesUnitOfWork, c: SubstituteDeps, period_id: str, person: SubstitutePerson, result: ChangeResult
) -> bool:
    """Judge the access change and record it. True when the period goes on to be finished; raises
    ``_Transient`` / ``_Permanent`` for a failed change."""
    if result.gone:
        async with uow:
            row = await uow.substitutes.get_person(person.id)
            assert row is not None
            row.entra_user_id = None
            await uow.substitutes.transition(period_id, LIVE, step=ProvisionStep.UPN_RESERVED)
            await uow.commit()
        raise _Transient("account vanished; it will be recreated")
    if not result.ok:
        if no_seats(result):  # the seat check trusted a count someone outside idops made stale
            raise _Permanent(NO_SEATS_ERROR)
        if result.transient:
            raise _Transient("; ".join(result.errors))
        raise _Permanent("; ".join(result.errors))
    async with uow:
        ok = await uow.substitutes.transition(period_id, LIVE, step=ProvisionStep.ACCESS_GRANTED)
        await uow.commit()
    if not ok:
        await _end_if_no_longer_live(uow, c, period_id)
    return ok


async def _finish(
    uow: SubstitutesUnitOfWork, c: SubstituteDeps, period_id: str, person: SubstitutePerson,
    decided_at: datetime | None,
) -> None:
    """Access granted: the period becomes active (running now) or scheduled.

    ``active`` promises an enabled account, so it is recorded only when this attempt decided the
    account's ``accountEnabled`` (at ``decided_at``: the create, or the access change) while the period
    was already running. Otherwise — its start came while provisioning worked (a slow Graph, or a crash
    between steps), or an earlier attempt decided it (None) — the period is ``scheduled``, due: the
    activate job enables the account in Entra before it records ``active``."""
    async with uow:
        period = await uow.substitutes.get_period(period_id)
    assert period is not None
    now = c.clock.now()
    running = period.starts_at <= now < period.ends_at
    enabled = decided_at is not None and period.starts_at <= decided_at
    status = Status.ACTIVE if running and enabled else Status.SCHEDULED
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
) -> tuple[DirectoryUser, str, datetime | None]:
    """The person's one account: reused if it exists, restored if soft-deleted, else created; and when
    it was created, if this call created it (``_create``)."""
    try:
        if person.entra_user_id:
            try:
                return await directory.get_user(person.entra_user_id), "reused", None
            except GraphNotFound:
                try:
                    return await directory.restore_deleted_user(person.entra_user_id), "restored", None
                except GraphNotFound:
                    pass  # purged for good: recreate under the same UPN where it is free
                except GraphConflict:
                    pass  # its UPN was reused meanwhile: a new account with a new UPN
        user, created_at = await _create(uow, c, directory, person, periods)
        return user, "created", created_at
    except GraphError as exc:
        raise (_Transient if exc.retryable else _Permanent)(f"{type(exc).__name__}: {exc.code}") from exc


async def _create(
    uow: SubstitutesUnitOfWork,
    c: SubstituteDeps,
    directory: Directory,
    person: SubstitutePerson,
    periods: list[SubstitutePeriod],
) -> tuple[DirectoryUser, datetime | None]:
    """A new account, enabled as the periods want it at the moment of the create; and that moment —
    None for the account an attempt that died created (found again), whose state it decided."""
    s_cfg = c.config.settings.substitutes
    tried: set[str] = set()
    municipality = c.config.region.municipality(person.municipality)
    domain = municipality.upn_domain if municipality else person.user_principal_name.split("@")[1]  # type: ignore[union-attr]
    for _ in range(10):
        now = c.clock.now()
        want = target(c.config, periods, now)
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
            return await directory.create_user(new), now
        except GraphForbidden:
            if new.employee_leave_date_time is None or not c.leave_dates.allowed(person.tenant_id):
                raise
            c.leave_dates.forbid(person.tenant_id)
        except GraphConflict:
            mine = await own_account(directory, person)
            if mine is not None:  # an earlier attempt created it and crashed before recording it
                return mine, None
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
                await apply_changes(
                    c,
                    period.tenant_id,
                    [
                        AccountChange(
                            person.entra_user_id,
                            enabled=want.enabled,
                            remove_groups=tuple(sorted(groups - want.groups)),
                            remove_skus=tuple(sorted(skus - want.skus)),
                        )
                    ],
                    leave_date=False,
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
