"""``idops healthcheck``: the container's health check, one image for every role.

The role is the command the container runs — PID 1's command line (``idops serve …``, ``idops
scheduler``; also behind an init such as ``docker run --init``: ``docker-init -- idops serve …``):

- ``serve``: ``GET /healthz`` on its ``--port`` (default 8000);
- ``scheduler``: ``GET /healthz`` on ``[scheduler] metrics_port`` (``IDOPS_SCHEDULER__METRICS_PORT``,
  else ``idops.toml``, else the default) — the scheduler process serves its metrics there, and
  ``/healthz`` beside them (``/metrics`` itself may need the scrape token, which the probe has not);
- anything else (``jobs run``, ``db upgrade``: one-off commands): healthy while it runs.

Exit 0 healthy, 1 unhealthy. Light on purpose: it runs every 30 s and imports neither the app nor Graph.
"""

from __future__ import annotations

import os
import tomllib
import urllib.request
from collections.abc import Sequence
from pathlib import Path

DEFAULT_API_PORT = 8000
PROC_CMDLINE = Path("/proc/1/cmdline")


def _metrics_port(env: dict[str, str]) -> int:
    if value := env.get("IDOPS_SCHEDULER__METRICS_PORT"):
        return int(value)
    config_dir = Path(env.get("IDOPS_CONFIG_DIR") or "config")
    toml = config_dir / "idops.toml"
    if toml.exists():
        with toml.open("rb") as f:
            port = tomllib.load(f).get("scheduler", {}).get("metrics_port")
        if port is not None:
            return int(port)
    from idops.config.settings import SchedulerSettings

    default: int = SchedulerSettings.model_fields["metrics_port"].get_default()
    return default


def probe_url(argv: Sequence[str], env: dict[str, str]) -> str | None:
    """The URL that proves the process named by ``argv`` healthy; None for a one-off command."""
    args = list(argv)
    role = next((a for a in args if a in ("serve", "scheduler", "jobs", "db", "emulator", "config")), None)
    if role == "serve":
        port = DEFAULT_API_PORT
        for i, a in enumerate(args):
            if a == "--port" and i + 1 < len(args):
                port = int(args[i + 1])
            elif a.startswith("--port="):
                port = int(a.split("=", 1)[1])
        return f"http://127.0.0.1:{port}/healthz"
    if role == "scheduler":
        return f"http://127.0.0.1:{_metrics_port(env)}/healthz"
    return None


def probe(url: str, timeout: float = 4.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 — a loopback http URL we built
            return bool(response.status == 200)
    except OSError:
        return False


def main(cmdline: Path = PROC_CMDLINE) -> int:
    argv = [a for a in cmdline.read_bytes().decode(errors="replace").split("\0") if a]
    url = probe_url(argv, dict(os.environ))
    return 0 if url is None or probe(url) else 1
