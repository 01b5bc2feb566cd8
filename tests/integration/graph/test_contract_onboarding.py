"""Contract: what ``idops config check --online`` asks of a tenant — its token's claims and the harmless
probe reads — answered alike by the adapter (over HTTP to the emulator) and the fake, and a withdrawn
permission refused by the same operations the permission table (``idops.graph.permissions``) says need it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from idops.graph.errors import GraphForbidden, GraphPremiumRequired
from idops.graph.permissions import OPERATIONS
from idops.graph.port import Directory, ManagedMarker, Probe
from idops.graph.sdk import read_token_claims
from tests.integration.graph.test_contract_directory import collect
from tests.integration.graph.worlds import World
from tests.support.graph import DOMAIN, TENANT, make_new_user


async def test_the_token_names_the_tenant(world: World) -> None:
    claims = await world.directory.token_claims()
    assert claims.tenant_id == TENANT


async def test_every_probe_passes_where_everything_is_granted(world: World) -> None:
    for probe in Probe:
        await world.directory.probe(probe)


@pytest.mark.parametrize(("permission", "probe"), [("Policy.Read.All", Probe.TAP_POLICY),
                                                  ("GroupMember.Read.All", Probe.GROUPS),
                                                  ("AuditLog.Read.All", Probe.SIGN_INS)])
async def test_a_withdrawn_permission_fails_its_probe_as_forbidden(world: World, permission: str, probe: Probe) -> None:
    world.withdraw(permission)
    with pytest.raises(GraphForbidden) as info:
        await world.directory.probe(probe)
    assert not isinstance(info.value, GraphPremiumRequired)
    assert info.value.code == "Authorization_RequestDenied"
    await world.directory.probe(Probe.USERS)  # the others still pass


async def test_a_tenant_without_p1_fails_only_the_report_probes(world: World) -> None:
    world.set_premium(False)
    for probe in (Probe.REGISTRATION_REPORT, Probe.SIGN_INS):
        with pytest.raises(GraphPremiumRequired):
            await world.directory.probe(probe)
    for probe in set(Probe) - {Probe.REGISTRATION_REPORT, Probe.SIGN_INS}:
        await world.directory.probe(probe)


def _calls(uid: str, gid: str) -> dict[str, Callable[[Directory], Awaitable[Any]]]:
    now = datetime(2026, 3, 2, tzinfo=UTC)
    return {
        "create_user": lambda d: d.create_user(make_new_user()),
        "get_user": lambda d: d.get_user(uid),
        "delete_user": lambda d: d.delete_user(uid),
        "list_managed_users": lambda d: collect(d.list_managed_users(ManagedMarker())),
        "list_users_bulk": lambda d: collect(d.list_users_bulk()),
        "list_group_members_bulk": lambda d: collect(d.list_group_members_bulk(gid)),
        "list_registration_details_bulk": lambda d: collect(d.list_registration_details_bulk()),
        "list_subscribed_skus": lambda d: d.list_subscribed_skus(),
        "create_access_pass": lambda d: d.create_access_pass(uid, start=None, lifetime_minutes=60, usable_once=True),
        "get_access_pass_policy": lambda d: d.get_access_pass_policy(),
        "list_sign_ins": lambda d: collect(d.list_sign_ins(now - timedelta(days=1), now)),
        "list_service_principals": lambda d: collect(d.list_service_principals()),
        "send_mail": lambda d: d.send_mail(f"noreply@{DOMAIN}", ["x@example.fi"], "s", "b"),
    }


@pytest.mark.parametrize("operation", sorted(_calls("u", "g")))
async def test_withdrawing_the_tables_permission_refuses_the_operation(world: World, operation: str) -> None:
    """The emulator keeps its own list of what each request needs, as Graph does; the product's table
    must agree with it, or the online check would prove the wrong permission."""
    uid, gid = world.add_user("noreply"), world.add_group("G")
    world.withdraw(OPERATIONS[operation].permissions[0].name)
    with pytest.raises(GraphForbidden):
        await _calls(uid, gid)[operation](world.directory)


def test_token_claims_are_read_from_a_jwt_without_verifying_it() -> None:
    import jwt

    token = jwt.encode({"tid": TENANT.upper(), "appid": "app-1", "roles": ["User.Read.All"]}, "k" * 32)
    claims = read_token_claims(token)
    assert (claims.tenant_id, claims.app_id, claims.roles) == (TENANT, "app-1", frozenset({"User.Read.All"}))
    no_roles = read_token_claims(jwt.encode({"tid": TENANT}, "k" * 32))
    assert no_roles.roles == frozenset()  # an app-only token without roles has no permission
    assert read_token_claims(f"emu.{TENANT}").roles is None  # the emulator's token does not say
    assert read_token_claims("").tenant_id is None
