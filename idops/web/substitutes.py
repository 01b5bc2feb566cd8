"""Principal pages: a school's substitutes, the request form, extend, end now, the sign-in code.

Every action calls the API's own service functions (``idops.substitutes.requests``, ``changes``, ``views``,
``access_pass``) with the session's ``Caller``; rate limits are the API's too. Changes answer
with a redirect (POST-redirect-GET) — except the sign-in code, which is rendered straight into
the POST response with ``Cache-Control: no-store`` and never stored anywhere, so it is shown once.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import RedirectResponse, Response

from idops.auth.scope import Caller
from idops.container import Container
from idops.kit.errors import Conflict, Message, NotFound, PolicyViolation
from idops.kit.i18n import day, when
from idops.substitutes import access_pass, changes, requests, views
from idops.substitutes.policy import add_days_helsinki
from idops.substitutes.schemas import PersonOut, SubstituteOut
from idops.web import session as sess
from idops.web.forms import (
    FORM_FIELDS,
    RequestForm,
    date_value,
    field_messages,
    helsinki,
    parse_date,
    parse_time,
    time_value,
)
from idops.web.guards import UserDep, WebContainer
from idops.web.render import act_then_back, render, web
from idops.web.routing import PageRoute
from idops.web.texts import actor_label, code_groups, event_label, problem_note, text

router = APIRouter(route_class=PageRoute, include_in_schema=False)

UPCOMING = ("requested", "provisioning", "scheduled")
ACTIVE = ("active",)
_KEY = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_SCHOOL_NOT_FOUND = Message("Koulua ei löytynyt.", "School not found.")


def school_of(c: Container, caller: Caller, municipality: str, school: str) -> tuple[str, str]:
    """(path, name) of a school the caller sees; anything else is the same 404."""
    path = f"{municipality}/{school}"
    found = c.config.region.school(path)
    if found is None or not caller.scope.sees_school(path):
        raise NotFound(_SCHOOL_NOT_FOUND)
    return path, found[1].name


def school_name(c: Container, path: str) -> str:
    found = c.config.region.school(path)
    return found[1].name if found else path


def split_by_status(items: Sequence[SubstituteOut]) -> dict[str, list[SubstituteOut]]:
    """Upcoming (soonest first), active (ending soonest first), ended (latest first)."""
    upcoming = sorted((i for i in items if i.status in UPCOMING), key=lambda i: i.starts_at)
    active = sorted((i for i in items if i.status in ACTIVE), key=lambda i: i.ends_at)
    ended = sorted((i for i in items if i.status not in UPCOMING + ACTIVE), key=lambda i: i.ends_at, reverse=True)
    return {"upcoming": upcoming, "active": active, "ended": ended}


# ----------------------------------------------------------------------------------------- home


def landing(request: Request, c: Container, caller: Caller, suffix: str = "") -> Response:
    """Admins go to the MFA dashboard; a principal of one school to that school's page (``suffix``:
    ``/mfa`` for its MFA numbers); a principal of several chooses the school."""
    if caller.scope.is_admin:
        return RedirectResponse("/admin/mfa", status_code=303)
    schools = sorted(caller.scope.schools)
    if len(schools) == 1:
        return RedirectResponse(f"/schools/{schools[0]}{suffix}", status_code=303)
    return render(request, "home.html", schools=[(p, school_name(c, p)) for p in schools])


async def overdue_for(c: Container, caller: Caller) -> list[Any]:
    """IT and region admins' banner: their periods whose end could not be carried out (empty otherwise)."""
    if not caller.scope.is_admin:
        return []
    return list(await views.overdue_ends(c.uow(), caller, c.clock.now()))


@router.get("/", name="home")
async def home(request: Request, caller: UserDep, c: WebContainer) -> Response:
    return landing(request, c, caller)


# ----------------------------------------------------------------------------------------- list


@router.get("/schools/{municipality}/{school}", name="school")
async def school_page(request: Request, municipality: str, school: str, caller: UserDep, c: WebContainer) -> Response:
    path, name = school_of(c, caller, municipality, school)
    page = await views.list_page(
        c.uow(),
        caller,
        school=path,
        status=None,
        active_on=None,
        person_id=None,
        cursor=None,
        limit=c.config.settings.api.max_page_size,
    )
    found = c.config.region.school(path)
    assert found is not None
    return render(
        request, "school.html", school_path=path, school_name=name, groups=split_by_status(page.items),
        seats=await views.free_seats(c, path), licensed=bool(found[1].licence_sku_ids),
        licence_while=c.config.policy_for(*found).licence_while,
    )


