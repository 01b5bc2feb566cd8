"""Substitute persons (one Entra account each, per tenant) and their periods at schools."""

from __future__ import annotations

import enum
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from idops.kit.db import Base, new_id


class Status(enum.StrEnum):
    REQUESTED = "requested"
    PROVISIONING = "provisioning"
    SCHEDULED = "scheduled"
    ACTIVE = "active"
    EXPIRED = "expired"
    DELETED = "deleted"
    REVOKED = "revoked"
    FAILED = "failed"
    MISSING = "missing"
    AWAITING_APPROVAL = "awaiting_approval"  # over a limit; an IT admin approves (→ requested) or denies
    DENIED = "denied"


# Periods whose account may still need access (or must still be taken away).
LIVE = (Status.REQUESTED, Status.PROVISIONING, Status.SCHEDULED, Status.ACTIVE)
ENDED = (Status.EXPIRED, Status.REVOKED)
TERMINAL = (Status.DELETED, Status.FAILED, Status.DENIED)
# Periods a new request for the same person and time duplicates: live ones and those awaiting approval.
OPEN = (*LIVE, Status.AWAITING_APPROVAL)

#: How long one provisioning attempt holds a period (the API request or the ``activate`` job, never
#: both); a crashed holder's claim runs out and the next attempt resumes.
PROVISIONING_CLAIM = timedelta(minutes=2)

#: ``last_error`` of a period refused for want of a licence seat (a replayed request answers 409 again).
NO_SEATS_ERROR = "no seats"


class ProvisionStep(enum.StrEnum):
    """How far provisioning got; each step is idempotent and recorded before the next starts."""

    NONE = "none"
    UPN_RESERVED = "upn_reserved"  # the UPN is ours in the database, before any Graph call
    ACCOUNT_READY = "account_ready"  # the Entra user exists (created, restored or reused)
    ACCESS_GRANTED = "access_granted"  # groups and licence of the school
    DONE = "done"
    CLEANUP = "cleanup"  # provisioning failed for good; removing what was half-created


class SubstitutePerson(Base):
    """A person who has substituted in a tenant. Personal fields are scrubbed after retention."""

    __tablename__ = "substitute_persons"
    __table_args__ = (
        UniqueConstraint("tenant_id", "user_principal_name"),
        Index("ix_substitute_persons_tenant_name", "tenant_id", "search_name"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tenant_id: Mapped[str] = mapped_column(String(36))
    municipality: Mapped[str] = mapped_column(String(40))  # where the person first substituted
    given_name: Mapped[str] = mapped_column(String(64))
    surname: Mapped[str] = mapped_column(String(64))
    search_name: Mapped[str] = mapped_column(String(160))  # folded "given surname" for search
    email: Mapped[str | None] = mapped_column(String(254))
    mobile_phone: Mapped[str | None] = mapped_column(String(32))
    user_principal_name: Mapped[str | None] = mapped_column(String(113))
    mail_nickname: Mapped[str | None] = mapped_column(String(64))
    display_name: Mapped[str | None] = mapped_column(String(256))
    entra_user_id: Mapped[str | None] = mapped_column(String(36))
    account_deleted_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(128))
    scrubbed_at: Mapped[datetime | None]
    # A legal hold (an investigation, a dispute) suspends scrubbing and refuses erasure until lifted.
    # ``legal_hold_reason`` is a case reference written by an IT admin; it is scrubbed with the person.
    legal_hold_at: Mapped[datetime | None]
    legal_hold_by: Mapped[str | None] = mapped_column(String(128))
    legal_hold_reason: Mapped[str | None] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer, default=1)

    periods: Mapped[list[SubstitutePeriod]] = relationship(back_populates="person", lazy="raise")

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 — SQLAlchemy reads a class attribute


class SubstitutePeriod(Base):
    """One substitution at one school: the API's "substitute" resource."""

    __tablename__ = "substitute_periods"
    __table_args__ = (
        Index("ix_substitute_periods_status_starts", "status", "starts_at"),
        Index("ix_substitute_periods_status_ends", "status", "ends_at"),
        Index("ix_substitute_periods_school", "school", "created_at"),
        Index("ix_substitute_periods_person", "person_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    person_id: Mapped[str] = mapped_column(ForeignKey("substitute_persons.id"))
    school: Mapped[str] = mapped_column(String(81))  # "municipality/school"
    municipality: Mapped[str] = mapped_column(String(40))
    tenant_id: Mapped[str] = mapped_column(String(36))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    original_ends_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(24), default=Status.REQUESTED)
    step: Mapped[str] = mapped_column(String(16), default=ProvisionStep.NONE)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    # the limits a request awaiting approval exceeds ("quota,seats"), and the approver's reason
    approval_limits: Mapped[str | None] = mapped_column(String(64))
    decision_reason: Mapped[str | None] = mapped_column(Text)
    # when the municipality's IT admins got the digest naming the request, and when the requester was told
    # the decision (each sent once; see idops.substitutes.approval_notices)
    approvers_notified_at: Mapped[datetime | None]
    decision_notified_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(128))
    request_id: Mapped[str | None] = mapped_column(String(64))
    activated_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]  # when access was actually taken away
    revoked_at: Mapped[datetime | None]
    revoked_by: Mapped[str | None] = mapped_column(String(128))
    notified_at: Mapped[datetime | None]
    deleted_at: Mapped[datetime | None]
    # An end that could not be carried out (Graph down, a refusal): since when access is overdue to be
    # taken away, when the expire job last tried, and why it failed. Cleared when the end succeeds or the
    # period is extended; shown on the period, on the admins' pages and in the expiry-lag metric.
    overdue_since: Mapped[datetime | None]
    end_attempted_at: Mapped[datetime | None]
    end_error: Mapped[str | None] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer, default=1)

    person: Mapped[SubstitutePerson] = relationship(back_populates="periods", lazy="raise")

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class IdempotencyRecord(Base):
    """The first answer to a POST with an ``Idempotency-Key``, replayed to retries."""

    __tablename__ = "idempotency_records"

    caller: Mapped[str] = mapped_column(String(128), primary_key=True)
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    period_id: Mapped[str | None] = mapped_column(String(36))
    status_code: Mapped[int | None] = mapped_column(Integer)
    response: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime]


class OrphanAccount(Base):
    """A marked account found in Entra that idops has no record of (reported by reconcile).

    Kept after it is gone from Entra (``gone_at``), so the corrections made to it stay attributed to its
    municipality (from its UPN's domain; None where that cannot tell: then only region admins see it)."""

    __tablename__ = "orphan_accounts"

    tenant_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    entra_user_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_principal_name: Mapped[str] = mapped_column(String(113))
    municipality: Mapped[str | None] = mapped_column(String(40))
    first_seen_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    disabled_at: Mapped[datetime | None]
    gone_at: Mapped[datetime | None]
