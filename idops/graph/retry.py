"""idops' own retry policy for Graph calls (``graph_priority``/``low_priority`` re-exported).

The SDK's RetryHandler is switched off for the whole client (``max_retries=0``) so the two never
multiply; this module decides instead:

- 429: wait ``Retry-After`` (seconds or HTTP-date) plus a random share of it, and tell the pacer, so
  every request of the same throttle class waits too — in every process when the budget is shared —
  and the class resumes one request at a time. Without the header: jittered exponential back-off.
- 503/504, timeouts, connection resets: bounded jittered exponential back-off (``Retry-After`` wins
  when the server sends one).
- A wait longer than ``max_wait_seconds`` is not slept through: the error surfaces (``GraphThrottled``
  with ``retry_after``) so a job can reschedule instead of holding a worker for minutes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from idops.graph.priority import graph_priority, low_priority

RETRYABLE_STATUSES = frozenset({429, 503, 504})
#: After a 429, the retry waits ``Retry-After`` plus a random share of it up to this.
RETRY_AFTER_JITTER = 0.2

__all__ = ["RETRYABLE_STATUSES", "RetryPolicy", "graph_priority", "low_priority", "parse_retry_after"]


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP-date); None if absent/bad."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)


@dataclass(slots=True)
class RetryPolicy:
    """Bounded, jittered exponential back-off. ``attempt`` counts retries from 0."""

    max_retries: int = 6
    max_backoff_seconds: float = 60.0
    base_seconds: float = 0.5
    # A server-requested wait above this surfaces as an error rather than being slept through.
    max_wait_seconds: float = 300.0
    rng: random.Random = field(default_factory=random.Random)

    def backoff(self, attempt: int) -> float:
        """``base * 2**attempt`` capped at ``max_backoff_seconds``, with "equal jitter" (50–100 %)."""
        ceiling = min(self.max_backoff_seconds, self.base_seconds * (2 ** min(attempt, 30)))
        return ceiling / 2 + self.rng.uniform(0, ceiling / 2)

    def delay(self, attempt: int, retry_after: float | None, *, jitter: bool = False) -> float:
        """The wait before retry ``attempt``: the server's ``Retry-After`` when given, else back-off.

        ``jitter`` (after a 429): ``Retry-After`` plus up to ``RETRY_AFTER_JITTER`` of it (at least
        ``base_seconds / 2``), so processes and tasks throttled together do not retry in lockstep.
        """
        if retry_after is None:
            return self.backoff(attempt)
        if not jitter:
            return retry_after
        return retry_after + self.rng.uniform(0, max(retry_after * RETRY_AFTER_JITTER, self.base_seconds / 2))

    def may_retry(self, attempt: int, delay: float) -> bool:
        return attempt < self.max_retries and delay <= self.max_wait_seconds
