"""The daily MFA snapshot: counts per (date, municipality, school, role), kept forever.

A day's rows of a tenant are replaced when the sync runs again that day (idempotent). ``date``
is the Europe/Helsinki date of the sync; times are UTC.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, Float, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from idops.kit.db import Base


class MfaSnapshot(Base):
    __tablename__ = "mfa_snapshots"
    __table_args__ = (
        UniqueConstraint("date", "municipality", "school", "role"),
        Index("ix_mfa_snapshots_muni_date", "municipality", "date"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    day: Mapped[date] = mapped_column("date", Date)
    tenant_id: Mapped[str] = mapped_column(String(36))
    municipality: Mapped[str] = mapped_column(String(40))
    school: Mapped[str] = mapped_column(String(40))
    role: Mapped[str] = mapped_column(String(16))
    total: Mapped[int] = mapped_column(Integer)
    # included users whose registration is known (the shares' denominator); registered, capable and
    # passwordless_capable count among them. measured < total: the rest is unavailable (reason below).
    measured: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    registered: Mapped[int] = mapped_column(Integer)
    capable: Mapped[int] = mapped_column(Integer)
    passwordless_capable: Mapped[int] = mapped_column(Integer)
    # mean over included users with ≥ 1 interactive sign-in of their MFA-satisfied share; None = no data
    used_share: Mapped[float | None] = mapped_column(Float)
    used_users: Mapped[int] = mapped_column(Integer, default=0)
    # successful sign-ins whose MFA requirement the log tells (used_share's sign-ins) and does not tell
    used_known: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    used_unknown: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    signins_available: Mapped[bool | None] = mapped_column(Boolean)
    excluded_disabled: Mapped[int] = mapped_column(Integer, default=0)
    excluded_guest: Mapped[int] = mapped_column(Integer, default=0)
    excluded_group: Mapped[int] = mapped_column(Integer, default=0)
    excluded_not_started: Mapped[int] = mapped_column(Integer, default=0)
    # oldest as-of among the row's measured users: the report's lastUpdatedDateTime (it lags hours), or
    # when their methods were read
    report_as_of: Mapped[datetime | None]
    synced_at: Mapped[datetime]
    # where the measured users' numbers come from: report | per_user_scan | mixed (None: nobody measured)
    source: Mapped[str | None] = mapped_column(String(16))
    # why the unmeasured users have no numbers: premium_required | permission_missing | sync_failed
    unavailable_reason: Mapped[str | None] = mapped_column(String(32))
