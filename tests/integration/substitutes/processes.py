"""Driving ``tests.integration.substitutes.worker`` from a test: launch children, kill them, wait for them."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

from tests.conftest import CONFIG_DIR, REPO


class Worker:
    """The fork server as a subprocess. ``launch`` forks children and returns their pids;
    ``wait`` returns their exit codes (``-9``: killed by SIGKILL)."""

    def __init__(self, log_path: Path) -> None:
        self._stderr: IO[str] = log_path.open("w")
        env = {**os.environ, "IDOPS_CONFIG_DIR": str(CONFIG_DIR), "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.integration.substitutes.worker"], cwd=REPO, env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr, text=True)
        self._lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.log_path = log_path
        assert self._next(timeout=60).get("ready"), "worker did not start"

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.put(line)

    def _next(self, timeout: float) -> dict[str, Any]:
        try:
            got: dict[str, Any] = json.loads(self._lines.get(timeout=timeout))
        except queue.Empty:
            raise AssertionError(f"worker silent for {timeout} s:\n{self.log_path.read_text()[-3000:]}") from None
        return got

    def launch(self, **cmd: Any) -> list[int]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        pids: list[int] = self._next(timeout=10)["pids"]
        return pids

    def wait_or_kill(self, pids: list[int], after: float, ready: Path | None = None) -> tuple[list[int], float]:
        """The exit codes, SIGKILLing the children if they have not finished ``after`` seconds after
        ``ready`` appeared (the child's sign that start-up is over and work begins); and the seconds
        the children worked (until killed or done)."""
        deadline = time.monotonic() + 30
        while ready is not None and not ready.exists():
            if not self._lines.empty():  # ended before it got to work
                return self.wait(), 0.0
            assert time.monotonic() < deadline, f"no {ready}:\n{self.log_path.read_text()[-3000:]}"
            time.sleep(0.002)
        began = time.monotonic()
        try:
            return self.wait(timeout=after), time.monotonic() - began
        except AssertionError:
            for pid in pids:
                self.kill(pid)
        return self.wait(), time.monotonic() - began

    def wait(self, timeout: float = 60) -> list[int]:
        exits: list[int] = self._next(timeout=timeout)["exits"]
        return exits

    @staticmethod
    def kill(pid: int) -> None:
        with contextlib.suppress(ProcessLookupError):  # it had finished already
            os.kill(pid, signal.SIGKILL)

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout:  # the reader thread has seen its end
            self.proc.stdout.close()
        self._stderr.close()


def child_config(database_url: str, data_dir: Path, **graph: Any) -> dict[str, Any]:
    """``load_config`` overrides for the children: the test's database, quiet logs, short leases."""
    return {
        "demo": True,  # the shipped config is the demo's
        "data_dir": str(data_dir),
        "database": {"url": database_url},
        "scheduler": {"enabled": False, "lease_seconds": 120},
        "logging": {"format": "json", "level": "WARNING"},
        "graph": {"max_backoff_seconds": 0.2, "replication_wait_seconds": 5.0, "max_retries": 6, **graph},
    }
