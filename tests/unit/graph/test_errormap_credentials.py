"""Error mapping for every row of graph-facts §11, and credential construction (no network)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from idops.config.region import GraphConnection
from idops.graph import errors
from idops.graph.credentials import GraphConfigError, StaticTokenProvider, build_auth_provider
from idops.graph.errormap import error_class, error_info

CID = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"
TID = "11111111-2222-4333-8444-555555555555"


def body(code: str | None, message: str, details: list[dict[str, str]] | None = None) -> dict[str, Any]:
    e: dict[str, Any] = {"code": code, "message": message, "innerError": {"request-id": "rid-inner"}}
    if details:
        e["details"] = details
    return {"error": e}


@pytest.mark.parametrize(
    ("status", "code", "message", "details", "expected"),
    [
        (400, "Request_BadRequest", "Another object with the same value for property userPrincipalName "
         "already exists.", [{"code": "ObjectConflict", "target": "userPrincipalName"}],
         errors.GraphConflict),
        (400, "Request_BadRequest", "Subscription with SKU 1 does not have any available licenses.", None,
         errors.GraphNoSeats),
        (400, "Request_BadRequest", "License assignment cannot be done for user with invalid usage location.",
         None, errors.GraphLicenceError),
        (400, "Request_BadRequest", "Converged UserCredentialPolicy does not allow creating or updating this "
         "authentication method. AuthMethodType [TemporaryAccessPass].", None,
         errors.AccessPassPolicyDisabled),
        (403, "Forbidden", "Converged UserCredentialPolicy does not allow …", None,
         errors.AccessPassPolicyDisabled),
        (400, "Request_BadRequest", "The source resource object or one of the objects being referenced don't "
         "exist.", None, errors.GraphNotFound),
        (400, "Request_UnsupportedQuery", "Unsupported Query.", None, errors.GraphBadRequest),
        (400, "Request_BadRequest", "Property userPrincipalName is invalid.", None, errors.GraphBadRequest),
        (401, "InvalidAuthenticationToken", "Access token is empty.", None, errors.GraphAuthError),
        (403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.", None,
         errors.GraphForbidden),
        (403, "Authentication_RequestFromNonPremiumTenantOrB2CTenant", "Neither tenant is B2C or tenant "
         "doesn't have premium license", None, errors.GraphPremiumRequired),
        (404, "Request_ResourceNotFound", "Resource 'x' does not exist", None, errors.GraphNotFound),
        (405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target.", None,
         errors.GraphError),
        (429, "TooManyRequests", "Please retry again later.", None, errors.GraphThrottled),
        (503, "serviceNotAvailable", "x", None, errors.GraphUnavailable),
        (504, "UnknownError", "x", None, errors.GraphUnavailable),
    ],
)
def test_status_and_code_map_to_typed_errors(
    status: int, code: str, message: str, details: Any, expected: type[errors.GraphError]
) -> None:
    info = error_info(status, {"request-id": "rid", "client-request-id": "cid"}, body(code, message, details))
    assert error_class(info) is expected
    assert info.request_id == "rid"
    assert info.client_request_id == "cid"


def test_already_member_is_recognised_by_message() -> None:
    info = error_info(400, {}, body("Request_BadRequest", "One or more added object references already exist "
                                    "for the following modified properties: 'members'."))
    assert info.is_already_member()
    assert info.request_id == "rid-inner"  # falls back to innerError


def test_unparseable_bodies_do_not_break_mapping() -> None:
    assert error_class(error_info(502, {}, None)) is errors.GraphUnavailable
    assert error_class(error_info(400, {}, {"error": "text"})) is errors.GraphBadRequest


# ------------------------------------------------------------------------------------- credentials


def conn(**kw: Any) -> GraphConnection:
    return GraphConnection(**kw)


def test_client_secret_reads_the_named_variable_and_never_shows_it() -> None:
    c = conn(credential="client_secret", client_id=CID, client_secret_env="IDOPS_T1_SECRET")
    provider, cred = build_auth_provider(TID, c, c.base_url, environ={"IDOPS_T1_SECRET": "s3cr3t-value"})
    assert type(cred).__name__ == "ClientSecretCredential"
    assert "s3cr3t-value" not in repr(cred)
    assert "s3cr3t-value" not in repr(provider)


def test_missing_secret_variable_is_a_clear_config_error() -> None:
    c = conn(credential="client_secret", client_id=CID, client_secret_env="IDOPS_T1_SECRET")
    with pytest.raises(GraphConfigError, match="IDOPS_T1_SECRET"):
        build_auth_provider(TID, c, c.base_url, environ={})


def test_certificate_needs_an_existing_file(tmp_path: Path) -> None:
    c = conn(credential="certificate", client_id=CID, certificate_path_env="IDOPS_CERT")
    with pytest.raises(GraphConfigError, match="IDOPS_CERT"):
        build_auth_provider(TID, c, c.base_url, environ={})
    with pytest.raises(GraphConfigError, match="does not exist"):
        build_auth_provider(TID, c, c.base_url, environ={"IDOPS_CERT": str(tmp_path / "missing.pem")})


def test_workload_managed_and_default_credentials_build_offline() -> None:
    wl = conn(credential="workload_identity", client_id=CID)
    with pytest.raises(GraphConfigError, match="AZURE_FEDERATED_TOKEN_FILE"):
        build_auth_provider(TID, wl, wl.base_url, environ={})
    _, cred = build_auth_provider(TID, wl, wl.base_url, environ={"AZURE_FEDERATED_TOKEN_FILE": "/var/run/t"})
    assert type(cred).__name__ == "WorkloadIdentityCredential"
    _, cred = build_auth_provider(TID, conn(credential="managed_identity"), "https://graph.microsoft.com/v1.0")
    assert type(cred).__name__ == "ManagedIdentityCredential"
    _, cred = build_auth_provider(TID, conn(credential="default"), "https://graph.microsoft.com/v1.0")
    assert type(cred).__name__ == "DefaultAzureCredential"


def test_real_credentials_refuse_plain_http() -> None:
    c = conn(credential="managed_identity", base_url="http://127.0.0.1:9/v1.0")
    with pytest.raises(GraphConfigError, match="https"):
        build_auth_provider(TID, c, c.base_url)


def test_static_token_is_only_for_the_emulator() -> None:
    c = conn(credential="static", base_url="http://127.0.0.1:9/v1.0")
    _provider, cred = build_auth_provider(TID, c, c.base_url)
    assert cred is None
    with pytest.raises(GraphConfigError, match="emulator"):
        build_auth_provider(TID, c, "https://graph.microsoft.com/v1.0")  # e.g. a wrong override


async def test_static_token_goes_only_to_its_host() -> None:
    p = StaticTokenProvider(f"emu.{TID}", ["127.0.0.1"])
    assert await p.get_authorization_token("http://127.0.0.1:1/v1.0/users") == f"emu.{TID}"
    assert await p.get_authorization_token("https://evil.example/v1.0/users") == ""
    assert f"emu.{TID}" not in repr(p)


@pytest.mark.parametrize("kind", ["client_secret", "default", "managed_identity"])
async def test_every_token_request_names_the_tenant(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """One credential per tenant: with 8 tenants, a request that names no tenant could get one tenant's token
    for all of them (DefaultAzureCredential's environment and CLI credentials would pick their own)."""
    from azure.core.credentials import AccessToken

    secret_env = "IDOPS_T1_SECRET" if kind == "client_secret" else None
    c = conn(credential=kind, client_id=CID, client_secret_env=secret_env)
    provider, cred = build_auth_provider(TID, c, c.base_url, environ={"IDOPS_T1_SECRET": "x"})
    asked: dict[str, Any] = {}

    async def get_token(*scopes: str, **kw: Any) -> AccessToken:
        asked.update(kw, scopes=scopes)
        return AccessToken("token", 2**31)

    monkeypatch.setattr(cred, "get_token", get_token)
    token = await provider.access_token_provider.get_authorization_token("https://graph.microsoft.com/v1.0/users")
    assert token == "token"
    assert asked["tenant_id"] == TID and asked["scopes"] == ("https://graph.microsoft.com/.default",)
    assert cred is not None
    await cred.close()
