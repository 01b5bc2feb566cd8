"""``GraphDirectoryProvider.from_config``: one directory per tenant, static tenants pointed at the emulator."""

from __future__ import annotations

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
