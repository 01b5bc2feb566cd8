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
from tests.unit.substitutes.lifecycle_fixtures import life_fixture, make_life_fixture  # noqa: F401 - fixtures

if TYPE_CHECKING:
    from tests.unit.substitutes.lifecycle_fixtures import Life


async def test_a_code_for_a_scheduled_period_starts_with_the_period(life: Life) -> None:
    pid = await life.request(starts=timedelta(days=3), days=2)
    period = await life.period(pid)

    issued = await issue(life.c.uow(), life.c, life.caller(), pid)

    user = await life.account(pid)
    kept = life.state().passes[user.id]
    assert kept.start_date_time == period.starts_at == issued.valid_from
    assert kept.lifetime_in_minutes == 480  # the tenant policy's maximum, well inside the period
    assert issued.valid_until == period.starts_at + timedelta(minutes=480)
    assert not issued.usable_once
    [event] = [e for e in await life.events(pid) if e.action == "temporary_access_pass_issued"]
    assert event.details["valid_from"] == period.starts_at.isoformat()
    assert issued.secret not in str(event.details)


async def test_a_code_ahead_never_outlives_a_short_period(life: Life) -> None:
    pid = await life.request(starts=timedelta(days=1), days=0.125)  # three hours
    issued = await issue(life.c.uow(), life.c, life.caller(), pid)
    assert issued.valid_until == (await life.period(pid)).ends_at


async def test_the_code_is_as_usable_as_graph_made_it(life: Life) -> None:
    """The page's wording ("kertakäyttöinen" or not) follows the pass Graph made, not idops' cached idea
    of the tenant's policy."""
    pid = await life.request(days=2)
    assert not (await issue(life.c.uow(), life.c, life.caller(), pid)).usable_once  # the policy is now cached
    life.state().tap_policy = dataclasses.replace(life.state().tap_policy, is_usable_once=True)
    assert (await issue(life.c.uow(), life.c, life.caller(), pid)).usable_once  # Graph forced a one-time pass


async def test_no_code_for_an_ended_period(life: Life) -> None:
    pid = await life.request(starts=timedelta(days=3), days=2)
    await revoke(life.c.uow(), life.c, life.caller(), pid)
    with pytest.raises(Conflict):
        await issue(life.c.uow(), life.c, life.caller(), pid)


async def test_a_period_revoked_before_its_start_ends_where_it_would_have_started(life: Life) -> None:
    pid = await life.request(starts=timedelta(days=20), days=5)
    before = await get_one(life.c.uow(), life.caller(), pid)
    assert not before.cancelled_before_start
    life.clock.advance(timedelta(days=1))
    await revoke(life.c.uow(), life.c, life.caller(), pid)

    out = await get_one(life.c.uow(), life.caller(), pid)

    assert out.status == "revoked" and out.cancelled_before_start
    assert out.ends_at == out.starts_at == before.starts_at  # not "starts 20.12., ends 1.12."
    assert out.revoked_at == life.clock.now()
    running = await life.request(given="Bertta", surname="Björk", days=5)
    life.clock.advance(timedelta(hours=2))
    await revoke(life.c.uow(), life.c, life.caller(), running)
    ended = await get_one(life.c.uow(), life.caller(), running)
    assert not ended.cancelled_before_start and ended.ends_at == life.clock.now()
