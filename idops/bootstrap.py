"""The composition root: the one place that builds adapters, repositories' unit of work, caches and
limiters. The app factory, the CLI, the scheduler and tests all get their ``Container`` from here.

``bootstrap()`` wires and connects nothing; ``start()`` is what a process runs: it also starts the
built-in Graph emulator when the configuration asks for it, and migrates the demo database.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from pydantic import SecretStr

from idops.auth.demo import DEMO_ISSUER, DemoSigner
from idops.auth.tokens import JwksCache, TokenValidator, http_jwks_fetcher
from idops.config import Config, ConfigError
from idops.container import Container
from idops.graph.budget import SharedBudget
from idops.graph.port import DirectoryProvider
from idops.jobruntime.runner import make_holder_id
from idops.jobruntime.units import RunningUnits
from idops.kit.clock import Clock, ShiftedClock, SystemClock
from idops.kit.db import Database
from idops.kit.files import create_once, private_file
from idops.kit.logging import register_secret
from idops.kit.metrics import Metrics
from idops.kit.oidc import build_oidc_client
from idops.kit.ratelimit import RateLimiter, SlidingWindow
from idops.kit.response_cache import ResponseCache
from idops.kit.tls import tls_context
from idops.substitutes.seats import SeatCache
from idops.substitutes.tenants import LeaveDates, TapPolicies
from idops.throttle.service import DatabaseBudget, DatabaseRateLimiter
from idops.uow import UnitOfWork
from jobs.registry import JOBS

if TYPE_CHECKING:
    from idops.emulator.server import EmulatorServer

MIN_SESSION_SECRET = 32
SESSION_SECRET_FILE = "web-session-secret"  # noqa: S105 — a file name, not a secret


def bootstrap(
    config: Config,
    *,
    clock: Clock | None = None,
    directories: DirectoryProvider | None = None,
    graph_base_url: str | None = None,
    emulator: EmulatorServer | None = None,
) -> Container:
    """Wire idops from a validated ``Config``. Raises ``ConfigError`` for settings that would only
    fail later (a missing session secret). Nothing connects until first use."""
    s = config.settings
    data_dir = config.resolve_path(s.data_dir)
    demo_auth = s.auth.mode == "demo"
    signer = DemoSigner.load_or_create(data_dir) if demo_auth else None
    http = httpx.AsyncClient(timeout=15.0, verify=tls_context())
    metrics = Metrics()
    clock = clock or SystemClock()
    database = Database(database_url(config), echo=s.database.echo, pool_size=s.database.pool_size)
    shared = _shared_limits(database, clock)
    session_secret = _session_secret(config, data_dir)
    _register_secrets(config, session_secret)
    return Container(
        config=config,
        clock=clock,
        database=database,
        directories=directories or _graph_directories(config, graph_base_url, metrics, shared),
        metrics=metrics,
        seats=SeatCache(timedelta(seconds=s.substitutes.sku_cache_seconds)),
        leave_dates=LeaveDates(s.substitutes.set_leave_date),
        tap_policies=TapPolicies(),
        rate_limits=shared.rate_limits,
        mfa_responses=ResponseCache(),
        jobs=JOBS,
        holder=make_holder_id(),
        running_units=RunningUnits(concurrency=s.scheduler.unit_concurrency),
        http=http,
        token_validator=_token_validator(config, signer, http),
        session_secret=session_secret,
        demo_signer=signer,
        oidc=build_oidc_client(config),
        on_close=[emulator.stop] if emulator is not None else [],
    )


async def start(config: Config) -> Container:
    """Build the container a process runs on. Demo (or ``[emulator] enabled``): the built-in Graph
    emulator is started first, on a clock the demo pages can move forward, and the database migrated."""
    demo = config.settings.demo
    clock: Clock | None = ShiftedClock() if demo else None
    emulator, base_url = await _emulator(config, clock)
    container = bootstrap(config, clock=clock, graph_base_url=base_url, emulator=emulator)
    if demo:
        from idops.migrations import upgrade

        await asyncio.to_thread(upgrade, container.database.url)
    return container


@dataclass(frozen=True, slots=True)
class SharedLimits:
    """The limits every process of a deployment must share: the Graph budget (None: each process's
    pacer alone) and the API's per-caller rate limits."""

    graph_budget: SharedBudget | None
    rate_limits: RateLimiter


def _shared_limits(database: Database, clock: Clock) -> SharedLimits:
    """PostgreSQL: in the database, so API and scheduler replicas count together. SQLite: a deployment
    of one process by design (one writer), so the in-process pacer and limiter are exact."""
    if database.is_sqlite:
        return SharedLimits(graph_budget=None, rate_limits=SlidingWindow())

    def uow() -> UnitOfWork:
        return UnitOfWork(database)

    return SharedLimits(graph_budget=DatabaseBudget(uow), rate_limits=DatabaseRateLimiter(uow, clock))


