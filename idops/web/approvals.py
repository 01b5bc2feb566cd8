"""The IT admins' approvals page (``/admin/approvals``): requests over a limit waiting for a decision,
each approved or denied in place — the same services as ``/v1/approvals``."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from idops.kit.errors import Conflict, NotFound
from idops.substitutes import approvals, views
from idops.substitutes.models import Status
from idops.web import session as sess
from idops.web.guards import AdminDep, WebContainer
from idops.web.render import render, web
from idops.web.routing import PageRoute
from idops.web.texts import text

router = APIRouter(route_class=PageRoute, include_in_schema=False)

PAGE = "/admin/approvals"


@router.get(PAGE, name="admin_approvals")
async def approvals_page(request: Request, caller: AdminDep, c: WebContainer) -> Response:
    page = await views.list_page(
        c.uow(), caller, school=None, status=[Status.AWAITING_APPROVAL.value], active_on=None, person_id=None,
        cursor=None, limit=c.config.settings.api.max_page_size,
    )
    names = {f"{m.key}/{s.key}": s.name for m in c.config.region.municipalities for s in m.schools}
    return render(request, "admin_approvals.html", page=page, names=names)


@router.post(PAGE + "/{sid}/{decision}")
async def decide(request: Request, sid: str, decision: str, caller: AdminDep, c: WebContainer) -> Response:
    """Approve (optional reason) or deny (a reason of 3–500 characters); the outcome as a flash message."""
    w = web(request)
    reason = str((await request.form()).get("reason") or "").strip()
    try:
        if decision == "approve":
            await approvals.approve(c.uow(), c, caller, sid, reason or None)
        elif decision == "deny" and 3 <= len(reason) <= 500:
            await approvals.deny(c.uow(), c, caller, sid, reason)
        elif decision == "deny":
            sess.flash(w.session, text(w.lang, "approval_reason_missing"), "error")
            return RedirectResponse(PAGE, status_code=303)
        else:
            raise NotFound()
    except Conflict as exc:
        sess.flash(w.session, (exc.detail or exc.title).in_language(w.lang), "error")
        return RedirectResponse(PAGE, status_code=303)
    sess.flash(w.session, text(w.lang, "approved_ok" if decision == "approve" else "denied_ok"))
    return RedirectResponse(PAGE, status_code=303)
