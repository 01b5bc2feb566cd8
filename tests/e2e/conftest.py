"""Browser tests against the real service: ``idops serve --demo`` in a subprocess (its own SQLite,
data directory and emulator port), driven by Debian's Chromium through Playwright (headless,
``--no-sandbox``; no browser downloads), with axe-core checking every page.

Without a Chromium (``tests/browser.py`` decides): outside CI the tests that need a browser are
skipped at collection (one loud line in the summary says how to run them); with ``CI=true`` they fail.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, sync_playwright

from tests.browser import decide
from tests.e2e.helpers import A11y

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT = 180.0  # a cold start on a loaded 2-core machine (demo data, emulator) can take a minute
BROWSER = decide(os.environ)
BROWSER_FIXTURES = {"page", "e2e_browser", "browser_type_launch_args"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """No browser outside CI: skip what needs one (the summary says so once, loudly)."""
    if BROWSER.notice is None:
        return
    skip = pytest.mark.skip(reason=BROWSER.notice)
    for item in items:
        if BROWSER_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def browser_type_launch_args() -> dict[str, Any]:
    """Debian's Chromium by path (``playwright install`` is never run); in CI without one, a failure.
    (Playwright's own pytest plugin is not loaded: these fixtures are the whole browser set-up.)"""
    if BROWSER.failure is not None:
        pytest.fail(BROWSER.failure, pytrace=False)
    return {
        "executable_path": BROWSER.chromium,
        "args": [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


@pytest.fixture(scope="module")
def e2e_browser(browser_type_launch_args: dict[str, Any]) -> Iterator[Browser]:
    """Playwright and the browser per test module, not per session: the sync API keeps an event loop
    running in the main thread while it is up, and async tests that xdist schedules on the same
    worker after the browser tests need that thread free again."""
    with sync_playwright() as pw:
        browser = pw.chromium.launch(**browser_type_launch_args)
        yield browser
        browser.close()


@pytest.fixture
def page(e2e_browser: Browser, base_url: str) -> Iterator[Page]:
    """A fresh browser context per test: a Finnish browser in Helsinki, as principals have."""
    context = e2e_browser.new_context(base_url=base_url, locale="fi-FI", timezone_id="Europe/Helsinki")
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Server:
    url: str
    env: dict[str, str]
    log: Path
    tokens: dict[tuple[str, ...], str] = field(default_factory=dict)

    def token(self, *args: str) -> str:
        """A bearer token from ``idops dev-token`` (same data dir, so the same signing key); one per
        argument list for the session (each costs a process start)."""
        if args in self.tokens:
            return self.tokens[args]
        out = subprocess.run(
            [str(Path(sys.executable).parent / "idops"), "dev-token", "--demo", *args],
            env=self.env,
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        )
        self.tokens[args] = out.stdout.strip().split()[-1]
        return self.tokens[args]

    def api(self, token: str) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {token}"}, timeout=30)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The service in demo mode on a free port; stopped (by its own pid) at the end."""
    root = tmp_path_factory.mktemp("e2e")
    port = _free_port()
    env = {
        **os.environ,
        "IDOPS_CONFIG_DIR": str(REPO / "config"),
        "IDOPS_DATA_DIR": str(root / "var"),
        "IDOPS_DATABASE__URL": f"sqlite+aiosqlite:///{root / 'idops.db'}",
        "IDOPS_EMULATOR__PORT": "0",
        "IDOPS_EMULATOR__USERS_PER_TENANT": "100",
        "IDOPS_SCHEDULER__ENABLED": "false",  # the tests run jobs themselves (demo clock page)
        # The built-in emulator does not throttle: pacing report reads at Graph's 5 per 10 s would make the
        # demo's first single-login report take a minute the tests wait for.
        "IDOPS_GRAPH__REPORTS_REQUESTS": "500",
        "IDOPS_LOGGING__FORMAT": "json",
    }
    env.pop("IDOPS_SESSION_SECRET", None)
    log = root / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "idops"), "serve", "--demo", "--host", "127.0.0.1", "--port", str(port)],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_TIMEOUT
    try:
        while True:
            if proc.poll() is not None:
                pytest.fail(f"idops serve exited with {proc.returncode}:\n{log.read_text()[-4000:]}")
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"idops serve did not answer /healthz in {START_TIMEOUT} s:\n{log.read_text()[-4000:]}")
            time.sleep(0.2)
        yield Server(url, env, log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def base_url(server: Server) -> str:
    return server.url


@pytest.fixture(scope="session")
def axe() -> Axe:
    return Axe()


@pytest.fixture
def a11y(axe: Axe) -> A11y:
    return A11y(axe)
