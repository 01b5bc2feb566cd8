"""Who is signed in to the pages: OpenID Connect (authorization code + PKCE, Authlib) against
Entra ID, or in demo auth a "sign in as" list whose tokens pass the API's own validator.

Either way the sign-in writes the ID token's identifying claims (oid, tid, roles, groups, name) to the
session's record on the server (``idops.sessions``), and every request turns the record into a
``Caller`` through ``resolve_scope`` — the one place where scope is decided, shared with the API.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from starlette.requests import Request

from idops.auth.demo import DemoRefused, demo_claims
from idops.auth.scope import Caller, NoScope, resolve_scope
from idops.auth.tokens import TokenValidator
from idops.kit.oidc import StarletteOAuth2App
from idops.sessions.service import SessionUser

if TYPE_CHECKING:
    from idops.container import Container


class SignInRequired(Exception):
    """No (valid) signed-in user: the pages answer with a redirect to the sign-in page."""


class NoAccess(Exception):
    """Signed in, but the claims grant nothing in this region (403 page)."""


def caller_of(c: Container, user: SessionUser | None) -> Caller | None:
    """The caller of a signed-in session, from its server-side record: the ID token's claims as they
    were at sign-in, resolved against today's configuration. None when nobody is signed in.

    Raises ``NoAccess`` when the record's tenant is not one of the region's, or its claims no longer
    grant any scope (the configuration changed since)."""
    if user is None:
        return None
    if user.tid.lower() not in {t.lower() for t in c.config.region.tenants()}:
        raise NoAccess("the session's tenant is not one of the region's")
    try:
        scope = resolve_scope(user.claims(), c.config.region, region_admin_tenants=c.config.region_admin_tenants())
    except NoScope as exc:
        raise NoAccess(str(exc)) from exc
    return Caller(
        oid=user.oid.lower(),
        tid=user.tid.lower(),
        roles=frozenset(user.roles),
        scope=scope,
        name=user.name,
        token_id=None,
    )


# ------------------------------------------------------------------------------------------- demo


@dataclass(frozen=True, slots=True)
class DemoChoice:
    key: str  # "principal:tampere/hervanta" | "itadmin:tampere" | "region"
    label: str
    role: str
    school: str | None = None
    municipality: str | None = None


@dataclass(frozen=True, slots=True)
class DemoMunicipality:
    key: str
    name: str
    principals: list[DemoChoice]
    it_admin: DemoChoice


def demo_directory(c: Container) -> tuple[list[DemoMunicipality], DemoChoice]:
    """Every demo principal (one per school with principals configured), grouped by municipality,
    each municipality's IT admin, and the region admin."""
    out = []
    for m in c.config.region.municipalities:
        principals = [
            DemoChoice(f"principal:{m.key}/{s.key}", s.name, "Principal", school=f"{m.key}/{s.key}")
            for s in m.schools
            if s.principals.object_ids or s.principals.group_ids
        ]
        out.append(
            DemoMunicipality(
                m.key, m.name, principals, DemoChoice(f"itadmin:{m.key}", m.name, "ItAdmin", municipality=m.key)
            )
        )
    return out, DemoChoice("region", c.config.region.region.name, "RegionAdmin")


def demo_choice(c: Container, key: str) -> DemoChoice | None:
    munis, region = demo_directory(c)
    if key == region.key:
        return region
    for m in munis:
        if m.it_admin.key == key:
            return m.it_admin
        for p in m.principals:
            if p.key == key:
                return p
    return None


async def demo_sign_in(c: Container, validator: TokenValidator, choice: DemoChoice) -> dict[str, Any]:
    """Sign a demo token for ``choice`` and validate it with the API's validator: the claims that
    come out are exactly what an API caller with that token would have."""
    signer = c.demo_signer
    if signer is None:
        raise DemoRefused("demo sign-in needs demo auth")
    claims = demo_claims(
        c.config, role=choice.role, now=datetime.now(UTC), school=choice.school, municipality=choice.municipality
    )
    validated = await validator.validate(signer.sign(claims))
    return dict(validated)


# ------------------------------------------------------------------------------------------- OIDC


class OidcNotConfigured(RuntimeError):
    pass


def oidc_client(c: Container) -> StarletteOAuth2App:
    if c.oidc is None:
        raise OidcNotConfigured("web.oidc_authority and web.oidc_client_id are required")
    return c.oidc


def callback_url(c: Container, request: Request) -> str:
    """Where Entra sends the user back: ``api.public_url`` (the proxy's address with its path prefix), never
    the Host header of the request (a forged one would carry the code elsewhere)."""
    return c.config.settings.api.public_url.rstrip("/") + request.app.url_path_for("sign_in_callback")


async def oidc_redirect(c: Container, request: Request, redirect_uri: str) -> Any:
    """Start the authorization-code flow; state, nonce and the PKCE verifier go to the session."""
    return await oidc_client(c).authorize_redirect(request, redirect_uri)


async def oidc_finish(c: Container, request: Request) -> dict[str, Any]:
    """Finish the flow: exchange the code (with the PKCE verifier), validate the ID token's
    signature, issuer, audience, nonce and lifetime, and check its tenant is one of ours."""
    client = oidc_client(c)
    metadata = await client.load_server_metadata()
    issuer = str(metadata.get("issuer", ""))
    tenants = set(c.config.region.tenants())

    def issuer_ok(claims: Mapping[str, Any], value: object) -> bool:
        # Multi-tenant authorities publish "https://login.microsoftonline.com/{tenantid}/v2.0".
        return value == issuer.replace("{tenantid}", str(claims.get("tid", "")))

    token = await client.authorize_access_token(
        request, claims_options={"iss": {"essential": True, "validate": issuer_ok}}
    )
    claims = dict(token.get("userinfo") or {})
    if not claims or str(claims.get("tid", "")).lower() not in tenants:
        raise NoAccess("the ID token's tenant is not configured in this region")
    return claims
