"""Client-side pacing per tenant, so syncs use Graph's budget without provoking 429s.

One ``Pacer`` per tenant holds:

- a bound on in-flight requests (``max_concurrency_per_tenant``), shared by all classes;
- per throttle class a limiter for "at most ``limit`` requests per ``window`` seconds".
  ``reports`` (identity & access reports, sign-ins, registration details) defaults to 5 / 10 s;
  ``writes`` to ``writes_per_second``; ``reads`` is limited only by concurrency and 429 feedback.

How Graph counts the reports budget is not documented (graph-facts §6/§7 give "5 requests per 10 s";
sliding window or token bucket, and counted on arrival or when processed, are [U]). Whatever the
model, the server counts a request at some moment between when it was *sent* (``s``) and when its
response came back (``r``). A new request goes only when BOTH rules allow it:

1. **Sliding window from the latest moment each request can have been counted**, taken as
   ``c = min(r, s + margin)`` (``s + margin`` while in flight): at most ``limit`` requests with ``c``
   in the last ``window`` seconds. Safe against a server that keeps "at most ``limit`` in any
   ``window``" (the strictest reading of the budget) and counts a request on arrival, within
   ``margin`` of our send — as throttling front-ends do. The margin is 2.5 % of the window (0.25 s
   of Graph's 10 s; a share, so time-scaled test windows keep the same shape). A fast response
   (``r < s + margin``) frees its place at ``r + window``: exactly as safe, and sooner.
2. **A pessimistic token bucket** (capacity ``limit``, refilled at ``limit / window`` per second) that
   charges each request at its *response*, the latest moment any server can have counted it
   (in-flight requests are held against it at once). Safe against a token-bucket server — how the
   emulator counts, and how Graph's other identity budgets work — *wherever* in ``[s, r]`` it counts,
   whatever the latency: any set of requests can be squeezed into ``max(s) - min(r)`` seconds, and
   the bucket refuses exactly the sets that would then exceed ``limit + rate × that span``.

For a chain of requests sent one after another (pages follow ``@odata.nextLink``), rule 2 only binds
when a response takes longer than ~``window × (1 - 1/limit)`` (8 s of 10 s), so a cycle of ``limit``
requests costs ``window + min(first response's latency, margin)``; requests sent together pay a little
more under rule 2 (it charges each at its response). Before, the window was counted from each
response (safe against any server model), which added the full latency of the first request of every
cycle: little against the emulator on an idle machine, seconds against Graph (which can take
seconds per sign-in page) or a loaded machine. Not covered: a server that keeps a strict sliding
window yet counts a request more than ``margin`` after it left us (at completion, behind a queue);
no such behaviour is documented or has been observed. ``tests/unit/graph/test_pacer_budget.py``
checks both rules against an adversarial server of each kind.

A 429 calls ``penalize(cls, retry_after)``: every request of that class waits until then.

Time is injectable (``clock`` returns seconds, ``sleep`` waits seconds), so tests can run a 10 s window
in 0.1 s by scaling both.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Literal

ThrottleClass = Literal["reports", "writes", "reads"]
Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

MARGIN_SHARE = 0.025  # rule 1's margin as a share of the window (0.25 s of Graph's 10 s)
_EPS = 1e-9  # float slack in the bucket arithmetic (waits are rounded up by it, never down)


@dataclass(frozen=True, slots=True)
class Budget:
    """At most ``limit`` requests per ``window`` seconds; ``limit=None`` means unlimited.

    ``margin``: seconds after sending by which the server is assumed to have counted a request
    (rule 1 above); None means ``MARGIN_SHARE × window``.
    """

    limit: int | None
    window: float
    margin: float | None = None

    @property
    def send_margin(self) -> float:
        return MARGIN_SHARE * self.window if self.margin is None else self.margin


class _Use:
    """One request's share of a budget: ``units`` counted by ``counted_by`` at the latest."""

    __slots__ = ("counted_by", "units")

    def __init__(self, counted_by: float, units: int) -> None:
        self.counted_by = counted_by
        self.units = units


