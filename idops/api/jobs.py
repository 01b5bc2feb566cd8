"""``GET /v1/jobs`` and ``POST /v1/jobs/{name}/run``.

Every job runs over the whole region (all tenants), so starting one is for region admins only; an IT
admin sees the jobs, their outcomes and times but not the runs' counts or errors, which are the region's.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel

from idops.api.deps import AdminDep, ContainerDep, RegionAdminDep
from idops.auth.scope import Caller
from idops.jobruntime import runner
from idops.jobruntime.scheduler import next_runs
from idops.kit.errors import Conflict, Message, NotFound

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])
_background: set[asyncio.Task[Any]] = set()


class JobRunOut(BaseModel):
    id: str
    name: str
    trigger: str
    started_at: datetime
    finished_at: datetime | None
    outcome: str
    counts: dict[str, Any]
    error: str | None

    @classmethod
    def of(cls, r: runner.RunRecord, caller: Caller | None = None) -> JobRunOut:
        """The run as ``caller`` may see it: counts and errors only for region admins (they are the region's)."""
        out = cls(**{f: getattr(r, f) for f in cls.model_fields})
        if caller is not None and caller.scope.role != "RegionAdmin":
            out.counts, out.error = {}, None
        return out


class JobOut(BaseModel):
    name: str
    description: str
    next_run_at: datetime | None
    last_run: JobRunOut | None


class JobList(BaseModel):
    items: list[JobOut]
    next: str | None = None


@router.get("", response_model=JobList, summary="Every job with its last run and next run")
async def list_jobs(c: ContainerDep, admin: AdminDep) -> JobList:
    last = await runner.last_runs(c)
    upcoming = next_runs(c, c.clock.now())
    items = [
        JobOut(
            name=name,
            description=spec.description,
            next_run_at=upcoming.get(name),
            last_run=JobRunOut.of(last[name], admin) if name in last else None,
        )
        for name, spec in c.jobs.items()
    ]
    return JobList(items=items)


@router.post(
    "/{name}/run",
    response_model=JobRunOut,
    summary="Run a job now; answers with its run record when finished (?wait=false: 202 at once)",
    description=(
        "While another run of the job holds its lease (anywhere: the scheduler, another replica, the CLI) "
        "the answer is **409** naming that run (`running_run_id`, `running_since`); nothing is started. "
        "With an explicit `?wait=true` the running run is awaited instead and returned (its `trigger` "
        "shows whose run it was). Jobs run over the whole region: **region admins only** (an IT admin "
        "gets 403; `GET /v1/jobs` shows them outcomes and times without the region's counts)."
    ),
    responses={202: {"model": JobRunOut}, 404: {}, 409: {}},
)
async def run_job_now(
    name: str,
    c: ContainerDep,
    admin: RegionAdminDep,
    response: Response,
    wait: bool | None = Query(
        default=None,
        description="false: answer 202 at once. Default: wait for this run. true: also wait for a run "
        "that is already going (instead of 409).",
    ),
) -> JobRunOut:
    if name not in c.jobs:
        raise NotFound(Message(f"Tehtävää {name!r} ei ole.", f"There is no job {name!r}."))
    try:
        run = await runner.start_run(c, name, trigger="api", requested_by=admin.actor)
    except runner.LeaseHeld as held:
        if wait is True and held.running is not None:
            joined = await runner.wait_for_run(c, held.running.id)
            if joined is not None:
                return JobRunOut.of(joined)
        raise _already_running(held) from None
    if wait is False:
        task = asyncio.create_task(runner.run_job(c, name, trigger="api", run=run))
        _background.add(task)
        task.add_done_callback(_background.discard)
        response.status_code = 202
        return JobRunOut.of(run)
    return JobRunOut.of(await runner.run_job(c, name, trigger="api", run=run))


def _already_running(held: runner.LeaseHeld) -> Conflict:
    since = held.running.started_at.isoformat() if held.running else None
    return Conflict(
        Message(
            f"Ajo on jo käynnissä (tehtävä {held.name}, alkoi {since or 'äsken'}).",
            f"The job {held.name} is already running (since {since or 'moments ago'}).",
        ),
        job=held.name,
        running_run_id=held.running.id if held.running else None,
        running_since=since,
    )


@router.get("/runs/{run_id}", response_model=JobRunOut, summary="One run record")
async def get_run(run_id: str, c: ContainerDep, admin: AdminDep) -> JobRunOut:
    run = await runner.get_run(c, run_id)
    if run is None:
        raise NotFound()
    return JobRunOut.of(run, admin)
