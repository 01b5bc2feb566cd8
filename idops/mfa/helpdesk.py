"""The MFA helpdesk: an IT admin issues a staff member of their municipality a Temporary Access Pass to
register MFA again (a lost phone).

Contracts:
- Only IT and region admins; the target must be in the directory mirror as ``staff`` at a school the
  caller sees whole. Unknown users and users of another municipality are the same ``NotFound``;
  pupils, substitutes, guests, disabled accounts and Entra admins (the report's ``isAdmin``) are
  ``Forbidden`` — and so is anyone whose row did not come from the registration report (a tenant without
  P1 read by the per-user scan, or a user the report left out): whether they hold an admin role is then
  unknown, and a pass to an admin would hand the IT admin that admin's account. Fail closed.
- The lifetime is the municipality's ``staff_tap_lifetime_minutes`` (default 60) kept within the
  tenant's TAP policy. A disabled TAP policy is a ``Conflict`` — there is no password fallback for staff.
- The code is returned once and never stored, logged or audited; the audit event records who issued a
  pass to whom, why (``reason``), its id and validity.
- Graph is called only between transactions. Not idempotent: a second call replaces the first pass
  (one TAP per user, as Graph does), which is what a helpdesk retry wants.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

import structlog

from idops.auth.scope import Caller
from idops.config import Config
from idops.graph.errors import AccessPassPolicyDisabled
from idops.graph.port import AccessPass, Directory, DirectoryProvider, TapPolicy
from idops.kit.clock import Clock
from idops.kit.errors import Conflict, Forbidden, Message, NotFound
from idops.mfa.repository import MfaUnitOfWork
from idops.mfa.service import visible_for

log = structlog.get_logger("idops.mfa")

_NOT_FOUND = Message("Käyttäjää ei löytynyt.", "User not found.")
_ADMINS_ONLY = Message(
    "Vain kunnan tietohallinto voi antaa henkilökunnalle kirjautumiskoodin.",
    "Only the municipality's IT administration can issue staff a sign-in code.",
)
_STAFF_ONLY = Message(
    "Kirjautumiskoodin voi antaa vain koulun henkilökuntaan kuuluvalle (ei oppilaille eikä sijaisille).",
    "A sign-in code can be issued only to school staff (not to pupils or substitutes).",
)
_NO_ADMINS = Message(
    "Ylläpitäjäroolin haltijalle koodia ei anneta täältä: ota yhteyttä Entra-ylläpitoon.",
    "Users holding an administrator role cannot get a code here: contact the Entra administrators.",
)
_ADMIN_UNKNOWN = Message(
    "Ylläpitäjäroolia ei voitu tarkistaa (rekisteröintiraporttia ei ole tälle käyttäjälle): koodia ei anneta "
    "täältä, ota yhteyttä Entra-ylläpitoon.",
    "Whether this user holds an administrator role is unknown (no registration report for them): no code "
    "here, contact the Entra administrators.",
)
_NOT_ACTIVE = Message(
    "Tunnus on poistettu käytöstä tai se on vierastunnus; kirjautumiskoodia ei voi antaa.",
    "The account is disabled or a guest account; no sign-in code can be issued.",
)
_POLICY_OFF = Message(
    "Kunnan Entra-asetukset eivät salli kertakäyttöistä kirjautumiskoodia (Temporary Access Pass).",
    "The municipality's Entra settings do not allow a Temporary Access Pass.",
)


class TapPolicySource(Protocol):
    async def get(self, directory: Directory, now: datetime) -> TapPolicy: ...


class HelpdeskDeps(Protocol):
    """What the helpdesk needs from the process besides a unit of work (the ``Container`` has it)."""

    config: Config
    clock: Clock
    directories: DirectoryProvider

    @property
    def tap_policies(self) -> TapPolicySource: ...


@dataclass(frozen=True)
class StaffMember:
    user_id: str
    tenant_id: str
    user_principal_name: str
    display_name: str
    municipality: str
    school: str  # the first school path where they are staff


@dataclass(frozen=True)
class StaffPass:
    member: StaffMember
    access_pass: AccessPass  # its ``repr`` hides the code

    @property
    def valid_until(self) -> datetime:
        return self.access_pass.start_date_time + timedelta(minutes=self.access_pass.lifetime_in_minutes)


async def staff_member(uow: MfaUnitOfWork, config: Config, caller: Caller, user_id: str) -> StaffMember:
    """The staff member ``caller`` may issue a pass to. Raises ``NotFound`` / ``Forbidden`` (module doc)."""
    if not caller.scope.is_admin:
        raise Forbidden(_ADMINS_ONLY)
    visible = visible_for(caller.scope, config, None, None)  # the municipalities the admin sees whole
    async with uow:
        rows = await uow.mfa.placements_of(user_id.lower(), visible)
    if not rows:
        raise NotFound(_NOT_FOUND)
    if any(r["role"] != "staff" for r in rows):
        raise Forbidden(_STAFF_ONLY)
    first = rows[0]
    if first["is_admin"]:
        raise Forbidden(_NO_ADMINS)
    if first["registration_source"] != "report":
        raise Forbidden(_ADMIN_UNKNOWN)
    if not first["account_enabled"] or (first["user_type"] or "").lower() == "guest":
        raise Forbidden(_NOT_ACTIVE)
    return StaffMember(
        first["user_id"], first["tenant_id"], first["upn"], first["display_name"], first["municipality"],
        f"{first['municipality']}/{first['school']}",
    )


async def issue_staff_access_pass(
    uow: MfaUnitOfWork, c: HelpdeskDeps, caller: Caller, user_id: str, reason: str
) -> StaffPass:
    """Issue ``user_id`` a TAP for re-registering MFA. Raises the typed errors of the module doc."""
    member = await staff_member(uow, c.config, caller, user_id)
    municipality = c.config.region.municipality(member.municipality)
    assert municipality is not None  # the mirror holds configured municipalities only
    wanted = c.config.policy_for(municipality, None).staff_tap_lifetime_minutes
    now = c.clock.now()
    directory = c.directories.for_tenant(member.tenant_id)
    try:
        tap_policy = await c.tap_policies.get(directory, now)
        if tap_policy.state != "enabled":
            raise Conflict(_POLICY_OFF)
        lifetime = min(max(wanted, tap_policy.minimum_lifetime_in_minutes), tap_policy.maximum_lifetime_in_minutes)
        issued = await directory.create_access_pass(
            member.user_id, start=None, lifetime_minutes=lifetime, usable_once=tap_policy.is_usable_once
        )
    except AccessPassPolicyDisabled:
        raise Conflict(_POLICY_OFF) from None
    result = StaffPass(member, issued)
    async with uow:
        uow.audit.record(
            at=now,
            actor=caller.actor,
            action="staff_access_pass_issued",
            subject_type="user",
            subject_id=member.user_id,
            school=member.school,
            details={
                "reason": reason,
                "tenant_id": member.tenant_id,
                "credential_id": issued.id,
                "valid_from": issued.start_date_time.isoformat(),
                "valid_until": result.valid_until.isoformat(),
                "usable_once": issued.is_usable_once,
            },
            personal={"upn": member.user_principal_name},
        )
        await uow.commit()
    log.info("staff_access_pass_issued", user_id=member.user_id, municipality=member.municipality)
    return result
