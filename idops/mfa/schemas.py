"""Response models of the MFA API (snake_case, ISO 8601 dates and times with offset)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

Dimension = Literal["municipality", "school", "role"]
Measure = Literal["registered", "capable"]


class Excluded(BaseModel):
    """Users left out of the denominators, by reason (first matching reason wins)."""

    disabled: int = 0
    guest: int = 0
    excluded_group: int = 0
    not_started: int = 0

    @property
    def total(self) -> int:
        return self.disabled + self.guest + self.excluded_group + self.not_started


State = Literal["measured", "unavailable", "stale"]
Source = Literal["report", "per_user_scan", "mixed"]


class Counts(BaseModel):
    """A group's numbers in one of three honest states (docs/definitions.md, "Measured, unavailable,
    stale"): ``measured`` (with ``as_of`` and ``source``), ``unavailable`` (numbers null, with
    ``unavailable_reason``; never 0 for unknown) or ``stale`` (measured, but older than
    ``[mfa] stale_after_hours``)."""

    total: int = Field(description="Counted users (excluded users left out)")
    measured: int = Field(description="Counted users whose registration is known: the shares' denominator")
    unmeasured: int = Field(description="Counted users without numbers (see unavailable_reason); in no share")
    registered: int | None = Field(description="Of the measured users; null when none is measured")
    capable: int | None
    passwordless_capable: int | None
    registered_share: float | None = Field(description="registered / measured; null when nobody is measured")
    capable_share: float | None
    passwordless_share: float | None
    state: State = Field(description="measured | unavailable (nobody measured) | stale (as_of too old)")
    source: Source | None = Field(
        description="report: the registration report; per_user_scan: each user's authentication methods "
        "(tenants without Entra ID P1); mixed: both; null when nothing is measured"
    )
    as_of: datetime | None = Field(description="Oldest as-of of the measured numbers (report row or reading)")
    stale: bool = Field(description="as_of older than [mfa] stale_after_hours")
    unavailable_reason: str | None = Field(
        description="Why unmeasured users have no numbers: premium_required (no Entra ID P1 and not yet read "
        "per user), permission_missing (idops may not read the report or the methods), sync_failed"
    )
    used_share: float | None = Field(
        description="Mean over users with sign-ins whose MFA requirement is known (30 days) of their share of "
        "MFA-satisfied sign-ins; null without such sign-ins"
    )
    used_users: int = Field(default=0, description="Users in used_share: its denominator")
    used_known_sign_ins: int = Field(default=0, description="Successful sign-ins whose MFA requirement is known")
    used_unknown: int = Field(
        default=0,
        description="Successful sign-ins whose MFA requirement the v1.0 log does not tell (no Conditional "
        "Access policy applied: security defaults, per-user MFA); left out of used_share",
    )
    signins_available: bool | None = Field(
        description="false when the tenant's licence gives no sign-in logs (403 premium); null when unknown"
    )
    excluded: Excluded
    excluded_total: int


class OtherUsers(BaseModel):
    """One tenant's users in no school group (role ``other``): counted per tenant only, never in a
    municipality × school row (docs/definitions.md). Shown in the ``sync_mfa`` job's output."""

    tenant_id: str
    municipalities: list[str] = Field(description="Municipalities whose schools the tenant holds")
    total: int = Field(description="Counted users (excluded users left out)")
    measured: int = Field(description="Of them, users whose registration is known")
    registered: int
    capable: int
    passwordless_capable: int
    excluded: Excluded = Field(description="By the user's own reason; not_started needs a school, so it is 0")
    excluded_total: int


class SummaryRow(Counts):
    municipality: str | None = None
    school: str | None = Field(default=None, description='School path "<municipality>/<school>"')
    role: str | None = None
    target: float | None = Field(default=None, description="Target share of capable users for the role")
    below_target: bool | None = Field(default=None, description="capable_share below the role's target")
    date: date
    synced_at: datetime
    report_as_of: datetime | None


class Missing(BaseModel):
    """A municipality whose users are (partly) left out of the numbers, and why: the totals' footnote."""

    municipality: str
    reason: str = Field(description="premium_required | permission_missing | sync_failed | not_synced")
    users: int = Field(description="Counted users without numbers (0 for not_synced: not known)")


class AsOf(BaseModel):
    """Freshness: when idops synced (oldest tenant in view) and the oldest measured number."""

    synced_at: datetime | None
    report_as_of: datetime | None
    date: date | None


