"""The pages' session: a signed cookie, its secret, CSRF tokens and one-shot form tokens.

The cookie holds a small JSON dict signed with itsdangerous (tamper-proof, not secret: it carries
only ids, roles and names from the ID token, never tokens or passes). It is HttpOnly,
SameSite=Lax, and Secure unless the service runs with demo auth (plain http on loopback).
The secret comes from the environment variable named by ``[web].session_secret_env``; demo
auth without it uses a random secret stored under the data directory (0600).
"""

from __future__ import annotations

import hmac
import json
import secrets
from typing import TYPE_CHECKING, Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

if TYPE_CHECKING:
    from idops.container import Container

COOKIE = "idops_session"
IDLE_SECONDS = 8 * 3600  # a session unused for 8 h is gone (the cookie is re-signed on every page)
ABSOLUTE_SECONDS = 12 * 3600  # and no sign-in lasts longer than a school day and a half
SECRET_FILE = "web-session-secret"  # noqa: S105 — a file name, not a secret
MIN_SECRET = 32
ONE_SHOT_KEEP = 8


class SessionNotConfigured(RuntimeError):
    """No session secret outside demo: the pages refuse to run rather than use a guessable one."""


def is_demo_auth(c: Container) -> bool:
    return c.config.settings.auth.mode == "demo"


def session_secret(c: Container) -> str:
    """The signing secret ``bootstrap()`` resolved. Raises ``SessionNotConfigured`` without one."""
    if c.session_secret is None:
        raise SessionNotConfigured(
            f"set {c.config.settings.web.session_secret_env} to a random string of at least {MIN_SECRET} characters"
        )
    return c.session_secret.get_secret_value()


def _serializer(c: Container) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(session_secret(c), salt="idops.web.session")


def load(c: Container, request: Request) -> dict[str, Any]:
    """The session of ``request``; an empty dict when absent, tampered with or idle too long."""
    raw = request.cookies.get(COOKIE)
    if not raw:
        return {}
    try:
        data = _serializer(c).loads(raw, max_age=IDLE_SECONDS)
    except BadSignature:
        return {}
    return data if isinstance(data, dict) else {}


def fingerprint(session: dict[str, Any]) -> str:
    return json.dumps(session, sort_keys=True, default=str)


def save(c: Container, response: Response, session: dict[str, Any]) -> None:
    """Write (or, for an emptied session, delete) the cookie with the right flags."""
    secure = not is_demo_auth(c)
    if not session:
        response.delete_cookie(COOKIE, path="/", secure=secure, httponly=True, samesite="lax")
        return
    response.set_cookie(
        COOKIE,
        _serializer(c).dumps(session),
        max_age=IDLE_SECONDS,
        path="/",
        secure=secure,
        httponly=True,
        samesite="lax",
    )


def csrf_token(session: dict[str, Any]) -> str:
    """This session's CSRF token (created on first use)."""
    token = session.get("csrf")
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def csrf_ok(session: dict[str, Any], submitted: object) -> bool:
    expected = session.get("csrf")
    return (
        isinstance(expected, str)
        and bool(expected)
        and isinstance(submitted, str)
        and hmac.compare_digest(expected.encode(), submitted.encode())
    )


def issue_one_shot(session: dict[str, Any], purpose: str) -> str:
    """A token a form may use once (a reloaded POST then finds it spent): kept per purpose."""
    token = secrets.token_urlsafe(16)
    kept = [t for t in session.get(f"once_{purpose}", []) if isinstance(t, str)]
    session[f"once_{purpose}"] = [*kept, token][-ONE_SHOT_KEEP:]
    return token


def spend_one_shot(session: dict[str, Any], purpose: str, token: object) -> bool:
    """True once per issued token; False for an unknown or already spent one."""
    kept = [t for t in session.get(f"once_{purpose}", []) if isinstance(t, str)]
    if not isinstance(token, str) or token not in kept:
        return False
    kept.remove(token)
    session[f"once_{purpose}"] = kept
    return True


def flash(session: dict[str, Any], message: str, kind: str = "ok") -> None:
    session.setdefault("flash", []).append([kind, message])


def pop_flashes(session: dict[str, Any]) -> list[tuple[str, str]]:
    items = session.pop("flash", [])
    return [(str(k), str(m)) for k, m in items] if isinstance(items, list) else []
