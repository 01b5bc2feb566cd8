"""``GET /v1/mfa/summary``, ``/v1/mfa/trend``, ``/v1/mfa/users`` — JSON, or CSV (``?format=csv`` or
``Accept: text/csv``). Scope decides what a caller sees; out-of-scope names are 404 like unknown ones."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response

from idops.api.deps import CallerDep, ContainerDep, UowDep
from idops.kit import response_cache as cache
from idops.kit.formats import DialectQuery, csv_response, negotiate
from idops.kit.i18n import language_of
from idops.kit.params import IsoDate
from idops.mfa import schemas, service

router = APIRouter(prefix="/v1/mfa", tags=["mfa"])

CSV = {
    "description": "CSV for Power BI with ?format=csv or Accept: text/csv; &dialect=excel-fi for a Finnish Excel",
    "content": {"text/csv": {}},
}

Muni = Annotated[str | None, Query(description="Municipality key, e.g. tampere")]
School = Annotated[
    str | None, Query(description='School path "<municipality>/<school>", e.g. tampere/hervanta')
]
RoleQ = Annotated[Literal["staff", "pupil", "substitute"] | None, Query(description="Only this role")]
GroupBy = Annotated[str | None, Query(description="Comma-separated dimensions: municipality, school, role")]
From = Annotated[IsoDate | None, Query(alias="from", description="First date (default: 29 days before `to`)")]
To = Annotated[IsoDate | None, Query(alias="to", description="Last date (default: today, Europe/Helsinki)")]
MeasureQ = Annotated[schemas.Measure, Query(description="List users lacking this level")]
Limit = Annotated[int | None, Query(ge=1, le=10_000, description="Page size (CSV: up to 10 000 rows)")]


@router.get("/summary", response_model=schemas.Summary, responses={200: CSV}, summary="MFA coverage now")
async def get_summary(
    request: Request,
    c: ContainerDep,
    caller: CallerDep,
    municipality: Muni = None,
    school: School = None,
    role: RoleQ = None,
    group_by: GroupBy = None,
    dialect: DialectQuery = "powerbi",
) -> Response:
    """Latest snapshot per municipality; rows grouped by ``group_by`` (default: all three).

    Every group's numbers are ``measured`` (with ``as_of`` and ``source``), ``unavailable`` (null, with
    ``unavailable_reason``: e.g. a tenant without Entra ID P1 whose users have not been read yet) or
    ``stale``. ``totals`` add the measured users only; ``missing`` names the municipalities left out.

    Served from a short-lived cache of rendered responses (``idops.kit.response_cache``); a miss opens its
    own session, so a hit costs no database round trip."""
    fmt = negotiate(request)
    lang = language_of(request)
    visible = service.visible_for(caller.scope, c.config, municipality, school)
    dims = tuple(service.parse_group_by(group_by))

    async def render() -> cache.Rendered:
        result = await service.summary(
                c.uow(), c.config, caller.scope, municipality=municipality, school=school, role=role,
                group_by=group_by, lang=lang, now=c.clock.now(),
            )
        if fmt == "csv":
            return cache.Rendered.of(
                csv_response(schemas.SUMMARY_COLUMNS, schemas.summary_csv_rows(result), "mfa-summary.csv", dialect)
            )
        return cache.Rendered(result.model_dump_json().encode(), "application/json")

    key = ("summary", visible, role, dims, lang if fmt == "json" else "", fmt, dialect if fmt == "csv" else "")
    return (await c.mfa_responses.get(key, render)).response()


@router.get("/trend", response_model=schemas.Trend, responses={200: CSV}, summary="MFA coverage day by day")
async def get_trend(
    request: Request,
    c: ContainerDep,
    uow: UowDep,
    caller: CallerDep,
    start: From = None,
    end: To = None,
    municipality: Muni = None,
    school: School = None,
    role: RoleQ = None,
    group_by: GroupBy = None,
    dialect: DialectQuery = "powerbi",
) -> schemas.Trend | Response:
    """Daily snapshots over a date range (default grouping: municipality). Each point carries the role's
    ``target`` and the ``gap`` to it (grouped by role, or with ``role``)."""
    fmt = negotiate(request)
    result = await service.trend(
        uow,
        c.config,
        caller.scope,
        start=start,
        end=end,
        today=service.snapshot_day(c.clock.now()),
        municipality=municipality,
        school=school,
        role=role,
        group_by=group_by,
    )
    if fmt == "csv":
        return csv_response(schemas.TREND_COLUMNS, schemas.trend_csv_rows(result), "mfa-trend.csv", dialect)
    return result


@router.get(
    "/users", response_model=schemas.UserPage, responses={200: CSV}, summary="Who has not registered MFA"
)
async def get_users(
    request: Request,
    c: ContainerDep,
    uow: UowDep,
    caller: CallerDep,
    municipality: Muni = None,
    school: School = None,
    role: RoleQ = None,
    measure: MeasureQ = "registered",
    cursor: str | None = None,
    limit: Limit = None,
    dialect: DialectQuery = "powerbi",
) -> schemas.UserPage | Response:
    """Counted users without MFA, one item per (user, school); keyset-paged."""
    fmt = negotiate(request)
    api = c.config.settings.api
    # CSV is an export (one request, up to 10 000 rows); JSON pages stay within the API's limits.
    size = min(limit or api.default_page_size, api.max_page_size) if fmt == "json" else (limit or 10_000)
    page = await service.users_without_mfa(
        uow,
        c.config,
        caller.scope,
        municipality=municipality,
        school=school,
        role=role,
        measure=measure,
        cursor=cursor,
        limit=size,
    )
    if fmt == "csv":
        resp = csv_response(schemas.USER_COLUMNS, schemas.users_csv_rows(page.items), "mfa-users.csv", dialect)
        if page.next:
            resp.headers["Link"] = f'<{request.url.include_query_params(cursor=page.next)}>; rel="next"'
        return resp
    return page
