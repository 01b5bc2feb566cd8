"""Stored single-login reports: one row per run, the whole report as JSON."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, Float, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from idops.kit.db import Base, new_id


class SingleLoginReport(Base):
    """One run of the report. ``report_date`` is the Europe/Helsinki date of ``generated_at``; a date may
    have several runs (the latest wins when asked by date). Headline columns are copied out of ``body``
    so trends can be read without parsing JSON."""

    __tablename__ = "single_login_reports"
    __table_args__ = (Index("ix_single_login_reports_date", "report_date", "generated_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    report_date: Mapped[date] = mapped_column(Date)
    generated_at: Mapped[datetime]
    window_start: Mapped[datetime]
    window_end: Mapped[datetime]
    staff_persons: Mapped[int] = mapped_column(Integer, default=0)
    headline_share: Mapped[float | None] = mapped_column(Float)
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    # Set once the names (and UPNs) of persons with several accounts are scrubbed from ``body`` for every
    # municipality, after its retention period; the counts stay. None while some are still kept.
    names_scrubbed_at: Mapped[datetime | None]
