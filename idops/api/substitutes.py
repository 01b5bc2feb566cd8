"""``/v1/substitutes``: thin handlers — authorise, call one service function, return a schema."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import JSONResponse

from idops.api.deps import CallerDep, ContainerDep, UowDep
from idops.api.problems import problem_of
from idops.kit.errors import problem_body
from idops.kit.i18n import language_of
from idops.kit.params import IsoDateTime
from idops.substitutes import access_pass, bulk, changes, drift, requests, views
from idops.substitutes.models import Status
from idops.substitutes.schemas import (
    AccessPassOut,
    BulkItemResult,
    BulkRequest,
    BulkResult,
    DriftOut,
    EventList,
    PersonList,
    SubstituteList,
    SubstituteOut,
    SubstitutePatch,
    SubstituteRequest,
)

router = APIRouter(tags=["substitutes"])


PROBLEMS: dict[int | str, dict[str, Any]] = {
    404: {"description": "Not found, or outside your scope"}, 409: {}, 422: {}, 429: {}, 503: {},
}
IdempotencyKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key", max_length=128, pattern=r"^[A-Za-z0-9._:-]{1,128}$"),
]


@router.post("/v1/substitutes", status_code=201, response_model=SubstituteOut,
             responses={**PROBLEMS, 202: {"description": "Over a limit: recorded awaiting_approval",
                                          "model": SubstituteOut}},
             summary="Request a substitute account (Idempotency-Key: a retry returns the first result)")
async def create_substitute(
    body: SubstituteRequest, c: ContainerDep, uow: UowDep, caller: CallerDep, response: Response,
    idempotency_key: IdempotencyKey = None,
) -> SubstituteOut:
    await c.rate_limits.check("create", f"{caller.tid}:{caller.oid}", c.config.settings.api.create_rate_per_hour)
    result = await requests.request_substitute(uow, c, caller, body, idempotency_key)
    if not result.created:
        response.status_code = 200
        response.headers["Idempotent-Replayed"] = "true"
    if result.awaiting_approval:  # recorded, nothing provisioned: the municipality's IT admins decide
        response.status_code = 202
    return await views.get_one(uow, caller, result.period_id)


@router.post("/v1/substitutes/bulk", response_model=BulkResult, responses=PROBLEMS,
             summary="Request up to 50 substitute accounts; one result per item, in order (no all-or-nothing)")
async def create_substitutes(
    request: Request, body: BulkRequest, c: ContainerDep, uow: UowDep, caller: CallerDep,
    idempotency_key: Annotated[
        str | None, Header(alias="Idempotency-Key", max_length=120, pattern=r"^[A-Za-z0-9._:-]{1,120}$")
    ] = None,
) -> BulkResult:
    """Each item as ``POST /v1/substitutes`` would answer it (``status``: 201, 200 for a replay, 202 awaiting
    approval, or the problem's status). The create rate limit counts every item, before any is made."""
    for _ in body.items:
        await c.rate_limits.check("create", f"{caller.tid}:{caller.oid}", c.config.settings.api.create_rate_per_hour)
    lang = language_of(request)
    results = []
    for outcome in await bulk.request_many(uow, c, caller, body.items, idempotency_key):
        if outcome.result is None:
            assert outcome.error is not None
            p = problem_of(request, outcome.error, lang)
            problem = problem_body(
                status=p.status, type_slug=p.type_slug, title=p.title.in_language(lang),
                detail=p.detail.in_language(lang) if p.detail else None, instance=None,
                **({"errors": p.errors} if p.errors else {}), **p.extra,
            )
            results.append(BulkItemResult(index=outcome.index, status=p.status, problem=problem))
            continue
        r = outcome.result
        status = 202 if r.awaiting_approval else 201 if r.created else 200
        results.append(BulkItemResult(index=outcome.index, status=status,
                                      substitute=await views.get_one(uow, caller, r.period_id)))
    return BulkResult(results=results)


@router.get("/v1/substitutes", response_model=SubstituteList, responses=PROBLEMS,
            summary="Substitute accounts of the schools you see, newest first")
async def list_substitutes(
    c: ContainerDep, uow: UowDep, caller: CallerDep,
    school: Annotated[str | None, Query(pattern=r"^[a-z][a-z0-9-]{0,39}/[a-z][a-z0-9-]{0,39}$")] = None,
    status: Annotated[list[Status] | None, Query()] = None,
    active_on: Annotated[IsoDateTime | None, Query(description="periods running at this time (with offset)")] = None,
    person_id: Annotated[str | None, Query(max_length=36)] = None,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    limit_: Annotated[int, Query(alias="limit", ge=1, le=200)] = 50,
) -> SubstituteList:
    return await views.list_page(
        uow, caller, school=school, status=[s.value for s in status] if status else None, active_on=active_on,
        person_id=person_id, cursor=cursor, limit=min(limit_, c.config.settings.api.max_page_size),
    )


@router.get("/v1/substitutes/{substitute_id}", response_model=SubstituteOut, responses=PROBLEMS)
async def get_substitute(substitute_id: str, uow: UowDep, caller: CallerDep) -> SubstituteOut:
    return await views.get_one(uow, caller, substitute_id)


@router.patch("/v1/substitutes/{substitute_id}", response_model=SubstituteOut, responses=PROBLEMS,
              summary="Change the end of the period (extend or shorten, within policy)")
async def patch_substitute(substitute_id: str, body: SubstitutePatch, c: ContainerDep, uow: UowDep,
                           caller: CallerDep) -> SubstituteOut:
    await changes.extend(uow, c, caller, substitute_id, body.ends_at)
    return await views.get_one(uow, caller, substitute_id)


@router.post("/v1/substitutes/{substitute_id}/revoke", response_model=SubstituteOut, responses=PROBLEMS,
             summary="End the account now")
async def revoke_substitute(substitute_id: str, c: ContainerDep, uow: UowDep, caller: CallerDep) -> SubstituteOut:
    await changes.revoke(uow, c, caller, substitute_id)
    return await views.get_one(uow, caller, substitute_id)


@router.post("/v1/substitutes/{substitute_id}/access-pass", response_model=AccessPassOut, responses=PROBLEMS,
             summary="Issue the one-time sign-in code (returned once, never stored)")
async def issue_access_pass(
    substitute_id: str, c: ContainerDep, uow: UowDep, caller: CallerDep,
    deliver: Annotated[Literal["email"] | None, Query(
        description="email: send the code to the substitute's contact e-mail (municipality policy "
        "code_delivery); the response then holds no code"
    )] = None,
) -> JSONResponse:
    await c.rate_limits.check("access_pass", f"{caller.tid}:{caller.oid}", c.config.settings.api.tap_rate_per_hour)
    issued = await access_pass.issue(uow, c, caller, substitute_id, deliver=deliver == "email")
    shown = None if issued.delivered_to else issued.secret
    out = AccessPassOut(
        temporary_access_pass=shown if issued.kind == "temporary_access_pass" else None,
        one_time_password=shown if issued.kind == "one_time_password" else None,
        delivered_to=issued.delivered_to,
        valid_from=issued.valid_from, valid_until=issued.valid_until, is_usable_once=issued.usable_once,
    )
    return JSONResponse(out.model_dump(mode="json", exclude_none=True),
                        headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


@router.get("/v1/substitutes/{substitute_id}/events", response_model=EventList, responses=PROBLEMS,
            summary="The audit trail of one substitute account")
async def substitute_events(substitute_id: str, uow: UowDep, caller: CallerDep) -> EventList:
    return await views.events(uow, caller, substitute_id)


@router.get("/v1/substitute-persons", response_model=PersonList, responses=PROBLEMS,
            summary="Search earlier substitutes of your municipality by name or contact")
async def search_persons(
    uow: UowDep, caller: CallerDep,
    q: Annotated[str, Query(min_length=2, max_length=100)],
    limit_: Annotated[int, Query(alias="limit", ge=1, le=50)] = 20,
) -> PersonList:
    return await views.search_persons(uow, caller, q, limit_)


@router.get("/v1/drift", response_model=DriftOut, responses={403: {}},
            summary="Orphan accounts and the drift corrections reconcile made (IT admin: own municipality)")
async def list_drift(
    c: ContainerDep, uow: UowDep, caller: CallerDep,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    limit_: Annotated[int, Query(alias="limit", ge=1, le=200)] = 50,
) -> DriftOut:
    return await drift.drift(uow, caller, cursor=cursor, limit=min(limit_, c.config.settings.api.max_page_size))
