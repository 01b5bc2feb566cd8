"""IT admin and region admin pages: MFA dashboard, single-login coverage, the municipality's
substitutes, job status, and (region admins) the municipality comparison.

Numbers come from the MFA and coverage services with the caller's ``Scope`` — the same calls
the API makes — so a page and ``GET /v1/mfa/summary`` for the same caller agree by construction.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from idops.auth.scope import Caller
from idops.container import Container
from idops.coverage import service as coverage
from idops.coverage.render import render_page as render_coverage
from idops.jobruntime import runner
from idops.jobruntime.scheduler import next_runs
from idops.kit.errors import NotFound
from idops.kit.formats import csv_response
from idops.mfa import schemas as mfa_schemas
from idops.mfa import service as mfa
from idops.substitutes import views
from idops.substitutes.models import Status
from idops.web import session as sess
from idops.web.charts import trend_chart
from idops.web.guards import AdminDep, RegionAdminDep, WebContainer
from idops.web.render import render, web
from idops.web.routing import CSP, PageRoute
from idops.web.texts import text

router = APIRouter(route_class=PageRoute, include_in_schema=False)

UNREGISTERED_ON_PAGE = 50
CSV_MAX_ROWS = 10_000
ROLES = ("staff", "pupil")
_background: set[asyncio.Task[Any]] = set()


# ----------------------------------------------------------------------------------------- MFA


def _by_school(rows: list[mfa_schemas.SummaryRow]) -> list[dict[str, Any]]:
    """School × role rows pivoted to one row per school, ordered by municipality and school."""
    schools: dict[str, dict[str, Any]] = {}
    for r in rows:
        if r.school is None or r.role is None:
            continue
        entry = schools.setdefault(r.school, {"path": r.school, "municipality": r.municipality, "roles": {}})
        entry["roles"][r.role] = r
    return [schools[k] for k in sorted(schools)]


@router.get("/admin/mfa", name="admin_mfa")
async def mfa_dashboard(request: Request, caller: AdminDep, c: WebContainer) -> Response:
    lang = web(request).lang
    today = mfa.snapshot_day(c.clock.now())
    uow = c.uow()
    by_role = await mfa.summary(uow, c.config, caller.scope, group_by="role", lang=lang)
    by_school = await mfa.summary(uow, c.config, caller.scope, group_by="school,role", lang=lang)
    trend = await mfa.trend(uow, c.config, caller.scope, start=None, end=None, today=today, group_by="role")
    missing = await mfa.users_without_mfa(uow, c.config, caller.scope, role="staff", limit=UNREGISTERED_ON_PAGE)
    shares: dict[str, dict[date, float | None]] = defaultdict(dict)
    for p in trend.points:
        if p.role:
            shares[p.role][p.date] = p.capable_share
    chart = trend_chart(trend.start, trend.end, shares, by_role.targets, ROLES)
    trend_days = sorted({p.date for p in trend.points})
    names = {f"{m.key}/{s.key}": s.name for m in c.config.region.municipalities for s in m.schools}
    munis = {
        m.key: m.name
        for m in c.config.region.municipalities
        if any(p.split("/", 1)[0] == m.key for p in caller.scope.schools)
    }
    return render(
        request,
        "admin_mfa.html",
        summary=by_role,
        roles={r.role: r for r in by_role.rows if r.role},
        schools=_by_school(by_school.rows),
        school_names=names,
        municipality_names=munis,
        chart=chart,
        trend_days=trend_days,
        shares=shares,
        missing=missing,
        page_size=UNREGISTERED_ON_PAGE,
        show_roles=ROLES,
    )


@router.get("/admin/mfa/unregistered.csv", name="admin_mfa_csv")
async def mfa_unregistered_csv(caller: AdminDep, c: WebContainer) -> Response:
    """The same CSV as ``GET /v1/mfa/users?role=staff&format=csv`` (same service, same columns)."""
    page = await mfa.users_without_mfa(c.uow(), c.config, caller.scope, role="staff", limit=CSV_MAX_ROWS)
    return csv_response(mfa_schemas.USER_COLUMNS, mfa_schemas.users_csv_rows(page.items), "mfa-users.csv")


# ----------------------------------------------------------------------------------------- coverage


async def _coverage_view(c: Container, caller: Caller) -> dict[str, Any] | None:
    """The latest report cut to ``caller``'s scope, or None before the first report."""
    try:
        return await coverage.view(c.uow(), caller)
    except NotFound:
        return None


