"""Prometheus metrics, one registry per service instance (tests build many apps in one process).

Every family is fed where the thing happens — the Graph transport counts its requests, the job runtime
its runs, the expire job sets the expiry gauges — so a scrape only serialises memory: no database
query, no Graph call (``/metrics`` of the API and of ``idops scheduler``, see ``metrics_app``).
``deploy/prometheus/alerts.yml`` and ``deploy/grafana/idops.json`` use these names; a unit test
checks that every name they use is exposed.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Literal

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

#: Graph request classes (label ``class``): the identity & access reports budget (``reports``), per-user
#: authentication methods (same budget, counted apart), writes, everything else.
GraphClass = Literal["reports", "authMethods", "write", "other"]

JOB_BUCKETS = (0.1, 0.5, 1, 5, 15, 60, 300, 900, 1800, 3600, 7200, 14400)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.http_requests = Counter(
            "idops_http_requests_total", "HTTP requests served", ["method", "route", "status"], registry=r
        )
        self.http_latency = Histogram(
            "idops_http_request_seconds", "HTTP request latency", ["route"], registry=r,
            buckets=(0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        # Jobs are labelled ``job_name``: Prometheus keeps ``job`` for the scrape target (a metric's own
        # ``job`` label would be renamed ``exported_job``).
        self.job_runs = Counter(
            "idops_job_runs_total", "Job runs by outcome", ["job_name", "outcome"], registry=r
        )
        self.job_duration = Histogram(
            "idops_job_duration_seconds", "Wall time of a job run (runs that held the lease)", ["job_name"],
            registry=r, buckets=JOB_BUCKETS,
        )
        self.job_last_success = Gauge(
            "idops_job_last_success_timestamp_seconds",
            "When the job last finished succeeded (Unix time; loaded from the run records at start)",
            ["job_name"], registry=r,
        )
        self.scheduler_running = Gauge(
            "idops_scheduler_running", "1 while this process runs the job scheduler", registry=r
        )
        self.graph_requests = Counter(
            "idops_graph_requests_total", "Graph HTTP requests (each attempt) by tenant, class, method and status",
            ["tenant", "class", "method", "status"], registry=r,
        )
        self.graph_throttled = Counter(
            "idops_graph_throttled_total", "Graph 429 answers", ["tenant", "class"], registry=r
        )
        self.graph_retry_after = Counter(
            "idops_graph_retry_after_seconds_total", "Seconds Graph asked idops to wait (Retry-After of 429s)",
            ["tenant", "class"], registry=r,
        )
        self.active_substitutes = Gauge(
            "idops_active_substitutes", "Substitute periods currently active", ["municipality"], registry=r
        )
        self.persons_scrubbed = Counter(
            "idops_persons_scrubbed_total", "Substitute persons whose personal data was removed (retention or erasure)",
            registry=r,
        )
        self.expiry_lag = Gauge(
            "idops_expiry_lag_seconds", "How late the most overdue expiry is (0 = none overdue)", registry=r
        )
        self.overdue_ends = Gauge(
            "idops_overdue_ends", "Periods whose end has passed but whose access is not yet taken away", registry=r
        )
        self.mfa_unavailable = Gauge(
            "idops_mfa_tenants_unavailable", "Tenants whose MFA numbers are unavailable, by reason", ["reason"],
            registry=r,
        )
        self.mfa_methods_scanned = Counter(
            "idops_mfa_methods_scanned_total",
            "Users whose authentication methods were read one by one (tenants without the registration report)",
            ["tenant"], registry=r,
        )

    # ---- Graph (``idops.graph.transport.GraphMetrics``) ---------------------------------------------

    def graph_request(self, tenant: str, cls: str, method: str, status: int | None) -> None:
        """One HTTP attempt; ``status`` None when no answer came (timeout, reset)."""
        self.graph_requests.labels(tenant, cls, method, str(status) if status is not None else "error").inc()

    def graph_throttle(self, tenant: str, cls: str, retry_after: float | None) -> None:
        self.graph_throttled.labels(tenant, cls).inc()
        if retry_after:
            self.graph_retry_after.labels(tenant, cls).inc(retry_after)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


# ---- exposition --------------------------------------------------------------------------------------

MetricsAccess = Literal["public", "token", "off"]


def token_ok(authorization: str | None, expected: str | None) -> bool:
    """``Authorization: Bearer <expected>``, compared in constant time. No token configured: never."""
    if not expected:
        return False
    scheme, _, given = (authorization or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), expected.encode())


def metrics_token(env_name: str) -> str | None:
    """The scrape token from the environment variable ``env_name`` (never from a file in the repo)."""
    return os.environ.get(env_name) or None


Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


def metrics_app(metrics: Metrics, *, access: MetricsAccess, token: str | None) -> Callable[..., Awaitable[None]]:
    """A minimal ASGI app answering ``GET /metrics`` (and ``/healthz``, for container health checks) from
    memory. ``access``: ``public`` answers anyone, ``token`` only ``Bearer <token>``, ``off`` nobody (404).
    ``idops scheduler`` serves it on its own port; the API checks the same rule (``idops.api.health``)."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        path = scope.get("path", "")
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        if path == "/healthz":
            status, body, ctype = 200, b'{"status":"ok"}', "application/json"
        elif path != "/metrics" or access == "off":
            status, body, ctype = 404, b"not found\n", "text/plain"
        elif access == "token" and not token_ok(headers.get("authorization"), token):
            status, body, ctype = 401, b"bearer token required\n", "text/plain"
        else:
            status, body, ctype = 200, metrics.exposition(), CONTENT_TYPE_LATEST
        extra = [(b"www-authenticate", b"Bearer")] if status == 401 else []
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", ctype.encode()), (b"content-length", str(len(body)).encode()),
                                *extra]})
        await send({"type": "http.response.body", "body": body})

    return app
