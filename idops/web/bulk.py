"""A principal's bulk request page (``/schools/{m}/{s}/bulk``): a form of several rows (name, start, end;
"add row" adds one, with or without JavaScript; a spreadsheet's rows pasted into a name cell fill the
rows — ``idops.js`` — or go into the paste box without JavaScript), each row requested through
``POST /v1/substitutes/bulk``'s service, the results per row; rows that failed come back into the form
to be corrected."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, Request
from starlette.datastructures import FormData
from starlette.responses import Response

from idops.container import Container
from idops.substitutes import bulk, views
from idops.web.forms import BulkLine, parse_bulk_lines, parse_bulk_rows
from idops.web.guards import UserDep, WebContainer
from idops.web.render import render, web
from idops.web.routing import PageRoute
from idops.web.substitutes import school_of
from idops.web.texts import text

router = APIRouter(route_class=PageRoute, include_in_schema=False)

MAX_ROWS = bulk.MAX_ITEMS
EMPTY_ROWS = 5  # rows of a new form


def _page(request: Request, path: str, name: str, grid: Sequence[Sequence[str]], pasted: str = "",
          status: int = 200, **ctx: Any) -> Response:
    lang = web(request).lang
    return render(
        request, "bulk.html", status,
        crumbs=[(f"/schools/{path}", name), (None, text(lang, "bulk_title"))],
        school_path=path, school_name=name, pasted=pasted, key=uuid.uuid4().hex, max_rows=MAX_ROWS,
        grid=[tuple(row) for row in grid] or [("", "", "")] * EMPTY_ROWS,
        **{"rows": None, "error": None, **ctx},
    )


def _grid(form: FormData) -> list[tuple[str, str, str]]:
    """The form's rows (name, start, end), as typed."""
    columns = [[str(v) for v in form.getlist(f"row_{c}")] for c in ("name", "start", "end")]
    width = max((len(col) for col in columns), default=0)
    padded = [col + [""] * (width - len(col)) for col in columns]
    return list(zip(*padded, strict=True))


@router.get("/schools/{municipality}/{school}/bulk", name="bulk_form")
async def bulk_form(request: Request, municipality: str, school: str, caller: UserDep, c: WebContainer) -> Response:
    path, name = school_of(c, caller, municipality, school)
    return _page(request, path, name, [])


@router.post("/schools/{municipality}/{school}/bulk")
async def bulk_submit(request: Request, municipality: str, school: str, caller: UserDep, c: WebContainer
                      ) -> Response:
    path, name = school_of(c, caller, municipality, school)
    lang = web(request).lang
    form = await request.form()
    pasted = str(form.get("rows") or "")
    grid = _grid(form)
    if form.get("add_row"):  # "add row" without JavaScript: the same form, one row longer
        return _page(request, path, name, [*grid, ("", "", "")][:MAX_ROWS], pasted)
    lines = parse_bulk_rows(grid, path) + parse_bulk_lines(pasted, path, first=len(grid) + 1)
    if not lines or len(lines) > MAX_ROWS:
        return _page(request, path, name, grid, pasted, 422, error=text(lang, "bulk_rows_count", n=MAX_ROWS))
    key = str(form.get("idempotency_key") or "")
    readable = [line for line in lines if line.body is not None]
    for _ in readable:
        await c.rate_limits.check("create", f"{caller.tid}:{caller.oid}", c.config.settings.api.create_rate_per_hour)
    outcomes = await bulk.request_many(
        c.uow(), c, caller, [line.body for line in readable if line.body], key if bulk.valid_key(key) else None
    )
    by_line = dict(zip((line.number for line in readable), outcomes, strict=True))
    rows = [await _row(c, caller, lang, line, by_line.get(line.number)) for line in lines]
    again = [line.cells for line, row in zip(lines, rows, strict=True) if row["substitute"] is None]
    return _page(request, path, name, again, rows=rows)


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
