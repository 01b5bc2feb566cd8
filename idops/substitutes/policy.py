"""Period policy: duration, lead time, extensions, quota, TAP hours — with messages a principal understands.

Day limits are counted in Helsinki wall-clock days (a 30-day period across the October DST change
is 30 calendar days, not 720 hours), because that is how principals count.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from idops.config import EffectivePolicy
from idops.kit.clock import HELSINKI, to_helsinki
from idops.kit.errors import FieldProblem, Message, PolicyViolation
from idops.kit.i18n import fi_genitive, when

# A request may name a start a little in the past ("from 8 o'clock" sent at 9): it starts now.
PAST_START_SLACK = timedelta(hours=24)


def add_days_helsinki(at: datetime, days: int) -> datetime:
    """``at`` plus ``days`` calendar days on the Helsinki wall clock, back in UTC."""
    local = to_helsinki(at)
    # Keep ``fold``: datetime + timedelta drops it, which would move the repeated October hour back an hour.
    shifted = (local.replace(tzinfo=None) + timedelta(days=days)).replace(tzinfo=HELSINKI, fold=local.fold)
    return shifted.astimezone(at.tzinfo or HELSINKI)


Limit = dict[str, Any]  # the machine-readable limit of a problem (the API's ``limit``, ``value``…)


def _period_checks(
    p: EffectivePolicy, starts_at: datetime, ends_at: datetime, now: datetime
) -> list[tuple[FieldProblem, Limit]]:
    checks: list[tuple[FieldProblem, Limit]] = []
    if starts_at < now - PAST_START_SLACK:
        checks.append((FieldProblem("starts_at", Message(
            "Alkamisaika voi olla enintään vuorokauden menneisyydessä.",
            "The start can be at most one day in the past.",
        )), {}))
    latest_start = add_days_helsinki(now, p.max_lead_days)
    if starts_at > latest_start:
        checks.append((FieldProblem("starts_at", Message(
            f"Tunnusta voi pyytää enintään {p.max_lead_days} päivää etukäteen "
            f"(viimeistään {when(latest_start, 'fi')}).",
            f"An account can be requested at most {p.max_lead_days} days ahead (by {when(latest_start, 'en')}).",
        )), {"limit": "max_lead_days", "value": p.max_lead_days}))
    if ends_at <= starts_at:
        checks.append((FieldProblem("ends_at", Message(
            "Päättymisajan on oltava alkamisajan jälkeen.", "The end must be after the start."
        )), {}))
    elif ends_at <= now:
        checks.append((FieldProblem("ends_at", Message(
            "Päättymisaika on jo mennyt.", "The end time has already passed."
        )), {}))
    else:
        checks.extend(_duration_checks(p, starts_at, ends_at))
    return checks


def _duration_checks(p: EffectivePolicy, starts_at: datetime, ends_at: datetime) -> list[tuple[FieldProblem, Limit]]:
    latest_end = add_days_helsinki(starts_at, p.max_duration_days)
    if ends_at <= latest_end:
        return []
    return [(FieldProblem("ends_at", Message(
        f"Sijaisuusjakso voi olla enintään {p.max_duration_days} päivää; "
        f"myöhäisin sallittu päättymisaika on {when(latest_end, 'fi')}.",
        f"A substitution period can last at most {p.max_duration_days} days; "
        f"the latest allowed end is {when(latest_end, 'en')}.",
    )), {"limit": "max_duration_days", "value": p.max_duration_days, "latest_end": latest_end.isoformat()})]


def _raise_first(checks: list[tuple[FieldProblem, Limit]]) -> None:
    """One ``PolicyViolation`` listing every problem; the first one's limit goes into the problem body."""
    if checks:
        raise PolicyViolation(problems=[problem for problem, _ in checks], **checks[0][1])


def period_problems(p: EffectivePolicy, starts_at: datetime, ends_at: datetime, now: datetime) -> list[FieldProblem]:
    """Every rule a requested period breaks, each at its field (``starts_at`` / ``ends_at``), so a form
    can show them all after one submit. Empty when the period is acceptable."""
    return [problem for problem, _ in _period_checks(p, starts_at, ends_at, now)]


def check_new_period(p: EffectivePolicy, starts_at: datetime, ends_at: datetime, now: datetime) -> datetime:
    """Validate a requested period; return the effective start (a past start becomes now).

    Raises one ``PolicyViolation`` listing every broken rule (``problems``; the first is its detail).
    """
    _raise_first(_period_checks(p, starts_at, ends_at, now))
    return max(starts_at, now)


APPROVABLE = ("max_lead_days", "max_duration_days")


def check_new_period_or_limits(
    p: EffectivePolicy, starts_at: datetime, ends_at: datetime, now: datetime
) -> tuple[datetime, list[str]]:
    """``check_new_period``, except that with ``on_limit = "approval"`` a period that breaks only the lead
    and duration limits is accepted, and those limits are returned: the request then awaits approval.
    Any other broken rule (an end before the start, a start long past) is raised as before."""
    checks = _period_checks(p, starts_at, ends_at, now)
    limits = [str(limit["limit"]) for _, limit in checks if limit.get("limit") in APPROVABLE]
    if p.on_limit != "approval" or len(limits) != len(checks):
        _raise_first(checks)
        limits = []
    return max(starts_at, now), limits


def check_duration(p: EffectivePolicy, starts_at: datetime, ends_at: datetime) -> None:
    """Extensions too: the whole period, counted from its start, stays within the maximum."""
    _raise_first(_duration_checks(p, starts_at, ends_at))


def check_quota(p: EffectivePolicy, overlapping: int, school_name: str) -> None:
    """At its field ``starts_at``: another period is what the principal can choose."""
    if overlapping >= p.quota:
        raise PolicyViolation(
            Message(
                f"{fi_genitive(school_name)} sijaistunnusten enimmäismäärä samalle ajalle on täynnä: "
                f"{overlapping} tunnusta (enintään {p.quota}). Valitse toinen ajankohta.",
                f"{school_name} already has {overlapping} substitute accounts for that time (at most {p.quota}). "
                "Choose another time.",
            ),
            field="starts_at", limit="quota", value=p.quota,
        )


def check_tap_hours(p: EffectivePolicy, now: datetime, hours: tuple[int, int]) -> None:
    if not p.working_hours_only_tap:
        return
    local = to_helsinki(now)
    if local.weekday() >= 5 or not hours[0] <= local.hour < hours[1]:
        raise PolicyViolation(
            Message(
                f"Kirjautumiskoodin voi antaa vain arkisin klo {hours[0]}–{hours[1]}.",
                f"Sign-in codes can be issued only on weekdays {hours[0]}:00–{hours[1]}:00.",
            ),
            limit="working_hours_only_tap",
        )
