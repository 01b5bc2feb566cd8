"""Bulk requests on the fake: each item like a single request, in order, no all-or-nothing; one key for
the batch replays it without creating anything; the Graph round trips of 20 items are held."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import TYPE_CHECKING

from idops.kit.errors import PolicyViolation
from idops.substitutes.bulk import request_many

if TYPE_CHECKING:
    from tests.unit.substitutes.conftest import MakeSubstitutes, Substitutes

# Per new substitute: create the account, then its changes (one group and one licence step).
ROUND_TRIPS_PER_NEW_PERSON = {"create_user": 1, "add_group": 1, "assign_licence": 1}


async def test_twenty_items_cost_three_round_trips_each_and_one_seat_read(sub: Substitutes) -> None:
    bodies = [sub.body(starts=timedelta(days=2 * i), days=1, given=f"Aino{chr(65 + i)}") for i in range(20)]
    before = len(sub.state().calls)
    outcomes = await request_many(sub.c.uow(), sub.c, sub.principal(), bodies, "viikko-48")
    assert [o.index for o in outcomes] == list(range(20)) and all(o.error is None for o in outcomes)
    calls = Counter(c.operation for c in sub.state().calls[before:])
    expected = Counter({op: n * 20 for op, n in ROUND_TRIPS_PER_NEW_PERSON.items()}) + Counter(
        {"list_subscribed_skus": 1}
    )
    assert calls == expected, calls  # 61 round trips for 20 items
    assert len(sub.marked_users()) == 20


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
