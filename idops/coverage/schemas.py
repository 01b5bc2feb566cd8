"""Response shapes of the single-login report (snake_case; shares are fractions 0…1, None when undefined)."""

from __future__ import annotations

from pydantic import BaseModel


class Numbers(BaseModel):
    staff_persons: int
    single_account_persons: int
    multi_account_persons: int
    account_coverage: float | None
    apps_in_use: int
    single_login_apps: int
    app_coverage: float | None
    app_users: int
    single_login_app_users: int
    weighted_app_coverage: float | None
    headline_persons: int
    headline_share: float | None


class Change(BaseModel):
    """This run minus the previous one (shares in fractions: 0.025 = +2.5 percentage points)."""

    staff_persons: int | None = None
    single_account_persons: int | None = None
    multi_account_persons: int | None = None
    account_coverage: float | None = None
    apps_in_use: int | None = None
    single_login_apps: int | None = None
    app_coverage: float | None = None
    app_users: int | None = None
    single_login_app_users: int | None = None
    weighted_app_coverage: float | None = None
    headline_persons: int | None = None
    headline_share: float | None = None


class AppRow(BaseModel):
    key: str
    name: str
    app_ids: list[str]
    catalogued: bool
    sign_in: str  # entra-sso | mpassid | separate-account | unknown
    single_login: bool
    users: int
    observable: bool  # False: no appId in the catalogue, so every staff person counts as a user


class RankedApp(BaseModel):
    key: str
    name: str
    users: int
    municipalities: list[str]


class UnknownApp(BaseModel):
    app_id: str
    name: str
    users: int
    sso_modes: dict[str, str | None]  # tenant id → servicePrincipal.preferredSingleSignOnMode


class AccountRef(BaseModel):
    tenant: str
    tenant_id: str
    user_principal_name: str | None  # None once scrubbed (a run older than the retention period)
    enabled: bool


class MultiAccountPerson(BaseModel):
    name: str | None  # None once scrubbed (a run older than the retention period)
    enabled_accounts: int
    accounts: list[AccountRef]


class SchoolRow(BaseModel):
    path: str
    municipality: str
    school: str
    name: str
    numbers: Numbers
    change: Change | None
    apps: list[AppRow]


class MunicipalityRow(BaseModel):
    key: str
    name: str
    signins_available: bool | None
    mpassid_home_is_entra: bool
    headline_eligible: bool  # no catalogued app of its staff needs a separate account
    numbers: Numbers | None  # None for principals (they see their schools only)
    change: Change | None
    apps: list[AppRow] | None
    separate_apps: list[AppRow] | None
    unknown_apps: list[UnknownApp] | None
    multi_account_persons: list[MultiAccountPerson] | None  # names: IT admins of the municipality only
    schools: list[SchoolRow]


class RegionRow(BaseModel):
    key: str
    name: str
    numbers: Numbers
    change: Change | None


class Headline(BaseModel):
    staff_persons: int
    headline_persons: int
    headline_share: float | None


class Window(BaseModel):
    start: str
    end: str
    days: int


class RunRef(BaseModel):
    id: str
    report_date: str
    generated_at: str


class ScopeInfo(BaseModel):
    role: str
    municipality: str | None
    school: str | None


class SingleLoginReportOut(BaseModel):
    id: str
    report_date: str
    generated_at: str
    window: Window
    previous: RunRef | None
    scope: ScopeInfo
    region: RegionRow | None  # region admins only
    headline: Headline
    separate_apps: list[RankedApp]
    unknown_apps: list[UnknownApp]
    municipalities: list[MunicipalityRow]
