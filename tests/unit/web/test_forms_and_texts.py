"""The pages' Finnish formats and form defaults."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from idops.kit.clock import HELSINKI
from idops.kit.errors import FieldProblem, Message
from idops.kit.i18n import day, number, percent, when
from idops.web.charts import trend_chart
from idops.web.forms import (
    FORM_FIELDS,
    RequestForm,
    default_period,
    field_messages,
    parse_bulk_lines,
    parse_date,
    parse_time,
)


def helsinki(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=HELSINKI)


@pytest.mark.parametrize(
    ("now", "start", "end"),
    [
        (helsinki(2026, 11, 30, 7, 5), helsinki(2026, 11, 30, 8), helsinki(2026, 12, 4, 16)),  # Monday morning
        (helsinki(2026, 12, 2, 13), helsinki(2026, 12, 2, 8), helsinki(2026, 12, 4, 16)),  # Wednesday noon
        (helsinki(2026, 12, 4, 15), helsinki(2026, 12, 4, 8), helsinki(2026, 12, 4, 16)),  # Friday afternoon
        (helsinki(2026, 12, 4, 17), helsinki(2026, 12, 7, 8), helsinki(2026, 12, 11, 16)),  # Friday evening
        (helsinki(2026, 12, 5, 10), helsinki(2026, 12, 7, 8), helsinki(2026, 12, 11, 16)),  # Saturday
        (helsinki(2026, 3, 29, 10), helsinki(2026, 3, 30, 8), helsinki(2026, 4, 3, 16)),  # DST Sunday
    ],
)
def test_default_period_is_today_8_to_friday_16(now: datetime, start: datetime, end: datetime) -> None:
    assert default_period(now.astimezone(UTC)) == (start.astimezone(UTC), end.astimezone(UTC))


def test_dates_and_times_are_read_the_finnish_way_and_the_input_way() -> None:
    assert parse_date("27.11.2026") == parse_date("2026-11-27") == date(2026, 11, 27)
    assert parse_date("31.2.2026") is None and parse_date("ensi maanantai") is None
    assert parse_time("8.15") == parse_time("08:15") == parse_time("klo 8.15") == time(8, 15)
    assert parse_time("8") == time(8, 0)
    assert parse_time("24.00") is None and parse_time("8.75") is None


def test_request_form_reports_every_wrong_field_of_a_submit_at_once() -> None:
    """The e-mail's error no longer waits until the dates are fixed (issue 19: errors came in rounds)."""
    form = RequestForm.of(
        {
            "surname": "Äijälä\u0007",
            "start_date": "1.12.2026",
            "start_time": "8.00",
            "end_date": "x",
            "end_time": "25.00",
            "email": "ei-osoite",
            "mobile_phone": "soita",
        }
    )
    assert form.to_request("tampere/hervanta") is None
    assert form.errors == {
        "given_name": "err_given_name",
        "surname": "err_name_chars",
        "end_date": "err_date",
        "end_time": "err_time",
        "email": "err_email",
        "mobile_phone": "err_phone",
    }
    assert form.starts_at == helsinki(2026, 12, 1, 8).astimezone(UTC) and form.ends_at is None
    form = RequestForm.of(
        {
            "given_name": "Aino",
            "surname": "Äijälä",
            "start_date": "1.12.2026",
            "start_time": "8.00",
            "end_date": "2.12.2026",
            "end_time": "16.00",
            "email": "aino@example.fi",
        }
    )
    body = form.to_request("tampere/hervanta")
    assert body is not None and body.starts_at == helsinki(2026, 12, 1, 8).astimezone(UTC)
    assert form.errors == {}


def test_field_messages_put_the_services_problems_at_the_forms_fields_in_form_order() -> None:
    problems = [
        FieldProblem("ends_at", Message("Päättymisaika on jo mennyt.", "The end time has already passed.")),
        FieldProblem("starts_at", Message("Alku liian kaukana.", "Start too far.")),
        FieldProblem("person", Message("Sama henkilö.", "Same person.")),
    ]
    messages = field_messages("fi", {"email": "err_email"}, problems)
    assert list(messages) == ["given_name", "email", "start_date", "end_date"]
    assert messages["start_date"] == "Alku liian kaukana." and messages["given_name"] == "Sama henkilö."
    assert messages["email"].startswith("Sähköpostiosoite ei kelpaa")
    assert field_messages("en", {}, problems[:1])["end_date"] == "The end time has already passed."
    # A returning substitute has no name fields: the person's own block shows it.
    assert list(field_messages("fi", {}, problems[2:], {**FORM_FIELDS, "person": "person"})) == ["person"]


def test_finnish_numbers_dates_and_times() -> None:
    at = helsinki(2026, 11, 27, 8, 15).astimezone(UTC)
    assert when(at, "fi") == "27.11.2026 klo 8.15"
    assert when(at, "en") == "27 Nov 2026 08:15"
    assert day(date(2026, 11, 27), "fi") == "27.11.2026"
    assert percent(0.875, "fi") == "87,5\u00a0%" and percent(0.875, "en") == "87.5\u00a0%"
    assert percent(None, "fi") == "–"
    assert number(12345, "fi") == "12\u00a0345" and number(1.5, "fi") == "1,50"


def test_trend_chart_breaks_lines_at_missing_days_and_keeps_the_last_day_labelled() -> None:
    start, end = date(2026, 11, 1), date(2026, 11, 30)
    shares = {"staff": {date(2026, 11, 1): 0.5, date(2026, 11, 2): 0.6, date(2026, 11, 5): 0.7}}
    chart = trend_chart(start, end, shares, {"staff": 1.0, "pupil": 0.8}, ("staff", "pupil"))
    staff, pupil = chart.series
    assert len(staff.segments) == 2 and len(staff.points) == 3
    assert pupil.points == [] and pupil.target_y is not None
    assert chart.x_ticks[0][1] == start and chart.x_ticks[-1][1] == end
    top, bottom = chart.plot[1], chart.plot[3]
    assert staff.target_y == top and chart.y_ticks[0] == (bottom, 0)


def test_pasted_bulk_rows_are_read_with_semicolons_or_tabs_and_default_times() -> None:
    rows = parse_bulk_lines(
        "Aino Maria Äijälä; 1.12.2026 9.30; 5.12.2026\n\nBertta Björk\t2.12.2026\t3.12.2026 12.00\nCeline\n"
        "Dora Dahl; huomenna; 3.12.2026\n",
        "tampere/hervanta",
    )
    assert [(r.number, r.error) for r in rows] == [(1, None), (3, None), (4, "name"), (5, "start")]
    first, second = rows[0].body, rows[1].body
    assert first is not None and second is not None
    assert (first.given_name, first.surname) == ("Aino Maria", "Äijälä")
    assert first.starts_at.isoformat() == "2026-12-01T07:30:00+00:00"  # 9.30 in Helsinki
    assert first.ends_at.isoformat() == "2026-12-05T14:00:00+00:00"  # the default end of day, 16.00
    assert second.starts_at.isoformat() == "2026-12-02T06:00:00+00:00" and second.school == "tampere/hervanta"
