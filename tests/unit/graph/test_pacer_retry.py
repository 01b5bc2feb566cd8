"""Pacer (virtual time), retry policy and Retry-After parsing: no I/O, no real sleeping."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from idops.graph.pacer import Budget, Pacer
from idops.graph.retry import RetryPolicy, graph_priority, low_priority, parse_retry_after


class VirtualTime:
    """A clock that only moves when a task sleeps: the pacer's decisions become exact."""

    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)
        await asyncio.sleep(0)


async def test_reports_budget_allows_five_per_ten_seconds() -> None:
    vt = VirtualTime()
    pacer = Pacer({"reports": Budget(5, 10.0)}, max_concurrency=4, clock=vt.clock, sleep=vt.sleep)
    starts: list[float] = []
    for _ in range(12):
        async with pacer.slot("reports"):
            starts.append(vt.now)
    # any 10 s window holds at most 5 starts (instant responses: each place frees 10 s after it)
    for i, t in enumerate(starts):
        assert sum(1 for s in starts[i:] if s < t + 10.0) <= 5
    assert starts[:5] == [0.0] * 5
    assert starts[5] == 10.0
    assert starts[10] == 20.0


async def test_penalty_holds_the_whole_class() -> None:
    vt = VirtualTime()
    pacer = Pacer({"reads": Budget(None, 1.0)}, max_concurrency=4, clock=vt.clock, sleep=vt.sleep)
    pacer.penalize("reads", 7.0)
    async with pacer.slot("reads"):
        assert vt.now == 7.0


async def test_in_flight_requests_are_bounded() -> None:
    pacer = Pacer({"reads": Budget(None, 1.0)}, max_concurrency=3)
    running = 0
    peak = 0

    async def one() -> None:
        nonlocal running, peak
        async with pacer.slot("reads"):
            running += 1
            peak = max(peak, running)
            await asyncio.sleep(0.01)
            running -= 1

    await asyncio.gather(*(one() for _ in range(12)))
    assert peak == 3


async def test_concurrent_reports_never_exceed_the_window() -> None:
    vt = VirtualTime()
    pacer = Pacer({"reports": Budget(5, 10.0)}, max_concurrency=8, clock=vt.clock, sleep=vt.sleep)
    starts: list[float] = []

    async def one() -> None:
        async with pacer.slot("reports"):
            starts.append(vt.now)
            await vt.sleep(0.5)

    await asyncio.gather(*(one() for _ in range(15)))
    starts.sort()
    for i, t in enumerate(starts):
        assert sum(1 for s in starts[i:] if s < t + 10.0) <= 5


def test_retry_after_seconds_and_http_date() -> None:
    now = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("0") == 0.0
    assert parse_retry_after(format_datetime(now + timedelta(seconds=5), usegmt=True), now=now) == 5.0
    assert parse_retry_after(format_datetime(now - timedelta(seconds=5), usegmt=True), now=now) == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None
    assert parse_retry_after("-4") == 0.0


def test_backoff_is_bounded_and_jittered() -> None:
    policy = RetryPolicy(max_retries=6, max_backoff_seconds=8.0, base_seconds=0.5, rng=random.Random(1))
    for attempt in range(12):
        ceiling = min(8.0, 0.5 * 2**attempt)
        d = policy.backoff(attempt)
        assert ceiling / 2 <= d <= ceiling
    assert policy.delay(3, 2.5) == 2.5  # Retry-After wins
    assert policy.may_retry(5, 1.0)
    assert not policy.may_retry(6, 1.0)
    assert not policy.may_retry(0, 10_000.0)  # an absurd Retry-After surfaces instead


def test_low_priority_context() -> None:
    assert graph_priority.get() == "normal"
    with low_priority():
        assert graph_priority.get() == "low"
    assert graph_priority.get() == "normal"
