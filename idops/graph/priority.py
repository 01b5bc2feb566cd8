"""``x-ms-throttle-priority`` for the Graph calls of the current context (scheduled jobs send "low")."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

#: "low" | "normal" | "high"; the transport sends the header unless it is "normal".
graph_priority: ContextVar[str] = ContextVar("idops.graph.priority", default="normal")


@contextmanager
def low_priority() -> Iterator[None]:
    """Mark Graph calls made inside as ``x-ms-throttle-priority: low`` (scheduled jobs)."""
    token = graph_priority.set("low")
    try:
        yield
    finally:
        graph_priority.reset(token)
