"""The shipped alert rules and Grafana dashboard only use metrics ``/metrics`` exposes, with labels those
metrics have (a promtool-free check): a renamed metric or label would otherwise silence an alert."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.metrics import MetricWrapperBase

from idops.kit.metrics import Metrics

REPO = Path(__file__).resolve().parents[2]
NAME = re.compile(r"\b(idops_[a-z0-9_]+)")
BY = re.compile(r"\bby\s*\(([^)]*)\)")
SUFFIXES = ("_bucket", "_count", "_sum")
# histogram buckets and the scrape target; not ``job``: grouping a job metric by it groups by scrape target
BUILT_IN_LABELS = {"le", "instance"}


def exposed() -> dict[str, set[str]]:
    """Family name → label names, from what a fresh process's ``/metrics`` lists (every family is listed
    with its ``# TYPE`` line even before its first sample)."""
    m = Metrics()
    text = m.exposition().decode()
    types = dict(re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M))
    labels: dict[str, set[str]] = {}
    for value in vars(m).values():
        if isinstance(value, MetricWrapperBase):
            # private attributes: the family's name (counters without ``_total``) and its label names,
            # which the exposition shows only once a sample exists
            name = value._name
            full = f"{name}_total" if value._type == "counter" else name
            labels[full] = set(value._labelnames)
    assert set(labels) <= set(types) | {n.removesuffix("_total") for n in types}, "every family is exposed"
    return labels


def family(name: str, families: dict[str, set[str]]) -> str | None:
    if name in families:
        return name
    for suffix in SUFFIXES:
        if name.endswith(suffix) and name.removesuffix(suffix) in families:
            return name.removesuffix(suffix)
    return None


def check_expr(expr: str, families: dict[str, set[str]], where: str) -> set[str]:
    names = set(NAME.findall(expr))
    assert names, f"{where}: uses no idops metric: {expr}"
    used: set[str] = set()
    for n in names:
        f = family(n, families)
        assert f is not None, f"{where}: {n} is not exposed by /metrics"
        used.add(f)
    known = set().union(*(families[f] for f in used)) | BUILT_IN_LABELS
    for group in BY.findall(expr):
        for label in (x.strip() for x in group.split(",") if x.strip()):
            assert label in known, f"{where}: label {label!r} is not a label of {sorted(used)}"
    return used


def rules() -> list[dict[str, Any]]:
    doc = yaml.safe_load((REPO / "deploy/prometheus/alerts.yml").read_text())
    return [r for g in doc["groups"] for r in g["rules"]]


def test_every_alert_uses_exposed_metrics_and_their_labels() -> None:
    families = exposed()
    used: dict[str, set[str]] = {}
    for r in rules():
        assert {"alert", "expr", "labels", "annotations"} <= set(r), r
        assert r["labels"]["severity"] in ("warning", "critical") and r["annotations"]["summary"]
        used[r["alert"]] = check_expr(str(r["expr"]), families, r["alert"])
        for text in r["annotations"].values():
            for n in NAME.findall(str(text)):
                assert family(n, families), f"{r['alert']}: annotation uses {n}, not exposed"
    # the four the operator needs: expiry lag, a job not succeeding for 26 h, 429s, the scheduler down
    assert any("idops_expiry_lag_seconds" in u for u in used.values())
    job = next(r for r in rules() if "idops_job_last_success_timestamp_seconds" in r["expr"])
    assert "26 * 3600" in job["expr"]
    assert any("idops_graph_throttled_total" in u for u in used.values())
    assert any("idops_scheduler_running" in u for u in used.values())


def test_the_dashboard_uses_exposed_metrics_and_their_labels() -> None:
    families = exposed()
    dash = json.loads((REPO / "deploy/grafana/idops.json").read_text())
    exprs = [(p["title"], t["expr"]) for p in dash["panels"] for t in p["targets"]]
    assert len(exprs) >= 10
    covered: set[str] = set()
    for title, expr in exprs:
        covered |= check_expr(expr, families, title)
    assert covered == set(families), f"families without a panel: {sorted(set(families) - covered)}"


def test_the_check_catches_a_label_the_metric_does_not_have() -> None:
    families = exposed()
    for label in ("job", "school"):  # ``job`` is the scrape target's: idops' jobs are ``job_name``
        with pytest.raises(AssertionError, match=f"label '{label}'"):
            check_expr(f"max by ({label}) (idops_job_last_success_timestamp_seconds) > 1", families, "t")
    with pytest.raises(AssertionError, match="not exposed"):
        check_expr("idops_no_such_metric > 0", families, "t")
