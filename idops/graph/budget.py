"""A Graph budget shared by every process of one deployment: the port and its arithmetic.

Graph's budgets are per app per tenant (graph-facts §10): two idops processes talking to one tenant
share one budget, and each process's own ``Pacer`` cannot see the other's requests. ``SharedBudget``
is the port a process asks before every request of a *limited* class (reports, writes; plain reads
are limited only by 429 feedback and never ask); ``idops.throttle`` implements it in the deployment's
PostgreSQL database, and ``idops.bootstrap`` wires it. SQLite deployments are one process by design
and keep the in-process ``Pacer`` alone.

The state of one (tenant, class) is a ``BucketState``. ``BucketState.take`` grants a request only when
BOTH rules allow it (the same two server models ``idops.graph.pacer`` guards against, on send times,
because another process's responses are not seen here):

1. **A token bucket with a reserve**: capacity ``limit``, refilled at ``limit / window``, and a request
   goes only if ``cost + reserve`` tokens are there, where ``reserve = rate × margin`` (the margin is
   the pacer's: 2.5 % of the window). A server that counts each request on arrival, up to ``margin``
   after we sent it, then never sees more than its own bucket allows, however the arrivals bunch.
   In steady state the reserve is a one-off phase shift, not a cost per request.
2. **A sliding window** on ``send + margin`` (the latest moment a server counted the request): at most
   ``limit`` in any ``window``, for a server that keeps "at most 5 in any 10 s".

After a 429 (``penalize``) every process holds the class until ``Retry-After`` has passed, and the
bucket is left with one token at that moment: requests resume one at a time, at the refill rate,
rather than as a burst into a budget the server still counts as spent (usage keeps accruing while
throttled, graph-facts §10).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

MARGIN_SHARE = 0.025  # the send margin as a share of the window (0.25 s of Graph's 10 s)
_EPS = 1e-9


@dataclass(frozen=True, slots=True)
class Budget:
    """At most ``limit`` requests per ``window`` seconds; ``limit=None`` means unlimited.

    ``margin``: seconds after sending by which the server is assumed to have counted a request
    (rule 1 of ``idops.graph.pacer``); None means ``MARGIN_SHARE × window``.
    """

    limit: int | None
    window: float
    margin: float | None = None

    @property
    def send_margin(self) -> float:
        return MARGIN_SHARE * self.window if self.margin is None else self.margin


class SharedBudget(Protocol):
    """One deployment's Graph budget per (tenant, throttle class), shared by all its processes."""

    async def take(self, tenant_id: str, cls: str, cost: int, budget: Budget) -> float:
        """Take ``cost`` units for one request about to be sent. 0.0: taken, send now; > 0: the seconds
        to wait before asking again (nothing was taken)."""
        ...

    async def penalize(self, tenant_id: str, cls: str, retry_after: float, budget: Budget) -> None:
        """Graph answered 429: hold the class for every process, then resume one request at a time."""
        ...


@dataclass(slots=True)
class BucketState:
    """One (tenant, class) budget as stored: times are seconds on the store's clock."""

    level: float  # tokens at ``stamp``
    stamp: float
    blocked_until: float = 0.0
    recent: list[float] = field(default_factory=list)  # counted-by times of the latest uses, oldest first

    @classmethod
    def full(cls, budget: Budget, now: float) -> BucketState:
        return cls(level=float(budget.limit or 0), stamp=now)

    def _level(self, budget: Budget, now: float) -> float:
        limit = float(budget.limit or 0)
        rate = limit / budget.window
        return min(limit, self.level + max(0.0, now - self.stamp) * rate)

    def take(self, budget: Budget, cost: int, now: float) -> float:
        """Grant ``cost`` units at ``now`` (0.0, the state is updated) or say how long to wait (> 0,
        the state is unchanged). See the module docstring for the two rules."""
        if now < self.blocked_until:
            return self.blocked_until - now
        limit = budget.limit
        if limit is None:
            return 0.0
        cost = min(max(1, cost), limit)
        rate = limit / budget.window
        margin = budget.send_margin
        reserve = min(rate * margin, float(limit - cost))  # never more than a full bucket can spare
        level = self._level(budget, now)
        wait = 0.0
        short = cost + reserve - level
        if short > _EPS:
            wait = short / rate + _EPS
        recent = [t for t in self.recent if now - t < budget.window]
        excess = len(recent) + cost - limit
        if excess > 0:
            wait = max(wait, recent[excess - 1] + budget.window - now)
        if wait > 0.0:
            return max(wait, 1e-6)
        self.level = level - cost
        self.stamp = now
        self.recent = (recent + [now + margin] * cost)[-limit:]
        return 0.0

    def penalize(self, budget: Budget, retry_after: float, now: float) -> None:
        """Hold the class until ``now + retry_after``; then one token, refilled from there."""
        until = now + max(0.0, retry_after)
        self.blocked_until = max(self.blocked_until, until)
        if budget.limit is not None:
            self.level = min(self._level(budget, now), 1.0)
            self.stamp = max(self.stamp, self.blocked_until)