# ----------------------------------------------------------------------------------------- request


def _limits(c: Container, path: str) -> dict[str, Any]:
    found = c.config.region.school(path)
    assert found is not None
    pol = c.config.policy_for(*found)
    now = c.clock.now()
    return {
        "policy": pol,
        "hours": c.config.settings.policy.working_hours,
        "latest_start": date_value(add_days_helsinki(now, pol.max_lead_days)),
    }


async def _search(c: Container, caller: Caller, q: str) -> tuple[list[PersonOut] | None, bool]:
    """(results, too_short) of the returning-substitute search."""
    q = q.strip()
    if not q:
        return None, False
    if len(q) < 2:
        return None, True
    return (await views.search_persons(c.uow(), caller, q[:100], 20)).items, False


def _request_page(
    request: Request,
    c: Container,
    path: str,
    name: str,
    form: RequestForm,
    *,
    errors: dict[str, str] | None = None,
    results: list[PersonOut] | None = None,
    q: str = "",
    too_short: bool = False,
    chosen: PersonOut | None = None,
    service_error: str | None = None,
    candidates: list[dict[str, Any]] | None = None,
    status: int = 200,
) -> Response:
    lang = web(request).lang
    return render(
        request,
        "request.html",
        status=status,
        crumbs=[(f"/schools/{path}", name), (None, text(lang, "request_title"))],
        school_path=path,
        school_name=name,
        form=form,
        errors=errors or {},
        results=results,
        q=q,
        too_short=too_short,
        chosen=chosen,
        service_error=service_error,
        candidates=candidates or [],
        key=uuid.uuid4().hex,
        **_limits(c, path),
    )


def _last(c: Container, lang: str, school: str | None, ended: str | None) -> str | None:
    if not school or not ended:
        return None
    return text(lang, "last_school_at", school=school_name(c, school), end=day(datetime.fromisoformat(ended), lang))


