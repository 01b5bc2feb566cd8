"""The audit trail: append-only, one row per state change and per credential issued.

``details`` never holds secrets; ``personal`` holds the only personal data (names, UPN) and is
cleared when the person is scrubbed, leaving an anonymised trail.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from idops.kit.db import Base, new_id


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_subject", "subject_type", "subject_id", "at"),
        Index("ix_audit_events_person", "person_id", "at"),
        Index("ix_audit_events_action", "action", "seq"),  # one kind of event, newest first (drift)
    )

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)  # total order of events
    id: Mapped[str] = mapped_column(String(36), unique=True, default=new_id)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(128))  # "Principal:<oid>", "job:expire", …
    request_id: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(48))
    subject_type: Mapped[str] = mapped_column(String(24))  # "period", "person", "orphan"
    subject_id: Mapped[str] = mapped_column(String(36))
    person_id: Mapped[str | None] = mapped_column(String(36))
    school: Mapped[str | None] = mapped_column(String(81))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    personal: Mapped[dict[str, Any] | None] = mapped_column(JSON)
