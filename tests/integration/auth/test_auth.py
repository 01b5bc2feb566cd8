"""Bearer tokens: every way a token can be wrong gives 401 problem+json and nothing else."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from idops.app import create_app
from idops.auth.demo import DEMO_ISSUER, DemoSigner, demo_claims
from idops.auth.tokens import JwksCache, TokenValidator
from idops.bootstrap import bootstrap
from idops.config import Config
from tests.conftest import NoDirectories, TokenFactory, bearer

PROTECTED = "/v1/jobs"


class CountingJwks:
    def __init__(self, signer: DemoSigner) -> None:
        self.signer = signer
        self.calls = 0

    async def __call__(self) -> dict[str, Any]:
        self.calls += 1
        return self.signer.jwks()


@pytest.fixture
def jwks_source(signer: DemoSigner) -> CountingJwks:
    return CountingJwks(signer)


@pytest.fixture
async def client(config: Config, jwks_source: CountingJwks) -> AsyncIterator[httpx.AsyncClient]:
    cache = JwksCache(jwks_source, ttl_seconds=3600, min_refresh_seconds=0)
    validator = TokenValidator(
        config.settings.auth, cache, issuer=DEMO_ISSUER, audience=config.settings.auth.audience,
        tenant_ids=frozenset(config.region.tenants()),
    )
    app = create_app(config, container_factory=lambda: bootstrap(config, directories=NoDirectories()),
                     validator=validator)
    async with app.router.lifespan_context(app), httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as c:
        yield c


def claims(config: Config, **changes: Any) -> dict[str, Any]:
    c = demo_claims(config, role="RegionAdmin", now=datetime.now(UTC))
    c.update(changes)
    return c


async def assert_401(client: httpx.AsyncClient, token: str | None) -> None:
    headers = bearer(token) if token is not None else {}
    r = await client.get(PROTECTED, headers=headers)
    assert r.status_code == 401, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.headers["www-authenticate"].startswith("Bearer")
    body = r.json()
    assert set(body) == {"type", "title", "status", "detail", "instance", "request_id"}
    assert "items" not in r.text


async def test_valid_token_is_accepted(client: httpx.AsyncClient, make_token: TokenFactory) -> None:
    r = await client.get(PROTECTED, headers=bearer(make_token("RegionAdmin")))
    assert r.status_code == 200, r.text


async def test_missing_token(client: httpx.AsyncClient) -> None:
    await assert_401(client, None)


async def test_expired_token(client: httpx.AsyncClient, config: Config, signer: DemoSigner) -> None:
    now = int(datetime.now(UTC).timestamp())
    await assert_401(client, signer.sign(claims(config, iat=now - 7200, nbf=now - 7200, exp=now - 3600)))


async def test_expiry_within_clock_skew_is_tolerated(client: httpx.AsyncClient, config: Config,
                                                     signer: DemoSigner) -> None:
    now = int(datetime.now(UTC).timestamp())
    r = await client.get(PROTECTED, headers=bearer(signer.sign(claims(config, exp=now - 20))))
    assert r.status_code == 200


async def test_not_yet_valid_token(client: httpx.AsyncClient, config: Config, signer: DemoSigner) -> None:
    now = int(datetime.now(UTC).timestamp())
    await assert_401(client, signer.sign(claims(config, nbf=now + 3600)))


async def test_wrong_audience(client: httpx.AsyncClient, config: Config, signer: DemoSigner) -> None:
    await assert_401(client, signer.sign(claims(config, aud="api://someone-else")))


async def test_wrong_issuer(client: httpx.AsyncClient, config: Config, signer: DemoSigner) -> None:
    await assert_401(client, signer.sign(claims(config, iss="https://evil.example/v2.0")))


async def test_issuer_of_another_tenant(client: httpx.AsyncClient, config: Config, signer: DemoSigner) -> None:
    other = "00000000-0000-0000-0000-000000000001"
    await assert_401(client, signer.sign(claims(config, iss=DEMO_ISSUER.replace("{tid}", other), tid=other)))


async def test_alg_none(client: httpx.AsyncClient, config: Config) -> None:
    token = jwt.encode(claims(config), key=None, algorithm="none")  # type: ignore[arg-type]
    await assert_401(client, token)


async def test_hs256_signed_with_the_public_key(client: httpx.AsyncClient, config: Config,
                                               signer: DemoSigner, data_dir: Any) -> None:
    public_pem = (data_dir / "demo-signing-key.pem").read_bytes()
    key = serialization.load_pem_private_key(public_pem, password=None)
    pub = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    header = {"alg": "HS256", "typ": "JWT", "kid": signer.kid}
    segments = [
        base64.urlsafe_b64encode(json.dumps(h).encode()).rstrip(b"=") for h in (header, claims(config))
    ]
    import hashlib
    import hmac

    signing_input = b".".join(segments)
    sig = base64.urlsafe_b64encode(hmac.new(pub, signing_input, hashlib.sha256).digest()).rstrip(b"=")
    await assert_401(client, (signing_input + b"." + sig).decode())


async def test_unknown_kid_refreshes_jwks_once(client: httpx.AsyncClient, config: Config,
                                              jwks_source: CountingJwks) -> None:
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = jwt.encode(claims(config), stranger, algorithm="RS256", headers={"kid": "unknown-kid"})
    await assert_401(client, token)
    assert jwks_source.calls == 1  # fetched once, and the unknown kid triggered no second fetch storm


async def test_key_rotation_is_picked_up_on_unknown_kid(config: Config, tmp_path: Any) -> None:
    old, new = DemoSigner.load_or_create(tmp_path / "a"), DemoSigner.load_or_create(tmp_path / "b")
    current = {"signer": old}

    async def fetch() -> dict[str, Any]:
        return current["signer"].jwks()

    validator = TokenValidator(config.settings.auth, JwksCache(fetch, min_refresh_seconds=0), issuer=DEMO_ISSUER,
                               audience=config.settings.auth.audience, tenant_ids=frozenset(config.region.tenants()))
    await validator.validate(old.sign(claims(config)))
    current["signer"] = new
    await validator.validate(new.sign(claims(config)))
    assert validator.jwks.fetch_count == 2


async def test_tampered_payload(client: httpx.AsyncClient, make_token: TokenFactory) -> None:
    header, payload, sig = make_token("Principal", school="tampere/hervanta").split(".")
    data = json.loads(base64.urlsafe_b64decode(payload + "=="))
    data["roles"] = ["RegionAdmin"]
    forged = base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    await assert_401(client, f"{header}.{forged}.{sig}")


async def test_missing_roles_claim(client: httpx.AsyncClient, make_token: TokenFactory) -> None:
    await assert_401(client, make_token("RegionAdmin", drop=("roles",)))
    await assert_401(client, make_token("RegionAdmin", claims={"roles": []}))
    await assert_401(client, make_token("RegionAdmin", claims={"roles": "RegionAdmin"}))


async def test_garbage_token(client: httpx.AsyncClient) -> None:
    await assert_401(client, "not.a.jwt")
    await assert_401(client, "x" * 20000)


async def test_role_without_scope_is_403(client: httpx.AsyncClient, make_token: TokenFactory) -> None:
    stranger = "11111111-2222-3333-4444-555555555555"
    r = await client.get(PROTECTED, headers=bearer(make_token("Principal", school="tampere/hervanta",
                                                              claims={"oid": stranger, "sub": stranger})))
    assert r.status_code == 403


async def test_principal_is_not_an_admin(client: httpx.AsyncClient, make_token: TokenFactory) -> None:
    r = await client.get(PROTECTED, headers=bearer(make_token("Principal", school="tampere/hervanta")))
    assert r.status_code == 403


async def test_jwks_fetched_once_for_many_requests(client: httpx.AsyncClient, make_token: TokenFactory,
                                                   jwks_source: CountingJwks) -> None:
    token = make_token("RegionAdmin")
    for _ in range(25):
        assert (await client.get(PROTECTED, headers=bearer(token))).status_code == 200
    assert jwks_source.calls == 1


async def test_demo_token_after_lifetime_is_refused(client: httpx.AsyncClient, config: Config,
                                                   signer: DemoSigner) -> None:
    old = demo_claims(config, role="RegionAdmin", now=datetime.now(UTC) - timedelta(hours=9))
    await assert_401(client, signer.sign(old))
