"""Pages anyone may read, signed in or not: the help page that explains the numbers' terms (the pages
link each term here) and the accessibility statement (*saavutettavuusseloste*, required of public-sector
services by the Act on the Provision of Digital Services 306/2019), with contacts from ``[contact]``.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from idops.web.guards import WebContainer
from idops.web.render import render
from idops.web.routing import PageRoute

router = APIRouter(route_class=PageRoute, include_in_schema=False)


@router.get("/ohje", name="help")
async def help_page(request: Request, c: WebContainer) -> Response:
    return render(request, "help.html", targets=c.config.settings.mfa.targets)


@router.get("/saavutettavuus", name="accessibility")
async def accessibility_statement(request: Request, c: WebContainer) -> Response:
    contact = c.config.settings.contact
    return render(request, "accessibility.html", feedback_email=contact.accessibility_email or contact.email)
