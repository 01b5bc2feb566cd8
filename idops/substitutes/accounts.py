"""The one Entra account of a substitute person: its name reserved, found again after a crash, adopted.

A crash between Graph's create and idops' record of it leaves an account idops does not know.
It carries the person's id in ``employeeId`` under the reserved UPN, so it can always be found
and recorded — never duplicated.
"""

from __future__ import annotations

import os

import structlog

from idops.graph.errors import GraphNotFound
from idops.graph.port import Directory, DirectoryUser
from idops.kit.errors import Conflict, Message
from idops.substitutes import names
from idops.substitutes.models import SubstitutePerson
from idops.substitutes.repository import SubstitutesUnitOfWork

log = structlog.get_logger("idops.substitutes")

_NO_UPN = Message(
    "Tunnuksen nimeä ei saatu varattua; yritä uudelleen.", "Could not reserve an account name; please retry."
)


async def own_account(directory: Directory, person: SubstitutePerson) -> DirectoryUser | None:
    """The user under the person's reserved UPN if idops created it for this person (``employeeId``)."""
    if not person.user_principal_name:
        return None
    try:
        user = await directory.get_user(person.user_principal_name)
    except GraphNotFound:
        return None
    return user if user.employee_id == person.id else None


async def adopt_lost_account(uow: SubstitutesUnitOfWork, directory: Directory, person: SubstitutePerson) -> str | None:
    """Record the person's account if Graph has one idops never recorded. Returns the person's
    account id (None when there is none). Raises ``GraphError`` when Graph cannot tell."""
    if person.entra_user_id:
        return person.entra_user_id
    user = await own_account(directory, person)
    if user is None:
        return None
    async with uow:
        row = await uow.substitutes.get_person(person.id)
        if row is not None and row.entra_user_id is None:
            row.entra_user_id = user.id
        await uow.commit()
    person.entra_user_id = user.id
    log.warning("lost_account_adopted", person_id=person.id)
    return user.id


async def reserve_upn(
    uow: SubstitutesUnitOfWork, person: SubstitutePerson, domain: str, *, skip: set[str] | None = None
) -> None:
    """Pick the first UPN not used by any idops person of the tenant (Entra collisions come later)."""
    # The prefix all numbered candidates share: a shortened long name ("aleksandra-ka.…2") no longer
    # starts with its unshortened base, so base[:20] missed earlier holders and the insert hit the unique key.
    prefix = os.path.commonprefix(list(names.candidates(person.given_name, person.surname)))  # noqa: RUF071 - strings, not paths
    taken = await uow.substitutes.upns_like(person.tenant_id, prefix[:20])
    taken |= skip or set()
    for _ in range(5):
        upn, nickname = names.choose_upn(person.given_name, person.surname, domain, lambda u: u in taken)
        if await uow.substitutes.try_take_upn(person, upn, nickname):  # a parallel request may take it first
            return
        taken.add(upn)
    raise Conflict(_NO_UPN)


async def release_unused_upn(uow: SubstitutesUnitOfWork, period_id: str) -> None:
    """A new person refused or denied before any account existed gives the UPN back, so the next request
    for them does not become "aino.aijala2" next to a name nobody holds. Call inside an open transaction."""
    pair = await uow.substitutes.period_with_person(period_id)
    if (
        pair is not None
        and pair[1].entra_user_id is None
        and all(p.id == period_id for p in await uow.substitutes.periods_of_person(pair[1].id))
    ):
        pair[1].user_principal_name = pair[1].mail_nickname = None
        pair[1].account_deleted_at = None
