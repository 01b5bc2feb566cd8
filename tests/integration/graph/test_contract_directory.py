"""Contract: the ``Directory`` port, each case run against the adapter (over HTTP to the emulator) and the
in-memory fake (the ``world`` fixture). Account changes are in ``test_contract_changes``; HTTP-level
behaviour (retries, pacing, ``$batch``) only the adapter has is in the adapter-only files."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import structlog

from idops.config.region import GraphConnection
from idops.emulator.server import EmulatorServer
from idops.graph.errors import (
    AccessPassPolicyDisabled,
    GraphAuthError,
    GraphBadRequest,
    GraphConflict,
    GraphForbidden,
    GraphNotFound,
    GraphPremiumRequired,
    GraphUnavailable,
)
from idops.graph.port import AccountChange, Directory, ManagedMarker, Probe, UserPatch
from idops.graph.sdk import GraphDirectory
from idops.kit.db import TransactionOpenError
from tests.integration.graph.conftest import DirectoryFactory, fast_settings
from tests.integration.graph.worlds import PAGE_SIZE, PassState, World
from tests.support.graph import DOMAIN, MARKED, MARKER, TENANT, make_new_user, transaction_scope

SKU = "184efa21-98c3-4e5d-95ab-d07053a96e67"
async def collect(pages: AsyncIterator[Any]) -> list[Any]:
    return [item async for page in pages for item in page]


async def page_sizes(pages: AsyncIterator[Any]) -> list[int]:
    return [len(page) async for page in pages]


# ---------------------------------------------------------------------------------------- users


async def test_a_created_user_reads_back_by_id_and_by_upn(world: World) -> None:
    created = await world.directory.create_user(make_new_user())
    assert created.user_principal_name == f"sijainen.testi@{DOMAIN}"
    assert created.extension_attributes == MARKED
    got = await world.directory.get_user(created.id)
    assert (got.employee_type, got.usage_location, got.account_enabled) == ("Substitute", "FI", True)
    assert got.extension_attributes == MARKED
    assert (await world.directory.get_user(created.user_principal_name.upper())).id == created.id
    stored = world.user(created.id)
    assert stored is not None
    assert (stored.password, stored.force_change_password) == ("Kx9!vbn-Qwe2zz", True)


async def test_a_taken_upn_is_a_conflict_whatever_its_case(world: World) -> None:
    await world.directory.create_user(make_new_user())
    with pytest.raises(GraphConflict):
        await world.directory.create_user(make_new_user(user_principal_name=f"SIJAINEN.TESTI@{DOMAIN}"))


async def test_a_weak_password_or_an_unverified_domain_is_refused(world: World) -> None:
    with pytest.raises(GraphBadRequest):
        await world.directory.create_user(make_new_user(password="weak"))
    with pytest.raises(GraphBadRequest):
        await world.directory.create_user(make_new_user(user_principal_name="x@elsewhere.example"))
    with pytest.raises(GraphNotFound):
        await world.directory.get_user(f"sijainen.testi@{DOMAIN}")


async def test_a_leave_date_the_app_may_not_write_makes_create_forbidden_and_creates_nothing(
    world: World,
) -> None:
    world.forbid_leave_date()
    leave = datetime(2026, 6, 1, 21, 0, tzinfo=UTC)
    with pytest.raises(GraphForbidden):
        await world.directory.create_user(make_new_user(employee_leave_date_time=leave))
    with pytest.raises(GraphNotFound):
        await world.directory.get_user(f"sijainen.testi@{DOMAIN}")
    created = await world.directory.create_user(make_new_user())  # the caller's fallback: without it
    with pytest.raises(GraphForbidden):
        await world.directory.update_user(created.id, UserPatch(employee_leave_date_time=leave))


async def test_update_sends_nulls_leaves_unset_fields_alone_and_an_empty_patch_sends_nothing(
    world: World,
) -> None:
    leave = datetime(2026, 1, 31, 22, 0, tzinfo=UTC)
    u = await world.directory.create_user(make_new_user(employee_leave_date_time=leave))
    assert (await world.directory.get_user(u.id)).employee_leave_date_time == leave
    await world.directory.update_user(u.id, UserPatch(
        display_name="Uusi Nimi", employee_leave_date_time=None,
        extension_attributes={"extensionAttribute15": None, "extensionAttribute3": "x"},
        password="Uusi-Salasana-42",
    ))
    got = await world.directory.get_user(u.id)
    assert got.display_name == "Uusi Nimi"
    assert got.employee_leave_date_time is None  # explicit null cleared it
    assert got.extension_attributes == {"extensionAttribute3": "x"}
    assert got.given_name == "Testi"  # UNSET left alone
    stored = world.user(u.id)
    assert stored is not None and (stored.password, stored.force_change_password) == ("Uusi-Salasana-42", True)
    before = world.requests()
    await world.directory.update_user(u.id, UserPatch())
    assert world.requests() == before


async def test_a_just_created_user_is_found_by_calls_that_wait_for_replication(world: World) -> None:
    world.lag_new_users()
    other = world.other_process()  # it did not create the user, so it does not know to wait
    created = await world.directory.create_user(make_new_user())
    with pytest.raises(GraphNotFound):
        await other.get_user(created.id)
    assert (await other.get_user(created.id, just_created=True)).id == created.id
    mine = await world.directory.create_user(make_new_user("toinen.sijainen"))
    assert (await world.directory.get_user(mine.id)).id == mine.id  # the creator waits by itself


# ---------------------------------------------------------------------------------------- recycle bin


async def test_delete_restore_and_purge(world: World) -> None:
    world.add_sku(SKU, seats=2)
    uid = world.add_user("poistuva", usage_location="FI", skus=(SKU,))
    group = world.add_group("Sijaiset", [uid])
    assert world.consumed(SKU) == 1
    await world.directory.delete_user(uid)
    await world.directory.delete_user(uid)  # idempotent
    with pytest.raises(GraphNotFound):
        await world.directory.get_user(uid)
    assert world.in_recycle_bin(uid) and world.consumed(SKU) == 0  # the seat is free while deleted
    restored = await world.directory.restore_deleted_user(uid)
    assert (restored.id, restored.user_principal_name) == (uid, f"poistuva@{DOMAIN}")
    assert world.consumed(SKU) == 1 and world.members(group) == [uid]  # licence and groups come back
    await world.directory.delete_user(uid)
    await world.directory.purge_deleted_user(uid)
    await world.directory.purge_deleted_user(uid)  # already purged: success
    assert not world.in_recycle_bin(uid) and world.members(group) == []
    with pytest.raises(GraphNotFound):
        await world.directory.restore_deleted_user(uid)


async def test_a_deleted_user_whose_upn_was_taken_meanwhile_cannot_be_restored(world: World) -> None:
    first = await world.directory.create_user(make_new_user())
    await world.directory.delete_user(first.id)
    await world.directory.create_user(make_new_user())
    with pytest.raises(GraphConflict):
        await world.directory.restore_deleted_user(first.id)


# ---------------------------------------------------------------------------------------- managed users


async def test_managed_users_are_listed_by_their_marker_and_optionally_only_enabled(world: World) -> None:
    enabled = [world.add_user(f"sijainen{i}", marker=MARKER.value) for i in range(4)]
    disabled = world.add_user("sijainen-pois", marker=MARKER.value, enabled=False)
    world.add_user("opettaja1")
    world.add_user("opettaja2", marker="something-else")
    deleted = world.add_user("poistettu", marker=MARKER.value)
    await world.directory.delete_user(deleted)
    everyone = await collect(world.directory.list_managed_users(MARKER))
    assert sorted(u.id for u in everyone) == sorted([*enabled, disabled])
    assert await page_sizes(world.directory.list_managed_users(MARKER)) == [PAGE_SIZE, 5 - PAGE_SIZE]
    active = await collect(world.directory.list_managed_users(MARKER, enabled_only=True))
    assert sorted(u.id for u in active) == sorted(enabled)
    assert all(u.extension_attributes == MARKED for u in active)


async def test_the_managed_listing_carries_licences_and_a_read_the_preferred_language(world: World) -> None:
    """What reconcile compares (licences, from the one listing) and what a notice is written in."""
    world.add_sku(SKU, 5)
    licensed = world.add_user("lisenssi", marker=MARKER.value, skus=[SKU], preferred_language="en-US")
    bare = world.add_user("ilman", marker=MARKER.value)
    listed = {u.id: u for u in await collect(world.directory.list_managed_users(MARKER))}
    assert [s.lower() for s in listed[licensed].assigned_license_sku_ids] == [SKU]
    assert listed[bare].assigned_license_sku_ids == ()
    assert (await world.directory.get_user(licensed)).preferred_language == "en-US"
    assert (await world.directory.get_user(bare)).preferred_language is None


async def test_a_hostile_marker_value_matches_nothing(world: World) -> None:
    world.add_user("aino", marker="a")
    hostile = ManagedMarker(MARKER.attribute, "x' or startswith(userPrincipalName,'a")
    assert await collect(world.directory.list_managed_users(hostile)) == []
    with pytest.raises(ValueError, match=r"extensionAttribute1\.\.15"):
        ManagedMarker("extensionAttribute16", "idops")


# ---------------------------------------------------------------------------------------- TAP


async def test_an_access_pass_follows_the_tenant_policy(world: World) -> None:
    uid = world.add_user("tap")
    policy = await world.directory.get_access_pass_policy()
    assert (policy.state, policy.minimum_lifetime_in_minutes, policy.maximum_lifetime_in_minutes) == (
        "enabled", 60, 480)
    start = datetime.now(UTC) + timedelta(hours=1)
    with structlog.testing.capture_logs() as logs:
        tap = await world.directory.create_access_pass(uid, start=start, lifetime_minutes=120, usable_once=False)
    assert len(tap.code) == 8 and tap.lifetime_in_minutes == 120 and not tap.is_usable_once
    assert abs(tap.start_date_time - start) < timedelta(seconds=1)  # a pass prepared ahead of its start
    assert tap.code not in repr(tap) and tap.code not in repr(logs)
    assert world.access_pass(uid) == PassState(120, False)  # what the directory keeps: no code
    with pytest.raises(GraphBadRequest):
        await world.directory.create_access_pass(uid, start=None, lifetime_minutes=600, usable_once=False)
    world.set_tap_policy(usable_once=True)
    once = await world.directory.create_access_pass(uid, start=None, lifetime_minutes=60, usable_once=False)
    assert once.is_usable_once  # the policy forces one-time passes
    assert world.access_pass(uid) == PassState(60, True)  # one pass per user: the new one replaced it
    world.set_tap_policy(state="disabled")
    with pytest.raises(AccessPassPolicyDisabled):
        await world.directory.create_access_pass(uid, start=None, lifetime_minutes=60, usable_once=True)


async def test_a_guest_gets_no_access_pass(world: World) -> None:
    guest = world.add_user("vieras", user_type="Guest")
    with pytest.raises(GraphBadRequest):
        await world.directory.create_access_pass(guest, start=None, lifetime_minutes=60, usable_once=True)
    assert world.access_pass(guest) is None


# ---------------------------------------------------------------------------------------- mail


async def test_mail_goes_out_from_a_known_mailbox_only(world: World) -> None:
    world.add_user("noreply")
    await world.directory.send_mail(f"noreply@{DOMAIN}", ["rehtori@example.fi"], "Sijainen", "Tunnus vanhenee.")
    assert world.sent_mail() == [(f"noreply@{DOMAIN}", ("rehtori@example.fi",), "Sijainen", "Tunnus vanhenee.")]
    with pytest.raises(GraphNotFound):
        await world.directory.send_mail(f"nobody@{DOMAIN}", ["rehtori@example.fi"], "s", "b")
    assert len(world.sent_mail()) == 1


# ---------------------------------------------------------------------------------------- bulk and reports


async def test_bulk_users_carry_the_synced_fields_across_pages(world: World) -> None:
    hired = datetime(2024, 8, 1, tzinfo=UTC)
    staff = [world.add_user(f"opettaja{i}", f"Opettaja {i}", employee_type="Staff", employee_hire_date=hired)
             for i in range(4)]
    off = world.add_user("pois", enabled=False)
    assert await page_sizes(world.directory.list_users_bulk()) == [3, 2]
    rows = {r.id: r for r in await collect(world.directory.list_users_bulk())}
    assert set(rows) == {*staff, off}
    first = rows[staff[0]]
    assert (first.user_principal_name, first.display_name, first.employee_type) == (
        f"opettaja0@{DOMAIN}", "Opettaja 0", "Staff")
    assert first.employee_hire_date == "2024-08-01T00:00:00Z" and first.account_enabled
    assert rows[off].account_enabled is False


async def test_group_members_stream_directly_or_transitively(world: World) -> None:
    users = [world.add_user(f"s{i}") for i in range(5)]
    inner = world.add_group("inner", users[2:])
    outer = world.add_group("outer", [users[0], users[1], inner])
    direct = await collect(world.directory.list_group_members_bulk(outer, transitive=False))
    assert [m.id for m in direct] == [users[0], users[1], inner]
    assert [m.is_group for m in direct] == [False, False, True]
    everyone = await collect(world.directory.list_group_members_bulk(outer))
    assert {m.id for m in everyone if not m.is_group} == set(users)
    with pytest.raises(GraphNotFound):
        await collect(world.directory.list_group_members_bulk("99999999-9999-4999-8999-999999999999"))


async def test_registration_rows_and_premium_is_required(world: World) -> None:
    users = [world.add_user(f"r{i}") for i in range(4)]
    world.set_registration(users[0], methods=("fido2",), admin=True)
    rows = {r.id: r for r in await collect(world.directory.list_registration_details_bulk())}
    assert set(rows) == set(users)
    assert (rows[users[0]].is_mfa_registered, rows[users[0]].is_mfa_capable) == (True, True)
    assert rows[users[0]].methods_registered == ("fido2",)
    assert not rows[users[1]].is_mfa_registered and rows[users[1]].methods_registered == ()
    # isAdmin (the MFA helpdesk refuses admins) is read from the report
    assert rows[users[0]].is_admin is True and not rows[users[1]].is_admin
    world.set_premium(False)
    with pytest.raises(GraphPremiumRequired):
        await collect(world.directory.list_registration_details_bulk())


async def test_authentication_methods_follow_the_registration_and_need_no_licence(world: World) -> None:
    users = [world.add_user(f"m{i}") for i in range(3)]
    world.set_registration(users[0], methods=("microsoftAuthenticatorPush", "mobilePhone"))
    world.set_registration(users[1], methods=("fido2",))
    world.set_premium(False)  # the per-user listing is the fallback where the report answers 403
    assert await world.directory.list_authentication_methods(users[0]) == [
        "password", "microsoftAuthenticator", "phone"]
    assert await world.directory.list_authentication_methods(users[1]) == ["password", "fido2"]
    assert await world.directory.list_authentication_methods(users[2]) == ["password"]
    with pytest.raises(GraphNotFound):
        await world.directory.list_authentication_methods("99999999-9999-4999-8999-999999999999")


async def test_sign_ins_are_interactive_in_a_half_open_window(world: World) -> None:
    uid = world.add_user("kirjautuja")
    end = datetime(2026, 3, 2, tzinfo=UTC)
    start = end - timedelta(days=1)
    world.add_sign_in(uid, start, mfa=True)
    world.add_sign_in(uid, start + timedelta(hours=5))
    world.add_sign_in(uid, start + timedelta(hours=6), interactive=False)
    world.add_sign_in(uid, end)  # excluded: the end is open
    world.add_sign_in(uid, start - timedelta(seconds=1))
    rows = await collect(world.directory.list_sign_ins(start, end))
    assert [(r.created_date_time, r.mfa_satisfied) for r in rows] == [(start + timedelta(hours=5), False),
                                                                      (start, True)]  # newest first
    assert all(r.user_id == uid and r.user_principal_name == f"kirjautuja@{DOMAIN}" for r in rows)
    world.set_premium(False)
    with pytest.raises(GraphPremiumRequired):
        await collect(world.directory.list_sign_ins(start, end))


async def test_service_principals_and_subscribed_skus(world: World) -> None:
    world.add_service_principal("a0000000-0000-4000-8000-000000000001", "Wilma", "saml")
    world.add_service_principal("a0000000-0000-4000-8000-000000000002", "Legacy")
    sps = await collect(world.directory.list_service_principals())
    assert {(s.display_name, s.preferred_single_sign_on_mode) for s in sps} == {("Wilma", "saml"), ("Legacy", None)}
    world.add_sku(SKU, seats=3)
    [sku] = await world.directory.list_subscribed_skus()
    assert (sku.sku_id, sku.enabled_units, sku.consumed_units, sku.available_units) == (SKU, 3, 0, 3)


# ---------------------------------------------------------------------------------------- failures


def _operations(uid: str, gid: str) -> dict[str, Callable[[Directory], Awaitable[Any] | AsyncIterator[Any]]]:
    """One call of every port operation (even ones that would send nothing)."""
    now = datetime(2026, 3, 2, tzinfo=UTC)
    return {
        "create_user": lambda d: d.create_user(make_new_user()),
        "get_user": lambda d: d.get_user(uid),
        "update_user": lambda d: d.update_user(uid, UserPatch()),
        "delete_user": lambda d: d.delete_user(uid),
        "restore_deleted_user": lambda d: d.restore_deleted_user(uid),
        "purge_deleted_user": lambda d: d.purge_deleted_user(uid),
        "list_managed_users": lambda d: d.list_managed_users(MARKER),
        "apply_account_changes": lambda d: d.apply_account_changes([]),
        "list_users_bulk": lambda d: d.list_users_bulk(),
        "list_group_members_bulk": lambda d: d.list_group_members_bulk(gid),
        "list_registration_details_bulk": lambda d: d.list_registration_details_bulk(),
        "list_subscribed_skus": lambda d: d.list_subscribed_skus(),
        "create_access_pass": lambda d: d.create_access_pass(uid, start=None, lifetime_minutes=60, usable_once=True),
        "get_access_pass_policy": lambda d: d.get_access_pass_policy(),
        "list_sign_ins": lambda d: d.list_sign_ins(now - timedelta(days=1), now),
        "list_service_principals": lambda d: d.list_service_principals(),
        "send_mail": lambda d: d.send_mail(f"noreply@{DOMAIN}", ["x@example.fi"], "s", "b"),
        "list_authentication_methods": lambda d: d.list_authentication_methods(uid),
        "token_claims": lambda d: d.token_claims(),
        "probe": lambda d: d.probe(Probe.USERS),
    }


async def _run(call: Awaitable[Any] | AsyncIterator[Any]) -> None:
    if inspect.isawaitable(call):
        await call
    else:
        await collect(call)


async def test_no_operation_runs_while_a_database_transaction_is_open(world: World) -> None:
    uid, gid = world.add_user("noreply"), world.add_group("G")
    operations = _operations(uid, gid)
    port = {name for name in dir(Directory) if not name.startswith("_")} - {"tenant_id"}
    assert set(operations) == port  # every operation of the port is covered
    for name, operation in operations.items():
        with transaction_scope(), pytest.raises(TransactionOpenError, match=name):
            await _run(operation(world.directory))
    assert world.requests() == 0
    await _run(operations["get_user"](world.directory))  # outside the transaction it works


async def test_a_transaction_opened_between_pages_stops_the_listing(world: World) -> None:
    for i in range(PAGE_SIZE + 1):
        world.add_user(f"u{i}")
    pages = world.directory.list_users_bulk()
    assert len(await anext(pages)) == PAGE_SIZE
    with transaction_scope(), pytest.raises(TransactionOpenError):
        await anext(pages)


async def test_an_outage_surfaces_as_unavailable(world: World) -> None:
    uid = world.add_user("a")
    world.outage()
    with pytest.raises(GraphUnavailable):
        await world.directory.get_user(uid)
    with pytest.raises(GraphUnavailable):
        await world.directory.create_user(make_new_user())
    with pytest.raises(GraphUnavailable):
        await world.directory.apply_account_changes([AccountChange(uid, enabled=False)])
    with pytest.raises(GraphUnavailable):
        await collect(world.directory.list_managed_users(MARKER))


# ---------------------------------------------------------------------------------------- adapter only
# Request-level details the fake has no equivalent of: tokens, logs, headers.


async def test_wrong_token_is_an_auth_error(emulator: EmulatorServer) -> None:
    conn = GraphConnection(credential="static", base_url=emulator.base_url, static_token="emu.nobody")
    d = GraphDirectory.create(TENANT, conn, fast_settings())
    try:
        with pytest.raises(GraphAuthError):
            await d.get_user(f"x@{DOMAIN}")
    finally:
        await d.aclose()


async def test_failures_log_ids_but_never_the_password(emulator: EmulatorServer, directory: GraphDirectory) -> None:
    with structlog.testing.capture_logs() as logs, pytest.raises(GraphBadRequest):
        await directory.create_user(make_new_user(password="weak"))
    failed = [e for e in logs if e["event"] == "graph_request_failed"]
    assert len(failed) == 1
    assert failed[0]["request_id"] and failed[0]["client_request_id"]
    assert failed[0]["status"] == 400
    assert "weak" not in repr(logs)


async def test_a_conflict_carries_graphs_request_id(emulator: EmulatorServer, directory: GraphDirectory) -> None:
    await directory.create_user(make_new_user())
    with pytest.raises(GraphConflict) as info:
        await directory.create_user(make_new_user())
    assert info.value.request_id  # for support tickets


async def test_managed_users_are_an_advanced_query_on_every_page(
    emulator: EmulatorServer, make_directory: DirectoryFactory
) -> None:
    """An extension-attribute filter is refused without ``ConsistencyLevel: eventual`` + ``$count``, and
    Graph does not carry the header to nextLink: the adapter must re-send it on every page."""
    directory = make_directory(fast_settings(page_size=2))
    for i in range(5):
        emulator.state.add_user(TENANT, f"u{i}@{DOMAIN}", f"U {i}", ext=dict(MARKED))
    assert await page_sizes(directory.list_managed_users(MARKER, enabled_only=True)) == [2, 2, 1]
    gets = [e for e in emulator.log.snapshot() if e.path == "/v1.0/users"]
    assert len(gets) == 3 and all(e.status == 200 for e in gets)
