"""The FastAPI application factory. Everything is built in the lifespan, nothing at import time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import structlog
from fastapi import FastAPI
from starlette.types import ASGIApp

from idops import __version__
from idops.api import health, problems
from idops.api.middleware import RequestContext
from idops.auth.tokens import TokenValidator
from idops.bootstrap import start
from idops.config import Config
from idops.container import Container
from idops.graph.warmup import warm_up
from idops.jobruntime import scheduler as schedule
from idops.jobruntime.runner import publish_last_successes

log = structlog.get_logger("idops.api")

ContainerFactory = Callable[[], Container]

DESCRIPTION = """
idops issues short-lived substitute-teacher accounts in Microsoft Entra ID, tracks MFA
enrollment and measures single-login coverage for the schools of a region.

Errors are RFC 9457 `application/problem+json`. Authenticate with an Entra ID bearer token
carrying one of the app roles `Principal`, `ItAdmin`, `RegionAdmin` (demo: `idops dev-token`).
"""


def create_app(
    config: Config,
    *,
    container_factory: ContainerFactory | None = None,
    validator: TokenValidator | None = None,
    start_scheduler: bool | None = None,
) -> FastAPI:
    """Build the app. ``container_factory`` lets tests supply their own wiring (test DB, emulator,
    clock); by default the container is built from ``config`` in the lifespan."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        container = container_factory() if container_factory else await start(config)
        app.state.container = container
        app.state.token_validator = validator or container.token_validator
        try:
            await publish_last_successes(container)
        except Exception as exc:  # metrics must not keep the service from starting (e.g. before migrating)
            log.warning("job_metrics_not_loaded", error_type=type(exc).__name__)
        scheduler = None
        run_scheduler = config.settings.scheduler.enabled if start_scheduler is None else start_scheduler
        if run_scheduler:
            scheduler = schedule.start_scheduler(container)
        warm = asyncio.create_task(warm_up())
        # The demo's own emulator has data at once: fill the MFA and single-login views now. (A test's
        # container, from ``container_factory``, decides its own data and runs jobs itself.)
        first_reports = (
            asyncio.create_task(_demo_first_reports(container))
            if config.settings.demo and container_factory is None
            else None
        )
        log.info("service_started", version=__version__, demo=config.settings.demo, scheduler=run_scheduler)
        try:
            yield
        finally:
            warm.cancel()
            if first_reports is not None:
                first_reports.cancel()
            # job units (scheduled, or run through the API) end within the grace or are handed back
            await schedule.shut_down(container, scheduler)
            await container.aclose()

    app = _IdopsApp(
        title="idops",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        # Off outside the demo unless ``[api] docs = true``: the schema maps every route for a stranger.
        docs_url="/docs" if config.settings.api.docs else None,
        redoc_url="/redoc" if config.settings.api.docs else None,
        openapi_url="/openapi.json" if config.settings.api.docs else None,
    )
    problems.install(app)
    problems.document(app)
    app.include_router(health.router)
    for router in _domain_routers():
        app.include_router(router)
    if config.settings.auth.mode == "demo":
        app.include_router(health.demo_router)
    app.request_context = {"metrics": _metrics_placeholder(app), "max_body": config.settings.api.max_body_bytes}
    return app


class _IdopsApp(FastAPI):
    """FastAPI with ``RequestContext`` around everything, Starlette's error middleware included (added
    with ``add_middleware`` it would sit inside it: an unexpected error's log line and answer would then
    be written outside the request's context)."""

    request_context: dict[str, Any]

    def build_middleware_stack(self) -> ASGIApp:
        return RequestContext(super().build_middleware_stack(), **self.request_context)


def _domain_routers() -> list[Any]:
    """Routers of the domain packages, in the order they appear in the OpenAPI document."""
    from idops.api.approvals import router as approvals
    from idops.api.coverage import router as coverage
    from idops.api.jobs import router as jobs
    from idops.api.mfa import router as mfa
    from idops.api.persons import router as persons
    from idops.api.sessions import router as sessions
    from idops.api.staff import router as staff
    from idops.api.substitutes import router as substitutes
    from idops.web.pages import router as pages

    return [jobs, substitutes, persons, approvals, mfa, staff, coverage, sessions, pages]


class _LazyMetrics:
    """The middleware is built before the lifespan; it reads the container's metrics when called."""

    def __init__(self, app: FastAPI) -> None:
        self._app = app

    def __getattr__(self, name: str) -> Any:
        container: Container | None = getattr(self._app.state, "container", None)
        if container is None:
            from idops.kit.metrics import Metrics

            fallback = self._app.state.__dict__.setdefault("_fallback_metrics", Metrics())
            return getattr(fallback, name)
        return getattr(container.metrics, name)


def _metrics_placeholder(app: FastAPI) -> Any:
    return _LazyMetrics(app)


async def _demo_first_reports(container: Container) -> None:
    """Demo only: fill the MFA and single-login views at start instead of waiting for the night's jobs."""
    from idops.jobruntime.runner import run_job

    for name in ("sync_mfa", "single_login_report"):
        await run_job(container, name, trigger="demo-start")
