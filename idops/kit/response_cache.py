"""Rendered MFA summary responses, per container and query, kept for a few seconds.

The summary changes once a day (when ``sync_mfa`` writes the snapshot) but is asked for on every
dashboard load. Computing it costs a database session (a thread hop on aiosqlite), two queries and
the JSON rendering: several ms on one event loop, which 20 concurrent clients turn into a queue.
A hit costs a dict lookup. ``sync_mfa`` clears its container's cache after writing snapshots; a
sync in another process shows up after ``TTL_SECONDS`` at most. Concurrent misses of one key wait
for a single computation instead of all running it.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass

from fastapi import Response

TTL_SECONDS = 10.0
MAX_ENTRIES = 512


@dataclass(frozen=True, slots=True)
class Rendered:
    body: bytes
    media_type: str
    headers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, response: Response) -> Rendered:
        headers = tuple(
            (k, v) for k, v in response.headers.items() if k.lower() not in ("content-length", "content-type")
        )
        return cls(bytes(response.body), response.media_type or "application/octet-stream", headers)

    def response(self) -> Response:
        return Response(self.body, media_type=self.media_type, headers=dict(self.headers))


class ResponseCache:
    def __init__(
        self, ttl: float = TTL_SECONDS, max_entries: int = MAX_ENTRIES, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self.clock = clock
        self._entries: OrderedDict[Hashable, tuple[float, int, Rendered]] = OrderedDict()
        self._pending: dict[Hashable, asyncio.Future[Rendered]] = {}
        self._generation = 0

    def clear(self) -> None:
        """Forget everything, also what is being computed now (it started before the change)."""
        self._entries.clear()
        self._generation += 1

    async def get(self, key: Hashable, render: Callable[[], Awaitable[Rendered]]) -> Rendered:
        hit = self._entries.get(key)
        now = self.clock()
        if hit is not None and hit[0] > now and hit[1] == self._generation:
            return hit[2]
        pending = self._pending.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        generation = self._generation
        future: asyncio.Future[Rendered] = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        try:
            rendered = await render()
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters re-raise it, nobody else must
            raise
        else:
            future.set_result(rendered)
            if generation == self._generation:
                self._entries[key] = (now + self.ttl, generation, rendered)
                self._entries.move_to_end(key)
                while len(self._entries) > self.max_entries:
                    self._entries.popitem(last=False)
            return rendered
        finally:
            del self._pending[key]
