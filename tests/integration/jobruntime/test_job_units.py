"""Job units: the lease fence stops Graph work once a lease is lost, a stop hands running units back
(the run is recorded ``interrupted``, leases are released) and the next run resumes only those, and
an IT admin's run touches only their municipality's tenant.

The jobs here are this module's ``run``: per tenant, one Graph read of the fake every few
milliseconds until told to stop (``SLOW`` tenants), or a single read (the rest).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select, update

from idops.app import create_app
from idops.bootstrap import bootstrap
from idops.config import Config
from idops.config.region import Shard
from idops.container import Container
from idops.graph.fake import FakeDirectoryProvider
from idops.graph.fence import Fence, WorkFenced, fenced, guard
from idops.jobruntime.models import JobLease, JobRun, JobUnit
from idops.jobruntime.repository import REAPED
from idops.jobruntime.runner import LeaseHeld, get_run, run_job, start_run, stop
from idops.jobruntime.scheduler import pick_up
from idops.jobruntime.spec import JobSpec, cron
from idops.jobruntime.units import RunningUnits, attempts_of
from tests.conftest import TokenFactory, bearer

SLOW: set[str] = set()  # tenants whose unit reads until cancelled
FAIL_ONCE: set[str] = set()  # tenants whose unit fails on its first attempt (after its read)
STARTED: asyncio.Event | None = None


async def run(c: Container, shard: Shard) -> dict[str, int]:
    assert shard.tenant_id is not None
    directory = c.directories.for_tenant(shard.tenant_id)
    reads = 0
    while True:
        await _read(directory)
        reads += 1
        if shard.tenant_id in FAIL_ONCE:
            FAIL_ONCE.discard(shard.tenant_id)
            raise RuntimeError("Graph had a bad moment")
        if shard.tenant_id not in SLOW:
            return {"reads": reads}
        if STARTED is not None:
            STARTED.set()
        await asyncio.sleep(0.01)


async def _read(directory: object) -> None:
    async for _ in directory.list_service_principals():  # type: ignore[attr-defined]
        pass


SPEC = JobSpec("probe", "test job: reads Graph per tenant", cron("0 0 1 1 *"), module=__name__,
               shard="tenant", municipal=True)


OTHER = dataclasses.replace(SPEC, name="probe_other")


def _container(config: Config, fakes: FakeDirectoryProvider) -> Container:
    c = bootstrap(config, directories=fakes)
    return dataclasses.replace(c, jobs={**c.jobs, "probe": SPEC, "probe_other": OTHER},
                               running_units=RunningUnits(concurrency=8))


@pytest.fixture
def fakes(config: Config) -> FakeDirectoryProvider:
    return FakeDirectoryProvider.for_region(config.region)


@pytest.fixture
async def container(make_config: Callable[..., Config], fakes: FakeDirectoryProvider) -> AsyncIterator[Container]:
    global STARTED
    STARTED = asyncio.Event()
    SLOW.clear()
    c = _container(make_config(scheduler={"enabled": False, "lease_seconds": 2, "shutdown_grace_seconds": 0.2}),
                   fakes)
    yield c
    SLOW.clear()
    await c.aclose()


def slow_down(container: Container) -> str:
    """The unit of the region's first tenant reads Graph until it is cancelled; returns that tenant."""
    tenant = container.config.region.municipalities[0].tenant_id
    SLOW.add(tenant)
    return tenant


async def slow_unit_started() -> None:
    assert STARTED is not None
    await asyncio.wait_for(STARTED.wait(), 10)


@asynccontextmanager
async def served(container: Container) -> AsyncIterator[httpx.AsyncClient]:
    """The app on ``container``, its lifespan run (start-up, and shutdown on leaving)."""
    app = create_app(container.config, container_factory=lambda: container)
    transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport,
                                                                   base_url="http://idops.test") as client:
        yield client


def _reads(fakes: FakeDirectoryProvider, tenant_id: str) -> int:
    return len(fakes.for_tenant(tenant_id).state.calls)


def test_a_fence_refuses_graph_work_once_closed_or_past_its_deadline() -> None:
    guard("outside any fence")  # no fence: nothing to refuse
    fence = Fence()
    with fenced(fence):
        guard("open fence")
        fence.deadline = 0.0  # time.monotonic() is past it
        with pytest.raises(WorkFenced, match="not renewed in time"):
            guard("late")
        fence.deadline = float("inf")
        fence.close("the lease was taken by another process")
        with pytest.raises(WorkFenced, match="taken by another process"):
            guard("closed")
    guard("after the fence")


