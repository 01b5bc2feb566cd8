"""Request and response shapes of the substitutes API (snake_case, times ISO 8601 with offset)."""

from __future__ import annotations

from datetime import date, datetime
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
    overdue_since: datetime | None = Field(
        default=None,
        description="Set when taking access away at the end failed: the end that was missed. Stays after a late "
        "end (for the record); cleared when the period is extended",
    )
    end_attempted_at: datetime | None = Field(default=None, description="The last failed attempt to end it")
    end_error: str | None = Field(
        default=None, description="Why the last attempt failed (e.g. GraphUnavailable, unavailable, forbidden)"
    )
    approval_limits: list[str] = Field(
        default=[], description="awaiting_approval: the limits exceeded (quota, seats, max_lead_days, "
        "max_duration_days)",
    )
    decision_reason: str | None = Field(default=None, description="the approver's reason (approved or denied)")


class OverdueEnd(BaseModel):
    """A period whose access should already have been taken away (shown to IT admins)."""

    id: str
    school: str
    display_name: str | None
    user_principal_name: str | None
    ends_at: datetime
    overdue_since: datetime | None
    end_attempted_at: datetime | None
    end_error: str | None


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


# --- a person's data: the IT admin's view, the data subject's export, erasure, legal hold -------------


class LegalHoldIn(_Strict):
    reason: Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)] = Field(
        description="A case reference (e.g. the register number of the matter); scrubbed with the person",
        examples=["TAM/1234/2026"],
    )


class LegalHoldOut(BaseModel):
    at: datetime
    by: str | None
    reason: str | None


class PersonDetail(BaseModel):
    """A substitute person as the IT admins of their municipality see them (``GET /v1/substitute-persons/{id}``)."""

    person_id: str
    municipality: str
    given_name: str | None = Field(description="None once scrubbed")
    surname: str | None
    display_name: str | None
    email: str | None
    mobile_phone: str | None
    user_principal_name: str | None
    entra_user_id: str | None
    created_at: datetime
    account_deleted_at: datetime | None
    scrubbed_at: datetime | None
    legal_hold: LegalHoldOut | None
    scrub_due_at: datetime | None = Field(description="when the nightly purge removes the personal data "
                                          "(None while a period is open or a legal hold is on)")
    periods: list[SubstituteOut]


class ExportPerson(BaseModel):
    id: str
    tenant_id: str
    municipality: str
    given_name: str | None
    surname: str | None
    display_name: str | None
    email: str | None
    mobile_phone: str | None
    user_principal_name: str | None
    mail_nickname: str | None
    entra_user_id: str | None
    created_at: datetime
    created_by: str = Field(description="the role that recorded the person (never another person's id)")
    account_deleted_at: datetime | None
    scrubbed_at: datetime | None
    legal_hold: LegalHoldOut | None


class ExportPeriod(BaseModel):
    id: str
    school: str
    municipality: str
    status: str
    starts_at: datetime
    ends_at: datetime
    original_ends_at: datetime
    created_at: datetime
    created_by: str
    activated_at: datetime | None
    ended_at: datetime | None
    revoked_at: datetime | None
    revoked_by: str | None
    notified_at: datetime | None
    deleted_at: datetime | None
    last_error: str | None


class ExportEvent(BaseModel):
    id: str
    at: datetime
    actor: str = Field(description="a role or job, never another person's id")
    action: str
    subject_type: str
    subject_id: str
    school: str | None
    details: dict[str, object]
    personal: dict[str, object] | None


class ExportMembership(BaseModel):
    municipality: str
    school: str
    role: str
    excluded_reason: str | None


class ExportAccount(BaseModel):
    """The person's account as the directory mirror last saw it (written by ``sync_mfa``)."""

    tenant_id: str
    user_id: str
    user_principal_name: str
    display_name: str
    mail: str | None
    employee_id: str | None
    account_enabled: bool
    employee_type: str | None
    employee_hire_date: datetime | None
    is_mfa_registered: bool
    is_mfa_capable: bool
    is_passwordless_capable: bool
    methods_registered: list[str]
    report_updated_at: datetime | None
    synced_at: datetime | None
    memberships: list[ExportMembership]


class ExportSignInDay(BaseModel):
    day: date
    app_id: str
    app_display_name: str
    sign_ins: int
    mfa_sign_ins: int
    failed_sign_ins: int


class ExportRetention(BaseModel):
    grace_days: int
    retention_days: int
    last_end: datetime | None = Field(description="None while a period is open")
    account_deletion_due_at: datetime | None
    scrub_due_at: datetime | None


class PersonExport(BaseModel):
    """Everything idops holds about one substitute person (a data subject's right of access)."""

    generated_at: datetime
    controller: str = Field(description="the municipality (the controller of this register)")
    person: ExportPerson
    periods: list[ExportPeriod]
    events: list[ExportEvent]
    directory_account: ExportAccount | None
    sign_ins: list[ExportSignInDay]
    retention: ExportRetention
    processors: list[str]


class ErasureIn(_Strict):
    end_open_periods: bool = Field(
        default=False,
        description="End the person's open substitutions now (each recorded as revoked by you); without "
        "it, erasure is refused while one is open",
    )


class ErasureOut(BaseModel):
    person_id: str
    erased_at: datetime
    already_erased: bool
    periods_ended: int
    account_deleted: bool
