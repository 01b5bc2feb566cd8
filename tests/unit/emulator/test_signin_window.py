"""The sign-in list's fast path: a filter that is only a ``createdDateTime`` window is answered by a
plain range test, with exactly the general OData evaluator's answers; anything else is not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from idops.emulator import odata
from idops.emulator.render import signin_getter
from idops.emulator.reports import _created_window
from idops.emulator.state import SignInRecord

BASE = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
OPS = ("eq", "gt", "ge", "lt", "le")


def record(offset_s: int, interactive: bool) -> SignInRecord:
    return SignInRecord(
        id=f"r{offset_s}", created=BASE + timedelta(seconds=offset_s), user_id="u", user_principal_name="u@x.fi",
        user_display_name="U", app_id="a", app_display_name="A", mfa=False, is_interactive=interactive,
    )


def literal(offset_s: int, tz_hours: int) -> str:
    tz = timezone(timedelta(hours=tz_hours))
    value = (BASE + timedelta(seconds=offset_s)).astimezone(tz)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    return text + ("Z" if tz_hours == 0 else value.strftime("%z")[:3] + ":" + value.strftime("%z")[3:])


clauses = st.lists(
    st.tuples(st.sampled_from(OPS), st.integers(-5, 5), st.sampled_from([0, 0, 2, -3])), min_size=1, max_size=4
)
records = st.lists(st.tuples(st.integers(-6, 6), st.booleans()), min_size=1, max_size=30)


@settings(max_examples=150, deadline=None)
@given(clauses=clauses, recs=records)
def test_a_created_window_filter_matches_exactly_what_the_evaluator_matches(
    clauses: list[tuple[str, int, int]], recs: list[tuple[int, bool]]
) -> None:
    text = " and ".join(f"createdDateTime {op} {literal(o, tz)}" for op, o, tz in clauses)
    node = odata.parse_filter(text)
    window = _created_window(node)
    assert window is not None, text
    for offset, interactive in recs:
        r = record(offset, interactive)
        assert window(r) == (r.is_interactive and odata.evaluate(node, signin_getter(r))), (text, offset)


def test_other_filters_fall_back_to_the_evaluator() -> None:
    for text in (
        "createdDateTime ge 2026-03-01T00:00:00Z and appId eq 'a'",
        "createdDateTime ge 2026-03-01T00:00:00Z or createdDateTime le 2026-02-01T00:00:00Z",
        "createdDateTime ne 2026-03-01T00:00:00Z",
        "not (createdDateTime ge 2026-03-01T00:00:00Z)",
        "createdDateTime ge '2026-03-01T00:00:00Z'",
        "userId eq 'u'",
    ):
        assert _created_window(odata.parse_filter(text)) is None, text
