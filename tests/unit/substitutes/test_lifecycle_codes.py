"""The sign-in code prepared ahead of the start (Graph's ``startDateTime``), within the tenant's TAP policy
and never past the end; a revoked future period shown with a sensible end."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from idops.kit.errors import Conflict
from idops.substitutes.access_pass import issue
from idops.substitutes.changes import revoke
from idops.substitutes.views import get_one

if TYPE_CHECKING:
    from tests.unit.substitutes.conftest import Substitutes


async def test_a_code_for_a_scheduled_period_starts_with_the_period(sub: Substitutes) -> None:
    pid = await sub.request(starts=timedelta(days=3), days=2)
    period = await sub.period(pid)

    issued = await issue(sub.c.uow(), sub.c, sub.principal(), pid)

    user = await sub.account(pid)
    kept = sub.state().passes[user.id]
    assert kept.start_date_time == period.starts_at == issued.valid_from
    assert kept.lifetime_in_minutes == 480  # the tenant policy's maximum, well inside the period
    assert issued.valid_until == period.starts_at + timedelta(minutes=480)
    assert not issued.usable_once
    [event] = [e for e in await sub.events(pid) if e.action == "temporary_access_pass_issued"]
    assert event.details["valid_from"] == period.starts_at.isoformat()
    assert issued.secret not in str(event.details)


async def test_a_code_ahead_never_outlives_a_short_period(sub: Substitutes) -> None:
    pid = await sub.request(starts=timedelta(days=1), days=0.125)  # three hours
    issued = await issue(sub.c.uow(), sub.c, sub.principal(), pid)
    assert issued.valid_until == (await sub.period(pid)).ends_at


async def test_the_code_is_as_usable_as_graph_made_it(sub: Substitutes) -> None:
    """The page's wording ("kertakäyttöinen" or not) follows the pass Graph made, not idops' cached idea
    of the tenant's policy."""
    pid = await sub.request(days=2)
    assert not (await issue(sub.c.uow(), sub.c, sub.principal(), pid)).usable_once  # the policy is now cached
    sub.state().tap_policy = dataclasses.replace(sub.state().tap_policy, is_usable_once=True)
    assert (await issue(sub.c.uow(), sub.c, sub.principal(), pid)).usable_once  # Graph forced a one-time pass


async def test_no_code_for_an_ended_period(sub: Substitutes) -> None:
    pid = await sub.request(starts=timedelta(days=3), days=2)
    await revoke(sub.c.uow(), sub.c, sub.principal(), pid)
    with pytest.raises(Conflict):
        await issue(sub.c.uow(), sub.c, sub.principal(), pid)


async def test_a_period_revoked_before_its_start_ends_where_it_would_have_started(sub: Substitutes) -> None:
    pid = await sub.request(starts=timedelta(days=20), days=5)
    before = await get_one(sub.c.uow(), sub.principal(), pid)
    assert not before.cancelled_before_start
    sub.clock.advance(timedelta(days=1))
    await revoke(sub.c.uow(), sub.c, sub.principal(), pid)

    out = await get_one(sub.c.uow(), sub.principal(), pid)

    assert out.status == "revoked" and out.cancelled_before_start
    assert out.ends_at == out.starts_at == before.starts_at  # not "starts 20.12., ends 1.12."
    assert out.revoked_at == sub.clock.now()
    running = await sub.request(given="Bertta", surname="Björk", days=5)
    sub.clock.advance(timedelta(hours=2))
    await revoke(sub.c.uow(), sub.c, sub.principal(), running)
    ended = await get_one(sub.c.uow(), sub.principal(), running)
    assert not ended.cancelled_before_start and ended.ends_at == sub.clock.now()
