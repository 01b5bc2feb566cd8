"""Telling principals, a configured time before an account ends, so they can extend it."""

from __future__ import annotations

from datetime import timedelta

import structlog

from idops.config.region import Shard
from idops.graph.errors import GraphError, GraphNotFound
from idops.kit.i18n import when
from idops.substitutes.counts import Counts
from idops.substitutes.deps import SubstituteDeps
from idops.substitutes.models import Status, SubstitutePeriod
from idops.substitutes.repository import SubstitutesUnitOfWork

log = structlog.get_logger("idops.substitutes")


async def notify_expiring(
    uow: SubstitutesUnitOfWork, c: SubstituteDeps, *, actor: str = "job:notify_expiring", shard: Shard | None = None
) -> dict[str, int]:
    """E-mail the school's principals once, a configured time before an account ends (periods of
    ``shard`` only, if given)."""
    counts = Counts()
    now = c.clock.now()
    async with uow:
        active = await uow.substitutes.due([Status.ACTIVE, Status.SCHEDULED], shard=shard)
    for period in active:
        found = c.config.region.school(period.school)
        if found is None or period.notified_at is not None or period.ends_at <= now:
            continue
        municipality, school = found
        pol = c.config.policy_for(municipality, school)
        if period.ends_at - timedelta(hours=pol.notify_before_hours) > now:
            continue
        if municipality.notification_sender and school.principals.object_ids:
            directory = c.directories.for_tenant(period.tenant_id)
            try:
                recipients = []
                for oid in school.principals.object_ids:
                    try:
                        user = await directory.get_user(oid)
                    except GraphNotFound:
                        continue
                    if user.mail:
                        recipients.append(user.mail)
                if recipients:
                    await directory.send_mail(
                        municipality.notification_sender,
                        recipients,
                        "Sijaistunnus päättymässä / Substitute account ending",
                        _notice_text(period, school.name),
                    )
                    counts.add("sent")
                else:
                    counts.add("no_recipient")
            except GraphError as exc:
                log.warning("notify_failed", period_id=period.id, error=type(exc).__name__)
                counts.add("failed")
                continue
        else:
            counts.add("not_configured")
        async with uow:
            if await uow.substitutes.transition(period.id, [Status.ACTIVE, Status.SCHEDULED], notified_at=now):
                uow.audit.record(
                    at=now,
                    actor=actor,
                    action="expiry_notice",
                    subject_type="period",
                    subject_id=period.id,
                    person_id=period.person_id,
                    school=period.school,
                )
            await uow.commit()
    return counts.as_dict()


def _notice_text(period: SubstitutePeriod, school_name: str) -> str:
    return (
        f"Koulun {school_name} sijaistunnus päättyy {when(period.ends_at, 'fi')}. Voit jatkaa sen voimassaoloa "
        f"idopsissa (tunnus {period.id}).\n\n"
        f"A substitute account of {school_name} ends on {when(period.ends_at, 'en')} (Helsinki time). "
        f"You can extend it in idops (id {period.id})."
    )
