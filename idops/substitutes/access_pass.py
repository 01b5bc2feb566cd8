"""Handing the substitute a first credential: a Temporary Access Pass, or where the tenant's TAP
policy is off, a one-time password that must be changed at first sign-in.

The code may be prepared ahead, for a period that has not started yet: the pass then becomes valid at
the period's start (Graph's ``startDateTime``). Either way it is valid for as long as the tenant's TAP
policy allows, and never past the period's end.

The secret is returned to the caller exactly once. It is never stored, logged or audited —
the audit event records that a credential was issued, its kind, id and validity only.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog

from idops.auth.scope import Caller
from idops.graph.errors import AccessPassPolicyDisabled, GraphError
from idops.graph.port import UserPatch
from idops.kit.errors import Conflict, Message, PolicyViolation
from idops.kit.i18n import when
from idops.substitutes import policy
from idops.substitutes.changes import visible_period
from idops.substitutes.deps import SubstituteDeps
from idops.substitutes.models import Status, SubstitutePerson
from idops.substitutes.passwords import random_password
from idops.substitutes.repository import SubstitutesUnitOfWork
from idops.substitutes.views import mask_email

log = structlog.get_logger("idops.substitutes")

#: Periods a code can be issued for: running, or prepared ahead of the start.
CODE_STATUSES = (Status.ACTIVE, Status.SCHEDULED)
_NO_DELIVERY = Message(
    "Koodia ei voi lähettää sähköpostilla: kunta ei ole ottanut lähetystä käyttöön tai sijaisen "
    "sähköpostiosoite puuttuu.",
    "The code cannot be e-mailed: the municipality has not enabled it, or the substitute has no e-mail address.",
)
_MAIL_SUBJECT = "Kirjautumiskoodisi sijaistunnukseen / Your sign-in code"


@dataclass(frozen=True)
class IssuedCredential:
    kind: str  # "temporary_access_pass" | "one_time_password"
    secret: str
    valid_from: datetime
    valid_until: datetime
    usable_once: bool
    delivered_to: str | None = None  # masked: the code went by e-mail and is not shown to the caller

    def __repr__(self) -> str:
        return f"IssuedCredential(kind={self.kind!r}, valid_until={self.valid_until!r})"


async def issue(
    uow: SubstitutesUnitOfWork, c: SubstituteDeps, caller: Caller, period_id: str, *, deliver: bool = False
) -> IssuedCredential:
    """Issue the substitute's sign-in code (TAP, or the one-time-password fallback), valid from the
    period's start when that is still ahead. Raises typed errors.

    ``deliver``: e-mail it to the substitute's contact address instead (the municipality's policy
    ``code_delivery`` must allow it, and it needs a ``notification_sender`` and the address); the code then
    exists only in that one message — the result's ``secret`` is for nobody to show."""
    period, person = await visible_period(uow, caller, period_id)
    now = c.clock.now()
    if period.status not in CODE_STATUSES or period.ends_at <= now or not person.entra_user_id:
        raise Conflict(
            Message(
                "Kirjautumiskoodin voi antaa vain voimassa olevalle tai alkavalle sijaistunnukselle.",
                "A sign-in code can be issued only for an active or upcoming substitute account.",
            )
        )
    start = max(now, period.starts_at)
    found = c.config.region.school(period.school)
    assert found is not None
    eff = c.config.policy_for(*found)
    policy.check_tap_hours(eff, now, c.config.settings.policy.working_hours)
    sender = found[0].notification_sender
    if deliver and not (eff.code_delivery and sender and person.email):
        raise Conflict(_NO_DELIVERY)
    directory = c.directories.for_tenant(period.tenant_id)
    minutes_left = math.floor((period.ends_at - start).total_seconds() / 60)
    kind = "temporary_access_pass"
    try:
        tap_pol = await c.tap_policies.get(directory, now)
        if tap_pol.state != "enabled":
            raise AccessPassPolicyDisabled("TAP policy disabled", status=400)
        lifetime = min(tap_pol.maximum_lifetime_in_minutes, minutes_left)
        if lifetime < tap_pol.minimum_lifetime_in_minutes:
            raise PolicyViolation(
                Message(
                    "Sijaisuus päättyy liian pian kirjautumiskoodin antamiseen.",
                    "The substitution ends too soon for a sign-in code.",
                )
            )
        usable_once = tap_pol.is_usable_once or c.config.settings.substitutes.tap_usable_once
        tap = await directory.create_access_pass(
            person.entra_user_id, start=start if start > now else None, lifetime_minutes=lifetime,
            usable_once=usable_once,
        )
        issued = IssuedCredential(
            kind,
            tap.code,
            tap.start_date_time,
            tap.start_date_time + timedelta(minutes=tap.lifetime_in_minutes),
            tap.is_usable_once,  # as Graph made it: the tenant's policy may force one-time passes
        )
        credential_id = tap.id
    except AccessPassPolicyDisabled:
        if c.config.settings.policy.credential_fallback != "one_time_password":
            raise Conflict(
                Message(
                    "Kunnan asetukset eivät salli kertakäyttöistä kirjautumiskoodia. "
                    "Ota yhteyttä kunnan tietohallintoon.",
                    "The municipality's settings do not allow a one-time sign-in code. "
                    "Please contact the municipality's IT administration.",
                )
            ) from None
        kind = "one_time_password"
        secret = random_password()
        await directory.update_user(person.entra_user_id, UserPatch(password=secret))
        issued = IssuedCredential(kind, secret, start, period.ends_at, False)
        credential_id = None
    except GraphError:
        raise
    if deliver:
        assert sender and person.email
        await directory.send_mail(sender, [person.email], _MAIL_SUBJECT, _mail_text(person, issued))
        issued = dataclasses.replace(issued, delivered_to=mask_email(person.email))
    async with uow:
        uow.audit.record(
            at=now,
            actor=caller.actor,
            action=f"{kind}_issued",
            subject_type="period",
            subject_id=period_id,
            person_id=person.id,
            school=period.school,
            details={
                "credential_id": credential_id,
                "valid_from": issued.valid_from.isoformat(),
                "valid_until": issued.valid_until.isoformat(),
                "usable_once": issued.usable_once,
                **({"delivered_to": issued.delivered_to} if issued.delivered_to else {}),
            },
        )
        await uow.commit()
    log.info("credential_issued", period_id=period_id, kind=kind)
    return issued