async def test_a_unit_whose_lease_is_stolen_stops_sending_graph_requests(
    container: Container, fakes: FakeDirectoryProvider
) -> None:
    tenant = slow_down(container)
    job = asyncio.create_task(run_job(container, "probe", trigger="cli",
                                      municipalities=[container.config.region.municipalities[0].key]))
    await slow_unit_started()
    async with container.uow() as uow:  # another process takes the unit's lease (say, after a pause)
        await uow.jobs.session.execute(
            update(JobLease).where(JobLease.name == f"probe@{tenant}")
            .values(holder="thief", expires_at=container.clock.now() + timedelta(hours=1))
        )
        await uow.commit()
    stolen_at = _reads(fakes, tenant)
    # the next renewal (every lease_seconds / 3) finds the lease gone: the fence closes, the unit stops
    for _ in range(300):
        await asyncio.sleep(0.01)
        if any(r.body.done() for r in container.running_units.running.values()) or not container.running_units.running:
            break
    await asyncio.sleep(0.3)
    stopped_at = _reads(fakes, tenant)
    await asyncio.sleep(0.3)
    assert _reads(fakes, tenant) == stopped_at  # no Graph request after the stop
    assert stopped_at - stolen_at < 200  # ~70 reads fit in a renewal period of 0.67 s; not unbounded
    async with container.uow() as uow:
        unit = (await uow.jobs.session.execute(select(JobUnit).where(JobUnit.job == "probe"))).scalar_one()
    assert unit.status == "running" and unit.holder == container.holder  # left to the lease's new holder
    job.cancel()
    with pytest.raises(asyncio.CancelledError):
        await job


async def test_stop_hands_back_a_running_unit_and_the_next_run_resumes_only_it(
    container: Container, fakes: FakeDirectoryProvider, make_config: Callable[..., Config]
) -> None:
    region = container.config.region
    slow = slow_down(container)
    job = asyncio.create_task(run_job(container, "probe", trigger="scheduler"))
    await slow_unit_started()
    for _ in range(1000):  # the other tenants' units end after one read
        async with container.uow() as uow:
            ended = (await uow.jobs.session.execute(select(JobUnit).where(JobUnit.status == "succeeded"))).all()
        if len(ended) == len(region.tenants()) - 1:
            break
        await asyncio.sleep(0.01)
    await stop(container, grace=0.1)  # SIGTERM: the grace passes, the slow unit is handed back
    first = await asyncio.wait_for(job, 10)
    assert first.outcome == "interrupted"
    async with container.uow() as uow:
        leases = (await uow.jobs.session.execute(select(JobLease))).scalars().all()
        units = {u.key: u for u in (await uow.jobs.session.execute(select(JobUnit))).scalars()}
    assert [lease.name for lease in leases if lease.holder == container.holder] == []  # every lease released
    assert units[slow].status == "pending" and units[slow].attempts == 0  # handed back, the attempt refunded
    assert {k for k, u in units.items() if u.status == "succeeded"} == set(region.tenants()) - {slow}
    reads_before = {t: _reads(fakes, t) for t in region.tenants()}

    SLOW.clear()  # the next process (a new container on the same database) resumes the run
    nxt = _container(container.config, fakes)
    try:
        second = await asyncio.wait_for(run_job(nxt, "probe", trigger="scheduler"), 20)
    finally:
        await nxt.aclose()
    assert second.id == first.id and second.outcome == "succeeded"
    assert {u.key: u.status for u in second.units} == dict.fromkeys(region.tenants(), "succeeded")
    redone = {t for t in region.tenants() if _reads(fakes, t) > reads_before[t]}
    assert redone == {slow}  # the ended units were not redone


