"""The pacer's budget semantics, in simulated time: requests never exceed the budget as a server could
count them, and a paced sequential stream costs one window plus the margin per cycle.

A request is counted by the server at some moment ``t`` between its send ``s`` and its response
``r``. Two server models are checked against every schedule the pacer produces, by letting an
adversary place each ``t`` wherever it hurts most:

- **sliding window at arrival**: at most ``limit`` counts in any ``window`` seconds, each request
  counted within ``margin`` of its send (``s <= t <= min(s + margin, r)``);
- **token bucket** (capacity ``limit``, refill ``limit / window`` per second, full at the start; how
  the emulator counts), with ``t`` *anywhere* in ``[s, r]``.

For both, "some placement breaks the budget" reduces to a check over pairs: a set of requests can be
squeezed into ``max(0, max lo - min hi)`` seconds, and the largest set for given ``(max lo, min hi)``
is every request with ``lo <= max lo`` and ``hi >= min hi``.
"""

from __future__ import annotations

import asyncio
import bisect
import heapq
import math
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from idops.graph.pacer import MARGIN_SHARE, Budget, Pacer

LIMIT, WINDOW = 5, 10.0
MARGIN = MARGIN_SHARE * WINDOW
TOL = 1e-7  # float slack: equality at a boundary is allowed, a real excess is not


class SimTime:
    """Discrete-event time: ``sleep`` parks the task until the driver moves the clock to its wake-up."""

    def __init__(self) -> None:
        self.now = 0.0
        self._heap: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = 0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._heap, (self.now + max(0.0, seconds), self._seq, fut))
        self._seq += 1
        await fut

    async def run(self, *coros: Coroutine[Any, Any, None]) -> None:
        tasks = [asyncio.ensure_future(c) for c in coros]
        loop = asyncio.get_running_loop()
        while True:
            # let every runnable task reach its next sleep or event wait: the loop's ready queue (CPython's
            # ``_ready``) is empty when this task resumes and nothing else could run
            for _ in range(10_000):
                await asyncio.sleep(0)
                if not loop._ready:  # type: ignore[attr-defined]
                    break
            if all(t.done() for t in tasks):
                break
            assert self._heap, "simulated tasks are stuck"
            wake, _, fut = heapq.heappop(self._heap)
            self.now = max(self.now, wake)
            fut.set_result(None)
        for t in tasks:
            t.result()


@dataclass(frozen=True)
class Sent:
    s: float  # the request left
    r: float  # its response came back
    cost: int


async def schedule(
    sim: SimTime, pacer: Pacer, streams: list[list[tuple[float, int]]]
) -> list[Sent]:
    """Run each stream (a list of (latency, cost)) as one sequential chain of requests."""
    return await schedule_all(sim, [(pacer, streams)])


async def schedule_all(
    sim: SimTime, runs: list[tuple[Pacer, list[list[tuple[float, int]]]]]
) -> list[Sent]:
    """``schedule`` for several pacers (processes) under one driver: two drivers of one ``SimTime``
    would each keep the loop busy for the other (10 000 yields per step)."""
    out: list[Sent] = []

    async def chain(pacer: Pacer, reqs: list[tuple[float, int]]) -> None:
        for latency, cost in reqs:
            async with pacer.slot("reports", cost):
                s = sim.now
                await sim.sleep(latency)
            out.append(Sent(s, sim.now, cost))

    await sim.run(*(chain(pacer, reqs) for pacer, streams in runs for reqs in streams))
    return out


def _units(sent: list[Sent], hi_of: float | None) -> list[tuple[float, float]]:
    """One (lo, hi) per budget unit: where the server may have counted it."""
    return [
        (x.s, x.r if hi_of is None else min(x.s + hi_of, x.r))
        for x in sent
        for _ in range(min(x.cost, LIMIT))
    ]


def _counts(units: list[tuple[float, float]]) -> Iterator[tuple[float, float, int]]:
    """For each candidate window (from a unit's earliest to a unit's latest point): ``(a, b, n)``, the
    number ``n`` of units that must be counted inside any window reaching from ``b`` to ``a``."""
    his = {hi for _, hi in units}
    for a in {lo for lo, _ in units}:
        reaching = sorted(hi for lo, hi in units if lo <= a)
        for b in his:
            yield a, b, len(reaching) - bisect.bisect_left(reaching, b)


