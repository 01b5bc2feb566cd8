"""IT admin and region admin pages: single-login coverage, the municipality's substitutes, job status,
and (region admins) the municipality comparison. The MFA dashboard is ``idops.web.mfa``.

Numbers come from the MFA and coverage services with the caller's ``Scope`` — the same calls
the API makes — so a page and ``GET /v1/…`` for the same caller agree by construction.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import RedirectResponse, Response

from idops.auth.scope import Caller
from idops.container import Container
from idops.coverage import service as coverage
from idops.jobruntime import runner
from idops.jobruntime.scheduler import next_runs
from idops.kit.errors import NotFound
from idops.kit.formats import DialectQuery, csv_response
from idops.kit.i18n import fi_genitive
from idops.mfa import service as mfa
from idops.substitutes import drift, views
from idops.substitutes.models import Status
from idops.web import session as sess
from idops.web.guards import AdminDep, RegionAdminDep, WebContainer
from idops.web.mfa import ROLES
from idops.web.render import render, web
from idops.web.reports import headline_explained, report_page
from idops.web.routing import PageRoute
from idops.web.substitutes import overdue_for
from idops.web.texts import actor_label, event_label, job_label, text

router = APIRouter(route_class=PageRoute, include_in_schema=False)


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
    explained = headline_explained(web(request).lang, view) if view else []
    return render(request, "admin_coverage.html", v=view, explained=explained)


@router.get("/admin/single-login/report", name="admin_coverage_report")
async def coverage_report(request: Request, caller: AdminDep, c: WebContainer) -> Response:
    """The full report in the site's layout (the same page the API answers with ``?format=html``)."""
    view = await _coverage_view(c, caller)
    if view is None:
        raise NotFound()
    return report_page(request, view)


@router.get("/admin/single-login/report.csv", name="admin_coverage_csv")
async def coverage_csv(caller: AdminDep, c: WebContainer, dialect: DialectQuery = "powerbi") -> Response:
    view = await _coverage_view(c, caller)
    if view is None:
        raise NotFound()
    return csv_response(
        coverage.CSV_COLUMNS, coverage.csv_rows(view), f"single-login-{view['report_date']}.csv", dialect
    )


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
        title_key="region_substitutes_title" if caller.scope.role == "RegionAdmin" else "admin_substitutes_title",
        overdue=await overdue_for(c, caller),
    )


# ----------------------------------------------------------------------------------------- drift


def _owners(c: Container) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Substitute group id → the names of the schools it serves; licence SKU id → likewise."""
    groups: dict[str, list[str]] = {}
    skus: dict[str, list[str]] = {}
    for m in c.config.region.municipalities:
        for s in m.schools:
            for gid in s.substitute_group_ids:
                groups.setdefault(gid, []).append(s.name)
            for sku in s.licence_sku_ids:
                skus.setdefault(sku, []).append(s.name)
    return groups, skus


@router.get("/admin/drift", name="admin_drift")
async def drift_page(
    request: Request, caller: AdminDep, c: WebContainer, cursor: Annotated[str, Query(max_length=512)] = ""
) -> Response:
    """The orphans and corrections of ``GET /v1/drift``, in words."""
    lang = web(request).lang
    view = await drift.drift(c.uow(), caller, cursor=cursor or None, limit=c.config.settings.api.default_page_size)
    groups, skus = _owners(c)
    municipalities = {m.key: m.name for m in c.config.region.municipalities}

    def concerns(group_id: str | None, sku_id: str | None) -> str:
        kind, schools = ("group", groups.get(group_id, [])) if group_id else ("licence", skus.get(sku_id or "", []))
        if not (group_id or sku_id) or not schools:
            return "–"
        if len(schools) > 1:
            return text(lang, f"drift_{kind}_many", n=len(schools))
        return text(lang, f"drift_{kind}_of", school=schools[0], school_gen=fi_genitive(schools[0]))

    corrections = [
        {
            "at": item.at,
            "account": item.user_principal_name or "–",
            "change": event_label(lang, item.action),
            "concerns": concerns(item.group_id, item.sku_id),
            "actor": actor_label(lang, item.actor),
        }
        for item in view.items
    ]
    orphans = [
        {
            "upn": o.user_principal_name,
            "municipality": municipalities.get(o.municipality or "", text(lang, "unknown_municipality")),
            "first_seen": o.first_seen_at,
            "disabled": o.disabled_at,
        }
        for o in view.orphans
    ]
    return render(request, "admin_drift.html", orphans=orphans, corrections=corrections, next=view.next,
                  cursor=cursor)


# ----------------------------------------------------------------------------------------- jobs


@router.get("/admin/jobs", name="admin_jobs")
async def jobs_page(request: Request, caller: AdminDep, c: WebContainer) -> Response:
    lang = web(request).lang
    limit = caller.scope.job_limit
    last = await runner.last_runs(c, municipalities=limit)
    running = await runner.running_jobs(c, municipalities=limit)
    upcoming = next_runs(c, c.clock.now())
    jobs = [
        {
            "name": n,
            "label": job_label(lang, n),
            "description": text(lang, f"job_{n}_desc"),
            "last": last.get(n),
            "next": upcoming.get(n),
            "running": running.get(n),
            "can_run": c.jobs[n].may_run(limit),  # a job with a region-wide step needs RegionAdmin
        }
        for n in c.jobs
    ]
    return render(request, "admin_jobs.html", jobs=jobs, overdue=await overdue_for(c, caller),
                  limited=limit is not None)


@router.post("/admin/jobs/{name}/run")
async def run_job_now(request: Request, name: str, caller: AdminDep, c: WebContainer) -> Response:
    """Start a run in the background (like ``POST /v1/jobs/{name}/run?wait=false``); an IT admin's run is
    limited to their municipalities."""
    if name not in c.jobs:
        raise NotFound()
    lang = web(request).lang
    try:
        run = await runner.start_run(c, name, trigger="web", requested_by=caller.actor,
                                     municipalities=caller.scope.job_limit)
    except runner.RegionOnly:
        sess.flash(web(request).session, text(lang, "run_region_only", name=job_label(lang, name)))
        return RedirectResponse("/admin/jobs", status_code=303)
    except runner.LeaseHeld:
        sess.flash(web(request).session, text(lang, "run_already_running", name=job_label(lang, name)))
        return RedirectResponse("/admin/jobs", status_code=303)
    runner.run_in_background(c, name, trigger="web", run=run)
    sess.flash(web(request).session, text(lang, "run_started", name=job_label(lang, name)))
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
