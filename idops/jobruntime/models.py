"""Job bookkeeping: leases, one row per run, and the units a run is split into."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from idops.kit.db import Base, new_id


class JobLease(Base):
    """Held while a job's unit runs (``<job>@<unit key>``) or while a run is opened or finished
    (``<job>``), anywhere. Expires so a SIGKILLed holder cannot block forever."""

    __tablename__ = "job_leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    acquired_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class JobRun(Base):
    __tablename__ = "job_runs"
    __table_args__ = (
        Index("ix_job_runs_name_started", "name", "started_at"),
        Index("ix_job_runs_outcome", "outcome"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(64))
    trigger: Mapped[str] = mapped_column(String(32))  # scheduler | cli | api
    holder: Mapped[str] = mapped_column(String(128))  # the process that opened the run
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    # running | succeeded | partial | failed | skipped | abandoned | interrupted (resumable)
    outcome: Mapped[str] = mapped_column(String(16))
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    requested_by: Mapped[str | None] = mapped_column(String(128))
    # The municipalities the run was limited to (an IT admin's run); None: the whole region.
    municipalities: Mapped[list[str] | None] = mapped_column(JSON)


class JobUnit(Base):
    """One shard of a run — a tenant, a municipality, or the whole job — under its own lease
    (``<job>@<key>``), run by whichever process claims it."""

    __tablename__ = "job_units"
    __table_args__ = (Index("ix_job_units_run", "run_id"), Index("ix_job_units_status", "status"))

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    run_id: Mapped[str] = mapped_column(ForeignKey("job_runs.id", ondelete="CASCADE"))
    job: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(64))  # tenant id, municipality key, or "*" (the whole job)
    tenant_id: Mapped[str | None] = mapped_column(String(36))
    municipalities: Mapped[list[str] | None] = mapped_column(JSON)  # None: every one of the tenant
    # pending | running | succeeded | partial | failed | abandoned
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    holder: Mapped[str | None] = mapped_column(String(128))
    next_attempt_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text)