def worst_sliding_window_excess(sent: list[Sent]) -> int:
    """Largest count above ``LIMIT`` that arrival counting (within the margin) can put in one window."""
    return max((n - LIMIT for a, b, n in _counts(_units(sent, MARGIN)) if max(0.0, a - b) < WINDOW - TOL),
               default=-LIMIT)


def worst_bucket_excess(sent: list[Sent]) -> float:
    """Largest shortfall of a token bucket that counts each request anywhere in ``[s, r]``."""
    rate = LIMIT / WINDOW
    return max((n - LIMIT - rate * max(0.0, a - b) for a, b, n in _counts(_units(sent, None))), default=-math.inf)


def make_pacer(sim: SimTime, concurrency: int = 8) -> Pacer:
    return Pacer({"reports": Budget(LIMIT, WINDOW)}, max_concurrency=concurrency, clock=sim.clock, sleep=sim.sleep)


latencies = st.one_of(
    st.sampled_from([0.0, 0.05, 0.3, 1.5, 4.0, 8.5, 12.0]), st.floats(0.0, 15.0, allow_nan=False)
)
streams = st.lists(
    st.lists(st.tuples(latencies, st.sampled_from([1, 1, 1, 2, 3])), min_size=1, max_size=12),
    min_size=1,
    max_size=5,
)


@settings(max_examples=150, deadline=None)
@given(streams=streams, concurrency=st.integers(1, 8))
def test_no_schedule_exceeds_the_budget_as_either_server_model_counts_it(
    streams: list[list[tuple[float, int]]], concurrency: int
) -> None:
    async def go() -> list[Sent]:
        sim = SimTime()
        return await schedule(sim, make_pacer(sim, concurrency), streams)

    sent = asyncio.run(go())
    assert len(sent) == sum(len(s) for s in streams)
    assert worst_sliding_window_excess(sent) <= 0
    assert worst_bucket_excess(sent) <= TOL


async def test_a_sequential_stream_costs_one_window_plus_the_margin_per_cycle() -> None:
    # 1.5 s per response: the old rule (window counted from each response) took 11.5 s per cycle.
    sim = SimTime()
    sent = await schedule(sim, make_pacer(sim), [[(1.5, 1)] * 41])
    starts = [x.s for x in sent]
    assert starts[:5] == [0.0, 1.5, 3.0, 4.5, 6.0]
    assert starts[5] == WINDOW + MARGIN
    for q in range(1, 9):
        assert math.isclose(starts[5 * q], q * (WINDOW + MARGIN))
    ideal = math.floor((len(starts) - 1) / LIMIT) * WINDOW  # a client needing no time per request
    assert ideal <= starts[-1] <= ideal * (1 + MARGIN_SHARE) + TOL


async def test_a_response_faster_than_the_margin_frees_its_place_from_the_response() -> None:
    sim = SimTime()
    sent = await schedule(sim, make_pacer(sim), [[(0.1, 1)] * 11])
    starts = [x.s for x in sent]
    assert math.isclose(starts[5], WINDOW + 0.1)
    assert math.isclose(starts[10], 2 * (WINDOW + 0.1))


async def test_slow_responses_are_charged_by_the_bucket() -> None:
    # 9 s per response in one stream, instant ones in another: counted as late as 9 s after sending,
    # the slow requests would overfill a token bucket if the next cycle went at window + margin.
    sim = SimTime()
    sent = await schedule(sim, make_pacer(sim), [[(9.0, 1)] * 12, [(0.0, 1)] * 12])
    assert worst_bucket_excess(sent) <= TOL
    assert worst_sliding_window_excess(sent) <= 0


async def test_a_burst_of_concurrent_requests_then_the_next_burst_after_the_window() -> None:
    sim = SimTime()
    sent = await schedule(sim, make_pacer(sim), [[(0.2, 1)] * 3 for _ in range(5)])
    starts = sorted(x.s for x in sent)
    assert starts[:5] == [0.0] * 5
    assert math.isclose(starts[5], WINDOW + 0.2)  # answered before the margin: counted by then
    assert worst_bucket_excess(sent) <= TOL
    assert worst_sliding_window_excess(sent) <= 0