class BelowTarget(BaseModel):
    school: str
    role: str
    capable_share: float | None
    target: float


class Summary(BaseModel):
    as_of: AsOf
    group_by: list[Dimension]
    targets: dict[str, float]
    totals: Counts | None = Field(description="Over the measured users of every row; see missing")
    missing: list[Missing] = Field(
        default_factory=list,
        description="Municipalities left out of the totals (wholly or partly), with the reason",
    )
    rows: list[SummaryRow]
    below_target: list[BelowTarget] = Field(
        description="School × role rows whose capable share is below target"
    )
    note: str | None = None


class TrendPoint(Counts):
    date: date
    municipality: str | None = None
    school: str | None = None
    role: str | None = None
    target: float | None = Field(default=None, description="The role's target share of capable users")
    gap: float | None = Field(
        default=None, description="target − capable_share (positive: short of the target); null without either"
    )


class Trend(BaseModel):
    start: date
    end: date
    group_by: list[Dimension]
    targets: dict[str, float] = Field(default_factory=dict)
    points: list[TrendPoint]


class UnregisteredUser(BaseModel):
    user_id: str
    user_principal_name: str
    display_name: str
    municipality: str
    school: str = Field(description='School path "<municipality>/<school>"')
    role: str
    is_mfa_registered: bool
    is_mfa_capable: bool
    is_passwordless_capable: bool
    methods_registered: list[str]
    report_updated_at: datetime | None
    synced_at: datetime | None
    source: str | None = Field(default=None, description="report | per_user_scan: where the registration came from")


class UserPage(BaseModel):
    items: list[UnregisteredUser]
    next: str | None = None
    as_of: AsOf


# ------------------------------------------------------------------------------------------ CSV
# Power BI: one row per observation, stable snake_case columns, ISO dates, "." decimals.

COUNT_COLUMNS = (
    "total",
    "measured",
    "unmeasured",
    "registered",
    "capable",
    "passwordless_capable",
    "registered_share",
    "capable_share",
    "passwordless_share",
    "state",
    "source",
    "as_of",
    "stale",
    "unavailable_reason",
    "used_share",
    "used_users",
    "used_known_sign_ins",
    "used_unknown",
    "signins_available",
    "excluded_disabled",
    "excluded_guest",
    "excluded_group",
    "excluded_not_started",
    "excluded_total",
)
SUMMARY_COLUMNS = (
    "date",
    "municipality",
    "school",
    "role",
    *COUNT_COLUMNS,
    "target",
    "below_target",
    "synced_at",
    "report_as_of",
)
TREND_COLUMNS = ("date", "municipality", "school", "role", *COUNT_COLUMNS, "target", "gap")
USER_COLUMNS = (
    "user_id",
    "user_principal_name",
    "display_name",
    "municipality",
    "school",
    "role",
    "is_mfa_registered",
    "is_mfa_capable",
    "is_passwordless_capable",
    "methods_registered",
    "report_updated_at",
    "synced_at",
    "source",
)


def _flat(model: BaseModel) -> dict[str, object]:
    d = model.model_dump()
    ex = d.pop("excluded", None)
    if isinstance(ex, dict):
        d["excluded_disabled"] = ex["disabled"]
        d["excluded_guest"] = ex["guest"]
        d["excluded_group"] = ex["excluded_group"]
        d["excluded_not_started"] = ex["not_started"]
    return d


def summary_csv_rows(s: Summary) -> list[dict[str, object]]:
    return [_flat(r) for r in s.rows]


def trend_csv_rows(t: Trend) -> list[dict[str, object]]:
    return [_flat(p) for p in t.points]


def users_csv_rows(items: list[UnregisteredUser]) -> list[dict[str, object]]:
    out = []
    for u in items:
        d: dict[str, object] = u.model_dump()
        d["methods_registered"] = ";".join(u.methods_registered)
        out.append(d)
    return out


class StaffAccessPassIn(BaseModel):
    """Why the pass is issued (kept in the audit trail), e.g. "puhelin hukassa, tiketti 4711"."""

    reason: str = Field(min_length=3, max_length=500)


class StaffAccessPassOut(BaseModel):
    """Returned exactly once; never stored."""

    user_id: str
    user_principal_name: str
    display_name: str
    temporary_access_pass: str
    valid_from: datetime
    valid_until: datetime
    is_usable_once: bool
