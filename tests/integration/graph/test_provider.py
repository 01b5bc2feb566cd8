"""``GraphDirectoryProvider.from_config``: one directory per tenant, static tenants pointed at the emulator."""

from __future__ import annotations

import ssl
import uuid

import pytest

from idops.config.region import GraphConnection, Municipality, RegionConfig, School
from idops.config.settings import GraphSettings
from idops.emulator.server import EmulatorServer
from idops.graph.credentials import GraphConfigError
from idops.graph.sdk import GraphDirectoryProvider
from tests.support.graph import DOMAIN, TENANT

OTHER = "22222222-3333-4444-8555-666666666666"
CID = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"
GROUP = "33333333-4444-4555-8666-777777777777"


def region(second: GraphConnection) -> RegionConfig:
    def muni(key: str, tenant: str, graph: GraphConnection) -> Municipality:
        return Municipality(
            key=key, name=key.title(), tenant_id=tenant, upn_domain=DOMAIN, graph=graph,
            schools=[School(key="koulu", name="Koulu", staff_group_ids=[GROUP])],
        )

    static = GraphConnection(credential="static", base_url="http://emulator.invalid/v1.0")
    return RegionConfig(municipalities=[muni("tampere", TENANT, static), muni("nokia", OTHER, second)])


async def test_static_tenants_use_the_override_and_others_keep_their_url(emulator: EmulatorServer) -> None:
    emulator.state.add_user(TENANT, f"a@{DOMAIN}", "A")
    secret = GraphConnection(credential="client_secret", client_id=CID, client_secret_env="NOKIA_SECRET")
    provider = GraphDirectoryProvider.from_config(
        region(secret), GraphSettings(), base_url_override=emulator.base_url, environ={"NOKIA_SECRET": "x"}
    )
    try:
        directory = provider.for_tenant(TENANT)
        assert [u.user_principal_name async for p in directory.list_users_bulk() for u in p] == [f"a@{DOMAIN}"]
        assert provider.for_tenant(OTHER).transport.base_url == "https://graph.microsoft.com/v1.0"
        with pytest.raises(LookupError):
            provider.for_tenant("99999999-9999-4999-8999-999999999999")
    finally:
        await provider.aclose()


def test_missing_secret_fails_at_start_up() -> None:
    secret = GraphConnection(credential="client_secret", client_id=CID, client_secret_env="NOKIA_SECRET")
    with pytest.raises(GraphConfigError, match="NOKIA_SECRET"):
        GraphDirectoryProvider.from_config(region(secret), GraphSettings(), environ={})


async def test_the_tenants_clients_share_one_tls_context(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each tenant's httpx client loaded its own CA bundle: ~0.7 MB and ~60 ms per tenant, so a region of
    300 tenants cost every process +206 MB and ~18 s at start-up (measured, benchmarks/many_tenants)."""
    loaded: list[object] = []
    real = ssl.SSLContext.load_verify_locations

    def counting(self: ssl.SSLContext, *args: object, **kwargs: object) -> None:
        loaded.append(self)
        real(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ssl.SSLContext, "load_verify_locations", counting)
    static = GraphConnection(credential="static", base_url="http://emulator.invalid/v1.0")
    many = RegionConfig(municipalities=[
        Municipality(key=f"kunta{i}", name=f"Kunta {i}", tenant_id=str(uuid.UUID(int=i + 1)), upn_domain=DOMAIN,
                     graph=static, schools=[School(key="koulu", name="Koulu", staff_group_ids=[GROUP])])
        for i in range(20)
    ])
    provider = GraphDirectoryProvider.from_config(many, GraphSettings())
    await provider.aclose()
    assert len(provider.tenant_ids) == 20
    assert len(loaded) <= 1  # once per process at most (none when an earlier test already built it)
