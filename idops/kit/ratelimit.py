"""Per-caller rate limits (sliding window, in process) for actions that mint accounts or credentials.

In process is enough for the threat it answers — a stolen principal token minting codes in a
loop — because each replica then allows at most ``replicas × limit``; the audit trail shows all.
"""

from __future__ import annotations

import math
import time
from collections import deque

from idops.kit.errors import Message, RateLimited

WINDOW = 3600.0


class SlidingWindow:
    def __init__(self) -> None:
        self._hits: dict[tuple[str, str], deque[float]] = {}

    def check(self, action: str, who: str, per_hour: int) -> None:
        """Raise 429 with Retry-After when ``who`` exceeded ``per_hour`` for ``action``."""
        wait = self.hit(action, who, per_hour, time.monotonic())
        if wait is not None:
            raise RateLimited(
                retry_after=max(1, math.ceil(wait)),
                detail=Message(
                    "Liian monta pyyntöä; yritä myöhemmin uudelleen.", "Too many requests; try again later."
                ),
            )

    def hit(self, action: str, who: str, per_hour: int, now: float) -> float | None:
        """Record a hit; return seconds to wait when over the limit (the hit is not counted)."""
        q = self._hits.setdefault((action, who), deque())
        while q and now - q[0] >= WINDOW:
            q.popleft()
        if len(q) >= per_hour:
            return WINDOW - (now - q[0])
        q.append(now)
        return None
