"""Ending page sessions ("sign out everywhere") through the API: ``POST /v1/me/sessions/end-all`` for the
caller's own, ``POST /v1/users/{tid}/{oid}/sessions/end-all`` for a region admin ending anyone's (a lost
phone, a departed employee; recorded in the audit trail). Every browser where they are signed in to the
pages is signed out at its next request. Bearer tokens are Entra's and live until they expire."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from fastapi import APIRouter

from idops.api.deps import CallerDep, RegionAdminDep, UowDep
from idops.sessions import service
from idops.sessions.schemas import SessionsEnded

router = APIRouter(prefix="/v1", tags=["sessions"])


@router.post("/me/sessions/end-all", response_model=SessionsEnded)
async def end_all_sessions(uow: UowDep, caller: CallerDep) -> SessionsEnded:
    """End every page session of the caller (same tenant and object id as the bearer token), in every
    browser."""
    return SessionsEnded(ended=await service.end_all(uow, caller.tid, caller.oid, datetime.now(UTC)))


@router.post("/users/{tid}/{oid}/sessions/end-all", response_model=SessionsEnded)
async def end_all_sessions_of_user(tid: UUID, oid: UUID, uow: UowDep, caller: RegionAdminDep) -> SessionsEnded:
    """Region admins only: end every page session of the user ``oid`` of tenant ``tid``, in every
    browser. Recorded in the audit trail."""
    ended = await service.end_all(uow, str(tid), str(oid), datetime.now(UTC), by=caller.actor)
    return SessionsEnded(ended=ended)
