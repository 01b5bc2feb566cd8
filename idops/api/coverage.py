"""``GET /v1/reports/single-login`` (latest) and ``…/{date}``: JSON, CSV (``?format=csv``) and HTML
(``?format=html`` or a browser's ``Accept``), Finnish by default, English with ``?lang=en``."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from idops.api.deps import CallerDep, UowDep
from idops.coverage import service
from idops.coverage.render import render_page
from idops.coverage.schemas import SingleLoginReportOut
from idops.kit.formats import csv_response, negotiate
from idops.kit.i18n import language_of

router = APIRouter(prefix="/v1/reports", tags=["single-login coverage"])

Muni = Annotated[str | None, Query(description="only this municipality (key)", max_length=40)]
School = Annotated[str | None, Query(description='only this school ("municipality/school")', max_length=81)]

_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {}, "text/html": {}}},
    404: {"description": "no report (for that date), or a municipality/school outside your scope"},
}


def _respond(request: Request, view: dict[str, Any]) -> Response:
    fmt = negotiate(request, ("json", "csv", "html"))
    if fmt == "csv":
        return csv_response(service.CSV_COLUMNS, service.csv_rows(view),
                            f"single-login-{view['report_date']}.csv")
    if fmt == "html":
        return HTMLResponse(render_page(view, language_of(request)))
    return JSONResponse(SingleLoginReportOut.model_validate(view).model_dump(mode="json"))


@router.get("/single-login", response_model=SingleLoginReportOut, responses=_RESPONSES)
async def latest_report(
    request: Request, uow: UowDep, caller: CallerDep, municipality: Muni = None, school: School = None
) -> Response:
    """The latest single-login coverage report, cut to the caller's scope, with the change since the run
    before it."""
    view = await service.view(uow, caller, municipality=municipality, school=school)
    return _respond(request, view)


@router.get("/single-login/{day}", response_model=SingleLoginReportOut, responses=_RESPONSES)
async def report_of_day(
    request: Request, day: date, uow: UowDep, caller: CallerDep, municipality: Muni = None,
    school: School = None,
) -> Response:
    """The last run of ``day`` (Europe/Helsinki date, ``YYYY-MM-DD``)."""
    view = await service.view(uow, caller, day=day, municipality=municipality, school=school)
    return _respond(request, view)
