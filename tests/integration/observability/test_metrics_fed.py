"""Every metric family ``/metrics`` declares is fed: after a request, the jobs (against the emulator over
HTTP, through the real adapter) and the scheduler starting, each family has a non-zero sample — so a
family declared without a producer fails here. And ``/metrics`` is protected ([api] metrics) and served
from memory: a scrape runs no SQL."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import event

from idops.app import create_app
from idops.bootstrap import bootstrap
from idops.config import Config, metrics_access
from idops.container import Container
from idops.emulator.generator import generate_region
from idops.emulator.server import EmulatorServer
from idops.jobruntime import scheduler
from idops.jobruntime.runner import run_job
from idops.kit.clock import FrozenClock
from idops.kit.db import new_id
from idops.kit.metrics import Metrics, metrics_app
from idops.substitutes.models import Status
from tests.integration.mfa.conftest import NOW, region_dicts
from tests.integration.observability.conftest import insert_period

SCHOOL = "tampere/hervanta"
TOKEN = "scrape-token-0123456789"


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(NOW)


@pytest.fixture
def emulator(clock: FrozenClock) -> Iterator[EmulatorServer]:
    region, apps = region_dicts()
    # two tenants without P1: Orivesi (whose methods are read one by one) and Ylöjärvi (see below)
    no_p1 = [m["tenant_id"] for m in region["municipalities"] if m["key"] in ("orivesi", "ylojarvi")]
    generated = generate_region(region, apps, seed=5, users_per_tenant=20, now=NOW, days_of_signins=2,
                                non_premium_tenants=no_p1)
    with EmulatorServer(generated.state, clock=clock) as server:
        yield server


@pytest.fixture
async def emulated(
    make_config: Callable[..., Config], emulator: EmulatorServer, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[Container, httpx.AsyncClient]]:
    monkeypatch.setenv("IDOPS_METRICS_TOKEN", TOKEN)
    config = make_config(
        graph={"reports_window_seconds": 0.001, "max_backoff_seconds": 0.05, "replication_wait_seconds": 1.0},
        api={"metrics": "token"},
    )
    c = bootstrap(config, clock=clock, graph_base_url=emulator.base_url)
    app = create_app(config, container_factory=lambda: c, start_scheduler=False)
    async with app.router.lifespan_context(app), httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://idops.test"
    ) as client:
        yield c, client


def families_without_a_sample(metrics: Metrics) -> list[str]:
    """Families whose every sample (``_created`` stamps aside) is 0 or absent."""
    empty = []
    for family in metrics.registry.collect():
        values = [s.value for s in family.samples if not s.name.endswith("_created")]
        if not any(v > 0 for v in values):
            empty.append(family.name)
    return empty


async def test_every_family_has_a_producer_that_moves_it(
    emulated: tuple[Container, httpx.AsyncClient], emulator: EmulatorServer, clock: FrozenClock
) -> None:
    c, client = emulated
    declared = {f.name + ("_total" if f.type == "counter" else "") for f in c.metrics.registry.collect()}
    assert len(declared) >= 15
    found = c.config.region.school(SCHOOL)
    assert found is not None
    tampere = found[0].tenant_id
    ylojarvi = next(m.tenant_id for m in c.config.region.municipalities if m.key == "ylojarvi")
    # Ylöjärvi (no P1) may not read its users' methods either: its numbers are unavailable
    emulator.state.tenants[ylojarvi].withdrawn = {"UserAuthenticationMethod.Read.All"}
    # Graph throttles one listing once (Retry-After 0.05 s)
    emulator.faults.add_rule("429", path_prefix="/users", method="GET", tenant_id=tampere, remaining=1,
                             retry_after=0.05)
    # an account whose period has just ended, while Graph refuses every write of its tenant
    user = emulator.state.add_user(tampere, "aino.x@sijaiset.tampere.fi", "Aino Äijälä (sijainen)")
    await insert_period(c, school=SCHOOL, person_id=new_id(), entra_user_id=user.id, upn=user.user_principal_name,
                        name="Aino", starts_at=NOW - timedelta(days=2), ends_at=NOW - timedelta(minutes=10))
    emulator.faults.add_rule("503", path_prefix="/$batch", tenant_id=tampere)
    emulator.faults.add_rule("503", path_prefix="/users/", method="PATCH", tenant_id=tampere)
    # a person whose last period ended past the retention period
    await insert_period(c, school=SCHOOL, person_id=new_id(), entra_user_id=None, upn=None, name="Eino",
                        starts_at=NOW - timedelta(days=200), ends_at=NOW - timedelta(days=100), status=Status.EXPIRED)

    assert (await client.get("/healthz")).status_code == 200
    sync = await run_job(c, "sync_mfa", trigger="cli")
    expire = await run_job(c, "expire", trigger="cli")
    purge = await run_job(c, "purge", trigger="cli")
    running = scheduler.start_scheduler(c)
    try:
        empty = families_without_a_sample(c.metrics)
    finally:
        await scheduler.shut_down(c, running)

    assert empty == []
    assert sync.outcome == "partial" and sync.counts["unavailable.permission_missing"] == 1
    assert expire.outcome == "partial" and purge.outcome == "succeeded"
    sample = c.metrics.registry.get_sample_value
    assert sample("idops_scheduler_running") == 0  # stopped again
    assert sample("idops_overdue_ends") == 1 and sample("idops_expiry_lag_seconds") == 600
    assert sample("idops_active_substitutes", {"municipality": "tampere"}) == 1
    assert sample("idops_persons_scrubbed_total") == 1
    assert sample("idops_mfa_tenants_unavailable", {"reason": "permission_missing"}) == 1
    assert sample("idops_graph_throttled_total", {"tenant": tampere, "class": "other"}) == 1
    assert sample("idops_graph_retry_after_seconds_total", {"tenant": tampere, "class": "other"}) == 0.05
    for cls in ("reports", "authMethods", "write", "other"):
        assert sum(s.value for f in c.metrics.registry.collect() for s in f.samples
                   if s.name == "idops_graph_requests_total" and s.labels["class"] == cls) > 0, cls
    assert sample("idops_graph_requests_total", {"tenant": tampere, "class": "write", "method": "POST",
                                                 "status": "503"})
    assert sample("idops_job_runs_total", {"job_name": "purge", "outcome": "succeeded"}) == 1
    assert sample("idops_job_last_success_timestamp_seconds", {"job_name": "purge"}) == clock.now().timestamp()
    assert sample("idops_job_duration_seconds_count", {"job_name": "sync_mfa"}) == 1

    # what Prometheus reads: every family, behind the scrape token
    scraped = await client.get("/metrics", headers={"authorization": f"Bearer {TOKEN}"})
    assert scraped.status_code == 200
    assert all(f"# TYPE {name} " in scraped.text for name in declared)


async def test_metrics_need_the_token_and_a_scrape_runs_no_sql(emulated: tuple[Container, httpx.AsyncClient]) -> None:
    c, client = emulated
    statements: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    event.listen(c.database.engine.sync_engine, "before_cursor_execute", count)
    try:
        refused = await client.get("/metrics")
        wrong = await client.get("/metrics", headers={"authorization": "Bearer not-it"})
        ok = await client.get("/metrics", headers={"authorization": f"Bearer {TOKEN}"})
    finally:
        event.remove(c.database.engine.sync_engine, "before_cursor_execute", count)

    assert refused.status_code == 401 and wrong.status_code == 401
    assert refused.headers["content-type"] == "application/problem+json" and TOKEN not in refused.text
    assert ok.status_code == 200 and "idops_job_runs_total" in ok.text
    assert statements == []
    # the default: a token outside the demo, anyone in it; "off" hides the route
    assert metrics_access(c.config.settings.model_copy(update={"demo": False})) == "token"
    assert metrics_access(c.config.settings) == "token"  # as configured here
    assert metrics_access(c.config.settings.model_copy(update={"api": c.config.settings.api.model_copy(
        update={"metrics": None})})) == "public"  # the demo's default


async def test_the_scheduler_port_serves_health_to_anyone_and_metrics_by_the_same_rule() -> None:
    m = Metrics()
    m.scheduler_running.set(1)

    async def get(access: str, path: str, token: str | None = None) -> httpx.Response:
        app = metrics_app(m, access=access, token=TOKEN)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sched") as client:
            return await client.get(path, headers={"authorization": f"Bearer {token}"} if token else {})

    assert (await get("token", "/healthz")).status_code == 200
    assert (await get("token", "/metrics")).status_code == 401
    assert (await get("token", "/metrics", "wrong")).status_code == 401
    ok = await get("token", "/metrics", TOKEN)
    assert ok.status_code == 200 and "idops_scheduler_running 1.0" in ok.text
    assert (await get("public", "/metrics")).status_code == 200
    assert (await get("off", "/metrics", TOKEN)).status_code == 404


async def test_the_scheduler_process_serves_its_metrics_on_its_own_port(
    make_config: Callable[..., Config], clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What ``idops scheduler`` runs beside the scheduler: uvicorn on ``[scheduler] metrics_port``."""
    from idops.cli import _metrics_server
    from idops.graph.fake import FakeDirectoryProvider

    monkeypatch.setenv("IDOPS_METRICS_TOKEN", TOKEN)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = make_config(scheduler={"metrics_port": port}, api={"metrics": "token"})
    c = bootstrap(config, clock=clock, directories=FakeDirectoryProvider.for_region(config.region, clock=clock))
    running = scheduler.start_scheduler(c)
    server = _metrics_server(c)
    serving = asyncio.create_task(server.serve())
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            for _ in range(100):
                if server.started:
                    break
                await asyncio.sleep(0.05)
            assert (await http.get("/healthz")).status_code == 200
            assert (await http.get("/metrics")).status_code == 401
            scraped = await http.get("/metrics", headers={"authorization": f"Bearer {TOKEN}"})
            assert scraped.status_code == 200 and "idops_scheduler_running 1.0" in scraped.text
    finally:
        server.should_exit = True
        await asyncio.wait_for(serving, 10)
        await scheduler.shut_down(c, running)
        await c.aclose()
