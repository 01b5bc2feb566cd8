"""The pages' sessions: the record behind each browser's signed session cookie, and the one-shot form
tokens issued to it.

The cookie carries only the signed session id; this row is the session. Its identity (``oid``,
``tid``, the token's ``roles`` and ``groups``) is written once, at sign-in, from validated ID-token
claims, and never from anything the browser sends later. A session without ``oid`` is a visitor's
before sign-in (the sign-in form's CSRF token, the OpenID Connect state). Ids are stored as their
SHA-256: the table alone does not let anyone present a session.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from idops.kit.db import Base


class WebSession(Base):
    __tablename__ = "web_sessions"
    __table_args__ = (
        Index("ix_web_sessions_user", "tid", "oid"),
        Index("ix_web_sessions_last_seen", "last_seen_at"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # SHA-256 (hex) of the cookie's id
    oid: Mapped[str | None] = mapped_column(String(36))
    tid: Mapped[str | None] = mapped_column(String(36))
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)  # as the ID token granted them at sign-in
    groups: Mapped[list[str]] = mapped_column(JSON, default=list)
    name: Mapped[str | None] = mapped_column(String(256))
    created_at: Mapped[datetime]  # the sign-in (a new record is made at every sign-in)
    last_seen_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    # the session's working state: CSRF token, one-time notices, the sign-in's OIDC state, where to go next
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class OneShotToken(Base):
    """A token a page's form may use once (the sign-in code page): spending deletes it."""

    __tablename__ = "web_one_shot_tokens"
    __table_args__ = (Index("ix_web_one_shot_tokens_session", "session_id", "purpose", "issued_at"),)

    token: Mapped[str] = mapped_column(String(64), primary_key=True)  # SHA-256 (hex) of the token
    session_id: Mapped[str] = mapped_column(String(64))
    purpose: Mapped[str] = mapped_column(String(16))
    issued_at: Mapped[datetime]
