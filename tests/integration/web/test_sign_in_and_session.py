"""Pages in process (no browser): OIDC sign-in with PKCE against a stand-in Entra, the session
cookie outside demo, the session secret, and the demo clock refused outside demo."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from idops.app import create_app
from idops.auth.demo import DemoSigner
from idops.bootstrap import bootstrap
from idops.config import Config, ConfigError
from idops.web.auth import oidc_client
from tests.conftest import NoDirectories

AUTHORITY = "https://login.example.test/organizations/v2.0"
ISSUER_TEMPLATE = "https://login.example.test/{tenantid}/v2.0"
CLIENT_ID = "11111111-2222-3333-4444-555555555555"
SECRET = "s" * 48


@asynccontextmanager
async def serve(config: Config, base_url: str = "https://idops.test") -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(config, container_factory=lambda: bootstrap(config, directories=NoDirectories()))
    transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url=base_url) as client:
        client.app = app  # type: ignore[attr-defined]
        yield client


PUBLIC_URL = "https://idops.example.fi/idops/"


@pytest.fixture
def entra_config(make_config: Callable[..., Config], monkeypatch: pytest.MonkeyPatch) -> Config:
    monkeypatch.setenv("IDOPS_OIDC_CLIENT_SECRET", "client-secret-of-the-pages-app")  # checked at load
    return make_config(
        auth={
            "mode": "entra",
            "issuer": "https://login.example.test/{tid}/v2.0",
            "jwks_url": "https://login.example.test/keys",
        },
        web={"oidc_authority": AUTHORITY, "oidc_client_id": CLIENT_ID},
        api={"public_url": PUBLIC_URL},
    )


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found
    return found.group(1)


class StandInEntra:
    """Metadata, keys and the token endpoint of an identity provider, inside the test."""

    def __init__(self, signer: DemoSigner) -> None:
        self.signer = signer
        self.token_requests: list[dict[str, Any]] = []
        self.claims: dict[str, Any] = {}

    def install(self, client: httpx.AsyncClient) -> None:
        oidc = oidc_client(client.app.state.container)  # type: ignore[attr-defined]
        oidc.server_metadata.update(
            {
                "issuer": ISSUER_TEMPLATE,
                "authorization_endpoint": "https://login.example.test/organizations/oauth2/v2.0/authorize",
                "token_endpoint": "https://login.example.test/organizations/oauth2/v2.0/token",
                "jwks": self.signer.jwks(),
                "id_token_signing_alg_values_supported": ["RS256"],
                "_loaded_at": time.time(),
            }
        )

        async def fetch_access_token(redirect_uri: str | None = None, **kwargs: Any) -> dict[str, Any]:
            self.token_requests.append({"redirect_uri": redirect_uri, **kwargs})
            return {
                "access_token": "opaque",
                "token_type": "Bearer",
                "expires_in": 3600,
                "id_token": self.signer.sign(self.claims),
            }

        oidc.fetch_access_token = fetch_access_token  # type: ignore[method-assign]

    def id_claims(self, config: Config, nonce: str, changes: dict[str, Any] | None = None) -> dict[str, Any]:
        muni, school = config.region.school("tampere/hervanta")  # type: ignore[misc]
        now = int(time.time())
        claims = {
            "iss": ISSUER_TEMPLATE.replace("{tenantid}", muni.tenant_id),
            "aud": CLIENT_ID,
            "iat": now,
            "nbf": now,
            "exp": now + 3600,
            "nonce": nonce,
            "sub": "subject",
            "tid": muni.tenant_id,
            "oid": school.principals.object_ids[0],
            "roles": ["Principal"],
            "name": "Rehtori Testinen",
        }
        claims.update(changes or {})
        return claims


async def start_sign_in(client: httpx.AsyncClient) -> dict[str, str]:
    response = await client.get("/sign-in/entra")
    assert response.status_code == 302
    location = urlparse(response.headers["location"])
    params = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert location.netloc == "login.example.test"
    return params


async def test_oidc_sign_in_uses_pkce_and_the_id_tokens_scope(
    entra_config: Config, data_dir: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IDOPS_SESSION_SECRET", SECRET)
    entra = StandInEntra(DemoSigner.load_or_create(data_dir))
    async with serve(entra_config) as client:
        entra.install(client)
        page = await client.get("/sign-in")
        assert page.status_code == 200 and 'href="/sign-in/entra"' in page.text
        params = await start_sign_in(client)
        assert params["response_type"] == "code" and params["client_id"] == CLIENT_ID
        assert params["code_challenge_method"] == "S256" and len(params["code_challenge"]) >= 43
        # the configured public address (a proxy's, with its path prefix), not the request's host
        assert params["redirect_uri"] == "https://idops.example.fi/idops/sign-in/callback"
        assert "openid" in params["scope"].split()

        entra.claims = entra.id_claims(entra_config, params["nonce"])
        done = await client.get("/sign-in/callback", params={"code": "the-code", "state": params["state"]})
        assert done.status_code == 303
        verifier = entra.token_requests[0]["code_verifier"]
        assert verifier and entra.token_requests[0]["code"] == "the-code"

        home = await client.get("/", follow_redirects=True)
        assert str(home.url).endswith("/schools/tampere/hervanta")
        assert "Rehtori Testinen" in home.text
        other = await client.get("/schools/tampere/kaleva")
        assert other.status_code == 404

        # The state was single use: replaying the callback is refused.
        replay = await client.get("/sign-in/callback", params={"code": "the-code", "state": params["state"]})
        assert replay.status_code == 400


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"nonce": "not-the-nonce"}, 400),
        ({"aud": "someone-else"}, 400),
        ({"exp": int(time.time()) - 3600}, 400),
        ({"iss": "https://evil.example.test/v2.0"}, 400),
        ({"tid": "00000000-0000-0000-0000-000000000000"}, 403),
        ({"roles": []}, 403),
    ],
)
async def test_oidc_refuses_bad_id_tokens(
    entra_config: Config, data_dir: Any, monkeypatch: pytest.MonkeyPatch, change: dict[str, Any], status: int
) -> None:
    monkeypatch.setenv("IDOPS_SESSION_SECRET", SECRET)
    entra = StandInEntra(DemoSigner.load_or_create(data_dir))
    async with serve(entra_config) as client:
        entra.install(client)
        params = await start_sign_in(client)
        entra.claims = entra.id_claims(entra_config, params["nonce"], change)
        if "iss" not in change and "tid" in change:
            entra.claims["iss"] = ISSUER_TEMPLATE.replace("{tenantid}", change["tid"])
        done = await client.get("/sign-in/callback", params={"code": "c", "state": params["state"]})
        assert done.status_code == status
        home = await client.get("/")
        assert home.status_code == 303 and home.headers["location"] == "/sign-in"


async def test_session_cookie_is_secure_httponly_lax_outside_demo(
    entra_config: Config, data_dir: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IDOPS_SESSION_SECRET", SECRET)
    async with serve(entra_config) as client:
        StandInEntra(DemoSigner.load_or_create(data_dir)).install(client)
        page = await client.get("/sign-in")
        assert "set-cookie" not in page.headers  # reading a page starts no session
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        response = await client.get("/sign-in/entra")  # the sign-in's state is the first thing stored
        cookie = response.headers["set-cookie"].lower()
        assert cookie.startswith("idops_session=")
        for flag in ("secure", "httponly", "samesite=lax", "path=/"):
            assert flag in cookie


async def test_pages_refuse_to_run_without_a_session_secret_outside_demo(
    entra_config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("IDOPS_SESSION_SECRET", raising=False)
    async with serve(entra_config) as client:
        response = await client.get("/sign-in")
        assert response.status_code == 500
        assert "session secret" in response.text
    monkeypatch.setenv("IDOPS_SESSION_SECRET", "too-short")
    with pytest.raises(ConfigError, match="IDOPS_SESSION_SECRET must be at least 32 characters"):
        bootstrap(entra_config, directories=NoDirectories())  # refused at start-up, not at the first request


async def test_demo_clock_needs_the_demos_movable_clock(config: Config) -> None:
    """The clock page moves only the demo's own clock: with the real clock it and its hook are 404."""
    assert config.settings.auth.mode == "demo" and config.settings.demo
    async with serve(config, base_url="http://idops.test") as client:
        page = await client.get("/sign-in")
        signed = await client.post("/sign-in/demo", data={"csrf": csrf_of(page.text), "who": "region"})
        assert signed.status_code == 303
        home = await client.get("/admin/jobs")
        assert home.status_code == 200
        assert (await client.get("/_demo/clock")).status_code == 404
        advance = await client.post("/_demo/clock/advance", data={"csrf": csrf_of(home.text), "hours": "24"})
        assert advance.status_code == 404
        assert 'href="/_demo/clock"' not in home.text
