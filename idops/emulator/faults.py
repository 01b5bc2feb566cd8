"""Faults switchable at run time: latency, 429/503/504, dropped connections, replication delay,
throttle budgets (token buckets) and per-item 429 inside ``$batch``.

Everything is plain data so the admin endpoint can GET/PUT it as JSON. Randomness comes from a
seeded ``random.Random`` so a failing test can be replayed with the same seed.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

FaultKind = Literal["latency", "429", "503", "504", "drop", "batch_429"]
BudgetClass = Literal["reports", "writes", "reads"]


@dataclass(slots=True)
class FaultRule:
    """One fault. Matches requests whose path (after ``/v1.0``) starts with ``path_prefix``.

    ``retry_after=None`` sends a 429 *without* the header (Graph does this for some resources).
    ``remaining`` limits how often it fires (None = forever).
    """

    kind: FaultKind
    probability: float = 1.0
    path_prefix: str = ""
    method: str | None = None
    remaining: int | None = None
    retry_after: float | None = 0
    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    tenant_id: str | None = None

    def matches(self, method: str, path: str, tenant_id: str | None) -> bool:
        if self.remaining is not None and self.remaining <= 0:
            return False
        if self.method and self.method.upper() != method.upper():
            return False
        if self.tenant_id and self.tenant_id != tenant_id:
            return False
        return path.startswith(self.path_prefix)


@dataclass(slots=True)
class Budget:
    """A token bucket: ``capacity`` requests per ``per_seconds`` (before time scaling)."""

    capacity: int
    per_seconds: float


@dataclass(slots=True)
class Decision:
    latency_s: float = 0.0
    status: int | None = None  # 429 / 503 / 504
    retry_after: float | None = None
    drop: bool = False
    throttled_by: str | None = None


def budget_class(method: str, path: str) -> BudgetClass:
    """Graph's throttle class of a request. Authentication methods (``/users/{id}/authentication/…``,
    creating a TAP among them) count in the identity-and-access-reports budget, not as writes."""
    if path.startswith(("/reports/", "/auditLogs/")) or "/authentication/" in path:
        return "reports"
    return "reads" if method.upper() == "GET" else "writes"


@dataclass
class _Bucket:
    tokens: float
    stamp: float


class Faults:
    """Thread-safe fault switchboard shared by the app and the test thread.

    ``clock`` (monotonic seconds) drives the throttle buckets; a test may swap in one it advances.
    """

    def __init__(self, seed: int = 0, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        self.rules: list[FaultRule] = []
        self.replication_delay_s: float = 0.0
        self.budgets: dict[str, Budget] = {}
        self.time_scale: float = 1.0
        self._buckets: dict[tuple[str, str], _Bucket] = {}

    # configuration ----------------------------------------------------------------------
    def add(self, rule: FaultRule) -> FaultRule:
        with self._lock:
            self.rules.append(rule)
            return rule

    def add_rule(self, kind: FaultKind, **kw: Any) -> FaultRule:
        return self.add(FaultRule(kind=kind, **kw))

    def clear(self) -> None:
        """Remove every fault, budget and replication delay."""
        with self._lock:
            self.rules.clear()
            self.budgets.clear()
            self._buckets.clear()
            self.replication_delay_s = 0.0
            self.time_scale = 1.0

    def set_budget(self, cls: BudgetClass, capacity: int, per_seconds: float) -> None:
        with self._lock:
            self.budgets[cls] = Budget(capacity, per_seconds)
            self._buckets = {k: v for k, v in self._buckets.items() if k[1] != cls}

    def realistic_budgets(self, time_scale: float = 1.0) -> None:
        """Graph's documented budgets: reports 5/10 s; writes 3000/150 s; reads ~4000 requests/10 s."""
        self.set_budget("reports", 5, 10.0)
        self.set_budget("writes", 3000, 150.0)
        self.set_budget("reads", 4000, 10.0)
        self.time_scale = time_scale

    # evaluation -------------------------------------------------------------------------
    def decide(self, method: str, path: str, tenant_id: str | None, *, in_batch: bool = False) -> Decision:
        """What to do with one request (or one ``$batch`` item when ``in_batch``)."""
        d = Decision()
        with self._lock:
            for r in self.rules:
                if (r.kind == "batch_429") != in_batch:
                    continue
                if not r.matches(method, path, tenant_id) or self._rng.random() >= r.probability:
                    continue
                if r.kind == "latency":
                    d.latency_s += (r.latency_ms + self._rng.uniform(0, r.jitter_ms)) / 1000.0
                    self._use(r)
                    continue
                if d.status is not None or d.drop:
                    continue
                self._use(r)
                if r.kind == "drop":
                    d.drop = True
                elif r.kind in ("429", "batch_429"):
                    d.status, d.retry_after, d.throttled_by = 429, r.retry_after, "fault"
                else:
                    d.status = int(r.kind)
            if d.status is None and not d.drop and tenant_id is not None:
                wait = self._take(tenant_id, budget_class(method, path))
                if wait is not None:
                    d.status, d.retry_after, d.throttled_by = 429, float(max(1, math.ceil(wait))), "budget"
        return d

    def _use(self, r: FaultRule) -> None:
        if r.remaining is not None:
            r.remaining -= 1

    def _take(self, tenant_id: str, cls: str) -> float | None:
        """Take a token; None on success, else seconds until one is available."""
        b = self.budgets.get(cls)
        if b is None:
            return None
        period = b.per_seconds * self.time_scale
        rate = b.capacity / period if period > 0 else math.inf
        now = self.clock()
        bucket = self._buckets.setdefault((tenant_id, cls), _Bucket(float(b.capacity), now))
        bucket.tokens = min(float(b.capacity), bucket.tokens + (now - bucket.stamp) * rate)
        bucket.stamp = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return None
        # usage keeps accruing while throttled, as Graph warns
        bucket.tokens -= 1.0
        return (1.0 - bucket.tokens) / rate if rate != math.inf else 0.0

    # JSON for the admin endpoint ----------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        with self._lock:
            return {
                "rules": [asdict(r) for r in self.rules],
                "replication_delay_s": self.replication_delay_s,
                "budgets": {k: asdict(v) for k, v in self.budgets.items()},
                "time_scale": self.time_scale,
            }

    def load_json(self, data: dict[str, Any]) -> None:
        """Replace the configuration (PUT semantics)."""
        rules = [FaultRule(**r) for r in data.get("rules", [])]
        budgets = {k: Budget(**v) for k, v in data.get("budgets", {}).items()}
        with self._lock:
            self.rules = rules
            self.budgets = budgets
            self._buckets.clear()
            self.replication_delay_s = float(data.get("replication_delay_s", 0.0))
            self.time_scale = float(data.get("time_scale", 1.0))


