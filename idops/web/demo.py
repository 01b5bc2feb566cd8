"""Demo only: the clock page. Moves the service's ``ShiftedClock`` forward and runs the lifecycle
jobs, so a scheduled substitution can start (and end) at once. Outside demo every route is 404.
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from idops.container import Container
from idops.jobruntime import runner
from idops.kit.clock import ShiftedClock
from idops.kit.errors import NotFound
from idops.web import session as sess
from idops.web.guards import UserDep, WebContainer
from idops.web.render import render, web
from idops.web.routing import PageRoute
from idops.web.texts import text

router = APIRouter(route_class=PageRoute, include_in_schema=False)
MAX_HOURS = 2400.0
LIFECYCLE = ("activate", "expire")


def demo_clock(c: Container) -> ShiftedClock:
    """The container's clock, when this is a demo with a movable clock; else 404."""
    if not (c.config.settings.demo and sess.is_demo_auth(c) and isinstance(c.clock, ShiftedClock)):
        raise NotFound()
    return c.clock


@router.get("/_demo/clock", name="demo_clock")
async def clock_page(request: Request, caller: UserDep, c: WebContainer) -> Response:
    clock = demo_clock(c)
    return render(request, "demo_clock.html", now=clock.now(), offset_hours=clock.offset.total_seconds() / 3600)


@router.post("/_demo/clock/advance")
async def advance(request: Request, caller: UserDep, c: WebContainer) -> Response:
    """Move the clock by ``hours`` (0.25–2400), then run ``activate`` and ``expire`` once."""
    clock = demo_clock(c)
    w = web(request)
    raw = str((await request.form()).get("hours", "")).strip().replace(",", ".")
    try:
        hours = float(raw)
    except ValueError:
        hours = -1.0
    if not 0.25 <= hours <= MAX_HOURS:
        sess.flash(w.session, text(w.lang, "clock_bad"), "error")
        return RedirectResponse("/_demo/clock", status_code=303)
    clock.advance(timedelta(hours=hours))
    outcomes = {}
    for name in LIFECYCLE:
        run = await runner.run_job(c, name, trigger="demo-clock", requested_by=caller.actor)
        outcomes[name] = text(w.lang, f"outcome_{run.outcome}")
    shown = f"{hours:g}".replace(".", ",") if w.lang == "fi" else f"{hours:g}"
    sess.flash(w.session, text(w.lang, "clock_advanced", hours=shown, **outcomes))
    return RedirectResponse("/_demo/clock", status_code=303)
