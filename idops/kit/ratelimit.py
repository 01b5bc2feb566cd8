"""Per-caller rate limits (a sliding window of one hour) for actions that mint accounts or credentials.

``RateLimiter`` is what routers and pages call. Two implementations, chosen by ``idops.bootstrap``:

- ``SlidingWindow`` (here): in process, for SQLite deployments (one process by design). Its memory is
  bounded: hits older than the window are dropped on every check, and beyond ``max_callers`` keys the
  least recently used caller is forgotten (who then gets a fresh window — only a flood of distinct
  callers can cause that, and each of them is still limited).
- ``idops.throttle.service.DatabaseRateLimiter``: one row per (action, caller) in PostgreSQL, so N API
  replicas together allow ``limit`` and not ``N × limit``.

Both apply ``admit`` to the caller's hits, so they answer alike.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from typing import Protocol

from idops.kit.errors import Message, RateLimited

WINDOW = 3600.0
MAX_CALLERS = 10_000


class RateLimiter(Protocol):
    async def check(self, action: str, who: str, per_hour: int) -> None:
        """Count a hit of ``who`` on ``action``; raise ``RateLimited`` (429 with Retry-After) when
        ``who`` already had ``per_hour`` hits within the last hour (that hit is not counted)."""
        ...


def admit(hits: list[float], now: float, limit: int, window: float = WINDOW) -> float | None:
    """Drop hits that left the window, then record ``now`` and return None — or, when ``limit`` hits
    remain, return the seconds until the oldest leaves (``now`` is not recorded). ``hits`` is sorted."""
    fresh = [t for t in hits if now - t < window]
    hits[:] = fresh
    if len(fresh) >= limit:
        return window - (now - fresh[len(fresh) - limit])
    hits.append(now)
    return None


def rate_limited(wait: float) -> RateLimited:
    return RateLimited(
        retry_after=max(1, math.ceil(wait)),
        detail=Message("Liian monta pyyntöä; yritä myöhemmin uudelleen.", "Too many requests; try again later."),
    )


class SlidingWindow:
    """In-process ``RateLimiter`` with bounded memory (see the module docstring)."""

    def __init__(self, *, max_callers: int = MAX_CALLERS) -> None:
        self._hits: OrderedDict[tuple[str, str], list[float]] = OrderedDict()
        self.max_callers = max_callers

    async def check(self, action: str, who: str, per_hour: int) -> None:
        wait = self.hit(action, who, per_hour, time.monotonic())
        if wait is not None:
            raise rate_limited(wait)

    def hit(self, action: str, who: str, per_hour: int, now: float) -> float | None:
        """Record a hit; return seconds to wait when over the limit (the hit is not counted)."""
        key = (action, who)
        hits = self._hits.pop(key, [])
        wait = admit(hits, now, per_hour)
        if hits:
            self._hits[key] = hits  # most recently used last
        while len(self._hits) > self.max_callers:
            self._hits.popitem(last=False)
        return wait

    def __len__(self) -> int:
        return len(self._hits)
