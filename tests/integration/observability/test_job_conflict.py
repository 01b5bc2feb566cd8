"""``POST /v1/jobs/{name}/run`` while a run holds the lease: 409 naming the running run (never 200
"skipped"), or with ``?wait=true`` that run when it ends; the page's button says the job is running."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

import httpx
import pytest
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy import text

from idops.app import create_app
from idops.bootstrap import bootstrap
from idops.config import Config
from idops.config.region import Shard
from idops.graph.fake import FakeDirectoryProvider
from idops.jobruntime import runner
from idops.jobruntime.spec import JobSpec, cron
from idops.kit.clock import FrozenClock
from tests.conftest import TokenFactory, bearer, sync_url
from tests.integration.observability.conftest import Harness

RELEASE = asyncio.Event()
STARTED = asyncio.Event()


@pytest.fixture(autouse=True)
def fresh_events() -> None:
    """New events for each test: an asyncio event belongs to the loop of its first waiter."""
    global RELEASE, STARTED
    RELEASE, STARTED = asyncio.Event(), asyncio.Event()


async def run(_c: object, _shard: Shard) -> dict[str, int]:
    """The held job (one unit: it is not split): runs until the test releases it."""
    STARTED.set()
    await RELEASE.wait()
    return {"waited": 1}


async def test_a_second_run_while_one_holds_the_lease_is_409_and_wait_joins_the_running_one(
    harness: Harness,
) -> None:
    h = harness
    h.c.jobs = {**h.c.jobs, "held": JobSpec("held", "waits for the test", cron("0 0 1 1 *"), module=__name__)}
    admin = bearer(h.token("RegionAdmin"))

    first = await h.client.post("/v1/jobs/held/run?wait=false", headers=admin)
    assert first.status_code == 202, first.text
    await asyncio.wait_for(STARTED.wait(), 10)

    second = await h.client.post("/v1/jobs/held/run", headers=admin)

    assert second.status_code == 409
    assert second.headers["content-type"] == "application/problem+json"
    problem = second.json()
    assert problem["running_run_id"] == first.json()["id"]
    assert datetime.fromisoformat(problem["running_since"]) == datetime.fromisoformat(first.json()["started_at"])
    assert problem["request_id"] == second.headers["x-request-id"]
    # nothing was recorded for the refused run: the job's runs are the running one only
    listed = {j["name"]: j for j in (await h.client.get("/v1/jobs", headers=admin)).json()["items"]}
    assert listed["held"]["last_run"]["id"] == first.json()["id"]

    # the page: the button says the job is running, and pressing "run now" anyway starts nothing
    await h.sign_in("region")
    page = await h.client.get("/admin/jobs")
    assert f'data-running="{first.json()["id"]}"' in page.text and "Ajo on jo käynnissä" in page.text
    csrf = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    pressed = await h.client.post("/admin/jobs/held/run", data={"csrf": csrf}, follow_redirects=True)
    assert "ajo on jo käynnissä" in pressed.text

    joined = asyncio.create_task(h.client.post("/v1/jobs/held/run?wait=true", headers=admin))
    await asyncio.sleep(0.3)
    assert not joined.done()  # it waits for the running run …
    RELEASE.set()
    answer = await asyncio.wait_for(joined, 10)
    assert answer.status_code == 200
    assert answer.json()["id"] == first.json()["id"] and answer.json()["outcome"] == "succeeded"  # … and is it

    again = await h.client.post("/v1/jobs/held/run?wait=false", headers=admin)  # the lease is free again
    assert again.status_code == 202
    RELEASE.set()


async def test_a_run_held_by_another_process_is_409_too_and_the_lease_frees_when_it_ends(
    harness: Harness, config: Config, clock: FrozenClock, fakes: FakeDirectoryProvider
) -> None:
    """The scheduler process (another container on the same database, its own holder id) is expiring."""
    h = harness
    scheduler_process = bootstrap(config, clock=clock, directories=fakes)
    assert scheduler_process.holder != h.c.holder
    admin = bearer(h.token("RegionAdmin"))
    try:
        elsewhere = await runner.start_run(scheduler_process, "expire", trigger="scheduler")

        refused = await h.client.post("/v1/jobs/expire/run", headers=admin)

        assert refused.status_code == 409
        assert refused.json()["running_run_id"] == elsewhere.id
        assert "jo käynnissä" in refused.json()["title"] + refused.json().get("detail", "")
        finished = await runner.run_job(scheduler_process, "expire", trigger="scheduler", run=elsewhere)
        assert finished.outcome == "succeeded"
        ran = await h.client.post("/v1/jobs/expire/run", headers=admin)
        assert ran.status_code == 200 and ran.json()["trigger"] == "api" and ran.json()["outcome"] == "succeeded"
        runs = h.c.metrics.registry.get_sample_value
        assert runs("idops_job_runs_total", {"job_name": "expire", "outcome": "skipped"}) is None  # none pretended
    finally:
        await scheduler_process.aclose()


async def test_a_background_run_ends_with_the_service_and_leaves_the_database_free(
    make_config: Callable[..., Config], clock: FrozenClock, fakes: FakeDirectoryProvider, make_token: TokenFactory
) -> None:
    """A run started with ``wait=false`` is the service's to end: when the service stops, its unit is
    handed back, the run recorded ``interrupted`` and its task over before the database closes. (Left
    running, it wrote after the close or died with the event loop mid-write — on SQLite holding the
    write lock for whoever opened the file next: CI's "database is locked" in the next test.)"""
    config = make_config(scheduler={"shutdown_grace_seconds": 0.2})
    c = bootstrap(config, clock=clock, directories=fakes)
    c.jobs = {**c.jobs, "held": JobSpec("held", "waits for the test", cron("0 0 1 1 *"), module=__name__)}
    app = create_app(config, container_factory=lambda: c, start_scheduler=False)
    async with app.router.lifespan_context(app), httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://idops.test"
    ) as client:
        started = await client.post("/v1/jobs/held/run?wait=false", headers=bearer(make_token("RegionAdmin")))
        assert started.status_code == 202, started.text
        await asyncio.wait_for(STARTED.wait(), 10)
        callers = [t for t in asyncio.all_tasks() if t.get_coro().__qualname__ == "run_job"]  # type: ignore[union-attr]
        assert len(callers) == 1

    assert callers[0].done() and not callers[0].cancelled()
    url = config.settings.database.url
    engine = create_sync_engine(sync_url(url), connect_args={"timeout": 0} if url.startswith("sqlite") else {})
    try:
        with engine.begin() as conn:  # a write at once: nobody holds the lock
            outcome = conn.execute(text("SELECT outcome FROM job_runs WHERE id = :id"),
                                   {"id": started.json()["id"]}).scalar_one()
            conn.execute(text("DELETE FROM job_units"))
    finally:
        engine.dispose()
    assert outcome == "interrupted"
