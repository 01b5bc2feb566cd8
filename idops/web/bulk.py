"""A principal's bulk request page (``/schools/{m}/{s}/bulk``): rows pasted from a spreadsheet
(``name; start; end``), each requested through ``POST /v1/substitutes/bulk``'s service, results per row."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from idops.container import Container
from idops.substitutes import bulk, views
from idops.web.forms import BulkLine, parse_bulk_lines
from idops.web.guards import UserDep, WebContainer
from idops.web.render import render, web
from idops.web.routing import PageRoute
from idops.web.substitutes import school_of
from idops.web.texts import text

router = APIRouter(route_class=PageRoute, include_in_schema=False)

MAX_ROWS = bulk.MAX_ITEMS


def _page(request: Request, path: str, name: str, pasted: str, status: int = 200, **ctx: Any) -> Response:
    lang = web(request).lang
    return render(
        request, "bulk.html", status,
        crumbs=[(f"/schools/{path}", name), (None, text(lang, "bulk_title"))],
        school_path=path, school_name=name, pasted=pasted, key=uuid.uuid4().hex, max_rows=MAX_ROWS,
        **{"rows": None, "error": None, **ctx},
    )


@router.get("/schools/{municipality}/{school}/bulk", name="bulk_form")
async def bulk_form(request: Request, municipality: str, school: str, caller: UserDep, c: WebContainer) -> Response:
    path, name = school_of(c, caller, municipality, school)
    return _page(request, path, name, "")


@router.post("/schools/{municipality}/{school}/bulk")
async def bulk_submit(request: Request, municipality: str, school: str, caller: UserDep, c: WebContainer
                      ) -> Response:
    path, name = school_of(c, caller, municipality, school)
    lang = web(request).lang
    form = await request.form()
    pasted = str(form.get("rows") or "")
    lines = parse_bulk_lines(pasted, path)
    if not lines or len(lines) > MAX_ROWS:
        return _page(request, path, name, pasted, 422, error=text(lang, "bulk_rows_count", n=MAX_ROWS))
    key = str(form.get("idempotency_key") or "")
    readable = [line for line in lines if line.body is not None]
    for _ in readable:
        c.rate_limits.check("create", f"{caller.tid}:{caller.oid}", c.config.settings.api.create_rate_per_hour)
    outcomes = await bulk.request_many(
        c.uow(), c, caller, [line.body for line in readable if line.body], key if bulk.valid_key(key) else None
    )
    by_line = dict(zip((line.number for line in readable), outcomes, strict=True))
    rows = [await _row(c, caller, lang, line, by_line.get(line.number)) for line in lines]
    return _page(request, path, name, "", rows=rows)


async def _row(c: Container, caller: Any, lang: str, line: BulkLine, outcome: bulk.ItemOutcome | None
               ) -> dict[str, Any]:
    if outcome is None:
        return {"line": line.number, "text": line.text, "substitute": None,
                "note": text(lang, f"bulk_unreadable_{line.error}")}
    if outcome.result is None:
        exc = outcome.error
        detail = getattr(exc, "detail", None) or getattr(exc, "title", None)
        note = detail.in_language(lang) if detail is not None else text(lang, "bulk_graph_down")
        return {"line": line.number, "text": line.text, "substitute": None, "note": note}
    s = await views.get_one(c.uow(), caller, outcome.result.period_id)
    return {"line": line.number, "text": line.text, "substitute": s, "note": None}
