"""The session service against a real database: the server's idle and absolute limits, sign-out and
"sign out everywhere", one-shot tokens that work once (also when two requests race), and cleanup."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from idops.sessions import service
from idops.uow import UnitOfWork

T0 = datetime(2026, 12, 1, 7, 0, tzinfo=UTC)
TENANT = "2b9fbc3d-6284-566a-9f9c-8c8e78852612"


def claims(oid: str = "11111111-1111-4111-8111-111111111111", roles: tuple[str, ...] = ("Principal",)) -> dict:
    return {"oid": oid, "tid": TENANT, "roles": list(roles), "groups": ["G1"], "name": "Rehtori"}


async def test_a_session_unused_past_the_idle_limit_has_ended(uow: UnitOfWork) -> None:
    raw, _ = await service.start(uow, T0, claims=claims())
    used = T0 + timedelta(hours=1)
    live = await service.find(uow, raw, used)
    assert live is not None and live.user is not None and live.user.groups == ("g1",)
    assert await service.record_use(uow, live, used, changed=False)
    assert await service.find(uow, raw, used + service.IDLE) is not None  # measured from the last use
    assert await service.find(uow, raw, used + service.IDLE + timedelta(seconds=1)) is None
    assert await service.find(uow, raw, used) is None  # ended, not just hidden


async def test_no_session_outlives_the_absolute_limit_however_busy(uow: UnitOfWork) -> None:
    raw, _ = await service.start(uow, T0, claims=claims())
    now = T0
    while now < T0 + service.ABSOLUTE:
        live = await service.find(uow, raw, now)
        assert live is not None
        await service.record_use(uow, live, now, changed=False)
        now += timedelta(hours=1)
    assert await service.find(uow, raw, T0 + service.ABSOLUTE + timedelta(seconds=1)) is None


async def test_sign_in_ends_the_visitors_session_and_sign_out_ends_the_users(uow: UnitOfWork) -> None:
    visitor, before = await service.start(uow, T0, data={"csrf": "c"})
    assert before.user is None
    raw, live = await service.start(uow, T0, claims=claims(), replaces=before.id)
    assert live.data == {} and await service.find(uow, visitor, T0) is None
    await service.end(uow, live.id, T0)
    assert await service.find(uow, raw, T0) is None
    assert not await service.record_use(uow, live, T0 + timedelta(hours=1), changed=True)  # nothing revives it


async def test_ending_everywhere_ends_only_that_users_live_sessions(uow: UnitOfWork) -> None:
    mine = [(await service.start(uow, T0, claims=claims()))[0] for _ in range(3)]
    other, _ = await service.start(uow, T0, claims=claims(oid="22222222-2222-4222-8222-222222222222"))
    assert await service.end_all(uow, TENANT.upper(), claims()["oid"], T0) == 3
    assert [await service.find(uow, raw, T0) for raw in mine] == [None, None, None]
    assert await service.find(uow, other, T0) is not None
    assert await service.end_all(uow, TENANT, claims()["oid"], T0) == 0


async def test_a_one_shot_token_works_once_for_its_own_session(uow: UnitOfWork) -> None:
    _, live = await service.start(uow, T0, claims=claims())
    _, other = await service.start(uow, T0, claims=claims())
    token = await service.issue_one_shot(uow, live.id, "code", T0)
    assert not await service.spend_one_shot(uow, other.id, "code", token)  # another browser's session
    assert not await service.spend_one_shot(uow, live.id, "other", token)
    assert await service.spend_one_shot(uow, live.id, "code", token)
    assert not await service.spend_one_shot(uow, live.id, "code", token)
    assert not await service.spend_one_shot(uow, live.id, "code", None)


async def test_two_racing_requests_spend_a_token_once(uow: UnitOfWork) -> None:
    _, live = await service.start(uow, T0, claims=claims())
    token = await service.issue_one_shot(uow, live.id, "code", T0)
    spent = await asyncio.gather(*(service.spend_one_shot(uow.sibling(), live.id, "code", token) for _ in range(4)))
    assert sorted(spent) == [False, False, False, True]


async def test_only_the_newest_tokens_stay_and_ending_spends_them_all(uow: UnitOfWork) -> None:
    _, live = await service.start(uow, T0, claims=claims())
    tokens = [await service.issue_one_shot(uow, live.id, "code", T0 + timedelta(seconds=i)) for i in range(10)]
    assert not await service.spend_one_shot(uow, live.id, "code", tokens[0])  # older than the newest 8
    assert await service.spend_one_shot(uow, live.id, "code", tokens[-1])
    await service.end(uow, live.id, T0)
    assert not await service.spend_one_shot(uow, live.id, "code", tokens[-2])


async def test_old_sessions_are_forgotten(uow: UnitOfWork) -> None:
    user, _ = await service.start(uow, T0, claims=claims())
    visitor, _ = await service.start(uow, T0, data={"next": "/"})
    fresh, _ = await service.start(uow, T0 + service.HISTORY, claims=claims())
    assert await service.forget_old(uow, T0 + service.IDLE + timedelta(minutes=1)) == 1  # the visitor's
    assert await service.forget_old(uow, T0 + service.HISTORY + timedelta(minutes=1)) == 1  # the old user's
    assert await service.find(uow, fresh, T0 + service.HISTORY) is not None
    assert await service.find(uow, user, T0) is None and await service.find(uow, visitor, T0) is None
