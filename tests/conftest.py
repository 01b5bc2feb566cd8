"""Shared fixtures: a real database (SQLite by default, PostgreSQL when
``IDOPS_TEST_DATABASE_URL`` is set), the repository's demo configuration, demo tokens,
and the app served in-process with its lifespan.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import structlog
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy import inspect, text

import idops.models  # noqa: F401
from idops.auth.demo import DemoSigner, demo_claims
from idops.config import Config, load_config
from idops.kit.db import Base, Database
from idops.migrations import upgrade
from idops.uow import UnitOfWork

pytest_plugins = ("pytester",)  # tests/unit/test_isolation.py runs a small suite under the unit guard

REPO = Path(__file__).resolve().parent.parent


def pytest_configure(config: pytest.Config) -> None:
    """structlog's default console renderer prints an exception with every frame's locals through rich:
    seconds per logged traceback when a frame holds a container (a failing job unit blocked its event
    loop ~10 s under load). Tests that do not configure logging themselves get plain tracebacks, as
    ``idops.kit.logging`` gives the service."""
    structlog.configure(processors=[
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.StackInfoRenderer(),
        structlog.dev.set_exc_info,
        structlog.processors.TimeStamper(fmt="%Y-%m-%d %H:%M:%S", utc=False),
        structlog.dev.ConsoleRenderer(exception_formatter=structlog.dev.plain_traceback),
    ])


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """One loud line when the browser tests were skipped for want of a browser (tests/browser.py)."""
    from tests.browser import decide

    notice = decide(os.environ).notice
    if notice is not None and any("e2e" in r.nodeid for r in terminalreporter.stats.get("skipped", [])):
        terminalreporter.write_line(notice, yellow=True, bold=True)
CONFIG_DIR = REPO / "config"
PG_URL = os.environ.get("IDOPS_TEST_DATABASE_URL", "")


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def sync_url(url: str) -> str:
    return url.replace("+aiosqlite", "").replace("+asyncpg", "+psycopg")


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One migrated database per test worker (migrations run for real, once)."""
    if PG_URL:
        name = f"idops_test_{_worker()}_{uuid.uuid4().hex[:6]}"
        admin = create_sync_engine(sync_url(PG_URL), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        base, _, _ = PG_URL.rpartition("/")
        url = f"{base}/{name}"
    else:
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'idops.db'}"
    upgrade(url)
    return url


@pytest.fixture
def clean_db(database_url: str) -> str:
    """Empty every table before the test (cheaper than re-creating the schema)."""
    engine = create_sync_engine(sync_url(database_url))
    with engine.begin() as conn:
        # Tables the migrations made (a model without a migration is caught by test_migrations).
        existing = set(inspect(conn).get_table_names())
        tables = [t for t in Base.metadata.sorted_tables if t.name in existing]
        if engine.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(tables):
                conn.execute(table.delete())
    engine.dispose()
    return database_url


@pytest.fixture
async def db(clean_db: str) -> AsyncIterator[Database]:
    """A ``Database`` on the clean test database, for tests that call services directly."""
    database = Database(clean_db)
    yield database
    await database.dispose()


@pytest.fixture
def uow(db: Database) -> UnitOfWork:
    """A unit of work on the clean test database (services take one; ``async with uow:`` in a test reads)."""
    return UnitOfWork(db)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    d = tmp_path / "var"
    d.mkdir()
    return d


@pytest.fixture
def make_config(clean_db: str, data_dir: Path) -> Callable[..., Config]:
    def make(**overrides: Any) -> Config:
        base: dict[str, Any] = {
            "demo": True,  # the shipped config is the demo's: demo sign-in exists only with --demo
            "data_dir": data_dir,
            "database": {"url": clean_db},
            "scheduler": {"enabled": False},
            "logging": {"format": "json", "level": "INFO"},
            # The demo asks IT admins over a limit; tests start from refusals, approval tests opt in.
            "policy": {"on_limit": "refuse"},
        }
        for k, v in overrides.items():
            if isinstance(v, dict) and isinstance(base.get(k), dict):
                base[k] = {**base[k], **v}
            else:
                base[k] = v
        return load_config(CONFIG_DIR, **base)

    return make


@pytest.fixture
def config(make_config: Callable[..., Config]) -> Config:
    return make_config()


@pytest.fixture
def signer(data_dir: Path) -> DemoSigner:
    return DemoSigner.load_or_create(data_dir)


TokenFactory = Callable[..., str]


@pytest.fixture
def make_token(config: Config, signer: DemoSigner) -> TokenFactory:
    """``make_token("Principal", school="tampere/hervanta")`` → a signed demo token; keyword
    ``claims={...}`` overrides claims (for negative tests)."""

    def make(role: str, *, school: str | None = None, municipality: str | None = None,
             claims: dict[str, Any] | None = None, drop: tuple[str, ...] = ()) -> str:
        c = demo_claims(config, role=role, now=datetime.now(UTC), school=school, municipality=municipality)
        c.update(claims or {})
        for k in drop:
            c.pop(k, None)
        return signer.sign(c)

    return make


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def demo_sign_in(client: httpx.AsyncClient, who: str) -> None:
    """A page session through the demo sign-in form (``who``: ``region``, ``itadmin:tampere`` …)."""
    page = await client.get("/sign-in")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token
    done = await client.post("/sign-in/demo", data={"csrf": token.group(1), "who": who})
    assert done.status_code == 303


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class NoDirectories:
    """For tests that never reach Graph: any use is a test bug, so it fails loudly."""

    def for_tenant(self, tenant_id: str) -> Any:
        raise AssertionError("this test must not call Graph")

    async def aclose(self) -> None:
        return None


@pytest.fixture
async def api(config: Config) -> AsyncIterator[httpx.AsyncClient]:
    """The real app with its lifespan, in-process, without Graph."""
    from idops.app import create_app
    from idops.bootstrap import bootstrap

    app = create_app(config, container_factory=lambda: bootstrap(config, directories=NoDirectories()))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://idops.test") as client:
            client.app = app  # type: ignore[attr-defined]
            yield client


@pytest.fixture(autouse=True)
def _no_ambient_azure_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AZURE_CLIENT_SECRET", raising=False)
