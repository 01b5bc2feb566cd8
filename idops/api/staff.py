"""``POST /v1/staff/{user_id}/access-pass``: the MFA helpdesk's Temporary Access Pass for a staff member."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from idops.api.deps import AdminDep, ContainerDep, UowDep
from idops.mfa import helpdesk
from idops.mfa.schemas import StaffAccessPassIn, StaffAccessPassOut

router = APIRouter(tags=["mfa"])

PROBLEMS: dict[int | str, dict[str, Any]] = {
    403: {"description": "Not an admin, or the user is not staff (pupils, substitutes and admins are refused)"},
    404: {"description": "No such user in your municipalities"}, 409: {}, 422: {}, 429: {}, 503: {},
}


@router.post("/v1/staff/{user_id}/access-pass", response_model=StaffAccessPassOut, responses=PROBLEMS,
             summary="Issue a staff member a Temporary Access Pass to register MFA again (returned once)")
async def issue_staff_access_pass(
    user_id: str, body: StaffAccessPassIn, c: ContainerDep, uow: UowDep, caller: AdminDep
) -> JSONResponse:
    await c.rate_limits.check("staff_access_pass", caller.actor, c.config.settings.api.staff_tap_rate_per_hour)
    issued = await helpdesk.issue_staff_access_pass(uow, c, caller, user_id, body.reason)
    out = StaffAccessPassOut(
        user_id=issued.member.user_id, user_principal_name=issued.member.user_principal_name,
        display_name=issued.member.display_name,
        temporary_access_pass=issued.access_pass.code, valid_from=issued.access_pass.start_date_time,
        valid_until=issued.valid_until, is_usable_once=issued.access_pass.is_usable_once,
    )
    return JSONResponse(out.model_dump(mode="json"), headers={"Cache-Control": "no-store", "Pragma": "no-cache"})
