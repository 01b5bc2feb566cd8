"""``GET /v1/jobs``, ``POST /v1/jobs/{name}/run`` and ``GET /v1/jobs/runs/{id}`` (administrators).

Who runs what:

- a **RegionAdmin** runs a job over the whole region (one unit per tenant or municipality, or one
  unit for a job that is not split) and sees every run whole;
- an **IT admin** runs a job limited to their own municipalities — the units of their tenant(s), and
  in a tenant shared with another municipality only their municipality's substitute periods — so the
  run sends Graph no request for another tenant. Jobs with a region-wide step (``housekeeping``,
  ``single_login_report``) need RegionAdmin (403). In run records an IT admin sees only units whose
  every municipality is theirs, and counts summed over those units (a region run's unit of a shared
  tenant counts both municipalities, so it is not shown to either IT admin).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel

from idops.api.deps import AdminDep, ContainerDep
from idops.jobruntime import runner
from idops.jobruntime.scheduler import next_runs
from idops.kit.errors import Conflict, Forbidden, Message, NotFound

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])

_REGION_ONLY = Message(
    "Tämän tehtävän voi käynnistää vain alueen pääkäyttäjä (se koskee koko aluetta).",
    "Only a region administrator may run this job (it covers the whole region).",
)


class JobUnitOut(BaseModel):
    key: str  # tenant id, municipality key, or "*" (a job that is not split)
    tenant_id: str | None
    municipalities: list[str] | None
    status: str  # pending | running | succeeded | partial | failed | abandoned
    attempts: int
    started_at: datetime | None
    finished_at: datetime | None
    counts: dict[str, Any]
    error: str | None


class JobRunOut(BaseModel):
    id: str
    name: str
    trigger: str
    started_at: datetime
    finished_at: datetime | None
    outcome: str  # running | succeeded | partial | failed | skipped | abandoned | interrupted
    counts: dict[str, Any]
    error: str | None
    municipalities: list[str] | None = None  # the run's limit; None: the whole region
    units: list[JobUnitOut] | None = None  # in run records; not in the job list

    @classmethod
    def of(cls, r: runner.RunRecord, *, with_units: bool = True) -> JobRunOut:
        units = [JobUnitOut(**{f: getattr(u, f) for f in JobUnitOut.model_fields}) for u in r.units]
        return cls(**{f: getattr(r, f) for f in cls.model_fields if f != "units"},
                   units=units if with_units else None)


class JobOut(BaseModel):
    name: str
    description: str
    next_run_at: datetime | None
    last_run: JobRunOut | None
    municipal: bool  # an IT admin may run it for their own municipalities


class JobList(BaseModel):
    items: list[JobOut]
    next: str | None = None


@router.get("", response_model=JobList, summary="Every job with its last run and next run")
async def list_jobs(c: ContainerDep, admin: AdminDep) -> JobList:
    """An IT admin's last runs show only their municipalities' units and counts."""
    last = await runner.last_runs(c, municipalities=admin.scope.job_limit)
    upcoming = next_runs(c, c.clock.now())
    items = [
        JobOut(
            name=name,
            description=spec.description,
            next_run_at=upcoming.get(name),
            last_run=JobRunOut.of(last[name], with_units=False) if name in last else None,
            municipal=spec.municipal,
        )
        for name, spec in c.jobs.items()
    ]
    return JobList(items=items)


@router.post(
    "/{name}/run",
    response_model=JobRunOut,
    summary="Run a job now (an IT admin: for their municipalities); its run record when finished "
    "(?wait=false: 202 at once)",
    description=(
        "A **RegionAdmin** runs the job over the whole region. An **IT admin** runs it limited to their own "
        "municipalities (the units of their tenant(s); in a tenant shared with another municipality only "
        "their substitute periods): Graph gets no request for another tenant. Jobs with a region-wide step "
        "(`housekeeping`, `single_login_report`) need RegionAdmin: **403**. An IT admin's run records and "
        "job list show only units whose every municipality is theirs, and counts over those units.\n\n"
        "While another open run of the job shares a unit with this one (anywhere: the scheduler, another "
        "replica, the CLI — also before any of its units started) the answer is **409** naming that run "
        "(`running_run_id`, `running_since`); nothing is started. With an explicit `?wait=true` that run "
        "(when it covers the same municipalities) is awaited — this process helps with its units — and "
        "returned (its `trigger` shows whose run it was)."
    ),
    responses={202: {"model": JobRunOut}, 403: {}, 404: {}, 409: {}},
)
async def run_job_now(
    name: str,
    c: ContainerDep,
    admin: AdminDep,
    response: Response,
    wait: bool | None = Query(
        default=None,
        description="false: answer 202 at once. Default: wait for this run. true: also wait for a run "
        "that is already going (instead of 409).",
    ),
) -> JobRunOut:
    """RegionAdmin: the whole region. IT admin: only the units of their tenant(s) and municipalities;
    403 for jobs with a region-wide step. 409 while a run over the same units is open."""
    if name not in c.jobs:
        raise NotFound(Message(f"Tehtävää {name!r} ei ole.", f"There is no job {name!r}."))
    limit = admin.scope.job_limit
    try:
        run = await runner.start_run(c, name, trigger="api", requested_by=admin.actor, municipalities=limit)
    except runner.RegionOnly as exc:
        raise Forbidden(_REGION_ONLY) from exc
    except runner.LeaseHeld as held:
        other = held.running
        if wait is True and other is not None and other.municipalities == (None if limit is None else sorted(limit)):
            joined = await runner.run_job(c, name, trigger="api", run=other)
            return JobRunOut.of(await runner.get_run(c, joined.id, municipalities=limit) or joined)
        raise _already_running(held) from None
    if wait is False:
        runner.run_in_background(c, name, trigger="api", run=run)
        response.status_code = 202
        return JobRunOut.of(run)
    done = await runner.run_job(c, name, trigger="api", run=run)
    return JobRunOut.of(await runner.get_run(c, done.id, municipalities=limit) or done)


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


@router.get("/runs/{run_id}", response_model=JobRunOut, summary="One run record with its units")
async def get_run(run_id: str, c: ContainerDep, admin: AdminDep) -> JobRunOut:
    """An IT admin sees a run only if it has units of their municipalities, and only those."""
    run = await runner.get_run(c, run_id, municipalities=admin.scope.job_limit)
    if run is None:
        raise NotFound()
    return JobRunOut.of(run)
