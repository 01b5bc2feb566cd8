"""Contract: ``apply_account_changes`` on the adapter (``$batch`` over HTTP to the emulator) and on the fake."""

from __future__ import annotations

from datetime import UTC, datetime

from idops.emulator.server import EmulatorServer
from idops.graph.port import AccountChange, ChangeFailure
from idops.graph.sdk import GraphDirectory
from tests.integration.graph.worlds import World
from tests.support.graph import DOMAIN, TENANT, make_new_user

SKU = "184efa21-98c3-4e5d-95ab-d07053a96e67"
SKU2 = "6fd2c87f-b296-42f0-b197-1e91e994b900"
LEAVE = datetime(2026, 6, 1, 21, 0, tzinfo=UTC)


async def test_taking_access_away_disables_revokes_and_removes_groups_and_licences(world: World) -> None:
    world.add_sku(SKU, seats=5)
    uid = world.add_user("lahtija", usage_location="FI", skus=(SKU,))
    group = world.add_group("Sijaiset", [uid])
    results = await world.directory.apply_account_changes([AccountChange(
        uid, enabled=False, revoke_sessions=True, remove_groups=(group,), remove_skus=(SKU,), clear_leave_date=True,
    )])
    assert results[uid].ok and not results[uid].gone and results[uid].codes == []
    state = world.user(uid)
    assert state is not None
    assert (state.enabled, state.sessions_revoked, state.skus) == (False, True, frozenset())
    assert world.members(group) == [] and world.consumed(SKU) == 0


async def test_granting_access_enables_adds_and_sets_the_leave_date(world: World) -> None:
    world.add_sku(SKU, seats=5)
    uid = world.add_user("tulija", usage_location="FI", enabled=False)
    group = world.add_group("Sijaiset")
    change = AccountChange(uid, enabled=True, add_groups=(group,), add_skus=(SKU,), leave_date=LEAVE)
    assert (await world.directory.apply_account_changes([change]))[uid].ok
    state = world.user(uid)
    assert state is not None and (state.enabled, state.leave_date, state.skus) == (True, LEAVE, frozenset({SKU}))
    assert world.members(group) == [uid] and world.consumed(SKU) == 1
    again = await world.directory.apply_account_changes([change])  # a repeat (a retry after a crash) is done
    assert again[uid].ok and world.members(group) == [uid] and world.consumed(SKU) == 1
    cleared = await world.directory.apply_account_changes([AccountChange(uid, clear_leave_date=True)])
    assert cleared[uid].ok and (state := world.user(uid)) is not None and state.leave_date is None


async def test_the_leave_date_is_left_alone_when_the_caller_may_not_set_it(world: World) -> None:
    uid = world.add_user("sijainen")
    results = await world.directory.apply_account_changes(
        [AccountChange(uid, enabled=False, leave_date=LEAVE)], leave_date_allowed=False
    )
    state = world.user(uid)
    assert results[uid].ok and state is not None and (state.enabled, state.leave_date) == (False, None)


async def test_a_forbidden_leave_date_fails_the_change_and_nothing_else_is_taken(world: World) -> None:
    world.forbid_leave_date()
    uid = world.add_user("sijainen")
    group = world.add_group("Sijaiset", [uid])
    results = await world.directory.apply_account_changes(
        [AccountChange(uid, enabled=False, revoke_sessions=True, remove_groups=(group,), leave_date=LEAVE)]
    )
    res = results[uid]
    assert (res.ok, res.gone, res.transient, res.codes) == (False, False, False, [ChangeFailure.FORBIDDEN])
    state = world.user(uid)
    assert state is not None and (state.enabled, state.sessions_revoked) == (True, False)  # all or nothing
    assert world.members(group) == [uid]  # the disable failed, so groups stay (phase 2 skipped)


async def test_group_changes_are_idempotent(world: World) -> None:
    member, outsider = world.add_user("jasen"), world.add_user("ulkopuolinen")
    group = world.add_group("Sijaiset", [member])
    results = await world.directory.apply_account_changes([
        AccountChange(member, add_groups=(group,)),  # already a member
        AccountChange(outsider, remove_groups=(group,)),  # not a member
    ])
    assert results[member].ok and results[outsider].ok
    assert world.members(group) == [member]


async def test_removing_licences_one_of_which_is_already_gone_removes_the_other(world: World) -> None:
    world.add_sku(SKU, seats=5)
    world.add_sku(SKU2, seats=5)
    uid = world.add_user("lisenssit", usage_location="FI", skus=(SKU2,))
    results = await world.directory.apply_account_changes([AccountChange(uid, remove_skus=(SKU, SKU2))])
    state = world.user(uid)
    assert results[uid].ok and state is not None and state.skus == frozenset()
    assert world.consumed(SKU2) == 0


async def test_a_full_licence_fails_as_no_licences_available_and_others_get_theirs(world: World) -> None:
    world.add_sku(SKU, seats=1)
    first, second = world.add_user("eka", usage_location="FI"), world.add_user("toka", usage_location="FI")
    group = world.add_group("Sijaiset")
    results = await world.directory.apply_account_changes(
        [AccountChange(uid, add_groups=(group,), add_skus=(SKU,)) for uid in (first, second)]
    )
    failed = [r for r in results.values() if not r.ok]
    assert len(failed) == 1 and failed[0].codes == [ChangeFailure.NO_LICENCES_AVAILABLE]
    assert not failed[0].transient and not failed[0].gone
    assert sorted(world.members(group)) == sorted([first, second])  # the group steps still applied
    assert world.consumed(SKU) == 1