def _candidates(c: Container, lang: str, found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The same-named earlier substitutes of a 409, as the "onko tämä sama henkilö?" choice shows them."""
    return [
        {
            "id": p["id"],
            "name": f"{p['given_name']} {p['surname']}",
            "upn": p.get("user_principal_name"),
            "email_hint": p.get("email_hint"),
            "last": _last(c, lang, p.get("last_school"), p.get("last_ends_at")),
        }
        for p in found
    ]


@router.get("/schools/{municipality}/{school}/new", name="request_form")
async def request_form(
    request: Request,
    municipality: str,
    school: str,
    caller: UserDep,
    c: WebContainer,
    q: Annotated[str, Query(max_length=100)] = "",
    person: Annotated[str, Query(max_length=36)] = "",
) -> Response:
    path, name = school_of(c, caller, municipality, school)
    form = RequestForm.initial(c.clock.now())
    results, too_short = await _search(c, caller, q)
    chosen = next((p for p in results or [] if p.person_id == person), None) if person else None
    if chosen is not None:
        form.given_name, form.surname, form.person_id = chosen.given_name, chosen.surname, chosen.person_id
    return _request_page(request, c, path, name, form, results=results, q=q, too_short=too_short, chosen=chosen)


@router.post("/schools/{municipality}/{school}/new")
async def request_submit(
    request: Request, municipality: str, school: str, caller: UserDep, c: WebContainer
) -> Response:
    """Every mistake of a submit comes back at once, each at its field: the form's own checks and, as
    soon as both moments parse, the period's rules (``requests.period_problems``) beside them."""
    path, name = school_of(c, caller, municipality, school)
    lang = web(request).lang
    data = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    form = RequestForm.of(data)
    chosen = None
    if form.person_id:  # a returning substitute: show who was chosen again if the form comes back
        chosen = PersonOut(
            person_id=form.person_id,
            given_name=form.given_name,
            surname=form.surname,
            user_principal_name=data.get("person_upn") or None,
            email_hint=None,
            municipality=municipality,
            last_school=None,
            last_ends_at=None,
        )
    fields = {**FORM_FIELDS, "person": "person"} if chosen else FORM_FIELDS
    body = form.to_request(path)
    if body is None:
        period = (
            requests.period_problems(c, path, form.starts_at, form.ends_at)
            if form.starts_at is not None and form.ends_at is not None
            else []
        )
        errors = field_messages(lang, form.errors, period, fields)
        return _request_page(request, c, path, name, form, errors=errors, chosen=chosen, status=422)
    key = data.get("idempotency_key", "")
    await c.rate_limits.check("create", f"{caller.tid}:{caller.oid}", c.config.settings.api.create_rate_per_hour)
    try:
        result = await requests.request_substitute(c.uow(), c, caller, body, key if _KEY.match(key) else None)
    except (PolicyViolation, Conflict) as exc:
        errors = field_messages(lang, {}, exc.problems, fields)
        service_error = None if exc.problems else (exc.detail or exc.title).in_language(lang)
        return _request_page(
            request, c, path, name, form, errors=errors, chosen=chosen, service_error=service_error,
            candidates=_candidates(c, lang, exc.extra.get("candidates") or []), status=exc.status,
        )
    out = await views.get_one(c.uow(), caller, result.period_id)
    sess.flash(
        web(request).session,
        text(lang, "requested_awaiting")
        if result.awaiting_approval
        else text(
            lang,
            "requested_ok",
            name=out.display_name or body.surname,
            start=when(out.starts_at, lang),
            end=when(out.ends_at, lang),
        ),
        "info" if result.awaiting_approval else "ok",
    )
    return RedirectResponse(f"/substitutes/{out.id}", status_code=303)


# ----------------------------------------------------------------------------------------- one substitute


async def _detail_page(
    request: Request,
    c: Container,
    caller: Caller,
    sid: str,
    *,
    errors: dict[str, str] | None = None,
    service_error: str | None = None,
    end_date: str | None = None,
    end_time: str | None = None,
    status: int = 200,
) -> Response:
    out = await views.get_one(c.uow(), caller, sid)
    events = await views.events(c.uow(), caller, sid)
    found = c.config.region.school(out.school)
    assert found is not None
    pol = c.config.policy_for(*found)
    latest_end = add_days_helsinki(out.starts_at, pol.max_duration_days)
    live = out.status in UPCOMING + ACTIVE
    w = web(request)
    code_token = (
        await sess.issue_one_shot(c, w.page_session, "code")
        if out.status in access_pass.CODE_STATUSES and w.page_session is not None
        else None
    )
    return render(
        request,
        "substitute.html",
        status=status,
        crumbs=_crumbs(caller, w.lang, out.school, found[1].name, (None, out.display_name or out.user_principal_name)),
        s=out,
        school_name=found[1].name,
        events=[
            {"at": e.at, "action": event_label(w.lang, e.action), "actor": actor_label(w.lang, e.actor)}
            for e in events.items
        ],
        problem=problem_note(w.lang, out.status, out.last_error, out.decision_reason),
        live=live,
        latest_end=latest_end,
        max_days=pol.max_duration_days,
        code_token=code_token,
        can_deliver=pol.code_delivery and bool(found[0].notification_sender),
        errors=errors or {},
        service_error=service_error,
        end_date=end_date if end_date is not None else date_value(out.ends_at),
        end_time=end_time if end_time is not None else time_value(out.ends_at),
    )


def _crumbs(
    caller: Caller, lang: str, school: str, school_name: str, *tail: tuple[str | None, str | None]
) -> list[tuple[str | None, str]]:
    """Admins come from their list of the municipality's substitutes; principals from their school's."""
    first = (
        ("/admin/substitutes", text(lang, "nav_region_substitutes" if caller.scope.role == "RegionAdmin"
                                    else "nav_admin_substitutes"))
        if caller.scope.is_admin
        else (f"/schools/{school}", school_name)
    )
    return [first, *((href, label or "–") for href, label in tail)]


@router.get("/substitutes/{sid}", name="substitute")
async def substitute_page(request: Request, sid: str, caller: UserDep, c: WebContainer) -> Response:
    return await _detail_page(request, c, caller, sid)


EXTEND_FIELDS = {"ends_at": "end_date"}


@router.post("/substitutes/{sid}/extend")
async def extend(request: Request, sid: str, caller: UserDep, c: WebContainer) -> Response:
    """Both fields' format errors at once; the service's refusal at the date field (or, for a period that
    can no longer change, above the form)."""
    form = await request.form()
    lang = web(request).lang
    end_date, end_time = str(form.get("end_date", "")).strip(), str(form.get("end_time", "")).strip()
    d, t = parse_date(end_date), parse_time(end_time)
    keys = {k: v for k, v in (("end_date", "err_date" if d is None else ""), ("end_time", "err_time" if t is None
                                                                                 else "")) if v}
    if d is None or t is None:
        return await _detail_page(
            request, c, caller, sid, end_date=end_date, end_time=end_time,
            errors=field_messages(lang, keys), status=422,
        )
    try:
        await changes.extend(c.uow(), c, caller, sid, helsinki(d, t))
    except (PolicyViolation, Conflict) as exc:
        return await _detail_page(
            request, c, caller, sid,
            errors=field_messages(lang, {}, exc.problems, EXTEND_FIELDS),
            service_error=None if exc.problems else (exc.detail or exc.title).in_language(lang),
            end_date=end_date, end_time=end_time, status=exc.status,
        )
    out = await views.get_one(c.uow(), caller, sid)
    sess.flash(web(request).session, text(lang, "extended_ok", end=when(out.ends_at, lang)))
    return RedirectResponse(f"/substitutes/{sid}", status_code=303)


@router.get("/substitutes/{sid}/end", name="end_confirm")
async def end_confirm(request: Request, sid: str, caller: UserDep, c: WebContainer) -> Response:
    out = await views.get_one(c.uow(), caller, sid)
    if out.status not in UPCOMING + ACTIVE:
        return RedirectResponse(f"/substitutes/{sid}", status_code=303)
    lang = web(request).lang
    name = school_name(c, out.school)
    crumbs = _crumbs(
        caller, lang, out.school, name,
        (f"/substitutes/{sid}", out.display_name or out.user_principal_name), (None, text(lang, "end_title")),
    )
    return render(request, "end_confirm.html", crumbs=crumbs, s=out, school_name=name)


@router.post("/substitutes/{sid}/end")
async def end_now(request: Request, sid: str, caller: UserDep, c: WebContainer) -> Response:
    return await act_then_back(request, changes.revoke(c.uow(), c, caller, sid), "ended_ok", f"/substitutes/{sid}")


@router.post("/substitutes/{sid}/sign-in-code")
async def sign_in_code(request: Request, sid: str, caller: UserDep, c: WebContainer) -> Response:
    """Issue the code and render it in this response only. A reload re-posts a spent one-shot
    token and gets a redirect to the substitute's page instead of a second code."""
    w = web(request)
    out = await views.get_one(c.uow(), caller, sid)  # 404 before anything else for a stranger
    form = await request.form()
    if w.page_session is None or not await sess.spend_one_shot(c, w.page_session, "code", form.get("once")):
        sess.flash(w.session, text(w.lang, "code_already_shown"), "info")
        return RedirectResponse(f"/substitutes/{sid}", status_code=303)
    await c.rate_limits.check("access_pass", f"{caller.tid}:{caller.oid}", c.config.settings.api.tap_rate_per_hour)
    try:
        issued = await access_pass.issue(c.uow(), c, caller, sid, deliver=form.get("deliver") == "email")
    except (PolicyViolation, Conflict) as exc:
        sess.flash(w.session, (exc.detail or exc.title).in_language(w.lang), "error")
        return RedirectResponse(f"/substitutes/{sid}", status_code=303)
    if issued.delivered_to:  # e-mailed: the code is in that one message only, never on a page
        sess.flash(w.session, text(w.lang, "code_mailed", to=issued.delivered_to))
        return RedirectResponse(f"/substitutes/{sid}", status_code=303)
    w.extra_headers.update({"Cache-Control": "no-store", "Pragma": "no-cache"})
    name = school_name(c, out.school)
    crumbs = _crumbs(
        caller, w.lang, out.school, name,
        (f"/substitutes/{sid}", out.display_name or out.user_principal_name), (None, text(w.lang, "code_title")),
    )
    return render(
        request, "sign_in_code.html", crumbs=crumbs, s=out, school_name=name, issued=issued,
        groups=code_groups(issued.secret), ahead=issued.valid_from > c.clock.now(),
        title=text(w.lang, "code_title_once" if issued.usable_once else "code_title"),
    )
