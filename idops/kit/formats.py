"""Content negotiation (JSON / CSV / HTML) and CSV shaped for Power BI.

CSV rules: one row per observation, stable snake_case column names, ISO 8601 dates and
times, ``.`` decimal point, UTF-8 with a BOM so Excel opens Finnish letters right.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any, Literal

from fastapi import Request
from fastapi.responses import Response

from idops.kit.errors import BadRequest, Message

Format = Literal["json", "csv", "html"]


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


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value  # neutralise spreadsheet formula injection
    return value


def to_csv(columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(c)) for c in columns])
    return buf.getvalue()


def csv_response(columns: Sequence[str], rows: Iterable[dict[str, Any]], filename: str) -> Response:
    body = "\ufeff" + to_csv(columns, rows)
    return Response(
        body.encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
