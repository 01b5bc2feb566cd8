"""``/v1/substitute-persons/{id}``: a person's data for the IT admins of their municipality — read it,
export it (the data subject's right of access), erase it, hold it. Thin handlers; the rules are
``idops.substitutes.rights``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse

from idops.api.deps import CallerDep, ContainerDep, UowDep
from idops.substitutes import rights
from idops.substitutes.schemas import ErasureIn, ErasureOut, LegalHoldIn, PersonDetail, PersonExport

router = APIRouter(tags=["substitute persons"])

PROBLEMS: dict[int | str, dict[str, Any]] = {
    404: {"description": "Not found, or not a person of a municipality you administer"},
    409: {"description": "Refused: a legal hold, open substitutions, or provisioning in progress"},
    502: {}, 503: {},
}
PersonId = Annotated[str, Path(max_length=36)]


@router.get("/v1/substitute-persons/{person_id}", response_model=PersonDetail, responses=PROBLEMS,
            summary="A substitute person, their periods and when retention removes their data (IT admins)")
async def get_person(person_id: PersonId, c: ContainerDep, uow: UowDep, caller: CallerDep) -> PersonDetail:
    return await rights.detail(uow, c, caller, person_id)


@router.get("/v1/substitute-persons/{person_id}/export", response_model=PersonExport, responses=PROBLEMS,
            summary="Everything idops holds about the person, as JSON (right of access; audited)")
async def export_person(person_id: PersonId, c: ContainerDep, uow: UowDep, caller: CallerDep) -> JSONResponse:
    out = await rights.export(uow, c, caller, person_id)
    return JSONResponse(out.model_dump(mode="json"), headers={
        "Cache-Control": "no-store",
        "Content-Disposition": f'attachment; filename="idops-person-{out.person.id}.json"',
    })


@router.post("/v1/substitute-persons/{person_id}/erase", response_model=ErasureOut, responses=PROBLEMS,
             summary="Erase the person now: end open periods (if confirmed), delete the account, scrub (audited)")
async def erase_person(
    person_id: PersonId, c: ContainerDep, uow: UowDep, caller: CallerDep, body: ErasureIn | None = None
) -> ErasureOut:
    return await rights.erase(uow, c, caller, person_id, body or ErasureIn())


@router.put("/v1/substitute-persons/{person_id}/legal-hold", response_model=PersonDetail, responses=PROBLEMS,
            summary="Put the person's data under a legal hold: no deletion, no scrubbing, no erasure")
async def set_hold(person_id: PersonId, body: LegalHoldIn, c: ContainerDep, uow: UowDep,
                   caller: CallerDep) -> PersonDetail:
    return await rights.set_legal_hold(uow, c, caller, person_id, body.reason)


@router.delete("/v1/substitute-persons/{person_id}/legal-hold", response_model=PersonDetail, responses=PROBLEMS,
               summary="Lift the legal hold; retention resumes")
async def lift_hold(person_id: PersonId, c: ContainerDep, uow: UowDep, caller: CallerDep) -> PersonDetail:
    return await rights.lift_legal_hold(uow, c, caller, person_id)
