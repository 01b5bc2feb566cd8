"""Reading the pages' forms: Finnish dates and times, default periods, the request form.

Date and time fields are plain text in the Finnish form (``27.11.2026``, ``8.15``), because a native
date input shows the browser's locale, not the page's; ``2026-11-27`` and ``08:15`` are accepted too.
Both are Europe/Helsinki wall-clock and become aware UTC.
Field errors are texts keys (see ``idops.web.texts``); policy errors come from the service.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from pydantic import ValidationError

from idops.kit.clock import HELSINKI, to_helsinki
from idops.substitutes.schemas import Contact, SubstituteRequest

_DATE_FI = re.compile(r"^\s*(\d{1,2})\.(\d{1,2})\.(\d{4})\s*$")
_DATE_ISO = re.compile(r"^\s*(\d{4})-(\d{2})-(\d{2})\s*$")
_TIME = re.compile(r"^\s*(?:klo\s*)?(\d{1,2})(?:[.:](\d{2}))?\s*$")

DAY_START = time(8, 0)
DAY_END = time(16, 0)


def parse_date(value: str) -> date | None:
    m = _DATE_FI.match(value)
    try:
        if m:
            return date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
        m = _DATE_ISO.match(value)
        if m:
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None
    return None


def parse_time(value: str) -> time | None:
    m = _TIME.match(value)
    if not m:
        return None
    hour, minute = int(m.group(1)), int(m.group(2) or 0)
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


def helsinki(d: date, t: time) -> datetime:
    """A Helsinki wall-clock moment as aware UTC."""
    return datetime.combine(d, t, tzinfo=HELSINKI).astimezone(UTC)


def default_period(now: datetime) -> tuple[datetime, datetime]:
    """Today 8.00 to Friday 16.00 (the school week a principal plans in). At a weekend, or when this
    week's Friday 16.00 has passed, next Monday 8.00 to Friday 16.00."""
    local = to_helsinki(now)
    today = local.date()
    start_day = today if today.weekday() < 5 else today + timedelta(days=7 - today.weekday())
    friday = start_day + timedelta(days=4 - start_day.weekday())
    if helsinki(friday, DAY_END) <= now:
        start_day = today + timedelta(days=7 - today.weekday())
        friday = start_day + timedelta(days=4)
    return helsinki(start_day, DAY_START), helsinki(friday, DAY_END)


def date_value(at: datetime) -> str:
    """A date field's value: ``30.11.2026`` (Helsinki date)."""
    d = to_helsinki(at).date()
    return f"{d.day}.{d.month}.{d.year}"


def time_value(at: datetime) -> str:
    """A time field's value: ``8.15`` (Helsinki time)."""
    local = to_helsinki(at)
    return f"{local.hour}.{local.minute:02d}"


@dataclass
class RequestForm:
    """The request form's fields as typed, and what is wrong with them (field → text key)."""

    given_name: str = ""
    surname: str = ""
    email: str = ""
    mobile_phone: str = ""
    start_date: str = ""
    start_time: str = ""
    end_date: str = ""
    end_time: str = ""
    person_id: str = ""
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def initial(cls, now: datetime) -> RequestForm:
        start, end = default_period(now)
        return cls(
            start_date=date_value(start),
            start_time=time_value(start),
            end_date=date_value(end),
            end_time=time_value(end),
        )

    @classmethod
    def of(cls, data: dict[str, str]) -> RequestForm:
        def get(k: str) -> str:
            return data.get(k, "").strip()

        return cls(
            given_name=get("given_name"),
            surname=get("surname"),
            email=get("email"),
            mobile_phone=get("mobile_phone"),
            start_date=get("start_date"),
            start_time=get("start_time"),
            end_date=get("end_date"),
            end_time=get("end_time"),
            person_id=get("person_id"),
        )

    def moment(self, date_field: str, time_field: str) -> datetime | None:
        d = parse_date(getattr(self, date_field))
        t = parse_time(getattr(self, time_field))
        if d is None:
            self.errors[date_field] = "err_date"
        if t is None:
            self.errors[time_field] = "err_time"
        return helsinki(d, t) if d is not None and t is not None else None

    def to_request(self, school: str) -> SubstituteRequest | None:
        """The API's request model, or None with ``errors`` filled."""
        if not self.given_name:
            self.errors["given_name"] = "err_given_name"
        if not self.surname:
            self.errors["surname"] = "err_surname"
        starts_at = self.moment("start_date", "start_time")
        ends_at = self.moment("end_date", "end_time")
        if self.errors or starts_at is None or ends_at is None:
            return None
        contact = None
        if self.email or self.mobile_phone:
            try:
                contact = Contact(email=self.email or None, mobile_phone=self.mobile_phone or None)
            except ValidationError as exc:
                for e in exc.errors():
                    name = str(e["loc"][0]) if e["loc"] else ""
                    self.errors[name if name in ("email", "mobile_phone") else "email"] = (
                        "err_phone" if name == "mobile_phone" else "err_email"
                    )
                return None
        try:
            return SubstituteRequest(
                school=school,
                given_name=self.given_name,
                surname=self.surname,
                starts_at=starts_at,
                ends_at=ends_at,
                person_id=self.person_id or None,
                contact=contact,
            )
        except ValidationError as exc:
            for e in exc.errors():
                name = str(e["loc"][0]) if e["loc"] else ""
                if name in ("given_name", "surname"):
                    self.errors[name] = "err_name_chars"
                else:
                    self.errors.setdefault("given_name", "err_name_chars")
            return None
