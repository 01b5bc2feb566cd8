"""``POST /v1/me/sessions/end-all``: "sign out everywhere" for the caller's page sessions — every browser
where they are signed in to the pages is signed out at its next request."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter

from idops.api.deps import CallerDep, UowDep
from idops.sessions import service
from idops.sessions.schemas import SessionsEnded

router = APIRouter(prefix="/v1/me", tags=["sessions"])


@router.post("/sessions/end-all", response_model=SessionsEnded)
async def end_all_sessions(uow: UowDep, caller: CallerDep) -> SessionsEnded:
    """End every page session of the caller (same tenant and object id as the bearer token), in every
    browser. Bearer tokens themselves are Entra's and live until they expire."""
    return SessionsEnded(ended=await service.end_all(uow, caller.tid, caller.oid, datetime.now(UTC)))
