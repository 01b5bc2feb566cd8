"""Client-side pacing per tenant, so syncs use Graph's budget without provoking 429s.

One ``Pacer`` per tenant holds:

- a bound on in-flight requests (``max_concurrency_per_tenant``), shared by all classes;
- per throttle class a sliding-window limiter: at most ``limit`` requests in any ``window`` seconds.
  ``reports`` (identity & access reports, sign-ins, registration details) defaults to 5 / 10 s;
  ``writes`` to ``writes_per_second``; ``reads`` is limited only by concurrency and 429 feedback.

The window is counted from when each response *came back*, not from when the request left: the server
saw the request no later than that, so a new request started ``window`` after it cannot fall into the
same server-side window, whatever the network jitter.

A 429 calls ``penalize(cls, retry_after)``: every request of that class waits until then.

Time is injectable (``clock`` returns seconds, ``sleep`` waits seconds), so tests can run a 10 s window
in 0.1 s by scaling both.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Literal

ThrottleClass = Literal["reports", "writes", "reads"]
Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Budget:
    """At most ``limit`` requests per ``window`` seconds; ``limit=None`` means unlimited."""

    limit: int | None
    window: float


class _Window:
    def __init__(self, budget: Budget) -> None:
        self.budget = budget
        self.done: deque[float] = deque()  # completion times inside the window
        self.in_flight = 0
        self.blocked_until = 0.0
        self.changed = asyncio.Event()

    def prune(self, now: float) -> None:
        while self.done and now - self.done[0] >= self.budget.window:
            self.done.popleft()

    def wait_time(self, now: float, cost: int) -> float | None:
        """0 → go now; >0 → sleep that long; None → wait for an in-flight request to finish."""
        if now < self.blocked_until:
            return self.blocked_until - now
        limit = self.budget.limit
        if limit is None:
            return 0.0
        self.prune(now)
        cost = min(cost, limit)
        if len(self.done) + self.in_flight + cost <= limit:
            return 0.0
        # Which completion must age out before `cost` more fit?
        need = len(self.done) + self.in_flight + cost - limit
        if need <= len(self.done):
            return max(self.done[need - 1] + self.budget.window - now, 1e-6)
        return None


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
        self._windows = {name: _Window(b) for name, b in budgets.items()}
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
        """Hold one in-flight slot and ``cost`` units of the class budget for one HTTP request."""
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
        w.in_flight += cost
        try:
            async with self.semaphore:
                yield
        finally:
            w.in_flight -= cost
            if w.budget.limit is not None:
                now = self.clock()
                w.done.extend([now] * min(cost, w.budget.limit))
            w.changed.set()
