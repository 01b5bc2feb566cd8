"""The pages' session: a signed cookie that carries only the session's id, and the session itself held
by the server (``idops.sessions``): who signed in — written once, at sign-in, from the validated ID
token — and the session's working state (CSRF token, one-time notices, the sign-in's OpenID Connect
state, where to go after sign-in). Sign-out ends the record, so a copy of the cookie is worth nothing
afterwards; so does "sign out everywhere", and the server's idle (8 h) and absolute (12 h) limits.

The cookie is HttpOnly, SameSite=Lax, and Secure unless the service runs with demo auth (plain http on
loopback). The secret signing it comes from the environment variable named by
``[web].session_secret_env``; demo auth without it uses a random secret stored under the data
directory (0600). Sessions age by the wall clock (the demo's movable clock does not sign anyone out).
"""

from __future__ import annotations

import hmac
import json
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from itsdangerous import BadSignature, Signer
from starlette.requests import Request
from starlette.responses import Response

from idops.kit.clock import ShiftedClock
from idops.sessions import service as sessions
from idops.sessions.service import LiveSession, SessionUser

if TYPE_CHECKING:
    from idops.container import Container

COOKIE = "idops_session"
SECRET_FILE = "web-session-secret"  # noqa: S105 — a file name, not a secret
MIN_SECRET = 32


class SessionNotConfigured(RuntimeError):
    """No session secret outside demo: the pages refuse to run rather than use a guessable one."""


def is_demo_auth(c: Container) -> bool:
    return c.config.settings.auth.mode == "demo"


def has_demo_clock(c: Container) -> bool:
    """The demo's clock page exists only in the demo, on the demo's movable clock."""
    return c.config.settings.demo and is_demo_auth(c) and isinstance(c.clock, ShiftedClock)


def session_secret(c: Container) -> str:
    """The signing secret ``bootstrap()`` resolved. Raises ``SessionNotConfigured`` without one."""
    if c.session_secret is None:
        raise SessionNotConfigured(
            f"set {c.config.settings.web.session_secret_env} to a random string of at least {MIN_SECRET} characters"
        )
    return c.session_secret.get_secret_value()


def _signer(c: Container) -> Signer:
    return Signer(session_secret(c), salt="idops.web.session")


def _now() -> datetime:
    return datetime.now(UTC)


def fingerprint(data: dict[str, Any]) -> str:
    return json.dumps(data, sort_keys=True, default=str)


@dataclass
class PageSession:
    """One page request's session: its live record (None while nothing is stored), the working state
    ``data`` that handlers and Authlib change, and the cookie the response must carry ("" deletes it)."""

    live: LiveSession | None
    data: dict[str, Any] = field(default_factory=dict)
    cookie: str | None = None
    loaded: str = "{}"

    @property
    def user(self) -> SessionUser | None:
        """Who signed in, from the record (never from the request)."""
        return self.live.user if self.live is not None else None

    def _adopt(self, live: LiveSession | None, data: dict[str, Any]) -> None:
        self.live = live
        self.data.clear()
        self.data.update(data)
        if live is not None:
            live.data = self.data  # one dict: what a handler changes is what is saved
        self.loaded = fingerprint(self.data)


async def load(c: Container, request: Request) -> PageSession:
    """The session the request's cookie names; an empty one when it has none, a bad signature, or a
    session that has ended (signed out, idle or too old)."""
    raw = request.cookies.get(COOKIE)
    live = None
    if raw:
        try:
            live = await sessions.find(c.uow(), _signer(c).unsign(raw).decode(), _now())
        except (BadSignature, UnicodeDecodeError):
            live = None
    page = PageSession(None, cookie="" if raw and live is None else None)
    page._adopt(live, live.data if live is not None else {})
    return page


async def save(c: Container, response: Response, page: PageSession) -> None:
    """Store what the request changed (a visitor's first stored state starts a session) and set or
    delete the cookie."""
    if page.live is None and page.data:
        raw, live = await sessions.start(c.uow(), _now(), data=dict(page.data))
        page._adopt(live, page.data.copy())
        page.cookie = raw
    elif page.live is not None:
        changed = fingerprint(page.data) != page.loaded
        if not await sessions.record_use(c.uow(), page.live, _now(), changed=changed):
            page.cookie = ""  # ended meanwhile (signed out in another tab)
    if page.cookie is None:
        return
    secure = not is_demo_auth(c)
    if page.cookie == "":
        response.delete_cookie(COOKIE, path="/", secure=secure, httponly=True, samesite="lax")
        return
    response.set_cookie(
        COOKIE,
        _signer(c).sign(page.cookie).decode(),
        max_age=int(sessions.ABSOLUTE.total_seconds()),
        path="/",
        secure=secure,
        httponly=True,
        samesite="lax",
    )


async def sign_in(c: Container, page: PageSession, claims: dict[str, Any]) -> None:
    """Start a signed-in session from validated ID-token claims: a new id (the visitor's ends), a
    fresh CSRF token, nothing carried over."""
    data: dict[str, Any] = {}
    csrf_token(data)
    previous = page.live.id if page.live is not None else None
    raw, live = await sessions.start(c.uow(), _now(), claims=claims, data=data, replaces=previous)
    page._adopt(live, data)
    page.cookie = raw


async def sign_out(c: Container, page: PageSession) -> None:
    """End this session on the server and forget it in the browser."""
    if page.live is not None:
        await sessions.end(c.uow(), page.live.id, _now())
    page._adopt(None, {})
    page.cookie = ""


async def sign_out_everywhere(c: Container, page: PageSession) -> int:
    """End every session of the signed-in user, this one included; how many were live."""
    user = page.user
    ended = await sessions.end_all(c.uow(), user.tid, user.oid, _now()) if user is not None else 0
    await sign_out(c, page)
    return ended


def csrf_token(data: dict[str, Any]) -> str:
    """This session's CSRF token (created on first use)."""
    token = data.get("csrf")
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        data["csrf"] = token
    return token


class LazyCsrf:
    """The CSRF token as a template value, created only if a form renders it (a visitor reading a
    page without a form starts no session)."""

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    def __str__(self) -> str:
        return csrf_token(self._data)


def csrf_ok(data: dict[str, Any], submitted: object) -> bool:
    expected = data.get("csrf")
    return (
        isinstance(expected, str)
        and bool(expected)
        and isinstance(submitted, str)
        and hmac.compare_digest(expected.encode(), submitted.encode())
    )


async def issue_one_shot(c: Container, page: PageSession, purpose: str) -> str:
    """A token a form of this signed-in session may use once, recorded on the server."""
    if page.live is None:
        raise RuntimeError("one-shot tokens belong to a signed-in session")
    return await sessions.issue_one_shot(c.uow(), page.live.id, purpose, _now())


async def spend_one_shot(c: Container, page: PageSession, purpose: str, token: object) -> bool:
    """True once per issued token (a reloaded form, a replayed request: False)."""
    return page.live is not None and await sessions.spend_one_shot(c.uow(), page.live.id, purpose, token)


def flash(data: dict[str, Any], message: str, kind: str = "ok") -> None:
    data.setdefault("flash", []).append([kind, message])


def pop_flashes(data: dict[str, Any]) -> list[tuple[str, str]]:
    items = data.pop("flash", [])
    return [(str(k), str(m)) for k, m in items] if isinstance(items, list) else []