async def _emulator(config: Config, clock: Clock | None) -> tuple[EmulatorServer | None, str | None]:
    """The emulator this configuration talks to: an external one's URL, or the built-in one started
    (demo, or ``[emulator] enabled``); (None, None) for real Graph."""
    base_url = config.settings.emulator.external_url or None
    if base_url is None and (config.settings.demo or config.settings.emulator.enabled):
        from idops.demo import start_emulator

        emulator = await asyncio.to_thread(start_emulator, config, clock)
        return emulator, emulator.base_url
    return None, base_url


@asynccontextmanager
async def graph_only(config: Config) -> AsyncIterator[DirectoryProvider]:
    """The Graph adapter of every tenant and nothing else (no database): for ``config check --online``."""
    emulator, base_url = await _emulator(config, None)
    directories = _graph_directories(config, base_url, Metrics())  # counted nowhere: a one-off check
    try:
        yield directories
    finally:
        await directories.aclose()
        if emulator is not None:
            emulator.stop()


def _graph_directories(
    config: Config, base_url: str | None, metrics: Metrics, shared: SharedLimits | None = None
) -> DirectoryProvider:
    """The msgraph-sdk adapter for every configured tenant (imported here: msgraph is heavy); its
    requests are counted in ``metrics``."""
    from idops.graph.sdk import GraphDirectoryProvider

    provider: DirectoryProvider = GraphDirectoryProvider.from_config(
        config.region, config.settings.graph, base_url_override=base_url, metrics=metrics,
        shared_budget=None if shared is None else shared.graph_budget,
    )
    return provider


def _token_validator(config: Config, signer: DemoSigner | None, http: httpx.AsyncClient) -> TokenValidator:
    auth = config.settings.auth
    tenants = frozenset(config.region.tenants())
    if signer is not None:

        async def local_jwks() -> dict[str, Any]:
            return signer.jwks()

        cache = JwksCache(local_jwks, ttl_seconds=auth.jwks_cache_seconds)
        return TokenValidator(auth, cache, issuer=DEMO_ISSUER, audience=auth.audience, tenant_ids=tenants)
    cache = JwksCache(http_jwks_fetcher(auth.jwks_url, http), ttl_seconds=auth.jwks_cache_seconds)
    return TokenValidator(auth, cache, issuer=auth.issuer, audience=auth.audience, tenant_ids=tenants)


def _session_secret(config: Config, data_dir: Path) -> SecretStr | None:
    """The pages' cookie-signing secret from the environment; with demo auth a random one kept under
    the data directory (0600). Too short is a start-up error; absent outside demo leaves the pages
    unable to sign anyone in (the API works without it)."""
    name = config.settings.web.session_secret_env
    value = os.environ.get(name, "")
    if not value and config.settings.auth.mode == "demo":
        value = _stored_secret(data_dir / SESSION_SECRET_FILE)
    if not value:
        return None
    if len(value) < MIN_SESSION_SECRET:
        raise ConfigError([f"environment: {name} must be at least {MIN_SESSION_SECRET} characters"])
    return SecretStr(value)


def _register_secrets(config: Config, session_secret: SecretStr | None) -> None:
    """Mask the process's long-lived secrets in every log line from now on (``idops.kit.logging``):
    the pages' session secret, the OIDC client secret, the metrics scrape token and each tenant's Graph
    client secret."""
    graph = [
        os.environ.get(conn.client_secret_env)
        for conn in config.region.tenants().values()
        if conn.credential == "client_secret" and conn.client_secret_env
    ]
    register_secret(
        session_secret,
        os.environ.get(config.settings.web.oidc_client_secret_env),
        os.environ.get(config.settings.api.metrics_token_env),
        *graph,
    )


def database_url(config: Config) -> str:
    """Resolve a relative SQLite path against the working directory; make sure the file exists, the
    owner's only (0600, in a directory created 0700: ``idops.kit.files``)."""
    url = config.settings.database.url
    prefix = "sqlite+aiosqlite:///"
    if url.startswith(prefix) and ":memory:" not in url:
        path = Path(url.removeprefix(prefix).split("?", 1)[0]).resolve()
        private_file(path)  # created 0600 before SQLite opens it: its journal and WAL files copy the mode
        return prefix + str(path) + (url[url.index("?"):] if "?" in url else "")
    return url


def _stored_secret(path: Path) -> str:
    """Create (0600, atomically) or read the demo secret, so a restart keeps people signed in."""
    return create_once(path, lambda: secrets.token_urlsafe(48).encode()).decode().strip()
