"""Reading the pages' forms: Finnish dates and times, default periods, the request form.

Date and time fields are plain text in the Finnish form (``27.11.2026``, ``8.15``), because a native
date input shows the browser's locale, not the page's; ``2026-11-27`` and ``08:15`` are accepted too.
Both are Europe/Helsinki wall-clock and become aware UTC.
Field errors are texts keys (see ``idops.web.texts``); policy errors come from the service, each at its
field (``FORM_FIELDS`` maps the API's field names to this form's).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from pydantic import TypeAdapter, ValidationError

from idops.kit.clock import HELSINKI, to_helsinki
from idops.kit.errors import FieldProblem
from idops.substitutes.schemas import Contact, NamePart, SubstituteRequest
from idops.web.texts import text

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


_NAME = TypeAdapter(NamePart)


@dataclass
class RequestForm:
    """The request form's fields as typed, and what is wrong with them (field → text key).

    ``to_request`` checks every field on each submit — names, dates, times, e-mail, phone — so one
    submit shows every format error; ``starts_at``/``ends_at`` are set whenever both halves parse, so
    the period's rules can be checked beside the other fields' errors."""

    given_name: str = ""
    surname: str = ""
    email: str = ""
    mobile_phone: str = ""
    start_date: str = ""
    start_time: str = ""
    end_date: str = ""
    end_time: str = ""
    person_id: str = ""
    force_new_person: bool = False  # "ei, uusi henkilö": the answer to a same-named earlier substitute
    errors: dict[str, str] = field(default_factory=dict)
    starts_at: datetime | None = None
    ends_at: datetime | None = None

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
            person_id=get("choose_person") or get("person_id"),
            force_new_person=get("force_new_person") == "1",
        )

    def moment(self, date_field: str, time_field: str) -> datetime | None:
        d = parse_date(getattr(self, date_field))
        t = parse_time(getattr(self, time_field))
        if d is None:
            self.errors[date_field] = "err_date"
        if t is None:
            self.errors[time_field] = "err_time"
        return helsinki(d, t) if d is not None and t is not None else None

    def _name(self, name: str, missing: str) -> None:
        value = getattr(self, name)
        if not value:
            self.errors[name] = missing
            return
        try:
            _NAME.validate_python(value)
        except ValidationError:
            self.errors[name] = "err_name_chars"

    def _contact(self) -> Contact | None:
        if not (self.email or self.mobile_phone):
            return None
        try:
            return Contact(email=self.email or None, mobile_phone=self.mobile_phone or None)
        except ValidationError as exc:
            for e in exc.errors():
                name = str(e["loc"][0]) if e["loc"] else "email"
                self.errors[name if name == "mobile_phone" else "email"] = (
                    "err_phone" if name == "mobile_phone" else "err_email"
                )
            return None

    def to_request(self, school: str) -> SubstituteRequest | None:
        """The API's request model, or None with ``errors`` filled for every field that is wrong."""
        self.errors = {}
        self._name("given_name", "err_given_name")
        self._name("surname", "err_surname")
        self.starts_at = self.moment("start_date", "start_time")
        self.ends_at = self.moment("end_date", "end_time")
        contact = self._contact()
        if self.errors or self.starts_at is None or self.ends_at is None:
            return None
        try:
            return SubstituteRequest(
                school=school,
                given_name=self.given_name,
                surname=self.surname,
                starts_at=self.starts_at,
                ends_at=self.ends_at,
                person_id=self.person_id or None,
                contact=contact,
                force_new_person=self.force_new_person and not self.person_id,
            )
        except ValidationError:  # only a tampered hidden field gets here: the fields were checked above
            self.errors["given_name"] = "err_name_chars"
            return None


# The API's field names (``FieldProblem.field``) → the form field that shows the message.
FORM_FIELDS = {
    "person": "given_name",
    "given_name": "given_name",
    "surname": "surname",
    "email": "email",
    "mobile_phone": "mobile_phone",
    "starts_at": "start_date",
    "ends_at": "end_date",
}
FIELD_ORDER = (
    "person",
    "given_name",
    "surname",
    "email",
    "mobile_phone",
    "start_date",
    "start_time",
    "end_date",
    "end_time",
)


def field_messages(
    lang: str,
    keys: Mapping[str, str],
    problems: Sequence[FieldProblem] = (),
    fields: Mapping[str, str] = FORM_FIELDS,
) -> dict[str, str]:
    """Every error of a submit, field → message in ``lang``, in the form's order: the form's own
    (text keys) and the service's (``problems``, placed through ``fields``). Two at one field are joined."""
    found: dict[str, list[str]] = {}
    for name, key in keys.items():
        found.setdefault(name, []).append(text(lang, key))
    for problem in problems:
        name = fields.get(problem.field, problem.field)
        found.setdefault(name, []).append(problem.message.in_language(lang))
    order = {name: i for i, name in enumerate(FIELD_ORDER)}
    return {name: " ".join(found[name]) for name in sorted(found, key=lambda n: order.get(n, len(order)))}


@dataclass
class BulkLine:
    """One row: the form's name, start and end cells, or a pasted ``name; start; end`` (a spreadsheet's
    tab-separated columns work too)."""

    number: int  # 1-based row of the form, then of the paste
    text: str
    cells: tuple[str, str, str] = ("", "", "")
    body: SubstituteRequest | None = None
    error: str | None = None  # a field of the row that could not be read ("name", "start", "end")


def _moment(value: str, default: time) -> datetime | None:
    parts = value.split()
    d = parse_date(parts[0]) if parts else None
    t = parse_time(parts[1]) if len(parts) > 1 else default
    return helsinki(d, t) if d is not None and t is not None else None


def pasted_rows(pasted: str) -> list[list[str]]:
    """A paste's lines as cells: split at tabs (a spreadsheet's columns) or else at semicolons."""
    return [[c.strip() for c in (raw.split("\t") if "\t" in raw else raw.split(";"))] for raw in pasted.splitlines()]


def parse_bulk_lines(pasted: str, school: str, first: int = 1) -> list[BulkLine]:
    """Pasted rows of ``Etunimi Sukunimi; 1.12.2026 8.00; 5.12.2026 16.00``, numbered from ``first``."""
    return parse_bulk_rows(pasted_rows(pasted), school, first)


def parse_bulk_rows(rows: Sequence[Sequence[str]], school: str, first: int = 1) -> list[BulkLine]:
    """Rows of cells name, start, end (times optional: 8.00 and 16.00), numbered from ``first``. The last
    word of the name is the surname. Empty rows are skipped (but counted); a row that cannot be read says
    which field, and the requests' own validation judges the rest."""
    out = []
    for number, row in enumerate(rows, start=first):
        cells = [c.strip() for c in row]
        if not any(cells):
            continue
        padded = (*cells, "", "", "")
        line = BulkLine(number, "; ".join(c for c in cells if c), (padded[0], padded[1], padded[2]))
        names = cells[0].split() if cells else []
        starts = _moment(cells[1], DAY_START) if len(cells) > 1 else None
        ends = _moment(cells[2], DAY_END) if len(cells) > 2 else None
        if len(names) < 2:
            line.error = "name"
        elif starts is None:
            line.error = "start"
        elif ends is None:
            line.error = "end"
        else:
            try:
                line.body = SubstituteRequest(
                    school=school, given_name=" ".join(names[:-1]), surname=names[-1], starts_at=starts, ends_at=ends
                )
            except ValidationError:
                line.error = "name"
        out.append(line)
    return out
