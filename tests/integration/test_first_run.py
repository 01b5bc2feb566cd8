"""A first run just works: ``idops serve --demo`` from a directory with no configuration uses the demo
configuration inside the package, and its emulator takes a free port, so two demos run side by side."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

START_TIMEOUT = 180.0  # two cold starts at once on a loaded 2-core machine


def _free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def test_two_demos_run_side_by_side_each_with_its_own_data(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IDOPS_")}
    env |= {"IDOPS_EMULATOR__USERS_PER_TENANT": "50", "IDOPS_SCHEDULER__ENABLED": "false",
            "IDOPS_LOGGING__FORMAT": "json"}
    idops = str(Path(sys.executable).parent / "idops")
    procs: list[tuple[str, Path, subprocess.Popen[bytes]]] = []
    try:
        for port in _free_ports(2):
            home = tmp_path / f"demo-{port}"  # no ./config here: the packaged demo configuration is used
            home.mkdir()
            with (home / "server.log").open("wb") as log:
                proc = subprocess.Popen([idops, "serve", "--demo", "--port", str(port)], cwd=home, env=env,
                                        stdout=log, stderr=subprocess.STDOUT)
            procs.append((f"http://127.0.0.1:{port}", home, proc))
        deadline = time.monotonic() + START_TIMEOUT
        pending = {url for url, _, _ in procs}
        while pending:
            for url, home, proc in procs:
                tail = (home / "server.log").read_text()[-3000:] if proc.poll() is not None else ""
                assert proc.poll() is None, f"{url} exited {proc.returncode}:\n{tail}"
                if url in pending:
                    try:
                        if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                            pending.discard(url)
                    except httpx.HTTPError:
                        pass
            assert time.monotonic() < deadline, f"not ready in {START_TIMEOUT} s: {pending}"
            time.sleep(0.3)
        for url, home, _ in procs:
            assert (home / "var" / "idops.db").exists()  # shared nothing: each its own database
            assert httpx.get(f"{url}/healthz", timeout=5).json() == {"status": "ok"}
    finally:
        for _, _, proc in procs:
            proc.terminate()
        for _, _, proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
