"""The MFA dashboard: for IT and region admins their municipalities (``/admin/mfa``), for a principal
their school (``/schools/{municipality}/{school}/mfa``) — the same page, the same service calls as
``GET /v1/mfa/summary``, ``/trend`` and ``/users`` with the caller's ``Scope``, so a page and the API
for the same caller agree by construction.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from idops.auth.scope import Caller
from idops.container import Container
from idops.kit.errors import Conflict
from idops.kit.formats import Dialect, DialectQuery, csv_response
from idops.mfa import helpdesk
from idops.mfa import schemas as mfa_schemas
from idops.mfa import service as mfa
from idops.web import session as sess
from idops.web.charts import trend_chart
from idops.web.guards import AdminDep, UserDep, WebContainer
from idops.web.render import render, web
from idops.web.routing import PageRoute
from idops.web.substitutes import landing, overdue_for, school_of
from idops.web.texts import code_groups, method_label, text

router = APIRouter(route_class=PageRoute, include_in_schema=False)

UNREGISTERED_ON_PAGE = 50
CSV_MAX_ROWS = 10_000
ROLES = ("staff", "pupil")


def _by_school(rows: list[mfa_schemas.SummaryRow]) -> list[dict[str, Any]]:
    """School × role rows pivoted to one row per school, ordered by municipality and school."""
    schools: dict[str, dict[str, Any]] = {}
    for r in rows:
        if r.school is None or r.role is None:
            continue
        entry = schools.setdefault(r.school, {"path": r.school, "municipality": r.municipality, "roles": {}})
        entry["roles"][r.role] = r
    return [schools[k] for k in sorted(schools)]


async def _dashboard(request: Request, c: Container, caller: Caller, school: str | None) -> Response:
    """The page for everything ``caller`` sees, or for one ``school`` of theirs."""
    lang = web(request).lang
    today = mfa.snapshot_day(c.clock.now())
    uow = c.uow()
    now = c.clock.now()
    by_role = await mfa.summary(uow, c.config, caller.scope, school=school, group_by="role", lang=lang, now=now)
    by_school = await mfa.summary(
        uow, c.config, caller.scope, school=school, group_by="school,role", lang=lang, now=now
    )
    by_muni = (
        await mfa.summary(uow, c.config, caller.scope, group_by="municipality", lang=lang, now=now)
        if school is None
        else None
    )
    trend = await mfa.trend(
        uow, c.config, caller.scope, start=None, end=None, today=today, school=school, group_by="role"
    )
    missing = await mfa.users_without_mfa(
        uow, c.config, caller.scope, school=school, role="staff", limit=UNREGISTERED_ON_PAGE
    )
    shares: dict[str, dict[date, float | None]] = defaultdict(dict)
    for p in trend.points:
        if p.role:
            shares[p.role][p.date] = p.capable_share
    names = {f"{m.key}/{sc.key}": sc.name for m in c.config.region.municipalities for sc in m.schools}
    munis = {
        m.key: m.name
        for m in c.config.region.municipalities
        if any(p.split("/", 1)[0] == m.key for p in caller.scope.schools)
    }
    all_munis = {m.key: m.name for m in c.config.region.municipalities}
    base = f"/schools/{school}/mfa" if school else "/admin/mfa"
    return render(
        request,
        "mfa.html",
        crumbs=[(f"/schools/{school}", names[school]), (None, text(lang, "nav_mfa"))] if school else None,
        school_name=names[school] if school else None,
        summary=by_role,
        roles={r.role: r for r in by_role.rows if r.role},
        schools=_by_school(by_school.rows),
        school_names=names,
        municipality_names=munis,
        municipality_label=lambda key: all_munis.get(key, key),
        sources=by_muni.rows if by_muni else [],
        chart=trend_chart(trend.start, trend.end, shares, by_role.targets, ROLES),
        trend_days=sorted({p.date for p in trend.points}),
        shares=shares,
        missing=[
            {
                "name": u.display_name,
                "upn": u.user_principal_name,
                "school": names.get(u.school or "", "–"),
                "methods": ", ".join(method_label(lang, m) for m in u.methods_registered) or "–",
                "code_href": f"/admin/mfa/staff/{u.user_id}" if caller.scope.is_admin else None,
            }
            for u in missing.items
        ],
        page_size=UNREGISTERED_ON_PAGE,
        show_roles=ROLES,
        csv_href=f"{base}/unregistered.csv",
        overdue=await overdue_for(c, caller) if school is None else [],
    )


async def _unregistered_csv(c: Container, caller: Caller, school: str | None, dialect: Dialect) -> Response:
    """The same CSV as ``GET /v1/mfa/users?role=staff&format=csv`` (same service, same columns)."""
    page = await mfa.users_without_mfa(c.uow(), c.config, caller.scope, school=school, role="staff", limit=CSV_MAX_ROWS)
    return csv_response(mfa_schemas.USER_COLUMNS, mfa_schemas.users_csv_rows(page.items), "mfa-users.csv", dialect)


@router.get("/mfa", name="mfa_home")
async def mfa_home(request: Request, caller: UserDep, c: WebContainer) -> Response:
    """The menu's "MFA": admins' dashboard; a principal's school (or the choice of their schools)."""
    return landing(request, c, caller, "/mfa")


