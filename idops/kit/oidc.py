"""The pages' OpenID Connect client for Entra ID (Authlib), built once by ``bootstrap()``."""

from __future__ import annotations

import os
import warnings

from pydantic import SecretStr

from idops.config import Config

with warnings.catch_warnings():
    # Authlib 1.9 warns at import that its httpx integration is deprecated; it is still the one
    # its Starlette client uses, and the warning would otherwise print at every start. (Authlib
    # installs an "always" filter when authlib.deprecate is imported, so ours must come after.)
    import authlib.deprecate  # noqa: F401

    warnings.filterwarnings("ignore", message=".*httpx module is deprecated.*")
    from authlib.integrations.starlette_client import OAuth, StarletteOAuth2App

__all__ = ["StarletteOAuth2App", "build_oidc_client"]


def build_oidc_client(config: Config) -> StarletteOAuth2App | None:
    """The Authlib client for Entra ID from ``[web]`` (None when not configured); ``bootstrap()`` builds it.

    ``oidc_authority`` is the v2.0 authority, e.g. ``https://login.microsoftonline.com/<tenant>/v2.0``
    (or ``…/organizations/v2.0`` for a region of several tenants). PKCE (S256) is always on."""
    web = config.settings.web
    if not web.oidc_authority or not web.oidc_client_id:
        return None
    authority = web.oidc_authority.rstrip("/")
    secret = SecretStr(os.environ.get(web.oidc_client_secret_env, ""))  # masked until Authlib takes it
    client = OAuth().register(
        "entra",
        client_id=web.oidc_client_id,
        client_secret=secret.get_secret_value() or None,
        server_metadata_url=f"{authority}/.well-known/openid-configuration",
        client_kwargs={"scope": "openid profile", "code_challenge_method": "S256", "timeout": 15.0},
    )
    assert isinstance(client, StarletteOAuth2App)
    return client
