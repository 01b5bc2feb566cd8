"""Approvals instead of refusals: a request over a limit under ``on_limit = "approval"`` waits in
``awaiting_approval`` until an IT admin of its municipality (or a region admin) decides.

Contracts:
- Only admins who see the period's municipality whole may decide; anyone else gets the same 404 as for
  a period that does not exist. A period no longer awaiting approval is a ``Conflict`` (decided once).
- Approve: ``awaiting_approval`` → ``requested`` and provisioning runs as for any request (Graph after
  the decision's transaction). Deny: → ``denied`` with the reason the principal sees; a UPN reserved for
  a person with no account is given back. Both are audited with the reason, and the requester is
  mailed the decision (``approval_notices.tell_decision``; the ``notify_approvals`` job retries a failed
  send).
"""

from __future__ import annotations

import structlog

from idops.auth.scope import Caller
from idops.kit.errors import Conflict, Message, NotFound
from idops.substitutes.accounts import release_unused_upn
from idops.substitutes.approval_notices import tell_decision
from idops.substitutes.changes import NOT_FOUND, visible_period
from idops.substitutes.deps import SubstituteDeps
from idops.substitutes.models import PROVISIONING_CLAIM, Status
from idops.substitutes.provisioning import provision
from idops.substitutes.repository import SubstitutesUnitOfWork

log = structlog.get_logger("idops.substitutes")

_DECIDED = Message("Pyyntö on jo käsitelty.", "The request has already been decided.")


async def _pending_for(uow: SubstitutesUnitOfWork, caller: Caller, period_id: str) -> str:
    period, _ = await visible_period(uow, caller, period_id)
    if not caller.scope.sees_municipality(period.municipality):
        raise NotFound(NOT_FOUND)
    if period.status != Status.AWAITING_APPROVAL:
        raise Conflict(_DECIDED)
    return period.school


async def approve(
    uow: SubstitutesUnitOfWork, c: SubstituteDeps, caller: Caller, period_id: str, reason: str | None
) -> None:
    """Approve and provision. Raises ``NotFound`` / ``Conflict`` (module doc)."""
    school = await _pending_for(uow, caller, period_id)
    now = c.clock.now()
    async with uow:
        if not await uow.substitutes.transition(
            period_id, [Status.AWAITING_APPROVAL], status=Status.REQUESTED, decision_reason=reason,
            next_attempt_at=now + PROVISIONING_CLAIM,  # ours: the activate job leaves it alone meanwhile
        ):
            raise Conflict(_DECIDED)
        uow.audit.record(
            at=now, actor=caller.actor, action="approved", subject_type="period", subject_id=period_id,
            school=school, details={"reason": reason},
        )
        await uow.commit()
    log.info("request_approved", period_id=period_id)
    await provision(uow, c, period_id, claimed=True)
    await tell_decision(uow, c, period_id)


async def deny(uow: SubstitutesUnitOfWork, c: SubstituteDeps, caller: Caller, period_id: str, reason: str) -> None:
    """Deny with ``reason`` (shown to the principal). Raises ``NotFound`` / ``Conflict`` (module doc)."""
    school = await _pending_for(uow, caller, period_id)
    now = c.clock.now()
    async with uow:
        if not await uow.substitutes.transition(
            period_id, [Status.AWAITING_APPROVAL], status=Status.DENIED, decision_reason=reason, next_attempt_at=None,
            ended_at=now,  # the retention period counts from here (idops.substitutes.retention)
        ):
            raise Conflict(_DECIDED)
        uow.audit.record(
            at=now, actor=caller.actor, action="denied", subject_type="period", subject_id=period_id,
            school=school, details={"reason": reason},
        )
        await release_unused_upn(uow, period_id)
        await uow.commit()
    log.info("request_denied", period_id=period_id)
    await tell_decision(uow, c, period_id)
