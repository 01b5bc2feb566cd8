"""Writing and reading audit events. Events are only ever added (and anonymised on scrub)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from idops.audit.models import AuditEvent


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

    async def anonymise_person(self, person_id: str) -> None:
        await self.session.execute(update(AuditEvent).where(AuditEvent.person_id == person_id).values(personal=None))
