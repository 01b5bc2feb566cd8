"""Content negotiation (JSON / CSV / HTML) and CSV in two dialects.

CSV rules: one row per observation, stable snake_case column names, UTF-8 with a BOM so Excel opens
Finnish letters right. Two dialects (``?dialect=``):

- ``powerbi`` (default): comma-separated, ``.`` decimal point, ISO 8601 dates and times with offset —
  what Power BI and other tools read without settings;
- ``excel-fi``: what a Finnish Excel opens into columns on a double click — ``;``-separated, decimal
  comma, times as Helsinki wall clock ``2026-11-27 08:15:00`` (Excel reads that as a date and time).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import Query, Request
from fastapi.responses import Response

from idops.kit.clock import to_helsinki
from idops.kit.errors import BadRequest, Message

Format = Literal["json", "csv", "html"]
Dialect = Literal["powerbi", "excel-fi"]
DIALECTS: tuple[Dialect, ...] = ("powerbi", "excel-fi")
DialectQuery = Annotated[
    Dialect,
    Query(
        description="CSV dialect: `powerbi` (default; comma, decimal point, ISO 8601) or `excel-fi` "
        "(semicolon, decimal comma, Helsinki times: opens into columns in a Finnish Excel)"
    ),
]


def negotiate(request: Request, allowed: Sequence[Format] = ("json", "csv")) -> Format:
    """``?format=`` wins; then ``Accept``; default JSON. Unknown explicit formats are a 400."""
    explicit = request.query_params.get("format")
    if explicit:
        if explicit not in allowed:
            raise BadRequest(Message(f"Muotoa {explicit!r} ei tueta.", f"Format {explicit!r} is not supported."))
        return explicit  # type: ignore[return-value]
    accept = request.headers.get("accept", "")
    if "text/csv" in accept and "csv" in allowed:
        return "csv"
    if "text/html" in accept and "html" in allowed and "application/json" not in accept:
        return "html"
    return "json"


_HTML_TYPES = ("text/html", "application/xhtml+xml")
_JSON_TYPES = ("application/json", "application/problem+json")


def prefers_html(accept: str) -> bool:
    """True when an ``Accept`` header ranks HTML above JSON, as a browser's navigation does
    (``text/html,…,*/*;q=0.8``). ``*/*`` alone, or no header, is an API client: JSON. At equal
    quality the type listed first wins."""
    html: tuple[float, int] = (0.0, 0)
    json: tuple[float, int] = (0.0, 0)
    for position, part in enumerate(accept.split(",")):
        media, *params = (x.strip() for x in part.split(";"))
        q = 1.0
        for param in params:
            if param.startswith("q="):
                try:
                    q = float(param[2:])
                except ValueError:
                    q = 0.0
        rank = (q, -position)
        if media.lower() in _HTML_TYPES and rank > html:
            html = rank
        elif media.lower() in _JSON_TYPES and rank > json:
            json = rank
    return html[0] > 0 and html > json


def _cell(value: Any, dialect: Dialect) -> Any:
    excel = dialect == "excel-fi"
    if value is None:
        return ""
    if isinstance(value, datetime):
        return to_helsinki(value).strftime("%Y-%m-%d %H:%M:%S") if excel else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        text = f"{value:.6g}"
        return text.replace(".", ",") if excel else text
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value  # neutralise spreadsheet formula injection
    return value


def to_csv(columns: Sequence[str], rows: Iterable[dict[str, Any]], dialect: Dialect = "powerbi") -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n", delimiter=";" if dialect == "excel-fi" else ",")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(c), dialect) for c in columns])
    return buf.getvalue()


def csv_response(
    columns: Sequence[str], rows: Iterable[dict[str, Any]], filename: str, dialect: Dialect = "powerbi"
) -> Response:
    body = "\ufeff" + to_csv(columns, rows, dialect)
    if dialect == "excel-fi":
        stem, dot, ext = filename.rpartition(".")
        filename = f"{stem}-excel.{ext}" if dot else f"{filename}-excel"
    return Response(
        body.encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
