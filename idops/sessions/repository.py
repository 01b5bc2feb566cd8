"""All SQL of the pages' sessions and their one-shot tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from idops.audit.repository import AuditRepository
from idops.kit.uow import Transactional
from idops.sessions.models import OneShotToken, WebSession


class SessionRepository:
    """Session records and one-shot tokens. Ending and spending are single conditional statements,
    so of two racing requests exactly one sees the session live or the token unspent."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, row: WebSession) -> None:
        self.session.add(row)

    async def get(self, session_id: str) -> WebSession | None:
        return await self.session.get(WebSession, session_id)

    async def save(self, session_id: str, *, last_seen_at: datetime, data: dict[str, Any] | None) -> bool:
        """Record a request of a live session (and its changed state); False if it has ended meanwhile."""
        values: dict[str, Any] = {"last_seen_at": last_seen_at}
        if data is not None:
            values["data"] = data
        result = await self.session.execute(
            update(WebSession).where(WebSession.id == session_id, WebSession.ended_at.is_(None)).values(**values)
        )
        return (result.rowcount or 0) == 1  # type: ignore[attr-defined]

    async def end(self, session_id: str, at: datetime) -> bool:
        result = await self.session.execute(
            update(WebSession).where(WebSession.id == session_id, WebSession.ended_at.is_(None)).values(ended_at=at)
        )
        await self.session.execute(delete(OneShotToken).where(OneShotToken.session_id == session_id))
        return (result.rowcount or 0) == 1  # type: ignore[attr-defined]

    async def end_all_of(self, tid: str, oid: str, at: datetime) -> int:
        """End every live session of one user (``tid`` + ``oid``); how many were live."""
        result = await self.session.execute(
            update(WebSession)
            .where(WebSession.tid == tid, WebSession.oid == oid, WebSession.ended_at.is_(None))
            .values(ended_at=at)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    def add_token(self, token: OneShotToken) -> None:
        self.session.add(token)

    async def keep_newest_tokens(self, session_id: str, purpose: str, keep: int) -> None:
        newest = (
            select(OneShotToken.token)
            .where(OneShotToken.session_id == session_id, OneShotToken.purpose == purpose)
            .order_by(OneShotToken.issued_at.desc())
            .limit(keep)
        )
        await self.session.execute(
            delete(OneShotToken).where(
                OneShotToken.session_id == session_id,
                OneShotToken.purpose == purpose,
                OneShotToken.token.not_in(newest.scalar_subquery()),
            )
        )

    async def spend_token(self, token: str, session_id: str, purpose: str) -> bool:
        """Delete the token if this session holds it for ``purpose``: True exactly once."""
        result = await self.session.execute(
            delete(OneShotToken).where(
                OneShotToken.token == token, OneShotToken.session_id == session_id, OneShotToken.purpose == purpose
            )
        )
        return (result.rowcount or 0) == 1  # type: ignore[attr-defined]

    async def forget(self, *, seen_before: datetime, visitors_seen_before: datetime) -> int:
        """Delete sessions last used before ``seen_before`` (visitors' that never signed in before
        ``visitors_seen_before``) and tokens whose session is gone or ended; how many sessions."""
        result = await self.session.execute(
            delete(WebSession).where(
                or_(
                    WebSession.last_seen_at < seen_before,
                    WebSession.oid.is_(None) & (WebSession.last_seen_at < visitors_seen_before),
                )
            )
        )
        live = select(WebSession.id).where(WebSession.ended_at.is_(None))
        await self.session.execute(delete(OneShotToken).where(OneShotToken.session_id.not_in(live)))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


class SessionsUnitOfWork(Transactional, Protocol):
    """The unit of work the session services receive (``idops.uow.UnitOfWork`` is one)."""

    sessions: SessionRepository
    audit: AuditRepository