@dataclass(slots=True)
class LogEntry:
    at: float  # time.time()
    method: str
    path: str
    query: str
    status: int
    tenant_id: str | None
    throttled: bool = False
    retry_attempt: str | None = None
    priority: str | None = None
    in_batch: bool = False
    client_request_id: str | None = None


@dataclass
class RequestLog:
    """Every request the emulator answered (``$batch`` items too, flagged ``in_batch``)."""

    entries: list[LogEntry] = field(default_factory=list)
    _lock: threading.Condition = field(default_factory=threading.Condition, repr=False)

    def record(self, entry: LogEntry) -> None:
        """Called once the request's handler has finished (its effects are in the state)."""
        with self._lock:
            self.entries.append(entry)
            self._lock.notify_all()

    def wait_for(self, predicate: Callable[[LogEntry], bool], timeout: float = 5.0) -> LogEntry:
        """Block until an entry matching ``predicate`` is recorded (or was already); ``TimeoutError``
        after ``timeout`` seconds. Lets a test wait for the emulator instead of sleeping."""
        with self._lock:
            found: list[LogEntry] = []

            def seen() -> bool:
                found.extend(e for e in self.entries if predicate(e))
                return bool(found)

            if not self._lock.wait_for(seen, timeout):
                raise TimeoutError("no matching request was recorded")
            return found[0]

    def clear(self) -> None:
        with self._lock:
            self.entries.clear()

    def snapshot(self) -> list[LogEntry]:
        with self._lock:
            return list(self.entries)

    def round_trips(self) -> int:
        """HTTP requests received (batch items excluded)."""
        return sum(1 for e in self.snapshot() if not e.in_batch)

    def count(self, method: str | None = None, path_prefix: str = "", *, in_batch: bool | None = None) -> int:
        return sum(
            1
            for e in self.snapshot()
            if (method is None or e.method == method)
            and e.path.startswith(path_prefix)
            and (in_batch is None or e.in_batch == in_batch)
        )

    def to_json(self) -> list[dict[str, Any]]:
        return [asdict(e) for e in self.snapshot()]
