"""Writing and reading audit events. Events are only ever added (and anonymised on scrub)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from idops.audit.anonymise import redact
from idops.audit.models import AuditEvent
from idops.kit.db import new_id


class AuditRepository:
    """Audit events: only ever added, and anonymised when a person is scrubbed."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def record(
        self,
        *,
        at: datetime,
        actor: str,
        action: str,
        subject_type: str,
        subject_id: str,
        person_id: str | None = None,
        school: str | None = None,
        details: dict[str, Any] | None = None,
        personal: dict[str, Any] | None = None,
        request_id: str | None = None,
    ) -> AuditEvent:
        """Add an event to the self.session (committed with the change it describes)."""
        rid = request_id or structlog.contextvars.get_contextvars().get("request_id")
        event = AuditEvent(
            at=at,
            actor=actor,
            request_id=rid,
            action=action,
            subject_type=subject_type,
            subject_id=subject_id,
            person_id=person_id,
            school=school,
            details=details or {},
            personal=personal,
        )
        self.session.add(event)
        return event

    async def events_of(self, subject_type: str, subject_id: str) -> Sequence[AuditEvent]:
        rows = await self.session.execute(
            select(AuditEvent)
            .where(AuditEvent.subject_type == subject_type, AuditEvent.subject_id == subject_id)
            .order_by(AuditEvent.seq)
        )
        return rows.scalars().all()

    async def events_naming(self, person_id: str, period_ids: Sequence[str]) -> Sequence[AuditEvent]:
        """Every event about a person: tagged with them, about them, or about one of their periods
        (some period events — a refused request, a provisioning retry — carry no ``person_id``)."""
        about = [AuditEvent.person_id == person_id,
                 and_(AuditEvent.subject_type == "person", AuditEvent.subject_id == person_id)]
        for i in range(0, len(period_ids), 500):
            about.append(and_(AuditEvent.subject_type == "period", AuditEvent.subject_id.in_(period_ids[i : i + 500])))
        rows = await self.session.execute(select(AuditEvent).where(or_(*about)).order_by(AuditEvent.seq))
        return rows.scalars().all()

    @staticmethod
    def anonymise(events: Sequence[AuditEvent], found: frozenset[str]) -> None:
        """Keep the events, drop what names the person: ``personal`` goes, ``details`` is redacted
        (``idops.audit.anonymise.redact``: personal keys emptied, strings holding ``found`` replaced)."""
        for event in events:
            event.personal = None
            event.details = redact(event.details or {}, found)

    async def anonymise_orphan(self, entra_user_id: str, found: frozenset[str]) -> int:
        """Events about an orphan account: ``personal`` (its UPN) goes and the account id is replaced
        by a fresh random id, the same for all of them, so the trail still reads as one account's."""
        rows = (
            await self.session.execute(
                select(AuditEvent).where(AuditEvent.subject_type == "orphan", AuditEvent.subject_id == entra_user_id)
            )
        ).scalars().all()
        pseudonym = new_id()
        for event in rows:
            event.subject_id = pseudonym
        self.anonymise(rows, found)
        return len(rows)