@router.get("/admin/single-login", name="admin_coverage")
async def coverage_page(request: Request, caller: AdminDep, c: WebContainer) -> Response:
    view = await _coverage_view(c, caller)
    return render(request, "admin_coverage.html", v=view)


@router.get("/admin/single-login/report", name="admin_coverage_report")
async def coverage_report(request: Request, caller: AdminDep, c: WebContainer) -> Response:
    """The coverage package's own HTML report, for the signed-in admin's scope."""
    view = await _coverage_view(c, caller)
    if view is None:
        raise NotFound()
    # That page carries its own inline <style>; allow it there and nowhere else.
    web(request).extra_headers["Content-Security-Policy"] = CSP.replace(
        "style-src 'self'", "style-src 'self' 'unsafe-inline'"
    )
    return HTMLResponse(render_coverage(view, web(request).lang))


@router.get("/admin/single-login/report.csv", name="admin_coverage_csv")
async def coverage_csv(caller: AdminDep, c: WebContainer) -> Response:
    view = await _coverage_view(c, caller)
    if view is None:
        raise NotFound()
    return csv_response(coverage.CSV_COLUMNS, coverage.csv_rows(view), f"single-login-{view['report_date']}.csv")


# ----------------------------------------------------------------------------------------- substitutes


@router.get("/admin/substitutes", name="admin_substitutes")
async def all_substitutes(
    request: Request,
    caller: AdminDep,
    c: WebContainer,
    school: Annotated[str, Query(max_length=81)] = "",
    status: Annotated[str, Query(max_length=20)] = "",
    cursor: Annotated[str, Query(max_length=512)] = "",
) -> Response:
    statuses = [s.value for s in Status]
    page = await views.list_page(
        c.uow(),
        caller,
        school=school or None,
        status=[status] if status in statuses else None,
        active_on=None,
        person_id=None,
        cursor=cursor or None,
        limit=c.config.settings.api.default_page_size,
    )
    names = {f"{m.key}/{s.key}": s.name for m in c.config.region.municipalities for s in m.schools}
    visible = [(p, names.get(p, p)) for p in sorted(caller.scope.schools)]
    return render(
        request,
        "admin_substitutes.html",
        page=page,
        school=school,
        status_filter=status,
        statuses=statuses,
        schools=visible,
        names=names,
        cursor=cursor,
    )


# ----------------------------------------------------------------------------------------- jobs


@router.get("/admin/jobs", name="admin_jobs")
async def jobs_page(request: Request, caller: AdminDep, c: WebContainer) -> Response:
    last = await runner.last_runs(c)
    upcoming = next_runs(c, c.clock.now())
    jobs = [
        {"name": n, "description": spec.description, "last": last.get(n), "next": upcoming.get(n)}
        for n, spec in c.jobs.items()
    ]
    return render(request, "admin_jobs.html", jobs=jobs)


@router.post("/admin/jobs/{name}/run")
async def run_job_now(request: Request, name: str, caller: AdminDep, c: WebContainer) -> Response:
    """Start a run in the background (like ``POST /v1/jobs/{name}/run?wait=false``)."""
    if name not in c.jobs:
        raise NotFound()
    run = await runner.start_run(c, name, trigger="web", requested_by=caller.actor)
    task = asyncio.create_task(runner.run_job(c, name, trigger="web", run=run))
    _background.add(task)
    task.add_done_callback(_background.discard)
    sess.flash(web(request).session, text(web(request).lang, "run_started", name=name))
    return RedirectResponse("/admin/jobs", status_code=303)


# ----------------------------------------------------------------------------------------- region


@router.get("/admin/region", name="admin_region")
async def region_page(request: Request, caller: RegionAdminDep, c: WebContainer) -> Response:
    lang = web(request).lang
    by_muni = await mfa.summary(c.uow(), c.config, caller.scope, group_by="municipality,role", lang=lang)
    view = await _coverage_view(c, caller)
    munis: dict[str, dict[str, Any]] = {
        m.key: {"key": m.key, "name": m.name, "roles": {}, "coverage": None} for m in c.config.region.municipalities
    }
    for r in by_muni.rows:
        if r.municipality in munis and r.role:
            munis[r.municipality]["roles"][r.role] = r
    for m in (view or {}).get("municipalities", []):
        if m["key"] in munis:
            munis[m["key"]]["coverage"] = m["numbers"]
    return render(
        request, "admin_region.html", municipalities=list(munis.values()), summary=by_muni, v=view, show_roles=ROLES
    )
