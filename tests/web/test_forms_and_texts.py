"""The pages' Finnish formats and form defaults."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from idops.kit.clock import HELSINKI
from idops.web.charts import trend_chart
from idops.web.forms import RequestForm, default_period, parse_date, parse_time
from idops.web.texts import day, number, percent, when


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


def test_request_form_reports_every_missing_field_in_finnish_keys() -> None:
    form = RequestForm.of(
        {
            "surname": "Äijälä",
            "start_date": "1.12.2026",
            "start_time": "8.00",
            "end_date": "x",
            "end_time": "16.00",
            "email": "ei-osoite",
        }
    )
    assert form.to_request("tampere/hervanta") is None
    assert form.errors == {"given_name": "err_given_name", "end_date": "err_date"}
    form = RequestForm.of(
        {
            "given_name": "Aino",
            "surname": "Äijälä",
            "start_date": "1.12.2026",
            "start_time": "8.00",
            "end_date": "2.12.2026",
            "end_time": "16.00",
            "email": "ei-osoite",
        }
    )
    assert form.to_request("tampere/hervanta") is None
    assert form.errors == {"email": "err_email"}
    form.email, form.errors = "aino@example.fi", {}
    body = form.to_request("tampere/hervanta")
    assert body is not None and body.starts_at == helsinki(2026, 12, 1, 8).astimezone(UTC)


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
