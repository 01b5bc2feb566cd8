"""Per-tenant credentials and kiota authentication providers, built from ``GraphConnection``.

- ``client_secret`` / ``certificate``: the secret or certificate *path* comes from the environment
  variable the config names; a missing variable raises ``GraphConfigError`` naming the variable,
  never its value.
- ``workload_identity`` / ``managed_identity`` / ``default``: azure-identity async credentials.

One credential per tenant, each bound to its tenant where the kind allows it: the secret,
certificate and workload-identity credentials are built with ``tenant_id``; ``default`` gets it as
its workload-identity tenant and as the only tenant it may ask for, and every token request names
it (kiota passes ``tenant_id`` to ``get_token``), so the chain's environment and developer-CLI
credentials ask that tenant too. A managed identity has no tenant parameter: its tokens are always
for its own tenant, so the configuration check refuses one managed identity for several tenants
(``idops.config.checks``) and ``idops config check --online`` compares each token's ``tid``.
- ``static``: a fixed bearer token (``static_token`` or ``emu.<tenant_id>``), only for the emulator;
  refused against Microsoft's Graph hosts.

Constructing these makes no network call; tokens are fetched on the first request.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from azure.core.credentials_async import AsyncTokenCredential
from kiota_abstractions.authentication import (
    AccessTokenProvider,
    AllowedHostsValidator,
    BaseBearerTokenAuthenticationProvider,
)
from kiota_authentication_azure.azure_identity_authentication_provider import (
    AzureIdentityAuthenticationProvider,
)
from pydantic import SecretStr

from idops.config.region import GraphConnection

#: Hosts of Microsoft's Graph clouds; a static token is never sent there.
MICROSOFT_GRAPH_HOSTS = frozenset(
    {
        "graph.microsoft.com",
        "graph.microsoft.us",
        "dod-graph.microsoft.us",
        "microsoftgraph.chinacloudapi.cn",
        "graph.microsoft.de",
    }
)


class GraphConfigError(ValueError):
    """The Graph connection of a tenant cannot be built from config and environment."""


class StaticTokenProvider(AccessTokenProvider):
    """Returns one fixed token, for the emulator. ``repr`` never shows it."""

    def __init__(self, token: str, allowed_hosts: list[str]) -> None:
        self._token = token
        self._validator = AllowedHostsValidator(allowed_hosts)

    async def get_authorization_token(
        self, uri: str, additional_authentication_context: dict[str, Any] | None = None
    ) -> str:
        host = urlsplit(uri).hostname or ""
        if host in MICROSOFT_GRAPH_HOSTS or not self._validator.is_url_host_valid(uri):
            return ""  # never hand the emulator token to another host
        return self._token

    def get_allowed_hosts_validator(self) -> AllowedHostsValidator:
        return self._validator

    def __repr__(self) -> str:
        return f"StaticTokenProvider(hosts={self._validator.get_allowed_hosts()!r})"


def _env(environ: Mapping[str, str], name: str | None, what: str, tenant_id: str) -> str:
    if not name:
        raise GraphConfigError(f"tenant {tenant_id}: {what} needs the name of an environment variable")
    value = environ.get(name)
    if not value:
        raise GraphConfigError(f"tenant {tenant_id}: environment variable {name} ({what}) is not set")
    return value


def build_credential(
    tenant_id: str, conn: GraphConnection, *, environ: Mapping[str, str] | None = None
) -> AsyncTokenCredential | None:
    """The azure-identity async credential for ``conn``; None for ``static``.

    Raises ``GraphConfigError`` for a missing environment variable or certificate file.
    """
    env = os.environ if environ is None else environ
    kind = conn.credential
    if kind == "static":
        return None
    from azure.identity import aio  # imported here: only the real-credential paths need it

    if kind == "client_secret":
        # Held masked (its repr is '**********') until the one call that needs the text.
        secret = SecretStr(_env(env, conn.client_secret_env, "client secret", tenant_id))
        return aio.ClientSecretCredential(tenant_id, _need_client_id(conn, tenant_id), secret.get_secret_value())
    if kind == "certificate":
        path = _env(env, conn.certificate_path_env, "certificate path", tenant_id)
        if not os.path.isfile(path):
            raise GraphConfigError(
                f"tenant {tenant_id}: certificate file named by {conn.certificate_path_env} does not exist"
            )
        return aio.CertificateCredential(tenant_id, _need_client_id(conn, tenant_id), certificate_path=path)
    if kind == "workload_identity":
        token_file = env.get("AZURE_FEDERATED_TOKEN_FILE")
        if not token_file:
            raise GraphConfigError(
                f"tenant {tenant_id}: workload identity needs AZURE_FEDERATED_TOKEN_FILE "
                "(set by the workload-identity webhook)"
            )
        return aio.WorkloadIdentityCredential(
            tenant_id=tenant_id, client_id=_need_client_id(conn, tenant_id), token_file_path=token_file
        )
    if kind == "managed_identity":
        if conn.client_id:
            return aio.ManagedIdentityCredential(client_id=conn.client_id)
        return aio.ManagedIdentityCredential()
    if kind == "default":
        # The shared token cache is excluded: a service must not pick up a developer's cached login.
        return aio.DefaultAzureCredential(
            exclude_shared_token_cache_credential=True,
            managed_identity_client_id=conn.client_id,
            workload_identity_client_id=conn.client_id,
            workload_identity_tenant_id=tenant_id,
            additionally_allowed_tenants=[tenant_id],
        )
    raise GraphConfigError(f"tenant {tenant_id}: unknown credential kind {kind!r}")


def _need_client_id(conn: GraphConnection, tenant_id: str) -> str:
    if not conn.client_id:
        raise GraphConfigError(f"tenant {tenant_id}: credential {conn.credential!r} needs client_id")
    return conn.client_id


def build_auth_provider(
    tenant_id: str,
    conn: GraphConnection,
    base_url: str,
    *,
    environ: Mapping[str, str] | None = None,
) -> tuple[BaseBearerTokenAuthenticationProvider, AsyncTokenCredential | None]:
    """The kiota auth provider for one tenant and the credential to close on shutdown (or None).

    Tokens are only attached for the host of ``base_url``; every token request names ``tenant_id``.
    """
    parts = urlsplit(base_url)
    host = (parts.hostname or "").lower()
    if not host or parts.scheme not in ("http", "https"):
        raise GraphConfigError(f"tenant {tenant_id}: base URL must be http(s)://host/…")
    if conn.credential == "static":
        if host in MICROSOFT_GRAPH_HOSTS:
            raise GraphConfigError(
                f"tenant {tenant_id}: credential 'static' is only for the emulator, not {host}"
            )
        token = conn.static_token or f"emu.{tenant_id}"
        return BaseBearerTokenAuthenticationProvider(StaticTokenProvider(token, [host])), None
    if parts.scheme != "https":
        raise GraphConfigError(f"tenant {tenant_id}: real credentials need an https base URL")
    credential = build_credential(tenant_id, conn, environ=environ)
    assert credential is not None
    provider = AzureIdentityAuthenticationProvider(
        credential, options={"tenant_id": tenant_id}, scopes=[f"https://{host}/.default"], allowed_hosts=[host]
    )
    return provider, credential
