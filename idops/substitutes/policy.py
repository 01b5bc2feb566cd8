"""Period policy: duration, lead time, extensions, quota, TAP hours — with messages a principal understands.

Day limits are counted in Helsinki wall-clock days (a 30-day period across the October DST change
is 30 calendar days, not 720 hours), because that is how principals count.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from idops.config import EffectivePolicy
from idops.kit.clock import HELSINKI, to_helsinki
from idops.kit.errors import Message, PolicyViolation

# A request may name a start a little in the past ("from 8 o'clock" sent at 9): it starts now.
PAST_START_SLACK = timedelta(hours=24)


def add_days_helsinki(at: datetime, days: int) -> datetime:
    """``at`` plus ``days`` calendar days on the Helsinki wall clock, back in UTC."""
    local = to_helsinki(at)
    # Keep ``fold``: datetime + timedelta drops it, which would move the repeated October hour back an hour.
    shifted = (local.replace(tzinfo=None) + timedelta(days=days)).replace(tzinfo=HELSINKI, fold=local.fold)
    return shifted.astimezone(at.tzinfo or HELSINKI)


def fmt(at: datetime) -> str:
    """27.11.2026 klo 8.15 — how Finnish pages and messages show times."""
    local = to_helsinki(at)
    return f"{local.day}.{local.month}.{local.year} klo {local.hour}.{local.minute:02d}"


def fmt_en(at: datetime) -> str:
    return to_helsinki(at).strftime("%d %b %Y %H:%M")


def check_new_period(p: EffectivePolicy, starts_at: datetime, ends_at: datetime, now: datetime) -> datetime:
    """Validate a requested period; return the effective start (a past start becomes now).

    Raises ``PolicyViolation`` with a Finnish/English message.
    """
    if ends_at <= starts_at:
        raise PolicyViolation(
            Message("Päättymisajan on oltava alkamisajan jälkeen.", "The end must be after the start.")
        )
    if ends_at <= now:
        raise PolicyViolation(Message("Päättymisaika on jo mennyt.", "The end time has already passed."))
    if starts_at < now - PAST_START_SLACK:
        raise PolicyViolation(
            Message("Alkamisaika on liian kaukana menneisyydessä.", "The start is too far in the past.")
        )
    effective_start = max(starts_at, now)
    latest_start = add_days_helsinki(now, p.max_lead_days)
    if starts_at > latest_start:
        raise PolicyViolation(
            Message(
                f"Tunnusta voi pyytää enintään {p.max_lead_days} päivää etukäteen (viimeistään {fmt(latest_start)}).",
                f"An account can be requested at most {p.max_lead_days} days ahead (by {fmt_en(latest_start)}).",
            ),
            limit="max_lead_days", value=p.max_lead_days,
        )
    check_duration(p, starts_at, ends_at)
    return effective_start


def check_duration(p: EffectivePolicy, starts_at: datetime, ends_at: datetime) -> None:
    """Extensions too: the whole period, counted from its start, stays within the maximum."""
    latest_end = add_days_helsinki(starts_at, p.max_duration_days)
    if ends_at > latest_end:
        raise PolicyViolation(
            Message(
                f"Sijaisuusjakso voi olla enintään {p.max_duration_days} päivää; "
                f"myöhäisin sallittu päättymisaika on {fmt(latest_end)}.",
                f"A substitution period can last at most {p.max_duration_days} days; "
                f"the latest allowed end is {fmt_en(latest_end)}.",
            ),
            limit="max_duration_days", value=p.max_duration_days, latest_end=latest_end.isoformat(),
        )


def check_quota(p: EffectivePolicy, overlapping: int, school_name: str) -> None:
    if overlapping >= p.quota:
        raise PolicyViolation(
            Message(
                f"Koululla {school_name} on jo {overlapping} sijaistunnusta samalle ajalle (enintään {p.quota}).",
                f"{school_name} already has {overlapping} substitute accounts for that time (at most {p.quota}).",
            ),
            limit="quota", value=p.quota,
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
