"""Request and response shapes of the substitutes API (snake_case, times ISO 8601 with offset)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from idops.substitutes.names import MAX_NAME_PART, clean_name_part

NamePart = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_NAME_PART, strip_whitespace=True),
    AfterValidator(clean_name_part),
]
SchoolPath = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{0,39}/[a-z][a-z0-9-]{0,39}$")]
Email = Annotated[
    str,
    StringConstraints(
        max_length=254, strip_whitespace=True, pattern=r"^[^@\s<>\"']{1,64}@[A-Za-z0-9.-]{1,189}\.[A-Za-z]{2,}$"
    ),
]
Phone = Annotated[str, StringConstraints(pattern=r"^\+?[0-9 ()-]{5,24}$")]
Uuid = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=False)


class Contact(_Strict):
    email: Email | None = None
    mobile_phone: Phone | None = None


class SubstituteRequest(_Strict):
    school: SchoolPath = Field(examples=["tampere/hervanta"])
    given_name: NamePart = Field(examples=["Aino"])
    surname: NamePart = Field(examples=["Äijälä"])
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    person_id: Uuid | None = Field(default=None, description="An earlier substitute (see /v1/substitute-persons)")
    contact: Contact | None = None


class SubstitutePatch(_Strict):
    ends_at: AwareDatetime


class SubstituteOut(BaseModel):
    id: str
    status: str
    school: str
    person_id: str
    user_principal_name: str | None
    display_name: str | None
    starts_at: datetime
    ends_at: datetime
    created_at: datetime
    created_by: str
    activated_at: datetime | None = None
    ended_at: datetime | None = None
    revoked_at: datetime | None = None
    last_error: str | None = None
    request_id: str | None = Field(default=None, description="the X-Request-ID of the request that made it")
    approval_limits: list[str] = Field(
        default=[], description="awaiting_approval: the limits exceeded (quota, seats, max_lead_days, "
        "max_duration_days)",
    )
    decision_reason: str | None = Field(default=None, description="the approver's reason (approved or denied)")


class SubstituteList(BaseModel):
    items: list[SubstituteOut]
    next: str | None = None


class AccessPassOut(BaseModel):
    """Returned exactly once; never stored. One of the two credentials is present."""

    temporary_access_pass: str | None = None
    one_time_password: str | None = None
    valid_from: datetime
    valid_until: datetime
    is_usable_once: bool = False
    delivered_to: str | None = Field(default=None, description="deliver=email: the (masked) address it went to")


class EventOut(BaseModel):
    id: str
    at: datetime
    actor: str
    action: str
    request_id: str | None
    details: dict[str, object]


class EventList(BaseModel):
    items: list[EventOut]
    next: str | None = None


class PersonOut(BaseModel):
    person_id: str
    given_name: str
    surname: str
    user_principal_name: str | None
    email_hint: str | None = Field(description="masked, e.g. a***@example.fi")
    municipality: str
    last_school: str | None
    last_ends_at: datetime | None


class PersonList(BaseModel):
    items: list[PersonOut]
    next: str | None = None


class Decision(_Strict):
    reason: str | None = Field(default=None, min_length=3, max_length=500)


class Denial(_Strict):
    reason: str = Field(min_length=3, max_length=500, description="shown to the principal who asked")


class BulkRequest(_Strict):
    items: list[SubstituteRequest] = Field(min_length=1, max_length=50)


class BulkItemResult(BaseModel):
    index: int
    status: int = Field(description="what a single POST /v1/substitutes would have answered: 201, 200, 202, 4xx…")
    substitute: SubstituteOut | None = None
    problem: dict[str, object] | None = Field(default=None, description="application/problem+json body")


class BulkResult(BaseModel):
    results: list[BulkItemResult]
