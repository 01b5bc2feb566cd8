"""Contract: every port operation of ``GraphDirectory`` over real HTTP against the emulator."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import structlog

from idops.config.region import GraphConnection
from idops.emulator.server import EmulatorServer
from idops.graph import odata
from idops.graph.errors import (
    AccessPassPolicyDisabled,
    GraphAuthError,
    GraphBadRequest,
    GraphConflict,
    GraphLicenceError,
    GraphNoSeats,
    GraphNotFound,
    GraphPremiumRequired,
)
from idops.graph.port import NewUser, UserPatch
from idops.graph.sdk import GraphDirectory
from tests.graph.conftest import DOMAIN, TENANT, DirectoryFactory, fast_settings

SKU = "184efa21-98c3-4e5d-95ab-d07053a96e67"
MARKER = {"extensionAttribute15": "idops-managed"}


def make_new_user(local: str = "sijainen.testi", **kw: Any) -> NewUser:
    fields: dict[str, Any] = {
        "user_principal_name": f"{local}@{DOMAIN}",
        "display_name": "Testi Sijainen (sijainen)",
        "mail_nickname": local,
        "given_name": "Testi",
        "surname": "Sijainen",
        "account_enabled": True,
        "password": "Kx9!vbn-Qwe2zz",
        "employee_type": "Substitute",
        "extension_attributes": MARKER,
    }
    fields.update(kw)
    return NewUser(**fields)


async def collect(pages: Any) -> list[Any]:
    return [item async for page in pages for item in page]


# ---------------------------------------------------------------------------------------- users


async def test_create_get_and_find_a_user(emulator: EmulatorServer, directory: GraphDirectory) -> None:
    created = await directory.create_user(make_new_user())
    assert created.user_principal_name == f"sijainen.testi@{DOMAIN}"
    assert created.extension_attributes == MARKER
    got = await directory.get_user(created.id)
    assert got.employee_type == "Substitute"
    assert got.extension_attributes == MARKER
    assert got.usage_location == "FI"
    assert (await directory.get_user(created.user_principal_name)).id == created.id
    assert (await directory.find_user_by_upn(created.user_principal_name.upper())) == got
    assert await directory.find_user_by_upn(f"nobody@{DOMAIN}") is None
    stored = emulator.state.user(TENANT, created.id)
    assert stored is not None
    assert stored.password_profile == {"password": "Kx9!vbn-Qwe2zz", "forceChangePasswordNextSignIn": True}


async def test_update_sends_nulls_and_omits_unset(
    emulator: EmulatorServer, directory: GraphDirectory
) -> None:
    leave = datetime(2026, 1, 31, 22, 0, tzinfo=UTC)
    u = await directory.create_user(make_new_user(employee_leave_date_time=leave))
    await directory.update_user(
        u.id,
        UserPatch(
            display_name="Uusi Nimi",
            employee_leave_date_time=None,
            extension_attributes={"extensionAttribute15": None, "extensionAttribute3": "x"},
        ),
    )
    got = await directory.get_user(u.id)
    assert got.display_name == "Uusi Nimi"
    assert got.employee_leave_date_time is None  # explicit null cleared it
    assert got.extension_attributes == {"extensionAttribute3": "x"}
    assert got.given_name == "Testi"  # UNSET left alone
    emulator.log.clear()
    await directory.update_user(u.id, UserPatch())  # empty patch sends nothing
    assert emulator.log.round_trips() == 0


async def test_disable_revoke_delete_restore(emulator: EmulatorServer, directory: GraphDirectory) -> None:
    u = await directory.create_user(make_new_user())
    await directory.disable_user(u.id)
    assert (await directory.get_user(u.id)).account_enabled is False
    await directory.revoke_sign_in_sessions(u.id)
    assert (await directory.get_user(u.id)).sign_in_sessions_valid_from is not None
    await directory.delete_user(u.id)
    await directory.delete_user(u.id)  # idempotent
    with pytest.raises(GraphNotFound):
        await directory.get_user(u.id)
    deleted = await collect(directory.list_deleted_users())
    assert [d.id for d in deleted] == [u.id]
    assert deleted[0].deleted_date_time is not None
    restored = await directory.restore_deleted_user(u.id)
    assert restored.id == u.id
    assert (await directory.get_user(u.id)).user_principal_name == u.user_principal_name


async def test_duplicate_upn_on_a_first_attempt_is_a_conflict(
    emulator: EmulatorServer, directory: GraphDirectory
) -> None:
    await directory.create_user(make_new_user())
    with pytest.raises(GraphConflict) as info:
        await directory.create_user(make_new_user())
    assert info.value.request_id  # Graph's request-id travels with the error


async def test_list_users_pages_through_three_pages_with_a_filter(
    emulator: EmulatorServer, make_directory: DirectoryFactory
) -> None:
    directory = make_directory(fast_settings(page_size=2))
    for i in range(7):
        emulator.state.add_user(TENANT, f"opettaja{i}@{DOMAIN}", f"Opettaja {i}", employee_type="Staff")
    emulator.state.add_user(TENANT, f"oppilas@{DOMAIN}", "Oppilas", employee_type="Pupil")
    pages = [p async for p in directory.list_users(filter=odata.eq("employeeType", "Staff"))]
    assert [len(p) for p in pages] == [2, 2, 2, 1]
    assert emulator.log.count("GET", "/v1.0/users") == 4


async def test_advanced_query_resends_consistency_level_on_every_page(
    emulator: EmulatorServer, make_directory: DirectoryFactory
) -> None:
    directory = make_directory(fast_settings(page_size=2))
    for i in range(6):
        emulator.state.add_user(TENANT, f"u{i}@{DOMAIN}", f"U {i}", employee_type="Staff")
    flt = odata.ne("employeeType", "Pupil")  # `ne` is refused without ConsistencyLevel on any page
    users = [u async for p in directory.list_users(filter=flt, advanced=True) for u in p]
    assert len(users) == 6
    assert emulator.log.count("GET", "/v1.0/users") == 3
    with pytest.raises(GraphBadRequest):
        [p async for p in directory.list_users(filter=flt)]


async def test_hostile_filter_values_match_exactly_one_user(
    emulator: EmulatorServer, directory: GraphDirectory
) -> None:
    obrien = emulator.state.add_user(TENANT, f"o'brien@{DOMAIN}", "Seán O'Brien", surname="O'Brien")
    emulator.state.add_user(TENANT, f"aino@{DOMAIN}", "Aino")
    emulator.state.add_user(TENANT, f"anna@{DOMAIN}", "Anna")
    found = await collect(directory.list_users(filter=odata.eq("surname", "O'Brien")))
    assert [u.id for u in found] == [obrien.id]
    hostile = "x' or startswith(userPrincipalName,'a"
    assert await collect(directory.list_users(filter=odata.eq("userPrincipalName", hostile))) == []
    assert await directory.find_user_by_upn(hostile) is None
    assert (await directory.find_user_by_upn(f"o'brien@{DOMAIN}")) is not None
    assert (await directory.get_user(f"o'brien@{DOMAIN}")).id == obrien.id  # percent-encoded path


async def test_plain_string_filters_are_refused(directory: GraphDirectory) -> None:
    with pytest.raises(TypeError):
        directory.list_users(filter="surname eq 'x'")


async def test_wrong_token_is_an_auth_error(emulator: EmulatorServer) -> None:
    conn = GraphConnection(credential="static", base_url=emulator.base_url, static_token="emu.nobody")
    d = GraphDirectory.create(TENANT, conn, fast_settings())
    try:
        with pytest.raises(GraphAuthError):
            await d.get_user(f"x@{DOMAIN}")
    finally:
        await d.aclose()


# ---------------------------------------------------------------------------------------- groups


async def test_group_membership_is_idempotent_and_remove_keeps_the_user(
    emulator: EmulatorServer, directory: GraphDirectory
) -> None:
    user = emulator.state.add_user(TENANT, f"m@{DOMAIN}", "M")
    group = emulator.state.add_group(TENANT, "Sijaiset")
    await directory.add_group_member(group.id, user.id)
    await directory.add_group_member(group.id, user.id)  # already a member → success
    assert emulator.state.members(TENANT, group.id) == [user.id]
    await directory.remove_group_member(group.id, user.id)
    await directory.remove_group_member(group.id, user.id)  # not a member → success
    assert emulator.state.members(TENANT, group.id) == []
    assert emulator.state.user(TENANT, user.id) is not None  # /$ref: the user survives
    deletes = [e.path for e in emulator.log.snapshot() if e.method == "DELETE"]
    assert deletes
    assert all(p.endswith("/$ref") for p in deletes)


async def test_members_stream_transitively_across_pages(
    emulator: EmulatorServer, make_directory: DirectoryFactory
) -> None:
    directory = make_directory(fast_settings(page_size=2))
    users = [emulator.state.add_user(TENANT, f"s{i}@{DOMAIN}", f"S {i}") for i in range(5)]
    inner = emulator.state.add_group(TENANT, "inner", members=[u.id for u in users[2:]])
    outer = emulator.state.add_group(TENANT, "outer", members=[users[0].id, users[1].id, inner.id])
    direct = await collect(directory.list_group_members(outer.id, transitive=False))
    assert len(direct) == 3
    everyone = await collect(directory.list_group_members(outer.id))
    ids = {m.id for m in everyone if m.odata_type == "#microsoft.graph.user"}
    assert ids == {u.id for u in users}
    assert any(m.odata_type == "#microsoft.graph.group" for m in everyone)


# ---------------------------------------------------------------------------------------- licences


async def test_licences_and_their_errors(emulator: EmulatorServer, directory: GraphDirectory) -> None:
    emulator.state.add_sku(TENANT, SKU, "STANDARDWOFFPACK_FACULTY", enabled_units=1)
    first = emulator.state.add_user(TENANT, f"l1@{DOMAIN}", "L1", usage_location="FI")
    second = emulator.state.add_user(TENANT, f"l2@{DOMAIN}", "L2", usage_location="FI")
    nowhere = emulator.state.add_user(TENANT, f"l3@{DOMAIN}", "L3")
    await directory.assign_licence(first.id, [SKU])
    assert (await directory.get_user(first.id)).assigned_license_sku_ids == (SKU,)
    [sku] = await directory.list_subscribed_skus()
    assert (sku.enabled_units, sku.consumed_units, sku.available_units) == (1, 1, 0)
    with pytest.raises(GraphNoSeats):
        await directory.assign_licence(second.id, [SKU])
    with pytest.raises(GraphLicenceError):
        await directory.assign_licence(nowhere.id, [SKU])
    await directory.assign_licence(first.id, [], remove=[SKU])
    assert (await directory.list_subscribed_skus())[0].consumed_units == 0


# ---------------------------------------------------------------------------------------- TAP


async def test_access_pass_and_policy(emulator: EmulatorServer, directory: GraphDirectory) -> None:
    user = emulator.state.add_user(TENANT, f"t@{DOMAIN}", "T")
    policy = await directory.get_access_pass_policy()
    assert (policy.state, policy.maximum_lifetime_in_minutes) == ("enabled", 480)
    start = datetime.now(UTC) + timedelta(hours=1)
    with structlog.testing.capture_logs() as logs:
        tap = await directory.create_access_pass(
            user.id, start=start, lifetime_minutes=120, usable_once=False
        )
    assert len(tap.code) == 8
    assert tap.lifetime_in_minutes == 120
    assert tap.code not in repr(tap)
    assert tap.code not in repr(logs)
    emulator.state.tenant(TENANT).tap_policy.state = "disabled"
    with pytest.raises(AccessPassPolicyDisabled):
        await directory.create_access_pass(user.id, start=None, lifetime_minutes=60, usable_once=True)


async def test_failures_log_ids_but_never_the_password(
    emulator: EmulatorServer, directory: GraphDirectory
) -> None:
    with structlog.testing.capture_logs() as logs, pytest.raises(GraphBadRequest):
        await directory.create_user(make_new_user(password="weak"))
    failed = [e for e in logs if e["event"] == "graph_request_failed"]
    assert len(failed) == 1
    assert failed[0]["request_id"]
    assert failed[0]["client_request_id"]
    assert failed[0]["status"] == 400
    assert "weak" not in repr(logs)


# ---------------------------------------------------------------------------------------- reports


async def test_registration_details_stream_and_premium_is_required(
    emulator: EmulatorServer, make_directory: DirectoryFactory
) -> None:
    directory = make_directory(fast_settings(page_size=3, reports_requests=1000))
    users = [emulator.state.add_user(TENANT, f"r{i}@{DOMAIN}", f"R {i}") for i in range(8)]
    emulator.state.set_registration(TENANT, users[0].id, registered=True, methods=("fido2",))
    rows = await collect(directory.list_registration_details())
    assert len(rows) == 8
    by_id = {r.id: r for r in rows}
    assert by_id[users[0].id].is_mfa_capable
    assert by_id[users[0].id].methods_registered == ("fido2",)
    assert not by_id[users[1].id].is_mfa_registered
    assert emulator.log.count("GET", "/v1.0/reports/") == 3
    emulator.state.set_premium(TENANT, False)
    with pytest.raises(GraphPremiumRequired):
        await collect(directory.list_registration_details())


async def test_sign_ins_in_a_half_open_window(emulator: EmulatorServer, directory: GraphDirectory) -> None:
    user = emulator.state.add_user(TENANT, f"s@{DOMAIN}", "S")
    end = datetime(2026, 3, 2, tzinfo=UTC)
    start = end - timedelta(days=1)
    emulator.state.add_signin(TENANT, user, "app-1", "Wilma", start, mfa=True)
    emulator.state.add_signin(TENANT, user, "app-1", "Wilma", start + timedelta(hours=5))
    emulator.state.add_signin(TENANT, user, "app-1", "Wilma", end)  # excluded: end is open
    emulator.state.add_signin(TENANT, user, "app-1", "Wilma", start - timedelta(seconds=1))
    rows = await collect(directory.list_sign_ins(start, end))
    assert sorted(r.created_date_time for r in rows) == [start, start + timedelta(hours=5)]
    assert all(r.user_id == user.id for r in rows)


async def test_service_principals(emulator: EmulatorServer, directory: GraphDirectory) -> None:
    emulator.state.add_service_principal(TENANT, "a0000000-0000-4000-8000-000000000001", "Wilma", "saml")
    emulator.state.add_service_principal(TENANT, "a0000000-0000-4000-8000-000000000002", "Legacy")
    sps = await collect(directory.list_service_principals())
    modes = {(s.display_name, s.preferred_single_sign_on_mode) for s in sps}
    assert modes == {("Wilma", "saml"), ("Legacy", None)}


async def test_send_mail(emulator: EmulatorServer, directory: GraphDirectory) -> None:
    emulator.state.add_user(TENANT, f"noreply@{DOMAIN}", "Noreply")
    await directory.send_mail(f"noreply@{DOMAIN}", ["rehtori@example.fi"], "Sijainen", "Tunnus vanhenee.")
    [mail] = emulator.state.sent_mail(TENANT)
    assert (mail.to, mail.subject, mail.body) == (("rehtori@example.fi",), "Sijainen", "Tunnus vanhenee.")
