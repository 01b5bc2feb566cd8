"""Bulk requests on the fake: each item like a single request, in order, no all-or-nothing; one key for
the batch replays it without creating anything; the Graph round trips of 20 items are held (the fake
counts a round trip as the adapter sends it: a request, or a ``$batch`` of up to 20 steps)."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import TYPE_CHECKING

from idops.graph.errors import GraphBadRequest
from idops.kit.errors import Conflict, PolicyViolation
from idops.substitutes.bulk import request_many
from idops.substitutes.models import Status

if TYPE_CHECKING:
    from tests.unit.substitutes.conftest import MakeSubstitutes

# 20 new substitutes at a school with one group and one licence, Graph work batched across the items:
# one seat read, a POST /users each, and their 40 group and licence steps in $batch calls of 20.
ROUND_TRIPS_FOR_TWENTY = 1 + 20 + 2  # were 41 one request at a time (20 users + 20 one-user batches + 1)
# Periods a day each, two days apart (within the quota), each taking its seat when requested.
TAKES_SEATS = {"licence_while": "requested"}


async def test_twenty_new_substitutes_take_twenty_three_round_trips(make_sub: MakeSubstitutes) -> None:
    sub = await make_sub(policy=TAKES_SEATS)
    bodies = [sub.body(starts=timedelta(days=2 * i), days=1, given=f"Aino{chr(65 + i)}") for i in range(20)]
    before, trips = len(sub.state().calls), sub.state().round_trips
    outcomes = await request_many(sub.c.uow(), sub.c, sub.principal(), bodies, "viikko-48")
    assert [o.index for o in outcomes] == list(range(20)) and all(o.error is None for o in outcomes)
    assert sub.state().round_trips - trips == ROUND_TRIPS_FOR_TWENTY
    steps = Counter(c.operation for c in sub.state().calls[before:])
    assert steps == Counter({"list_subscribed_skus": 1, "create_user": 20, "add_group": 20, "assign_licence": 20})
    users = sub.marked_users()
    assert len(users) == 20 and all(u.licences for u in users)
    assert all(set(sub.state().members(g)) == {u.id for u in users} for g in sub.groups())
    assert [p.status for p in await sub.periods()].count(Status.SCHEDULED) == 19


async def test_a_batch_promises_the_last_seats_once(make_sub: MakeSubstitutes) -> None:
    """The seat check counts what earlier items of the batch take before any licence is assigned."""
    sub = await make_sub(policy=TAKES_SEATS)
    sub.set_free_seats(5)
    bodies = [sub.body(starts=timedelta(days=2 * i), days=1, given=f"Aino{chr(65 + i)}") for i in range(8)]
    outcomes = await request_many(sub.c.uow(), sub.c, sub.principal(), bodies, None)
    assert [o.error is None for o in outcomes] == [True] * 5 + [False] * 3
    assert all(isinstance(o.error, Conflict) for o in outcomes[5:])
    assert len(sub.marked_users()) == 5 and sub.free_seats() == 0
    assert sub.state().count("create_user") == 5  # nothing made for the refused ones


async def test_one_accounts_failed_step_fails_only_that_item(make_sub: MakeSubstitutes) -> None:
    sub = await make_sub(policy=TAKES_SEATS)
    sub.directory().fail_next("assign_licence", GraphBadRequest("refused", status=400))
    bodies = [sub.body(days=1, given=f"Aino{chr(65 + i)}") for i in range(3)]
    outcomes = await request_many(sub.c.uow(), sub.c, sub.principal(), bodies, None)
    statuses = [(await sub.period(o.result.period_id)).status for o in outcomes if o.result]
    assert sorted(statuses) == [Status.ACTIVE, Status.ACTIVE, Status.FAILED]  # the first item's licence failed
    assert len(sub.marked_users()) == 2  # the failed one's account was cleaned away


async def test_a_refused_item_does_not_block_the_others_and_a_retry_creates_nothing(
    make_sub: MakeSubstitutes,
) -> None:
    sub = await make_sub(policy={"on_limit": "approval"})
    found = sub.c.config.region.school(sub.SCHOOL)
    assert found is not None
    quota = sub.c.config.policy_for(*found).quota
    bodies = [sub.body(days=2, given=f"Aino{chr(65 + i)}") for i in range(quota + 4)]
    bodies.insert(3, sub.body(days=-1, given="Väärä"))  # an end before the start: refused outright
    first = await request_many(sub.c.uow(), sub.c, sub.principal(), bodies, "flunssa")
    assert isinstance(first[3].error, PolicyViolation)
    done = [o for o in first if o.result is not None]
    assert [o.result.awaiting_approval for o in done if o.result] == [False] * quota + [True] * 4
    assert len(sub.marked_users()) == quota

    periods, calls = len(await sub.periods()), len(sub.state().calls)
    again = await request_many(sub.c.uow(), sub.c, sub.principal(), bodies, "flunssa")
    assert [(o.index, o.result.period_id if o.result else None) for o in again] == [
        (o.index, o.result.period_id if o.result else None) for o in first
    ]
    assert all(o.result is None or not o.result.created for o in again)
    assert len(await sub.periods()) == periods and len(sub.state().calls) == calls
