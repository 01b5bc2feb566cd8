"""The directory mirror: every user of every configured tenant and the schools they belong to.

Written only by the directory sync (``idops.directory.sync``); read by MFA and single-login.
Rows carry the id of the sync run that last saw them (``sync_run``/``report_run``), so a run
can tell what it did not see (users who left) without holding ids in memory.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Index, String, false
from sqlalchemy.orm import Mapped, mapped_column

from idops.kit.db import Base


class DirectoryUserRow(Base):
    """One user of one tenant as Graph showed it at ``synced_at``; registration columns from the
    report (``report_updated_at`` is the report row's own ``lastUpdatedDateTime``) or, in tenants without
    it, from the user's authentication methods (``registration_source``)."""

    __tablename__ = "directory_users"
    __table_args__ = (
        Index("ix_directory_users_employee_id", "employee_id"),
        Index("ix_directory_users_tenant_upn", "tenant_id", "upn"),
    )

    tenant_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    upn: Mapped[str] = mapped_column(String(255), default="")
    display_name: Mapped[str] = mapped_column(String(256), default="")
    employee_id: Mapped[str | None] = mapped_column(String(64))
    mail: Mapped[str | None] = mapped_column(String(320))
    account_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    user_type: Mapped[str | None] = mapped_column(String(32))
    employee_type: Mapped[str | None] = mapped_column(String(64))
    employee_hire_date: Mapped[datetime | None]
    # reasons 1–3 of docs/definitions.md (school-independent); None = included
    excluded_reason: Mapped[str | None] = mapped_column(String(16))
    is_mfa_registered: Mapped[bool] = mapped_column(Boolean, default=False)
    is_mfa_capable: Mapped[bool] = mapped_column(Boolean, default=False)
    is_passwordless_capable: Mapped[bool] = mapped_column(Boolean, default=False)
    methods_registered: Mapped[list[str]] = mapped_column(JSON, default=list)
    report_updated_at: Mapped[datetime | None]
    synced_at: Mapped[datetime | None]
    sync_run: Mapped[str | None] = mapped_column(String(32))
    report_run: Mapped[str | None] = mapped_column(String(32))
    # Where the registration columns come from: "report" (userRegistrationDetails; report_updated_at is
    # the row's lastUpdatedDateTime) or "per_user_scan" (the user's authentication methods, read one by
    # one where the tenant has no report; report_updated_at is when they were read). None: unknown —
    # the user counts in no share and is in no "without MFA" list.
    registration_source: Mapped[str | None] = mapped_column(String(16))
    # the report's isAdmin (an Entra admin role): the staff helpdesk refuses such users
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class DirectoryMembership(Base):
    """A user's role at one school, and why they are left out of that school's numbers (if so)."""

    __tablename__ = "directory_memberships"
    __table_args__ = (Index("ix_directory_memberships_muni_school_role", "municipality", "school", "role"),)

    tenant_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    municipality: Mapped[str] = mapped_column(String(40), primary_key=True)
    school: Mapped[str] = mapped_column(String(40), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))
    # all four reasons, evaluated for this school; None = counted
    excluded_reason: Mapped[str | None] = mapped_column(String(16))
    sync_run: Mapped[str] = mapped_column(String(32))
