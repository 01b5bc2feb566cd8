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
    force_new_person: bool = Field(
        default=False,
        description="A new person although the municipality has an earlier substitute of the same name "
        "(answers the 409 that lists them as `candidates`; recorded in the audit trail)",
    )


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
    cancelled_before_start: bool = Field(
        default=False, description="revoked before it started: it never ran (`ends_at` is then `starts_at`)"
    )
    last_error: str | None = None
    request_id: str | None = Field(default=None, description="the X-Request-ID of the request that made it")


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


class OrphanOut(BaseModel):
    """A marked account in Entra that idops has no record of."""

    entra_user_id: str
    user_principal_name: str
    municipality: str | None = Field(description="from the UPN's domain; null where it cannot tell")
    first_seen_at: datetime
    last_seen_at: datetime
    disabled_at: datetime | None


class CorrectionOut(BaseModel):
    """One drift correction reconcile made (one audit event)."""

    id: str
    at: datetime
    actor: str
    action: str = Field(description="re_disabled, re_enabled, group_added, group_removed, licence_added, "
                        "licence_removed, orphan_disabled")
    subject_type: str = Field(description="person, or orphan")
    person_id: str | None
    entra_user_id: str | None
    user_principal_name: str | None
    group_id: str | None = None
    sku_id: str | None = None


class DriftOut(BaseModel):
    """Orphans (all of them) and the corrections (newest first, paged by ``next``)."""

    orphans: list[OrphanOut]
    items: list[CorrectionOut]
    next: str | None = None
