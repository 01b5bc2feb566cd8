"""Bearer-token validation: RS256 only, strict iss/aud/exp/nbf, JWKS cached and refreshed once on an unknown kid.

Demo mode validates its own tokens through this same code; only the JWKS source differs.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import jwt
import structlog
from jwt import PyJWK

from idops.config.settings import AuthSettings

log = structlog.get_logger("idops.auth")

JwksFetcher = Callable[[], Awaitable[dict[str, Any]]]


class InvalidToken(Exception):
    """The token cannot be trusted. The message is for logs; callers get a generic 401."""


class JwksCache:
    """Keys by kid. Refetches when stale, and at most once per ``min_refresh_seconds`` on an unknown kid,
    so a flood of forged kids cannot turn into a flood of JWKS requests."""

    def __init__(self, fetch: JwksFetcher, *, ttl_seconds: float = 3600, min_refresh_seconds: float = 30) -> None:
        self._fetch = fetch
        self._ttl = ttl_seconds
        self._min_refresh = min_refresh_seconds
        self._keys: dict[str, PyJWK] = {}
        self._fetched_at = 0.0
        self._lock = asyncio.Lock()
        self.fetch_count = 0

    async def _refresh(self) -> None:
        data = await self._fetch()
        keys: dict[str, PyJWK] = {}
        for jwk in data.get("keys", []):
            if jwk.get("kty") != "RSA" or not jwk.get("kid"):
                continue
            if jwk.get("use") not in (None, "sig"):
                continue
            try:
                keys[jwk["kid"]] = PyJWK(jwk, algorithm="RS256")
            except jwt.PyJWTError:
                continue
        self._keys = keys
        self._fetched_at = time.monotonic()
        self.fetch_count += 1

    async def key(self, kid: str) -> PyJWK:
        now = time.monotonic()
        if kid in self._keys and now - self._fetched_at < self._ttl:
            return self._keys[kid]
        async with self._lock:
            now = time.monotonic()
            stale = now - self._fetched_at >= self._ttl
            may_refresh = now - self._fetched_at >= self._min_refresh or not self._keys
            if (kid not in self._keys and may_refresh) or stale:
                try:
                    await self._refresh()
                except (httpx.HTTPError, ValueError) as exc:
                    log.warning("jwks_fetch_failed", error=type(exc).__name__)
                    if not self._keys:
                        raise InvalidToken("signing keys unavailable") from exc
        if kid not in self._keys:
            raise InvalidToken("unknown kid")
        return self._keys[kid]


def http_jwks_fetcher(url: str, client: httpx.AsyncClient) -> JwksFetcher:
    async def fetch() -> dict[str, Any]:
        resp = await client.get(url, timeout=10.0)
        resp.raise_for_status()
        data = resp.json()
        if not isinstance(data, dict):
            raise ValueError("JWKS is not an object")
        return data

    return fetch


class TokenValidator:
    """Validates access tokens for the idops API.

    ``issuer`` may contain ``{tid}`` (a multi-tenant region: each municipality's tenant issues its
    own tokens); then ``iss`` must equal the template filled with the token's ``tid``, and that
    ``tid`` must be one of ``tenant_ids``.
    """

    def __init__(
        self,
        settings: AuthSettings,
        jwks: JwksCache,
        *,
        issuer: str,
        audience: str,
        tenant_ids: frozenset[str] = frozenset(),
    ) -> None:
        self._settings = settings
        self._jwks = jwks
        self._issuer = issuer
        self._audience = audience
        self._tenant_ids = tenant_ids

    @property
    def jwks(self) -> JwksCache:
        return self._jwks

    async def validate(self, token: str) -> dict[str, Any]:
        """Return the claims of a trustworthy token or raise ``InvalidToken``."""
        if not token or len(token) > 16_384:
            raise InvalidToken("empty or oversized token")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"malformed: {type(exc).__name__}") from exc
        if header.get("alg") != "RS256":
            raise InvalidToken(f"algorithm {header.get('alg')!r} refused")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise InvalidToken("no kid")
        key = await self._jwks.key(kid)
        templated = "{tid}" in self._issuer
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key.key,
                algorithms=["RS256"],
                audience=self._audience,
                issuer=None if templated else self._issuer,
                leeway=self._settings.clock_skew_seconds,
                options={"require": ["exp", "nbf", "iss", "aud", "oid", "tid"], "verify_iss": not templated},
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken(type(exc).__name__) from exc
        if templated:
            tid = str(claims.get("tid", "")).lower()
            if tid not in self._tenant_ids or claims.get("iss") != self._issuer.replace("{tid}", tid):
                raise InvalidToken("InvalidIssuerError")
        roles = claims.get("roles")
        if not isinstance(roles, list) or not roles or not all(isinstance(r, str) for r in roles):
            raise InvalidToken("roles claim missing or malformed")
        return claims
