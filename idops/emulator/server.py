"""Run the emulator with uvicorn on loopback in a background thread (tests, benchmarks, demo)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from types import TracebackType
from typing import Any

import uvicorn

from idops.emulator.app import EmulatorApp, create_app
from idops.emulator.faults import Faults, RequestLog
from idops.emulator.state import EmulatorState
from idops.kit.clock import Clock


def token_for(tenant_id: str) -> str:
    """The bearer token naming ``tenant_id`` (send as ``Authorization: Bearer <token>``)."""
    return f"emu.{tenant_id}"


class EmulatorServer:
    """``EmulatorServer(state).start()`` → ``.base_url`` is ``http://127.0.0.1:PORT/v1.0``.

    ``port=0`` picks a free port. ``stop()`` is idempotent; the object is a context manager.
    ``log_level`` (standalone only) gives uvicorn its own logging at that level; without it the
    process's logging is left alone — uvicorn's config would otherwise replace it process-wide (the
    demo's own server would then log past structlog and its redaction, its errors silenced).
    """

    def __init__(
        self,
        state: EmulatorState,
        faults: Faults | None = None,
        clock: Clock | None = None,
        port: int = 0,
        *,
        host: str = "127.0.0.1",
        log_level: str | None = None,
        **app_kw: Any,
    ) -> None:
        self.state = state
        self.faults = faults or Faults()
        self.app: EmulatorApp = create_app(state, self.faults, clock, **app_kw)
        self.host = host
        self.port = port
        self._log_level = log_level
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def log(self) -> RequestLog:
        return self.app.log

    @property
    def clock(self) -> Clock:
        return self.app.clock

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1.0"

    def start(self) -> EmulatorServer:
        if self._thread is not None:
            return self
        sock = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # no 40 ms Nagle/delayed-ACK stalls
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        logging: dict[str, Any] = {} if self._log_level else {"log_config": None}
        config = uvicorn.Config(
            self.app, log_level=self._log_level, access_log=False, lifespan="off", timeout_keep_alive=30, **logging
        )
        self._server = uvicorn.Server(config)
        server = self._server

        def run() -> None:
            asyncio.run(server.serve(sockets=[sock]))

        self._thread = threading.Thread(target=run, name=f"graph-emulator-{self.port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("emulator did not start")
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()
