"""The container's health check picks its probe from the container's command: the API's ``/healthz``
on its port, the scheduler's metrics port, nothing for a one-off command."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from idops.healthcheck import main, probe_url


def test_the_api_is_probed_on_its_port() -> None:
    assert probe_url(["idops", "serve", "--host", "0.0.0.0", "--port", "8000"], {}) == "http://127.0.0.1:8000/healthz"
    assert probe_url(["/opt/idops/bin/idops", "serve", "--port=9000"], {}) == "http://127.0.0.1:9000/healthz"
    assert probe_url(["idops", "serve"], {}) == "http://127.0.0.1:8000/healthz"


def test_the_scheduler_is_probed_on_its_metrics_port(tmp_path: Path) -> None:
    behind_init = ["/sbin/docker-init", "--", "idops", "scheduler"]
    assert probe_url(behind_init, {"IDOPS_SCHEDULER__METRICS_PORT": "9500"}) == "http://127.0.0.1:9500/metrics"
    (tmp_path / "idops.toml").write_text("[scheduler]\nmetrics_port = 9600\n")
    assert probe_url(behind_init, {"IDOPS_CONFIG_DIR": str(tmp_path)}) == "http://127.0.0.1:9600/metrics"
    assert probe_url(behind_init, {"IDOPS_CONFIG_DIR": str(tmp_path / "none")}) == "http://127.0.0.1:9464/metrics"


def test_a_one_off_command_has_nothing_to_probe() -> None:
    assert probe_url(["idops", "jobs", "run", "expire"], {}) is None
    assert probe_url(["idops", "db", "upgrade"], {}) is None


class _Ok(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/healthz" else 404)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def api_port() -> Iterator[int]:
    server = HTTPServer(("127.0.0.1", 0), _Ok)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()


def _cmdline(tmp_path: Path, *argv: str) -> Path:
    path = tmp_path / "cmdline"
    path.write_bytes(b"\0".join(a.encode() for a in argv) + b"\0")
    return path


def test_healthy_when_the_probe_answers_200_unhealthy_when_nothing_listens(tmp_path: Path, api_port: int,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    assert main(_cmdline(tmp_path, "idops", "serve", "--port", str(api_port))) == 0
    monkeypatch.setenv("IDOPS_SCHEDULER__METRICS_PORT", str(api_port))  # answers 404 on /metrics
    assert main(_cmdline(tmp_path, "idops", "scheduler")) == 1
    monkeypatch.setenv("IDOPS_SCHEDULER__METRICS_PORT", "1")  # nothing listens
    assert main(_cmdline(tmp_path, "idops", "scheduler")) == 1
    assert main(_cmdline(tmp_path, "idops", "jobs", "run", "expire")) == 0
