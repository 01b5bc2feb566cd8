"""``/v1/approvals``: requests over a limit awaiting an IT admin's decision (thin handlers)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from idops.api.deps import AdminDep, ContainerDep, UowDep
from idops.substitutes import approvals, views
from idops.substitutes.models import Status
from idops.substitutes.schemas import Decision, Denial, SubstituteList, SubstituteOut

router = APIRouter(tags=["approvals"])

PROBLEMS: dict[int | str, dict[str, Any]] = {
    403: {"description": "Not an IT or region admin"},
    404: {"description": "Not found, or not in your municipalities"}, 409: {"description": "Already decided"},
    422: {}, 503: {},
}


@router.get("/v1/approvals", response_model=SubstituteList, responses=PROBLEMS,
            summary="Requests awaiting approval in your municipalities (region admins: all), newest first")
async def list_approvals(
    c: ContainerDep, uow: UowDep, caller: AdminDep,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    limit_: Annotated[int, Query(alias="limit", ge=1, le=200)] = 50,
) -> SubstituteList:
    return await views.list_page(
        uow, caller, school=None, status=[Status.AWAITING_APPROVAL.value], active_on=None, person_id=None,
        cursor=cursor, limit=min(limit_, c.config.settings.api.max_page_size),
    )


@router.post("/v1/approvals/{substitute_id}/approve", response_model=SubstituteOut, responses=PROBLEMS,
             summary="Approve: provisioning continues as for any request")
async def approve(substitute_id: str, c: ContainerDep, uow: UowDep, caller: AdminDep,
                  body: Decision | None = None) -> SubstituteOut:
    await approvals.approve(uow, c, caller, substitute_id, body.reason if body else None)
    return await views.get_one(uow, caller, substitute_id)


@router.post("/v1/approvals/{substitute_id}/deny", response_model=SubstituteOut, responses=PROBLEMS,
             summary="Deny with a reason the principal sees")
async def deny(substitute_id: str, body: Denial, c: ContainerDep, uow: UowDep, caller: AdminDep) -> SubstituteOut:
    await approvals.deny(uow, c, caller, substitute_id, body.reason)
    return await views.get_one(uow, caller, substitute_id)
