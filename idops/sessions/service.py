"""Page sessions: started at sign-in, found by the id the browser's cookie carries, ended by sign-out,
by "sign out everywhere", or by the server's idle and absolute limits.

The caller's identity is what the validated ID token said at sign-in (``start``); later requests only
find the record by its id, so nothing the browser sends changes who it is. Times are the caller's
``now`` (the pages pass the wall clock, not the demo's movable one).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog

from idops.sessions.models import OneShotToken, WebSession
from idops.sessions.repository import SessionsUnitOfWork

log = structlog.get_logger("idops.sessions")

IDLE = timedelta(hours=8)  # a session unused this long has ended
ABSOLUTE = timedelta(hours=12)  # and none lasts longer than a school day and a half
TOUCH_EVERY = timedelta(minutes=1)  # last use is written at most this often (idle is measured in hours)
ONE_SHOT_KEEP = 8  # one-shot tokens kept per session and purpose (older ones are spent by the newer)
HISTORY = timedelta(days=7)  # ended and idle sessions are deleted after this
VISITOR_HISTORY = IDLE  # sessions that never signed in go sooner


@dataclass(frozen=True, slots=True)
class SessionUser:
    """Who signed in, as the ID token said at sign-in."""

    oid: str
    tid: str
    roles: tuple[str, ...]
    groups: tuple[str, ...]
    name: str | None
    signed_in_at: datetime

    def claims(self) -> dict[str, Any]:
        """The claims ``resolve_scope`` reads."""
        return {"oid": self.oid, "tid": self.tid, "roles": list(self.roles), "groups": list(self.groups)}


@dataclass(slots=True)
class LiveSession:
    """A live session as one request sees it; ``data`` is its working state (the request may change it)."""

    id: str  # the stored id (a digest of the cookie's)
    user: SessionUser | None
    data: dict[str, Any]
    last_seen_at: datetime


def digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _live(row: WebSession) -> LiveSession:
    user = None
    if row.oid and row.tid:
        user = SessionUser(row.oid, row.tid, tuple(row.roles or ()), tuple(row.groups or ()), row.name, row.created_at)
    return LiveSession(row.id, user, dict(row.data or {}), row.last_seen_at)


async def find(uow: SessionsUnitOfWork, raw_id: str, now: datetime) -> LiveSession | None:
    """The live session with cookie id ``raw_id``; None when unknown or ended. A session past its idle
    or absolute limit is ended here, at its first use after the limit."""
    async with uow:
        row = await uow.sessions.get(digest(raw_id))
        if row is None or row.ended_at is not None:
            return None
        if now - row.last_seen_at > IDLE or now - row.created_at > ABSOLUTE:
            await uow.sessions.end(row.id, now)
            await uow.commit()
            log.info("web_session_expired", oid=row.oid, tid=row.tid)
            return None
        return _live(row)


async def start(
    uow: SessionsUnitOfWork,
    now: datetime,
    *,
    claims: Mapping[str, Any] | None = None,
    data: dict[str, Any] | None = None,
    replaces: str | None = None,
) -> tuple[str, LiveSession]:
    """A new session and the id for its cookie: a visitor's, or with validated ID-token ``claims``
    a signed-in user's. ``replaces`` (a session's stored id) ends in the same transaction: a sign-in
    never keeps the id the browser had before."""
    raw = secrets.token_urlsafe(32)
    row = WebSession(id=digest(raw), created_at=now, last_seen_at=now, ended_at=None, data=data or {})
    if claims is not None:
        row.oid = str(claims["oid"]).lower()
        row.tid = str(claims["tid"]).lower()
        row.roles = [str(r) for r in claims.get("roles") or [] if isinstance(r, str)]
        row.groups = [str(g).lower() for g in claims.get("groups") or [] if isinstance(g, str)]
        row.name = str(claims["name"])[:256] if claims.get("name") else None
    async with uow:
        if replaces is not None:
            await uow.sessions.end(replaces, now)
        uow.sessions.add(row)
        await uow.commit()
    if claims is not None:
        log.info("web_session_started", oid=row.oid, tid=row.tid, roles=row.roles)
    return raw, _live(row)


async def record_use(uow: SessionsUnitOfWork, session: LiveSession, now: datetime, *, changed: bool) -> bool:
    """Note a request of ``session``: its state when ``changed``, its last use at most once a minute.
    False when it ended meanwhile (signed out elsewhere): nothing is written then."""
    if not changed and now - session.last_seen_at < TOUCH_EVERY:
        return True
    async with uow:
        live = await uow.sessions.save(session.id, last_seen_at=now, data=session.data if changed else None)
        await uow.commit()
    session.last_seen_at = now
    return live


async def end(uow: SessionsUnitOfWork, session_id: str, now: datetime) -> None:
    """End one session (sign-out). Idempotent."""
    async with uow:
        await uow.sessions.end(session_id, now)
        await uow.commit()


async def end_all(uow: SessionsUnitOfWork, tid: str, oid: str, now: datetime, *, by: str | None = None) -> int:
    """End every live session of one user, in every browser ("sign out everywhere"); how many. ``by``:
    the admin who did it for someone else (an audit event ``page_sessions_ended`` on the user)."""
    tid, oid = tid.lower(), oid.lower()
    async with uow:
        ended = await uow.sessions.end_all_of(tid, oid, now)
        if by is not None:
            uow.audit.record(at=now, actor=by, action="page_sessions_ended", subject_type="user",
                             subject_id=f"{tid}/{oid}", details={"ended": ended})
        await uow.commit()
    log.info("web_sessions_ended_everywhere", oid=oid, tid=tid, ended=ended, by=by)
    return ended


async def issue_one_shot(uow: SessionsUnitOfWork, session_id: str, purpose: str, now: datetime) -> str:
    """A token one form of this session may use once (the newest ``ONE_SHOT_KEEP`` per purpose live)."""
    token = secrets.token_urlsafe(16)
    async with uow:
        uow.sessions.add_token(OneShotToken(token=digest(token), session_id=session_id, purpose=purpose, issued_at=now))
        await uow.flush()
        await uow.sessions.keep_newest_tokens(session_id, purpose, ONE_SHOT_KEEP)
        await uow.commit()
    return token


async def spend_one_shot(uow: SessionsUnitOfWork, session_id: str, purpose: str, token: object) -> bool:
    """True once per issued token, for the session it was issued to; False for an unknown, spent or
    someone else's token (two racing requests: exactly one True)."""
    if not isinstance(token, str) or not token:
        return False
    async with uow:
        spent = await uow.sessions.spend_token(digest(token), session_id, purpose)
        await uow.commit()
    return spent


async def forget_old(uow: SessionsUnitOfWork, now: datetime) -> int:
    """Delete sessions unused for ``HISTORY`` (a visitor's for ``VISITOR_HISTORY``); how many."""
    async with uow:
        removed = await uow.sessions.forget(seen_before=now - HISTORY, visitors_seen_before=now - VISITOR_HISTORY)
        await uow.commit()
    return removed
