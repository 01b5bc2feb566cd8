"""Prometheus metrics, one registry per service instance (tests build many apps in one process)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


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
        self.job_runs = Counter("idops_job_runs_total", "Job runs by outcome", ["job", "outcome"], registry=r)
        self.graph_calls = Counter("idops_graph_calls_total", "Graph calls", ["tenant", "kind"], registry=r)
        self.graph_errors = Counter("idops_graph_errors_total", "Graph errors", ["tenant", "error"], registry=r)
        self.graph_throttles = Counter("idops_graph_throttled_total", "Graph 429s", ["tenant"], registry=r)
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