async def test_a_scheduler_busy_with_a_long_unit_still_picks_up_a_run_opened_meanwhile(
    container: Container,
) -> None:
    """``pick_up`` keeps looking for claimable units while its own run on (it looked again only when one
    of them ended: a process holding an hour's unit — a tenant's per-user method scan — left the units
    of every run the API or another process opened meanwhile to the other processes, or to nobody)."""
    region = container.config.region
    slow = slow_down(container)
    first = region.municipalities_of_tenant(slow)[0].key
    other = next(m.key for m in region.municipalities if m.tenant_id != slow)
    await start_run(container, "probe", trigger="api", municipalities=[first])
    busy = asyncio.create_task(pick_up(container))  # claims the slow unit and works on it
    await slow_unit_started()
    opened = await start_run(container, "probe_other", trigger="api", municipalities=[other])
    try:
        for _ in range(100):  # poll_seconds is capped at 1 s for the look-again
            record = await get_run(container, opened.id)
            if record is not None and record.outcome == "succeeded":
                break
            await asyncio.sleep(0.05)
        assert record is not None and record.outcome == "succeeded"
        assert not busy.done()  # the slow unit is still being worked on
    finally:
        await stop(container, grace=0.1)
        await asyncio.wait_for(busy, 10)


@pytest.fixture
async def api_with(container: Container) -> AsyncIterator[httpx.AsyncClient]:
    async with served(container) as client:
        yield client


async def test_an_it_admins_job_run_touches_only_their_municipalitys_tenant(
    api_with: httpx.AsyncClient, container: Container, fakes: FakeDirectoryProvider, make_token: TokenFactory
) -> None:
    region = container.config.region
    nokia = next(m for m in region.municipalities if m.key == "nokia")
    admin = bearer(make_token("ItAdmin", municipality="nokia"))

    refused = await api_with.post("/v1/jobs/housekeeping/run", headers=admin)
    assert refused.status_code == 403  # a region-wide job needs RegionAdmin

    ran = await api_with.post("/v1/jobs/probe/run", headers=admin)
    assert ran.status_code == 200, ran.text
    assert ran.json()["municipalities"] == ["nokia"]
    assert [u["key"] for u in ran.json()["units"]] == [nokia.tenant_id]
    touched = {t for t in region.tenants() if _reads(fakes, t)}
    assert touched == {nokia.tenant_id}  # no Graph request to another municipality's tenant

    region_run = await api_with.post("/v1/jobs/probe/run", headers=bearer(make_token("RegionAdmin")))
    assert len(region_run.json()["units"]) == len(region.tenants())
    # the IT admin's view of that region run: only their tenant's unit and its counts
    seen = (await api_with.get(f"/v1/jobs/runs/{region_run.json()['id']}", headers=admin)).json()
    assert [u["key"] for u in seen["units"]] == [nokia.tenant_id]
    assert seen["counts"] == {"reads": 1}
    listed = (await api_with.get("/v1/jobs", headers=admin)).json()["items"]
    assert next(j for j in listed if j["name"] == "probe")["last_run"]["counts"] == {"reads": 1}


async def test_the_apps_shutdown_hands_back_a_run_started_through_the_api(
    container: Container, make_token: TokenFactory
) -> None:
    """What ``idops serve`` does on SIGTERM once uvicorn has stopped serving: the lifespan's end."""
    slow = slow_down(container)
    async with served(container) as client:
        started = await client.post("/v1/jobs/probe/run?wait=false", headers=bearer(make_token("RegionAdmin")))
        assert started.status_code == 202
        await slow_unit_started()
    # the lifespan gave the running unit shutdown_grace_seconds (0.2 s), then handed it back
    async with container.uow() as uow:
        run = await uow.jobs.get_run(started.json()["id"])
        units = {u.key: u.status for u in (await uow.jobs.units_of([started.json()["id"]]))[started.json()["id"]]}
        held = (await uow.jobs.session.execute(select(JobLease).where(JobLease.holder == container.holder))).all()
    assert run is not None and run.outcome == "interrupted"
    assert units[slow] == "pending" and held == []


async def test_a_refused_start_leaves_the_jobs_lease_free_and_an_idle_run_is_taken_over(
    container: Container, fakes: FakeDirectoryProvider
) -> None:
    """Another process's open run (no unit claimed yet) refuses a second start, and the refusal leaves
    nothing held (on SQLite a lease taken in a savepoint used to survive the rollback: the run could
    then not close for a lease's lifetime). A run never claimed for longer than a lease is taken over."""
    other = _container(container.config, fakes)
    try:
        opened = await start_run(other, "probe", trigger="scheduler")
        with pytest.raises(LeaseHeld) as held:
            await start_run(container, "probe", trigger="api")
        assert held.value.running is not None and held.value.running.id == opened.id
        async with container.uow() as uow:
            leases = (await uow.jobs.session.execute(select(JobLease))).scalars().all()
        assert leases == []  # neither the refused start nor the opening holds the job's lease

        async with container.uow() as uow:  # its opener died before claiming a unit, a lease ago
            await uow.jobs.session.execute(
                update(JobRun).where(JobRun.id == opened.id)
                .values(started_at=container.clock.now() - timedelta(seconds=3))
            )
            await uow.commit()
        taken = await asyncio.wait_for(run_job(container, "probe", trigger="api"), 20)
        assert taken.id == opened.id and taken.outcome == "succeeded"
        assert {u.status for u in taken.units} == {"succeeded"}
    finally:
        await other.aclose()


