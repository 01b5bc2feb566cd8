"""Demo identity provider: a local RSA key under ``var/`` signs tokens and is served as a JWKS.

Tokens it signs pass through the same ``TokenValidator`` as real Entra tokens. It refuses to
work when the service is configured for a real identity provider.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from idops.config import Config
from idops.kit.files import create_once

KEY_FILE = "demo-signing-key.pem"
DEMO_ISSUER = "https://idops.demo.invalid/{tid}/v2.0"
_NS = uuid.UUID("6d1f3b1e-2c4a-4f0e-9a57-1d2b3c4d5e6f")


class DemoRefused(Exception):
    """Demo tokens were asked for while the service trusts a real identity provider."""


def _b64(n: int) -> str:
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class DemoSigner:
    def __init__(self, key: rsa.RSAPrivateKey) -> None:
        self._key = key
        pub = key.public_key().public_numbers()
        self.kid = hashlib.sha256(f"{pub.n}:{pub.e}".encode()).hexdigest()[:16]
        self._jwk = {"kty": "RSA", "use": "sig", "alg": "RS256", "kid": self.kid, "n": _b64(pub.n), "e": _b64(pub.e)}

    @classmethod
    def load_or_create(cls, data_dir: Path) -> DemoSigner:
        """Whichever command needs the key first creates it (0600); later ones reuse it."""

        def new_key() -> bytes:
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            return key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )

        pem = create_once(data_dir / KEY_FILE, new_key)
        loaded = serialization.load_pem_private_key(pem, password=None)
        if not isinstance(loaded, rsa.RSAPrivateKey):
            raise ValueError(f"{data_dir / KEY_FILE} is not an RSA key")
        return cls(loaded)

    def jwks(self) -> dict[str, Any]:
        return {"keys": [dict(self._jwk)]}

    def sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": self.kid})


def demo_oid(*parts: str) -> str:
    return str(uuid.uuid5(_NS, "/".join(parts)))


def demo_claims(
    config: Config,
    *,
    role: str,
    now: datetime,
    school: str | None = None,
    municipality: str | None = None,
    lifetime: timedelta = timedelta(hours=8),
) -> dict[str, Any]:
    """Claims of a demo token for a configured principal / IT admin / region admin."""
    if config.settings.auth.mode != "demo":
        raise DemoRefused("auth.mode is 'entra': demo tokens would not be accepted and are not issued")
    region = config.region
    if role == "Principal":
        if not school:
            raise ValueError("--school municipality/school is required for a Principal")
        found = region.school(school)
        if found is None:
            raise ValueError(f"unknown school {school!r}")
        muni, sch = found
        if sch.principals.object_ids:
            oid = sch.principals.object_ids[0]
            groups: list[str] = []
        elif sch.principals.group_ids:
            oid, groups = demo_oid("principal", school), [sch.principals.group_ids[0]]
        else:
            raise ValueError(f"school {school!r} has no principals configured")
        tid, name = muni.tenant_id, f"Rehtori ({sch.name})"
    elif role == "ItAdmin":
        if not municipality:
            raise ValueError("--municipality is required for an ItAdmin")
        m = region.municipality(municipality)
        if m is None:
            raise ValueError(f"unknown municipality {municipality!r}")
        groups = []
        if m.it_admins.object_ids:
            oid = m.it_admins.object_ids[0]
        elif m.it_admins.group_ids:
            oid, groups = demo_oid("itadmin", m.key), [m.it_admins.group_ids[0]]
        else:
            oid = demo_oid("itadmin", m.key)
        tid, name = m.tenant_id, f"Tietohallinto ({m.name})"
    elif role == "RegionAdmin":
        oid, groups = demo_oid("region-admin"), []
        tid, name = region.municipalities[0].tenant_id, "Seudun pääkäyttäjä"
    else:
        raise ValueError("role must be Principal, ItAdmin or RegionAdmin")
    iat = int(now.timestamp())
    claims: dict[str, Any] = {
        "iss": DEMO_ISSUER.replace("{tid}", tid),
        "aud": config.settings.auth.audience,
        "iat": iat,
        "nbf": iat - 5,
        "exp": iat + int(lifetime.total_seconds()),
        "oid": oid,
        "tid": tid,
        "sub": oid,
        "roles": [role],
        "name": name,
        "ver": "2.0",
        "jti": str(uuid.uuid4()),
    }
    if groups:
        claims["groups"] = groups
    return claims
