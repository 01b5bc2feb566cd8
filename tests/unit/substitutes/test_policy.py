"""Period policy: limits with Finnish and English messages, and Helsinki wall-clock day arithmetic
that holds across the DST changes (last Sunday of March and of October)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from idops.config import EffectivePolicy
from idops.kit.clock import HELSINKI
from idops.kit.errors import PolicyViolation
from idops.substitutes.policy import (
    PAST_START_SLACK,
    add_days_helsinki,
    check_duration,
    check_new_period,
    check_new_period_or_limits,
    check_quota,
    check_tap_hours,
)

# Monday 30 November 2026, 08:00 in Helsinki.
NOW = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)
# DST in Helsinki: 29.3.2026 03:00 → 04:00, 25.10.2026 04:00 → 03:00, 28.3.2027, 31.10.2027.
DST_DAYS = (date(2026, 3, 29), date(2026, 10, 25), date(2027, 3, 28), date(2027, 10, 31))


def make_policy(**overrides: object) -> EffectivePolicy:
    values: dict[str, object] = {
        "max_duration_days": 30,
        "max_lead_days": 60,
        "quota": 3,
        "grace_days": 7,
        "retention_days": 90,
        "notify_before_hours": 48,
        "working_hours_only_tap": False,
        "licence_while": "active",
        "staff_tap_lifetime_minutes": 60,
        "on_limit": "refuse",
        "code_delivery": False,
    }
    values.update(overrides)
    return EffectivePolicy.model_validate(values)


def helsinki(y: int, mo: int, d: int, h: int = 0, mi: int = 0, *, fold: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=HELSINKI, fold=fold).astimezone(UTC)


def violation(fn: object, *args: object) -> PolicyViolation:
    with pytest.raises(PolicyViolation) as info:
        fn(*args)  # type: ignore[operator]
    assert info.value.detail is not None
    return info.value


# --------------------------------------------------------------------------------------------- limits


def test_a_period_within_every_limit_is_accepted_and_starts_when_asked() -> None:
    start = NOW + timedelta(days=3)
    assert check_new_period(make_policy(), start, start + timedelta(days=5), NOW) == start


def test_a_start_a_little_in_the_past_becomes_now() -> None:
    assert check_new_period(make_policy(), NOW - timedelta(hours=1), NOW + timedelta(days=1), NOW) == NOW


def test_an_end_before_the_start_is_refused_in_finnish_and_english() -> None:
    err = violation(check_new_period, make_policy(), NOW + timedelta(days=2), NOW + timedelta(days=1), NOW)
    assert err.detail.fi == "Päättymisajan on oltava alkamisajan jälkeen."  # type: ignore[union-attr]
    assert err.detail.en == "The end must be after the start."  # type: ignore[union-attr]


def test_an_end_in_the_past_is_refused() -> None:
    err = violation(check_new_period, make_policy(), NOW - timedelta(hours=3), NOW - timedelta(minutes=1), NOW)
    assert err.detail.fi == "Päättymisaika on jo mennyt."  # type: ignore[union-attr]
    assert err.detail.en == "The end time has already passed."  # type: ignore[union-attr]


def test_a_start_far_in_the_past_is_refused() -> None:
    start = NOW - PAST_START_SLACK - timedelta(minutes=1)
    err = violation(check_new_period, make_policy(), start, NOW + timedelta(days=1), NOW)
    assert err.detail.fi == "Alkamisaika voi olla enintään vuorokauden menneisyydessä."  # type: ignore[union-attr]
    assert err.detail.en == "The start can be at most one day in the past."  # type: ignore[union-attr]
    assert [p.field for p in err.problems] == ["starts_at"]


def test_every_broken_rule_of_a_period_is_reported_at_once_each_at_its_field() -> None:
    pol = make_policy(max_lead_days=60, max_duration_days=30)
    start = add_days_helsinki(NOW, 61)
    err = violation(check_new_period, pol, start, add_days_helsinki(start, 31), NOW)
    assert [p.field for p in err.problems] == ["starts_at", "ends_at"]
    assert "60 päivää etukäteen" in err.problems[0].message.fi
    assert "enintään 30 päivää" in err.problems[1].message.fi
    assert err.detail == err.problems[0].message and err.extra["limit"] == "max_lead_days"
    far_past = NOW - PAST_START_SLACK - timedelta(hours=1)
    err = violation(check_new_period, pol, far_past, far_past - timedelta(hours=1), NOW)
    assert [p.field for p in err.problems] == ["starts_at", "ends_at"]


def test_lead_time_is_counted_in_helsinki_calendar_days() -> None:
    pol = make_policy(max_lead_days=60)
    latest = helsinki(2027, 1, 29, 8, 0)  # 60 calendar days after Monday 30.11.2026 08:00
    assert check_new_period(pol, latest, latest + timedelta(days=1), NOW) == latest
    err = violation(check_new_period, pol, latest + timedelta(minutes=1), latest + timedelta(days=1), NOW)
    assert err.extra["limit"] == "max_lead_days"
    assert err.detail.fi == (  # type: ignore[union-attr]
        "Tunnusta voi pyytää enintään 60 päivää etukäteen (viimeistään 29.1.2027 klo 8.00)."
    )
    assert err.detail.en == (  # type: ignore[union-attr]
        "An account can be requested at most 60 days ahead (by 29 Jan 2027 08:00)."
    )


def test_duration_limit_names_the_latest_allowed_end() -> None:
    pol = make_policy(max_duration_days=30)
    end = helsinki(2026, 12, 30, 8, 0)
    assert check_new_period(pol, NOW, end, NOW) == NOW
    err = violation(check_new_period, pol, NOW, end + timedelta(minutes=1), NOW)
    assert err.extra["limit"] == "max_duration_days"
    assert err.extra["latest_end"] == end.isoformat()
    assert err.detail.fi == (  # type: ignore[union-attr]
        "Sijaisuusjakso voi olla enintään 30 päivää; myöhäisin sallittu päättymisaika on 30.12.2026 klo 8.00."
    )
    assert err.detail.en == (  # type: ignore[union-attr]
        "A substitution period can last at most 30 days; the latest allowed end is 30 Dec 2026 08:00."
    )


def test_extensions_count_the_maximum_from_the_original_start() -> None:
    pol = make_policy(max_duration_days=30)
    started = NOW - timedelta(days=20)
    check_duration(pol, started, add_days_helsinki(started, 30))  # extended to the full 30 days
    err = violation(check_duration, pol, started, add_days_helsinki(started, 30) + timedelta(minutes=1))
    assert "enintään 30 päivää" in err.detail.fi  # type: ignore[union-attr]
    assert "at most 30 days" in err.detail.en  # type: ignore[union-attr]


def test_quota_refuses_the_request_that_would_exceed_it() -> None:
    pol = make_policy(quota=3)
    check_quota(pol, 2, "Hervannan koulu")
    err = violation(check_quota, pol, 3, "Hervannan koulu")
    assert err.extra == {"limit": "quota", "value": 3}
    assert [p.field for p in err.problems] == ["starts_at"]
    assert err.detail.fi == (  # type: ignore[union-attr]
        "Hervannan koulun sijaistunnusten enimmäismäärä samalle ajalle on täynnä: 3 tunnusta (enintään 3). "
        "Valitse toinen ajankohta."
    )
    assert err.detail.en == (  # type: ignore[union-attr]
        "Hervannan koulu already has 3 substitute accounts for that time (at most 3). Choose another time."
    )


def test_a_zero_quota_refuses_every_request() -> None:
    violation(check_quota, make_policy(quota=0), 0, "Kalevan koulu")


def test_tap_hours_apply_only_when_the_policy_asks_for_them() -> None:
    saturday = helsinki(2026, 12, 5, 10, 0)
    check_tap_hours(make_policy(), saturday, (7, 17))
    pol = make_policy(working_hours_only_tap=True)
    check_tap_hours(pol, helsinki(2026, 12, 1, 7, 0), (7, 17))
    check_tap_hours(pol, helsinki(2026, 12, 1, 16, 59), (7, 17))
    for refused in (saturday, helsinki(2026, 12, 1, 6, 59), helsinki(2026, 12, 1, 17, 0)):
        err = violation(check_tap_hours, pol, refused, (7, 17))
        assert err.detail.fi == "Kirjautumiskoodin voi antaa vain arkisin klo 7–17."  # type: ignore[union-attr]
        assert err.detail.en == "Sign-in codes can be issued only on weekdays 7:00–17:00."  # type: ignore[union-attr]


# --------------------------------------------------------------------------------------------- DST


def test_thirty_days_across_the_october_change_is_721_hours_and_across_march_719() -> None:
    october = helsinki(2026, 10, 10, 8, 0)
    assert add_days_helsinki(october, 30) - october == timedelta(hours=721)
    march = helsinki(2026, 3, 15, 8, 0)
    assert add_days_helsinki(march, 30) - march == timedelta(hours=719)
    pol = make_policy(max_duration_days=30)
    check_duration(pol, october, october + timedelta(hours=721))
    violation(check_duration, pol, october, october + timedelta(hours=721, minutes=1))
    check_duration(pol, march, march + timedelta(hours=719))
    violation(check_duration, pol, march, march + timedelta(hours=719, minutes=1))


def test_adding_no_days_is_the_identity_even_in_the_repeated_october_hour() -> None:
    first = helsinki(2026, 10, 25, 3, 30, fold=0)
    second = helsinki(2026, 10, 25, 3, 30, fold=1)
    assert second - first == timedelta(hours=1)
    assert add_days_helsinki(first, 0) == first
    assert add_days_helsinki(second, 0) == second


# Local wall-clock times within a few weeks of every DST change, minute resolution.
near_dst = st.builds(
    lambda day, offset, minute, fold: (
        datetime.combine(day + timedelta(days=offset), time()) + timedelta(minutes=minute),
        fold,
    ),
    st.sampled_from(DST_DAYS),
    st.integers(min_value=-40, max_value=3),
    st.integers(min_value=0, max_value=24 * 60 - 1),
    st.integers(min_value=0, max_value=1),
)


def exists(naive: datetime) -> bool:
    """False inside the spring-forward gap (03:00–03:59 on the last Sunday of March)."""
    aware = naive.replace(tzinfo=HELSINKI)
    return aware.astimezone(UTC).astimezone(HELSINKI).replace(tzinfo=None) == naive


@settings(max_examples=400, deadline=None)
@given(local=near_dst, days=st.integers(min_value=0, max_value=60))
@example(local=(datetime(2026, 10, 25, 3, 30), 1), days=0)
@example(local=(datetime(2026, 3, 28, 3, 30), 0), days=1)
@example(local=(datetime(2026, 9, 25, 8, 0), 0), days=30)
def test_add_days_lands_on_the_same_helsinki_wall_clock_time(local: tuple[datetime, int], days: int) -> None:
    naive, fold = local
    if not exists(naive):
        naive += timedelta(hours=1)  # a start is a real instant: 03:30 in the gap is 04:30 EEST
    start = naive.replace(tzinfo=HELSINKI, fold=fold).astimezone(UTC)
    result = add_days_helsinki(start, days)
    assert result.tzinfo is not None and result.utcoffset() == timedelta(0)
    wanted = naive + timedelta(days=days)
    got = result.astimezone(HELSINKI).replace(tzinfo=None)
    if exists(wanted):
        assert got == wanted
    else:  # the wall-clock time does not exist that day: the clock has moved on by the gap
        assert got == wanted + timedelta(hours=1)
    # n calendar days are n × 24 h, give or take the one DST hour crossed
    assert abs((result - start) - timedelta(days=days)) <= timedelta(hours=1)
    if days == 0:
        assert result == start


@settings(max_examples=300, deadline=None)
@given(local=near_dst, max_days=st.integers(min_value=1, max_value=60))
@example(local=(datetime(2026, 10, 1, 8, 0), 0), max_days=30)
@example(local=(datetime(2026, 3, 1, 8, 0), 0), max_days=30)
def test_exactly_the_maximum_in_calendar_days_is_allowed_and_one_minute_more_refused(
    local: tuple[datetime, int], max_days: int
) -> None:
    naive, fold = local
    if not exists(naive):
        naive += timedelta(hours=1)
    start = naive.replace(tzinfo=HELSINKI, fold=fold).astimezone(UTC)
    pol = make_policy(max_duration_days=max_days)
    # the end built independently: the same local date and time, max_days later on the calendar
    end = datetime.combine(naive.date() + timedelta(days=max_days), naive.time(), tzinfo=HELSINKI).astimezone(UTC)
    check_duration(pol, start, end)
    err = violation(check_duration, pol, start, end + timedelta(minutes=1))
    assert err.extra["latest_end"] == end.isoformat()


def test_with_approval_the_lead_and_duration_limits_are_returned_and_other_rules_still_refused() -> None:
    now = helsinki(2026, 3, 2, 8)
    far, long = now + timedelta(days=70), timedelta(days=40)
    with pytest.raises(PolicyViolation):
        check_new_period_or_limits(make_policy(), far, far + long, now)
    starts, limits = check_new_period_or_limits(make_policy(on_limit="approval"), far, far + long, now)
    assert starts == far and limits == ["max_lead_days", "max_duration_days"]
    assert check_new_period_or_limits(make_policy(on_limit="approval"), now, now + timedelta(days=3), now) == (now, [])
    with pytest.raises(PolicyViolation):  # an end before the start is never a matter of approval
        check_new_period_or_limits(make_policy(on_limit="approval"), far, far - timedelta(days=1), now)