class _Window:
    def __init__(self, budget: Budget, now: float) -> None:
        self.budget = budget
        self.uses: list[_Use] = []  # requests whose counted_by may still be inside the window
        self.in_flight = 0
        limit = budget.limit or 0
        self.rate = limit / budget.window if budget.window > 0 else math.inf
        self.level = float(limit)  # the pessimistic bucket (rule 2) at time `stamp`; starts full
        self.stamp = now
        self.blocked_until = 0.0
        self.changed = asyncio.Event()

    def bucket(self, now: float) -> float:
        limit = float(self.budget.limit or 0)
        if self.rate == math.inf:
            return limit
        return min(limit, self.level + max(0.0, now - self.stamp) * self.rate)

    def wait_time(self, now: float, cost: int) -> float | None:
        """0 → go now; >0 → sleep that long; None → wait for an in-flight request to finish."""
        if now < self.blocked_until:
            return self.blocked_until - now
        limit = self.budget.limit
        if limit is None:
            return 0.0
        cost = min(cost, limit)
        if self.in_flight + cost > limit:
            return None
        wait = 0.0
        # Rule 1: at most `limit` units counted (at the latest) within the last `window`.
        window = self.budget.window
        self.uses = [u for u in self.uses if now - u.counted_by < window]
        need = sum(u.units for u in self.uses) + cost - limit
        if need > 0:
            for u in sorted(self.uses, key=lambda u: u.counted_by):
                need -= u.units
                if need <= 0:
                    if u.counted_by == math.inf:  # not sent yet: wait for a release
                        return None
                    wait = u.counted_by + window - now
                    break
        # Rule 2: the pessimistic bucket must hold every in-flight request and this one.
        short = self.in_flight + cost - self.bucket(now)
        if short > _EPS:
            wait = max(wait, short / self.rate + _EPS)
        return 0.0 if wait <= 0.0 else max(wait, 1e-6)

    def reserve(self, cost: int) -> _Use:
        """Hold the budget for a request about to be sent (synchronously after ``wait_time`` said 0)."""
        self.in_flight += cost
        use = _Use(math.inf, min(cost, self.budget.limit or cost))  # counted when sent: not yet known
        if self.budget.limit is not None:
            self.uses.append(use)
        return use

    def sent(self, use: _Use, now: float) -> None:
        """The request really leaves at ``now`` (it may have waited for a connection slot)."""
        use.counted_by = now + self.budget.send_margin

    def release(self, use: _Use, now: float, cost: int) -> None:
        """The response came back at ``now``: the server has counted the request by now at the latest."""
        self.in_flight -= cost
        use.counted_by = min(use.counted_by, now)
        if self.budget.limit is not None:
            self.level = self.bucket(now) - min(cost, self.budget.limit)
            self.stamp = max(self.stamp, now)
        self.changed.set()


class Pacer:
    """Pacing and concurrency for one tenant. Create inside the event loop that will use it."""

    def __init__(
        self,
        budgets: dict[str, Budget],
        *,
        max_concurrency: int,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.clock = clock
        self.sleep = sleep
        now = clock()
        self._windows = {name: _Window(b, now) for name, b in budgets.items()}
        self._max_concurrency = max_concurrency
        self._semaphore: asyncio.Semaphore | None = None

    @classmethod
    def from_settings(
        cls,
        *,
        reports_requests: int,
        reports_window_seconds: float,
        writes_per_second: float,
        max_concurrency: int,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> Pacer:
        writes_limit = max(1, math.floor(writes_per_second))
        return cls(
            {
                "reports": Budget(reports_requests, reports_window_seconds),
                "writes": Budget(writes_limit, writes_limit / writes_per_second),
                "reads": Budget(None, 1.0),
            },
            max_concurrency=max_concurrency,
            clock=clock,
            sleep=sleep,
        )

    def _window(self, cls: str) -> _Window:
        try:
            return self._windows[cls]
        except KeyError:
            raise ValueError(f"unknown throttle class {cls!r}") from None

    @property
    def semaphore(self) -> asyncio.Semaphore:
        if self._semaphore is None:  # created lazily: asyncio objects belong to the running loop
            self._semaphore = asyncio.Semaphore(self._max_concurrency)
        return self._semaphore

    def penalize(self, cls: str, retry_after: float) -> None:
        """Graph said 429 with ``retry_after`` seconds: hold every request of ``cls`` until then."""
        w = self._window(cls)
        w.blocked_until = max(w.blocked_until, self.clock() + max(0.0, retry_after))

    @asynccontextmanager
    async def slot(self, cls: str, cost: int = 1) -> AsyncIterator[None]:
        """Hold one in-flight slot and ``cost`` units of the class budget for one HTTP request.

        The body of the ``async with`` must be the request itself: its start is taken as the send
        time and its end as the response time (see the module docstring).
        """
        w = self._window(cls)
        cost = max(1, cost)
        # Wait for the class budget first and reserve it synchronously (no await between check and
        # reservation), then take the in-flight slot: a request waiting for its window must not
        # hold a slot other classes could use.
        while True:
            wait = w.wait_time(self.clock(), cost)
            if wait == 0.0:
                break
            if wait is None:
                w.changed.clear()
                await w.changed.wait()
            else:
                await self.sleep(wait)
        use = w.reserve(cost)
        try:
            async with self.semaphore:
                w.sent(use, self.clock())
                yield
        finally:
            w.release(use, self.clock(), cost)