async def test_a_licence_without_usage_location_is_invalid(world: World) -> None:
    world.add_sku(SKU, seats=5)
    uid = world.add_user("nowhere")
    res = (await world.directory.apply_account_changes([AccountChange(uid, add_skus=(SKU,))]))[uid]
    assert (res.ok, res.transient, res.codes) == (False, False, [ChangeFailure.LICENCE_INVALID])


async def test_an_account_deleted_meanwhile_is_gone_and_the_others_still_change(world: World) -> None:
    gone, kept = world.add_user("poistettu"), world.add_user("jaljella")
    group = world.add_group("Sijaiset", [gone, kept])
    await world.directory.delete_user(gone)
    results = await world.directory.apply_account_changes([
        AccountChange(gone, enabled=False, revoke_sessions=True, remove_groups=(group,)),
        AccountChange(kept, enabled=False, revoke_sessions=True, remove_groups=(group,)),
    ])
    assert (results[gone].ok, results[gone].gone) == (False, True)
    assert results[kept].ok and world.members(group) == [gone]  # the deleted one's membership is its own affair
    state = world.user(kept)
    assert state is not None and not state.enabled and state.sessions_revoked


async def test_a_new_account_is_waited_for_only_when_it_may_be_new(world: World) -> None:
    world.lag_new_users()
    other = world.other_process()
    group = world.add_group("Sijaiset")
    created = await world.directory.create_user(make_new_user())
    # Another process, told nothing: the account looks deleted.
    assert (await other.apply_account_changes([AccountChange(created.id, enabled=False)]))[created.id].gone
    # Told it may be brand new, it waits for replication.
    waited = await other.apply_account_changes(
        [AccountChange(created.id, enabled=True, add_groups=(group,))], replication_wait=3.0
    )
    assert waited[created.id].ok and world.members(group) == [created.id]
    # The process that created an account waits for it by itself.
    mine = await world.directory.create_user(make_new_user("toinen.sijainen"))
    assert (await world.directory.apply_account_changes([AccountChange(mine.id, add_groups=(group,))]))[mine.id].ok


async def test_a_throttled_disable_keeps_the_accounts_groups_and_is_transient(world: World) -> None:
    stuck, fine = world.add_user("jumissa"), world.add_user("sujuva")
    group = world.add_group("Sijaiset", [stuck, fine])
    world.throttle_account_patch(stuck)
    results = await world.directory.apply_account_changes([
        AccountChange(uid, enabled=False, revoke_sessions=True, remove_groups=(group,)) for uid in (stuck, fine)
    ])
    res = results[stuck]
    assert (res.ok, res.gone, res.transient, res.codes) == (False, False, True, [ChangeFailure.THROTTLED])
    assert world.members(group) == [stuck]  # never touched: it could not be disabled first
    state = world.user(stuck)
    assert state is not None and (state.enabled, state.sessions_revoked) == (True, False)
    assert results[fine].ok


async def test_nothing_to_change_sends_nothing(world: World) -> None:
    uid = world.add_user("ennallaan")
    assert (await world.directory.apply_account_changes([AccountChange(uid)]))[uid].ok
    assert await world.directory.apply_account_changes([]) == {}
    assert world.requests() == 0


# ---------------------------------------------------------------------------------------- adapter only
# How the changes travel is the adapter's business: the fake applies them in place.


async def test_changes_travel_as_batches_of_twenty_with_every_patch_first(
    emulator: EmulatorServer, directory: GraphDirectory
) -> None:
    users = [emulator.state.add_user(TENANT, f"u{i}@{DOMAIN}", f"U{i}").id for i in range(25)]
    results = await directory.apply_account_changes(
        [AccountChange(uid, enabled=False, revoke_sessions=True) for uid in users]
    )
    assert all(r.ok for r in results.values())
    assert emulator.log.count("POST", "/v1.0/$batch", in_batch=False) == 4  # 2 × PATCH, then 2 × revoke
    items = [e for e in emulator.log.snapshot() if e.in_batch]
    last_patch = max(i for i, e in enumerate(items) if e.method == "PATCH")
    first_revoke = min(i for i, e in enumerate(items) if e.path.endswith("/revokeSignInSessions"))
    assert last_patch < first_revoke


async def test_a_throttled_item_is_resent_alone_and_then_succeeds(
    emulator: EmulatorServer, directory: GraphDirectory
) -> None:
    users = [emulator.state.add_user(TENANT, f"u{i}@{DOMAIN}", f"U{i}").id for i in range(3)]
    emulator.faults.add_rule("batch_429", path_prefix=f"/users/{users[1]}", remaining=1, retry_after=0)
    results = await directory.apply_account_changes([AccountChange(uid, enabled=False) for uid in users])
    assert all(r.ok for r in results.values())
    assert emulator.log.count("PATCH", f"/v1.0/users/{users[1]}", in_batch=True) == 2
    assert emulator.log.count("PATCH", f"/v1.0/users/{users[0]}", in_batch=True) == 1
