"""After the end: delete accounts once the grace period has passed, scrub personal data once the
retention period has passed (an anonymised audit trail stays)."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

import structlog

from idops.graph.errors import GraphError
from idops.substitutes.counts import Counts
from idops.substitutes.deps import SubstituteDeps
from idops.substitutes.ending import load_people
from idops.substitutes.models import ENDED, LIVE, Status, SubstitutePeriod
from idops.substitutes.repository import SubstitutesUnitOfWork

log = structlog.get_logger("idops.substitutes")


async def purge(uow: SubstitutesUnitOfWork, c: SubstituteDeps, *, actor: str = "job:purge") -> dict[str, int]:
    """Delete accounts whose every period ended more than the grace period ago; scrub personal data
    of persons whose last period ended more than the retention period ago."""
    counts = Counts()
    now = c.clock.now()
    async with uow:
        # Deleted too: a person is scrubbed long after the account's deletion made the periods ``deleted``.
        ended = await uow.substitutes.due(
            [*ENDED, Status.MISSING, Status.FAILED, Status.DELETED, Status.DENIED, Status.AWAITING_APPROVAL],
            ends_before=now,
            limit=100000,
        )
    by_person: dict[str, list[SubstitutePeriod]] = defaultdict(list)
    for p in ended:
        by_person[p.person_id].append(p)
    persons, all_periods = await load_people(uow, sorted(by_person))
    for person_id, person in persons.items():
        periods = all_periods[person_id]
        if person.scrubbed_at is not None or any(p.status in LIVE for p in periods):
            continue
        municipality = c.config.region.municipality(person.municipality)
        pol = c.config.policy_for(municipality, None) if municipality else c.config.settings.policy
        last_end = max((p.ended_at or p.ends_at) for p in periods)
        deletable = any(p.status != Status.DELETED for p in periods)  # else the account was deleted already
        if person.entra_user_id and deletable and last_end + timedelta(days=pol.grace_days) <= now:
            try:
                await c.directories.for_tenant(person.tenant_id).delete_user(person.entra_user_id)
            except GraphError as exc:
                log.warning("purge_delete_failed", person_id=person_id, error=type(exc).__name__)
                counts.add("failed")
                continue
            async with uow:
                row = await uow.substitutes.get_person(person_id)
                assert row is not None
                row.account_deleted_at = now
                for period in periods:
                    if await uow.substitutes.transition(
                        period.id, [*ENDED, Status.MISSING], status=Status.DELETED, deleted_at=now
                    ):
                        uow.audit.record(
                            at=now,
                            actor=actor,
                            action="deleted",
                            subject_type="period",
                            subject_id=period.id,
                            person_id=person_id,
                            school=period.school,
                        )
                await uow.commit()
            counts.add("accounts_deleted")
        if last_end + timedelta(days=pol.retention_days) <= now:
            async with uow:
                row = await uow.substitutes.get_person(person_id)
                assert row is not None
                row.given_name = row.surname = row.search_name = "-"
                row.email = row.mobile_phone = row.display_name = None
                row.user_principal_name = row.mail_nickname = None
                row.scrubbed_at = now
                await uow.audit.anonymise_person(person_id)
                uow.audit.record(
                    at=now,
                    actor=actor,
                    action="scrubbed",
                    subject_type="person",
                    subject_id=person_id,
                    person_id=person_id,
                )
                await uow.commit()
            counts.add("persons_scrubbed")
    return counts.as_dict()
