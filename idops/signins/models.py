"""Tables of the sign-in ingestion: one state row per tenant, one aggregate row per day × user × app."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from idops.kit.db import Base


class SignInIngestion(Base):
    """Where ingestion of one tenant's sign-in log stands.

    ``watermark``: every sign-in with ``createdDateTime < watermark`` is in ``signin_daily`` exactly
    once; nothing at or after it is. ``available`` is None until the tenant was first asked, False
    when Graph answered 403 "non-premium tenant" (no sign-in data), True once a read succeeded.
    """

    __tablename__ = "signin_ingestion"

    tenant_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    watermark: Mapped[datetime | None]
    available: Mapped[bool | None] = mapped_column(Boolean)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]


class SignInDaily(Base):
    """Interactive sign-ins of one user to one app on one UTC day (no raw rows are kept).

    ``sign_ins`` counts successful sign-ins (``status.errorCode == 0``), ``mfa_sign_ins`` those of them
    that satisfied MFA, ``unknown_mfa_sign_ins`` those whose MFA requirement the log does not tell (v1.0
    without a Conditional Access policy applied), ``failed_sign_ins`` the others.
    """

    __tablename__ = "signin_daily"
    __table_args__ = (Index("ix_signin_daily_tenant_day", "tenant_id", "day"),)

    tenant_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    user_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    app_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    app_display_name: Mapped[str] = mapped_column(String(256), default="")
    sign_ins: Mapped[int] = mapped_column(Integer, default=0)
    mfa_sign_ins: Mapped[int] = mapped_column(Integer, default=0)
    failed_sign_ins: Mapped[int] = mapped_column(Integer, default=0)
    unknown_mfa_sign_ins: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