@router.get("/admin/mfa", name="admin_mfa")
async def admin_dashboard(request: Request, caller: AdminDep, c: WebContainer) -> Response:
    return await _dashboard(request, c, caller, None)


@router.get("/admin/mfa/unregistered.csv", name="admin_mfa_csv")
async def admin_unregistered_csv(caller: AdminDep, c: WebContainer, dialect: DialectQuery = "powerbi") -> Response:
    return await _unregistered_csv(c, caller, None, dialect)


@router.get("/schools/{municipality}/{school}/mfa", name="school_mfa")
async def school_dashboard(request: Request, municipality: str, school: str, caller: UserDep, c: WebContainer
                           ) -> Response:
    path, _ = school_of(c, caller, municipality, school)
    return await _dashboard(request, c, caller, path)


@router.get("/schools/{municipality}/{school}/mfa/unregistered.csv", name="school_mfa_csv")
async def school_unregistered_csv(
    municipality: str, school: str, caller: UserDep, c: WebContainer, dialect: DialectQuery = "powerbi"
) -> Response:
    path, _ = school_of(c, caller, municipality, school)
    return await _unregistered_csv(c, caller, path, dialect)


def _staff_page(
    request: Request,
    c: Container,
    member: helpdesk.StaffMember,
    status: int = 200,
    issued: helpdesk.StaffPass | None = None,
    **ctx: Any,
) -> Response:
    """The form (``issued`` None: ``once``, ``reason``, ``errors``, ``service_error``) or the code shown once."""
    lang = web(request).lang
    names = {f"{m.key}/{sc.key}": sc.name for m in c.config.region.municipalities for sc in m.schools}
    return render(
        request, "staff_code.html", status,
        crumbs=[("/admin/mfa", text(lang, "nav_mfa")), (None, text(lang, "staff_code_title"))],
        member=member, school_name=names.get(member.school, member.school),
        action=f"/admin/mfa/staff/{member.user_id}", issued=issued, **ctx,
    )


async def _one_shot(c: Container, request: Request) -> str | None:
    """The form's one-shot token: a reloaded POST of a shown code finds it spent."""
    page = web(request).page_session
    return await sess.issue_one_shot(c, page, "staff_code") if page is not None else None


@router.get("/admin/mfa/staff/{user_id}", name="staff_code_form")
async def staff_code_form(request: Request, user_id: str, caller: AdminDep, c: WebContainer) -> Response:
    """The helpdesk form: who, and a reason. Refusals (404, 403) before anything is shown."""
    member = await helpdesk.staff_member(c.uow(), c.config, caller, user_id)
    once = await _one_shot(c, request)
    return _staff_page(request, c, member, once=once, reason="", errors={}, service_error=None)


@router.post("/admin/mfa/staff/{user_id}")
async def staff_code(request: Request, user_id: str, caller: AdminDep, c: WebContainer) -> Response:
    """Issue the pass (``POST /v1/staff/{user_id}/access-pass``'s service and rate limit) and show it in
    this response only; a reloaded POST finds its one-shot token spent and goes back to the form."""
    w = web(request)
    member = await helpdesk.staff_member(c.uow(), c.config, caller, user_id)
    form = await request.form()
    reason = str(form.get("reason") or "").strip()
    if w.page_session is None or not await sess.spend_one_shot(c, w.page_session, "staff_code", form.get("once")):
        sess.flash(w.session, text(w.lang, "code_already_shown"), "info")
        return RedirectResponse(f"/admin/mfa/staff/{member.user_id}", status_code=303)
    if not 3 <= len(reason) <= 500:
        errors = {"reason": text(w.lang, "staff_code_reason_missing")}
        return _staff_page(request, c, member, 422, errors=errors, service_error=None,
                           once=await _one_shot(c, request), reason=reason)
    await c.rate_limits.check("staff_access_pass", caller.actor, c.config.settings.api.staff_tap_rate_per_hour)
    try:
        issued = await helpdesk.issue_staff_access_pass(c.uow(), c, caller, member.user_id, reason)
    except Conflict as exc:
        message = (exc.detail or exc.title).in_language(w.lang)
        return _staff_page(request, c, member, 409, errors={}, service_error=message,
                           once=await _one_shot(c, request), reason=reason)
    w.extra_headers.update({"Cache-Control": "no-store", "Pragma": "no-cache"})
    return _staff_page(request, c, member, issued=issued, groups=code_groups(issued.access_pass.code))
