"""The shared Graph budget's arithmetic (``idops.graph.budget.BucketState``) with several processes'
pacers asking it, in simulated time; the pacer's one-at-a-time resumption after a 429; the jittered
retry after a 429.

The store here is a dict (``MemoryBudget``); ``idops.throttle.service.DatabaseBudget`` runs the same
``BucketState`` on a locked PostgreSQL row (``tests/integration/throttle``).
"""

from __future__ import annotations

import asyncio
import math
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from idops.graph.budget import BucketState, Budget
from idops.graph.pacer import Pacer
from idops.graph.retry import RETRY_AFTER_JITTER, RetryPolicy
from tests.unit.graph.test_pacer_budget import LIMIT, MARGIN, TOL, WINDOW, Sent, SimTime, _counts, _units, schedule_all

BUDGET = Budget(LIMIT, WINDOW)


class MemoryBudget:
    """``SharedBudget`` over a dict, on the simulation's clock: what every process's pacer asks."""

    def __init__(self, clock: SimTime) -> None:
        self.clock = clock
        self.state: dict[tuple[str, str], BucketState] = {}

    def _row(self, tenant_id: str, cls: str, budget: Budget) -> BucketState:
        return self.state.setdefault((tenant_id, cls), BucketState.full(budget, self.clock.now))

    async def take(self, tenant_id: str, cls: str, cost: int, budget: Budget) -> float:
        return self._row(tenant_id, cls, budget).take(budget, cost, self.clock.now)

    async def penalize(self, tenant_id: str, cls: str, retry_after: float, budget: Budget) -> None:
        self._row(tenant_id, cls, budget).penalize(budget, retry_after, self.clock.now)


def process(sim: SimTime, shared: MemoryBudget, concurrency: int = 4) -> Pacer:
    """One process's pacer for the tenant, asking the deployment's budget too."""
    return Pacer({"reports": BUDGET}, max_concurrency=concurrency, clock=sim.clock, sleep=sim.sleep,
                 tenant_id="t1", shared=shared)


def worst_excess_at_arrival(sent: list[Sent]) -> float:
    """The largest excess over the budget when the server counts each request on arrival, within
    ``MARGIN`` of its send, wherever hurts most: as a sliding window and as a token bucket."""
    rate = LIMIT / WINDOW
    worst = -math.inf
    for a, b, n in _counts(_units(sent, MARGIN)):
        if max(0.0, a - b) < WINDOW - TOL:
            worst = max(worst, n - LIMIT)  # sliding window
        worst = max(worst, n - LIMIT - rate * max(0.0, a - b))  # token bucket
    return worst


latencies = st.one_of(st.sampled_from([0.0, 0.05, 0.3, 1.5, 4.0]), st.floats(0.0, 6.0, allow_nan=False))
chains = st.lists(st.lists(st.tuples(latencies, st.just(1)), min_size=1, max_size=8), min_size=1, max_size=3)


@settings(max_examples=60, deadline=None)
@given(processes=st.lists(chains, min_size=2, max_size=3))
def test_processes_sharing_the_budget_never_exceed_it_together(processes: list[list[list[tuple[float, int]]]]) -> None:
    async def go() -> list[Sent]:
        sim = SimTime()
        shared = MemoryBudget(sim)
        return await schedule_all(sim, [(process(sim, shared), streams) for streams in processes])

    sent = asyncio.run(go())
    assert len(sent) == sum(len(chain) for streams in processes for chain in streams)
    assert worst_excess_at_arrival(sent) <= TOL


def test_two_processes_alone_would_double_the_budget() -> None:
    """The property above fails without the shared budget (the check can fail)."""
    async def go() -> list[Sent]:
        sim = SimTime()
        alone = [Pacer({"reports": BUDGET}, max_concurrency=4, clock=sim.clock, sleep=sim.sleep) for _ in range(2)]
        return await schedule_all(sim, [(pacer, [[(0.1, 1)] * 5]) for pacer in alone])

    assert worst_excess_at_arrival(asyncio.run(go())) >= LIMIT - TOL


def test_after_a_429_the_class_waits_then_resumes_with_one_token() -> None:
    state = BucketState.full(BUDGET, 0.0)
    for _ in range(LIMIT - 1):
        assert state.take(BUDGET, 1, 0.0) == 0.0
    state.penalize(BUDGET, 5.0, 1.0)  # another process was told Retry-After: 5 at t = 1
    assert math.isclose(state.take(BUDGET, 1, 2.0), 4.0)  # held until t = 6, whatever is left
    first = state.take(BUDGET, 1, 6.0)
    assert first <= MARGIN + TOL  # then one request (once the reserve for the send margin is there)
    assert state.take(BUDGET, 1, 6.0 + first) == 0.0
    wait = state.take(BUDGET, 1, 6.0 + first)
    assert wait >= WINDOW / LIMIT - TOL  # and the next only at the refill rate, not a burst


async def test_after_a_429_one_request_at_a_time_until_an_answer_that_is_not_429() -> None:
    sim = SimTime()
    pacer = Pacer({"reports": Budget(100, WINDOW)}, max_concurrency=4, clock=sim.clock, sleep=sim.sleep)
    await pacer.throttled("reports", 1.0)
    spans: list[tuple[float, float]] = []

    async def request(answer_after: float) -> None:
        async with pacer.slot("reports"):
            s = sim.now
            await sim.sleep(answer_after)
            pacer.answered("reports")
            spans.append((s, sim.now))

    await sim.run(*(request(0.5) for _ in range(4)))
    spans.sort()
    assert spans[0][0] >= 1.0  # held until Retry-After
    assert spans[1][0] >= spans[0][1]  # the second left only once the first was answered
    assert spans[2][0] < spans[1][1] or spans[3][0] < spans[2][1]  # then concurrency came back


def test_a_retry_after_a_429_is_jittered_and_never_early() -> None:
    policy = RetryPolicy(rng=random.Random(7))
    waits = [policy.delay(0, 9.0, jitter=True) for _ in range(50)]
    assert all(9.0 <= w <= 9.0 * (1 + RETRY_AFTER_JITTER) for w in waits)
    assert len({round(w, 3) for w in waits}) > 40  # processes throttled together do not retry in lockstep
    assert policy.delay(0, 9.0) == 9.0  # a 503's Retry-After is honoured as given
