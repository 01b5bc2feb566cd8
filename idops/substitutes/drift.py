"""The read side of drift: the orphans reconcile found and the corrections it made, as admins see them
(an IT admin their own municipalities', a region admin everyone's, unattributed orphans included)."""

from __future__ import annotations

from idops.auth.scope import Caller
from idops.kit.errors import Forbidden, Message
from idops.kit.pagination import decode_cursor, encode_cursor
from idops.substitutes.reconcile import DRIFT_ACTIONS
from idops.substitutes.repository import SubstitutesUnitOfWork
from idops.substitutes.schemas import CorrectionOut, DriftOut, OrphanOut

_ADMINS_ONLY = Message("Toiminto on vain pääkäyttäjille.", "Only administrators may do this.")


async def drift(uow: SubstitutesUnitOfWork, caller: Caller, *, cursor: str | None, limit: int) -> DriftOut:
    """Orphans and corrections in the caller's scope. Raises ``Forbidden`` for a principal."""
    if not caller.scope.is_admin:
        raise Forbidden(_ADMINS_ONLY)
    municipalities = None if caller.scope.role == "RegionAdmin" else sorted(caller.scope.municipalities)
    after = decode_cursor(cursor, 1)
    before_seq = int(after[0]) if after and isinstance(after[0], int) else None
    async with uow:
        orphans = await uow.substitutes.orphans(municipalities)
        rows = await uow.substitutes.drift_events(DRIFT_ACTIONS, municipalities, before_seq, limit + 1)
    items = [
        CorrectionOut(
            id=event.id,
            at=event.at,
            actor=event.actor,
            action=event.action,
            subject_type=event.subject_type,
            person_id=event.person_id,
            entra_user_id=event.details.get("entra_user_id"),
            user_principal_name=person.user_principal_name if person else (event.personal or {}).get("upn"),
            group_id=event.details.get("group_id"),
            sku_id=event.details.get("sku_id"),
        )
        for event, person in rows[:limit]
    ]
    return DriftOut(
        orphans=[OrphanOut.model_validate(o, from_attributes=True) for o in orphans],
        items=items,
        next=encode_cursor([rows[limit - 1][0].seq]) if len(rows) > limit else None,
    )
