"""Who a request is for: a new person, or one who has substituted in the municipality before.

Substitutes come back, and one person should keep one account. A request that names no ``person_id``
is matched against the municipality's earlier persons by folded name (``names.search_key``: case,
diacritics and hyphen variants compare equal):

- same name and the same e-mail or mobile phone → that person, reused;
- same name, no matching contact → ``409`` listing the candidates (id, UPN, last school and end), so the
  form can ask "onko tämä sama henkilö?" — answered by sending the chosen ``person_id`` or
  ``force_new_person: true`` (recorded in the audit trail);
- no earlier person of that name → a new person.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from idops.auth.scope import Caller
from idops.config.region import Municipality
from idops.kit.errors import Conflict, Message, NotFound
from idops.substitutes import names
from idops.substitutes.deps import SubstituteDeps
from idops.substitutes.models import SubstitutePerson
from idops.substitutes.repository import SubstitutesUnitOfWork
from idops.substitutes.schemas import Contact, SubstituteRequest
from idops.substitutes.views import mask_email

PERSON_NOT_FOUND = Message("Sijaista ei löytynyt.", "Substitute person not found.")
SAME_PERSON = Message(
    "Kunnassa on jo samanniminen sijainen. Onko tämä sama henkilö? Valitse hänet, tai kerro, että kyseessä "
    "on uusi henkilö.",
    "The municipality already has a substitute of this name. Is this the same person? Choose them, or say "
    "that this is a new person.",
)


@dataclass(frozen=True)
class Resolved:
    person: SubstitutePerson
    new: bool
    matched_by: str | None = None  # "email" | "mobile_phone" for a returning person found by contact
    candidates: tuple[str, ...] = ()  # the same-named persons passed over with force_new_person


def phone_key(phone: str | None) -> str | None:
    """A mobile number compared by its digits, the Finnish country code folded: ``+358 40 123 4567``,
    ``00358401234567`` and ``040-123 4567`` are one number."""
    if not phone:
        return None
    digits = re.sub(r"\D", "", phone)
    for prefix in ("00358", "358"):
        if digits.startswith(prefix) and len(digits) > len(prefix) + 5:
            return "0" + digits[len(prefix):]
    return digits or None


def _matched_by(person: SubstitutePerson, contact: Contact | None) -> str | None:
    if contact is None:
        return None
    if contact.email and person.email and contact.email.casefold() == person.email.casefold():
        return "email"
    phone = phone_key(contact.mobile_phone)
    if phone and phone == phone_key(person.mobile_phone):
        return "mobile_phone"
    return None


async def resolve_person(
    uow: SubstitutesUnitOfWork, c: SubstituteDeps, caller: Caller, body: SubstituteRequest, municipality: Municipality
) -> Resolved:
    """The request's person (inside the caller's open transaction; a new one is added and flushed).
    Raises ``NotFound`` for a ``person_id`` of another municipality, ``Conflict`` with ``candidates``
    for a name match without a contact match."""
    contact = body.contact
    if body.person_id:
        # Persons belong to a municipality, not to a tenant: where municipalities share a tenant, a
        # person of one is invisible to the other (the school's municipality was checked against
        # the caller's scope before).
        person = await uow.substitutes.get_person(body.person_id)
        if person is None or person.municipality != municipality.key or person.scrubbed_at is not None:
            raise NotFound(PERSON_NOT_FOUND)
        _complete_contact(person, contact)
        return Resolved(person, new=False)
    key = names.search_key(body.given_name, body.surname)
    earlier = await uow.substitutes.persons_named(municipality.tenant_id, municipality.key, key)
    if earlier and not body.force_new_person:
        for person in earlier:  # newest first
            how = _matched_by(person, contact)
            if how is not None:
                _complete_contact(person, contact)
                return Resolved(person, new=False, matched_by=how)
        raise Conflict(SAME_PERSON, field="person", candidates=await _candidates(uow, earlier))
    person = SubstitutePerson(
        tenant_id=municipality.tenant_id,
        municipality=municipality.key,
        given_name=body.given_name,
        surname=body.surname,
        search_name=key,
        email=contact.email if contact else None,
        mobile_phone=contact.mobile_phone if contact else None,
        display_name=names.display_name(
            c.config.settings.substitutes.display_name_template, body.given_name, body.surname
        ),
        created_at=c.clock.now(),
        created_by=caller.actor,
    )
    uow.substitutes.add(person)
    await uow.flush()
    return Resolved(person, new=True, candidates=tuple(p.id for p in earlier))


def _complete_contact(person: SubstitutePerson, contact: Contact | None) -> None:
    """A returning person's contact as the request gives it (a new e-mail replaces the old; a phone
    number fills in)."""
    if contact is None:
        return
    if contact.email:
        person.email = contact.email
    if contact.mobile_phone:
        person.mobile_phone = contact.mobile_phone


async def _candidates(uow: SubstitutesUnitOfWork, persons: Sequence[SubstitutePerson]) -> list[dict[str, Any]]:
    periods = await uow.substitutes.periods_of_persons([p.id for p in persons])
    out = []
    for p in persons:
        last = max(periods.get(p.id, []), key=lambda x: x.ends_at, default=None)
        out.append(
            {
                "id": p.id,
                "given_name": p.given_name,
                "surname": p.surname,
                "user_principal_name": p.user_principal_name,
                "email_hint": mask_email(p.email),
                "last_school": last.school if last else None,
                "last_ends_at": last.ends_at.isoformat() if last else None,
            }
        )
    return out
