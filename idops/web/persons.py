"""The IT admins' page of one substitute person: their data, when retention removes it, the download of
everything held (right of access), erasure and the legal hold. Reached from the municipality's list
of substitutes (``/admin/substitutes``) and from a substitute's page.

Every action calls ``idops.substitutes.rights`` — the API's own service — with the session's caller,
so scope (404 outside the admin's municipality), refusals and audit events are the API's.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from idops.auth.scope import Caller
from idops.container import Container
from idops.substitutes import rights
from idops.substitutes.models import LIVE
from idops.substitutes.schemas import ErasureIn, PersonDetail
from idops.web.guards import AdminDep, WebContainer
from idops.web.render import act_then_back, render, web
from idops.web.routing import PageRoute
from idops.web.texts import text

router = APIRouter(route_class=PageRoute, include_in_schema=False)


def _school_names(c: Container) -> dict[str, str]:
    return {f"{m.key}/{s.key}": s.name for m in c.config.region.municipalities for s in m.schools}


def _name(lang: str, person: PersonDetail) -> str:
    if person.scrubbed_at is not None:
        return text(lang, "person_scrubbed_name")
    return person.display_name or f"{person.given_name} {person.surname}"


def _crumbs(caller: Caller, lang: str, *tail: tuple[str | None, str]) -> list[tuple[str | None, str]]:
    """Admins come here from their list of the municipality's (or region's) substitutes."""
    top = "nav_region_substitutes" if caller.scope.role == "RegionAdmin" else "nav_admin_substitutes"
    return [("/admin/substitutes", text(lang, top)), *tail]


async def _person_page(request: Request, c: Container, caller: Caller, pid: str, *,
                       hold_error: str | None = None, status: int = 200) -> Response:
    person = await rights.detail(c.uow(), c, caller, pid)
    lang = web(request).lang
    municipality = c.config.region.municipality(person.municipality)
    return render(
        request,
        "person.html",
        status=status,
        crumbs=_crumbs(caller, lang, (None, _name(lang, person))),
        p=person,
        name=_name(lang, person),
        names=_school_names(c),
        open_periods=[s for s in person.periods if s.status in LIVE],
        retention_days=c.config.policy_for(municipality, None).retention_days if municipality else None,
        hold_error=hold_error,
    )


@router.get("/admin/persons/{pid}", name="admin_person")
async def person_page(request: Request, pid: str, caller: AdminDep, c: WebContainer) -> Response:
    return await _person_page(request, c, caller, pid)


@router.get("/admin/persons/{pid}/export.json", name="admin_person_export")
async def person_export(pid: str, caller: AdminDep, c: WebContainer) -> Response:
    """The same JSON as ``GET /v1/substitute-persons/{id}/export`` (same service, audited there)."""
    out = await rights.export(c.uow(), c, caller, pid)
    return JSONResponse(out.model_dump(mode="json"), headers={
        "Cache-Control": "no-store",
        "Content-Disposition": f'attachment; filename="idops-person-{out.person.id}.json"',
    })


@router.post("/admin/persons/{pid}/hold")
async def set_hold(request: Request, pid: str, caller: AdminDep, c: WebContainer) -> Response:
    lang = web(request).lang
    reason = str((await request.form()).get("reason", "")).strip()
    if not reason or len(reason) > 200:
        return await _person_page(request, c, caller, pid, hold_error=text(lang, "person_hold_reason_error"),
                                  status=422)
    return await act_then_back(request, rights.set_legal_hold(c.uow(), c, caller, pid, reason),
                               "person_hold_set_ok", f"/admin/persons/{pid}")


@router.post("/admin/persons/{pid}/hold/lift")
async def lift_hold(request: Request, pid: str, caller: AdminDep, c: WebContainer) -> Response:
    return await act_then_back(request, rights.lift_legal_hold(c.uow(), c, caller, pid),
                               "person_hold_lifted_ok", f"/admin/persons/{pid}")


@router.get("/admin/persons/{pid}/erase", name="admin_person_erase")
async def erase_confirm(request: Request, pid: str, caller: AdminDep, c: WebContainer) -> Response:
    person = await rights.detail(c.uow(), c, caller, pid)
    if person.scrubbed_at is not None:
        return RedirectResponse(f"/admin/persons/{pid}", status_code=303)
    lang = web(request).lang
    return render(
        request,
        "erase_confirm.html",
        crumbs=_crumbs(caller, lang, (f"/admin/persons/{pid}", _name(lang, person)),
                       (None, text(lang, "erase_title"))),
        p=person,
        name=_name(lang, person),
        names=_school_names(c),
        open_periods=[s for s in person.periods if s.status in LIVE],
    )


@router.post("/admin/persons/{pid}/erase")
async def erase(request: Request, pid: str, caller: AdminDep, c: WebContainer) -> Response:
    """Refusals (legal hold, open periods not confirmed, provisioning) come back as a message on the
    person's page; a Graph failure is the app's error page (nothing was erased; retry)."""
    confirmed = (await request.form()).get("end_open_periods") == "yes"
    return await act_then_back(request, rights.erase(c.uow(), c, caller, pid, ErasureIn(end_open_periods=confirmed)),
                               "erased_ok", f"/admin/persons/{pid}")
