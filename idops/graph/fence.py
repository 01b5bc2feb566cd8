"""A fence around Graph work that may have to stop at once: a job unit whose lease could be lost.

The job runtime runs each unit inside ``fenced(fence)`` and moves ``fence.deadline`` forward each time
it renews the unit's lease; when a renewal fails it ``close``s the fence (and cancels the unit). Every
Graph request of the adapter and every operation of the in-memory fake calls ``guard`` first, which
raises ``WorkFenced`` once the fence is closed or its deadline — set *before* the lease could expire
and be taken by another process — has passed. Cancellation stops the unit; the fence makes sure no
request leaves between the moment the lease is in doubt and the moment the cancellation lands.

The deadline is on ``time.monotonic``: it measures this process's waiting, whatever the wall clock does.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from idops.kit.db import assert_no_transaction


class WorkFenced(RuntimeError):
    """The work this Graph call belongs to may no longer run (its lease is lost or in doubt)."""


@dataclass(slots=True)
class Fence:
    deadline: float = float("inf")  # time.monotonic() after which no request may leave
    closed: str | None = None  # why the work was stopped

    def close(self, reason: str) -> None:
        self.closed = self.closed or reason

    def check(self, what: str) -> None:
        if self.closed is not None:
            raise WorkFenced(f"{what} refused: {self.closed}")
        if time.monotonic() >= self.deadline:
            raise WorkFenced(f"{what} refused: the lease was not renewed in time")


_FENCE: ContextVar[Fence | None] = ContextVar("idops_graph_fence", default=None)


@contextmanager
def fenced(fence: Fence) -> Iterator[Fence]:
    """Graph calls made inside (and in tasks started inside) are subject to ``fence``."""
    token = _FENCE.set(fence)
    try:
        yield fence
    finally:
        _FENCE.reset(token)


def guard(what: str) -> None:
    """Before any Graph operation: no open database transaction, and the work's fence still open."""
    assert_no_transaction(what)
    fence = _FENCE.get()
    if fence is not None:
        fence.check(what)