def _mail_text(person: SubstitutePerson, issued: IssuedCredential) -> str:
    """The one message that holds the code: the user name, validity and first sign-in steps in Finnish."""
    otp = issued.kind == "one_time_password"
    return "\n".join([
        f"Hei {person.given_name},",
        "",
        "koulu on luonut sinulle sijaistunnuksen.",
        f"Käyttäjätunnus: {person.user_principal_name}",
        f"{'Kertakäyttöinen salasana' if otp else 'Kirjautumiskoodi'}: {issued.secret}",
        f"Voimassa: {when(issued.valid_from, 'fi')} – {when(issued.valid_until, 'fi')}"
        + (" (vain yksi kirjautuminen)" if issued.usable_once else ""),
        "",
        "Näin kirjaudut ensimmäisen kerran:",
        "1. Avaa osoite https://myaccount.microsoft.com",
        f"2. Kirjoita käyttäjätunnus {person.user_principal_name}.",
        "3. " + ("Kirjoita kertakäyttöinen salasana ja vaihda se omaan salasanaan." if otp
                 else "Kirjoita kirjautumiskoodi, kun sitä kysytään."),
        "4. Ota käyttöön monivaiheinen tunnistautuminen (MFA), esimerkiksi Microsoft Authenticator -sovellus.",
        "",
        "Älä välitä tätä viestiä eteenpäin. Jos et odottanut viestiä, ilmoita siitä koululle.",
    ])