async def test_a_failing_unit_is_retried_alone_and_on_sqlite_by_default_not_at_all(
    make_config: Callable[..., Config], fakes: FakeDirectoryProvider
) -> None:
    region_tenants = list(FakeDirectoryProvider.for_region(make_config().region).tenant_ids)
    flaky = region_tenants[0]
    retrying = _container(make_config(scheduler={"enabled": False, "unit_attempts": 2, "unit_retry_seconds": 0}),
                          fakes)
    try:
        FAIL_ONCE.add(flaky)
        run = await asyncio.wait_for(run_job(retrying, "probe", trigger="cli"), 20)
    finally:
        await retrying.aclose()
    assert run.outcome == "succeeded"
    assert {u.key: u.attempts for u in run.units} == {t: 2 if t == flaky else 1 for t in region_tenants}
    assert {t: _reads(fakes, t) for t in region_tenants} == {t: 2 if t == flaky else 1 for t in region_tenants}

    once = _container(make_config(scheduler={"enabled": False}), fakes)  # unit_attempts unset
    try:
        if not once.database.is_sqlite:  # several processes may share PostgreSQL: a failing unit is retried
            assert attempts_of(once, SPEC) == 3
            return
        assert attempts_of(once, SPEC) == 1  # SQLite: one process, one try — the run ends at once
        FAIL_ONCE.add(flaky)
        failed = await asyncio.wait_for(run_job(once, "probe", trigger="cli"), 20)
    finally:
        FAIL_ONCE.clear()
        await once.aclose()
    assert failed.outcome == "partial" and failed.counts["failed"] == 1
    assert failed.error is not None and f"{flaky}: RuntimeError: Graph had a bad moment" in failed.error


async def test_a_dead_workers_run_is_taken_over_with_its_reaped_unit_and_an_ended_one_is_not(
    container: Container, fakes: FakeDirectoryProvider
) -> None:
    """The worker died: the sweep reaped its unit (abandoned: on SQLite one attempt). The next start takes
    the run over and gives that unit another try — a new run would have redone it — but not the units
    that ended. A run whose units have all ended is closed instead (taken over, it would do nothing)."""
    tenants = container.config.region.tenants()
    dead, done = list(tenants)[:2]
    other = _container(container.config, fakes)
    try:
        old = await start_run(other, "probe", trigger="scheduler")
    finally:
        await other.aclose()
    async with container.uow() as uow:
        await uow.jobs.session.execute(update(JobUnit).where(JobUnit.run_id == old.id, JobUnit.key == dead)
                                       .values(status="abandoned", attempts=1, error=REAPED))
        await uow.jobs.session.execute(update(JobUnit).where(JobUnit.run_id == old.id, JobUnit.key == done)
                                       .values(status="succeeded", attempts=1, counts={"reads": 1}))
        await uow.commit()
    taken = await asyncio.wait_for(run_job(container, "probe", trigger="cli"), 20)
    assert taken.id == old.id and taken.outcome == "succeeded"
    assert {t: _reads(fakes, t) for t in tenants} == {t: 0 if t == done else 1 for t in tenants}

    async with container.uow() as uow:  # now a run whose every unit ended, but left open
        await uow.jobs.session.execute(update(JobRun).where(JobRun.id == old.id).values(outcome="running"))
        await uow.commit()
    new = await asyncio.wait_for(run_job(container, "probe", trigger="cli"), 20)
    assert new.id != old.id and new.outcome == "succeeded"
    assert {t: _reads(fakes, t) for t in tenants} == {t: 1 if t == done else 2 for t in tenants}
    async with container.uow() as uow:
        closed = await uow.jobs.get_run(old.id)
    assert closed is not None and closed.outcome == "succeeded"
