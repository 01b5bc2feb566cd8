"""``resolve_scope``: the one place roles and claims become visible schools — here the region admin's tenant."""

from __future__ import annotations

import pytest

from idops.auth.scope import NoScope, resolve_scope
from idops.config import Config, load_config
from tests.conftest import CONFIG_DIR

TAMPERE_TENANT = "2b9fbc3d-6284-566a-9f9c-8c8e78852612"
PIRKKALA_TENANT = "d7b3331e-f1bd-5948-b90a-98052fad4f2a"
PIRKKALA_ADMIN = "8bc60fb4-abce-5aea-a427-23f6e0c3ca2c"


@pytest.fixture(scope="module")
def region_config() -> Config:
    return load_config(CONFIG_DIR, demo=True)


def claims(tid: str, *roles: str, oid: str = "00000000-0000-4000-8000-00000000aaaa") -> dict[str, object]:
    return {"oid": oid, "tid": tid, "roles": list(roles)}


def test_a_region_admin_from_a_listed_tenant_sees_every_municipality(region_config: Config) -> None:
    scope = resolve_scope(claims(TAMPERE_TENANT, "RegionAdmin"), region_config.region,
                          region_admin_tenants=frozenset({TAMPERE_TENANT}))
    assert scope.role == "RegionAdmin"
    assert scope.municipalities == {m.key for m in region_config.region.municipalities}


def test_a_region_admin_role_from_another_region_tenant_grants_nothing(region_config: Config) -> None:
    with pytest.raises(NoScope):
        resolve_scope(claims(PIRKKALA_TENANT, "RegionAdmin"), region_config.region,
                      region_admin_tenants=frozenset({TAMPERE_TENANT}))


def test_an_unlisted_region_admin_who_is_also_it_admin_gets_only_their_municipality(region_config: Config) -> None:
    scope = resolve_scope(claims(PIRKKALA_TENANT, "RegionAdmin", "ItAdmin", oid=PIRKKALA_ADMIN), region_config.region,
                          region_admin_tenants=frozenset({TAMPERE_TENANT}))
    assert scope.role == "ItAdmin" and scope.municipalities == {"pirkkala"}


def test_an_empty_list_means_no_region_admin_at_all(region_config: Config) -> None:
    with pytest.raises(NoScope):
        resolve_scope(claims(TAMPERE_TENANT, "RegionAdmin"), region_config.region, region_admin_tenants=frozenset())


def test_demo_sign_in_takes_region_admins_from_any_region_tenant(region_config: Config) -> None:
    assert region_config.region_admin_tenants() is None
    scope = resolve_scope(claims(PIRKKALA_TENANT, "RegionAdmin"), region_config.region, region_admin_tenants=None)
    assert scope.role == "RegionAdmin"


def test_entra_mode_reads_the_list_from_the_settings(make_config_entra: Config) -> None:
    assert make_config_entra.region_admin_tenants() == frozenset({TAMPERE_TENANT})


@pytest.fixture
def make_config_entra() -> Config:
    return load_config(CONFIG_DIR, auth={
        "mode": "entra", "issuer": "https://login.microsoftonline.com/{tid}/v2.0",
        "jwks_url": "https://login.microsoftonline.com/common/discovery/v2.0/keys",
        "region_admin_tenant_ids": [TAMPERE_TENANT.upper()],
    })


def test_a_listed_tenant_outside_the_region_is_a_config_error() -> None:
    from idops.config import ConfigError

    with pytest.raises(ConfigError, match=r"auth.region_admin_tenant_ids\[0\]: .* is not a tenant of the region"):
        load_config(CONFIG_DIR, demo=True, auth={"region_admin_tenant_ids": ["11111111-1111-4111-8111-111111111111"]})
