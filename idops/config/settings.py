"""Service settings: ``config/idops.toml``, overridable by ``IDOPS_<SECTION>__<KEY>`` variables."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


#: The async drivers idops ships (``requirements/runtime.lock``): SQLite for demos, PostgreSQL in production.
DATABASE_DRIVERS = {"sqlite+aiosqlite": "SQLite", "postgresql+psycopg": "PostgreSQL"}


class DatabaseSettings(_Section):
    url: str = "sqlite+aiosqlite:///var/idops.db"
    echo: bool = False
    pool_size: int = Field(default=10, ge=1, le=200)

    @field_validator("url")
    @classmethod
    def _supported_driver(cls, v: str) -> str:
        """Refuse at load what the engine would refuse at the first query (an unknown scheme, a sync or
        missing driver)."""
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            driver = make_url(v).drivername
        except ArgumentError:
            raise ValueError("is not a database URL (e.g. postgresql+psycopg://user@host/idops)") from None
        if driver not in DATABASE_DRIVERS:
            known = ", ".join(f"{d}://" for d in DATABASE_DRIVERS)
            hint = " (PostgreSQL needs the +psycopg driver)" if driver.startswith("postgres") else ""
            raise ValueError(f"scheme {driver}:// is not supported{hint}: use one of {known}")
        return v


class AuthSettings(_Section):
    # "entra": real Entra ID tokens; issuer, audience and jwks_url are required.
    # "demo": tokens signed by the local demo key (var/demo-signing-key.pem), served as a JWKS —
    # allowed only with --demo (``Settings.demo``), which also makes it the default.
    # No default otherwise: a deployment states its identity provider.
    mode: Literal["demo", "entra"] | None = None
    issuer: str = ""
    audience: str = "api://idops"
    jwks_url: str = ""
    algorithms: list[Literal["RS256"]] = ["RS256"]
    clock_skew_seconds: int = Field(default=60, ge=0, le=600)
    jwks_cache_seconds: int = Field(default=3600, ge=60)
    # RegionAdmin counts only in tokens from these tenants (entra mode; empty: nobody is a region
    # admin, and `idops config check` warns). Demo sign-in ignores it.
    region_admin_tenant_ids: list[str] = []

    @model_validator(mode="after")
    def _entra_needs_endpoints(self) -> AuthSettings:
        if self.mode == "entra":
            missing = [k for k in ("issuer", "audience", "jwks_url") if not getattr(self, k)]
            if missing:
                raise ValueError(f"auth.mode = 'entra' needs {', '.join('auth.' + m for m in missing)}")
            if not self.jwks_url.startswith("https://"):
                raise ValueError("auth.jwks_url must be an https:// URL in entra mode")
        return self


class SchedulerSettings(_Section):
    enabled: bool = True
    # Interval of the lifecycle jobs; the expiry invariant is stated in terms of it.
    lifecycle_interval_seconds: int = Field(default=300, ge=10, le=3600)
    reconcile_interval_seconds: int = Field(default=3600, ge=60)
    ingest_signins_cron: str = "0 2 * * *"  # before sync_mfa, so MFA "used" is fresh
    sync_mfa_cron: str = "15 2 * * *"
    single_login_report_cron: str = "45 3 * * *"
    purge_cron: str = "30 1 * * *"
    notify_interval_seconds: int = Field(default=3600, ge=60)
    misfire_grace_seconds: int = Field(default=600, ge=1)
    # Short, renewed every third of it while a job runs: a SIGKILLed holder blocks its job (and so the
    # expiry invariant) for at most this long.
    lease_seconds: int = Field(default=60, ge=2)
    timezone: str = "Europe/Helsinki"
    # Job runs are split into units (per tenant or municipality), each under its own lease; any
    # process with a scheduler works on any open run's units.
    unit_concurrency: int = Field(default=8, ge=1, le=256)  # units one process runs at once
    # Tries of a failing unit per run (a job not split: 1). Unset: 3 on PostgreSQL; 1 on SQLite — one
    # process by design, where a run ends as it always did instead of waiting for a retry.
    unit_attempts: int | None = Field(default=None, ge=1, le=20)
    unit_retry_seconds: float = Field(default=60.0, ge=0)  # before a failed unit's next try (× its attempts)
    poll_seconds: float = Field(default=5.0, gt=0, le=300)  # how often a scheduler looks for units to work
    resume_hours: float = Field(default=12.0, gt=0)  # an interrupted run older than this is not resumed
    # SIGTERM: units still running after this are handed back (their next run resumes them). Keep it
    # below the orchestrator's grace period (Kubernetes: terminationGracePeriodSeconds, 30 s by default).
    shutdown_grace_seconds: float = Field(default=20.0, ge=0, le=3600)
    # Where `idops scheduler` serves its Prometheus metrics and /healthz, from memory (the container's
    # health check probes /healthz). Who may read /metrics follows [api] metrics. The default host answers
    # only inside the machine or container; set "0.0.0.0" where Prometheus scrapes it over a private network.
    metrics_host: str = "127.0.0.1"
    metrics_port: int = Field(default=9464, ge=1, le=65535)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{v!r} is not an IANA time zone (e.g. Europe/Helsinki)") from None
        return v

    @field_validator("ingest_signins_cron", "sync_mfa_cron", "single_login_report_cron", "purge_cron")
    @classmethod
    def _crontab(cls, v: str) -> str:
        """Five crontab fields, parsed as the scheduler will (APScheduler), so a bad one fails at load."""
        from apscheduler.triggers.cron import CronTrigger

        try:
            CronTrigger.from_crontab(v, timezone="UTC")
        except ValueError as exc:
            raise ValueError(f"{v!r} is not a valid crontab expression: {exc}") from None
        return v


class PolicySettings(_Section):
    """Region-wide defaults; municipalities and schools may override in region.toml."""

    max_duration_days: int = Field(default=30, ge=1, le=366)
    max_lead_days: int = Field(default=60, ge=0, le=366)
    quota: int = Field(default=20, ge=0, le=10000)
    grace_days: int = Field(default=7, ge=0, le=30)
    retention_days: int = Field(default=90, ge=1, le=3650)
    notify_before_hours: int = Field(default=48, ge=0, le=24 * 30)
    working_hours_only_tap: bool = False
    working_hours: tuple[int, int] = (7, 17)
    # What to do with marked accounts idops has no record of: report only, or disable too.
    orphan_action: Literal["report", "disable"] = "disable"
    # When a substitute holds the school's licence: only while a period is running ("active": taken at
    # activation, released at the end and between periods), or from the request on ("requested": the
    # seat is reserved ahead, at the price of holding it idle until the start).
    licence_while: Literal["active", "requested"] = "active"
    credential_fallback: Literal["one_time_password", "none"] = "one_time_password"
    # The MFA helpdesk's pass for a staff member re-registering MFA (kept within the tenant's TAP policy).
    staff_tap_lifetime_minutes: int = Field(default=60, ge=10, le=43200)
    # A request over the quota, the duration or lead limit, or the seats: refused (409/422), or recorded
    # ``awaiting_approval`` for the municipality's IT admins (202).
    on_limit: Literal["refuse", "approval"] = "refuse"
    # The principal may have idops e-mail the sign-in code to the substitute's contact address (sendMail
    # from the municipality's notification_sender). Off: the code is only ever shown to the principal.
    code_delivery: bool = False


class SubstituteSettings(_Section):
    employee_type: str = "Substitute"
    display_name_template: str = "{given_name} {surname} (sijainen)"
    # onPremisesExtensionAttributes slot that marks idops-managed accounts.
    marker_attribute: str = "extensionAttribute15"
    marker_value: str = "idops-managed"
    usage_location: str = "FI"
    # Set employeeLeaveDateTime (needs User-LifeCycleInfo.ReadWrite.All); degrade if refused.
    set_leave_date: bool = True
    tap_usable_once: bool = False
    sku_cache_seconds: int = Field(default=300, ge=0)
    # Free seats at or below this (as last seen) are read fresh from Graph before an account is created:
    # near the edge the cache must not be trusted (someone outside idops may have taken the last seats).
    seat_margin: int = Field(default=5, ge=0)

    @field_validator("marker_attribute")
    @classmethod
    def _known_slot(cls, v: str) -> str:
        if v not in {f"extensionAttribute{i}" for i in range(1, 16)}:
            raise ValueError("must be extensionAttribute1 … extensionAttribute15")
        return v


class GraphSettings(_Section):
    max_concurrency_per_tenant: int = Field(default=4, ge=1, le=64)
    request_timeout_seconds: float = Field(default=60.0, gt=0)
    max_retries: int = Field(default=6, ge=0, le=10)
    max_backoff_seconds: float = Field(default=60.0, gt=0)
    replication_wait_seconds: float = Field(default=30.0, ge=0)
    # Identity and access reports: 5 requests / 10 s per app per tenant.
    reports_requests: int = Field(default=5, ge=1)
    reports_window_seconds: float = Field(default=10.0, gt=0)
    writes_per_second: float = Field(default=50.0, gt=0)
    page_size: int = Field(default=999, ge=1, le=999)


class EmulatorSettings(_Section):
    """The built-in Graph emulator, used by demo mode."""

    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = Field(default=0, ge=0, le=65535)  # 0 = pick a free port
    seed: int = 1
    users_per_tenant: int = Field(default=400, ge=50, le=500_000)
    # Use an emulator that runs elsewhere (its ``/v1.0`` base URL) instead of starting one in-process:
    # its state then outlives service restarts (the chaos soak kills and restarts the service).
    external_url: str = Field(default="", pattern=r"^(https?://[^\s]+)?$")


class LoggingSettings(_Section):
    format: Literal["json", "console"] = "json"
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class MfaSettings(_Section):
    targets: dict[Literal["staff", "pupil", "substitute"], float] = {"staff": 1.0, "pupil": 0.8}
    exclusion_group_ids: list[str] = []
    signin_retention_days: int = Field(default=35, ge=1, le=400)
    # A municipality's numbers older than this are shown with a warning ("stale").
    stale_after_hours: int = Field(default=36, ge=1, le=24 * 90)
    # Tenants without the registration report (no Entra ID P1): users' authentication methods are read
    # one by one within the reports budget. Every counted user is read again at least every
    # `scan_refresh_days` days, if the budget allows (a run reports how many are overdue); one run
    # spends at most `scan_max_seconds` per tenant (at 5 requests / 10 s: 0.5 users a second).
    scan_methods: bool = True
    scan_refresh_days: int = Field(default=7, ge=1, le=90)
    scan_max_seconds: int = Field(default=3600, ge=1, le=86400)
    # Directory-mirror rows no complete sync has refreshed for this long are deleted by ``purge``
    # (a sync that keeps failing, a tenant taken out of the configuration): the mirror never outlives
    # the directory it mirrors by more than this.
    mirror_stale_days: int = Field(default=30, ge=2, le=400)

    @field_validator("targets")
    @classmethod
    def _shares(cls, v: dict[str, float]) -> dict[str, float]:
        for role, share in v.items():
            if not 0.0 <= share <= 1.0:
                raise ValueError(f"target for {role} must be between 0 and 1")
        return v


class CoverageSettings(_Section):
    fallback_attribute: Literal["mail", "userPrincipalName", "none"] = "mail"
    window_days: int = Field(default=30, ge=1, le=30)


class ApiSettings(_Section):
    max_page_size: int = Field(default=200, ge=1, le=1000)
    default_page_size: int = Field(default=50, ge=1, le=1000)
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    tap_rate_per_hour: int = Field(default=30, ge=1)
    create_rate_per_hour: int = Field(default=60, ge=1)
    staff_tap_rate_per_hour: int = Field(default=10, ge=1)  # MFA helpdesk passes per IT admin
    # Who may read /metrics (also the scheduler's metrics port): "public" (anyone: the demo's default),
    # "token" (`Authorization: Bearer <$metrics_token_env>`: the default outside the demo) or "off".
    metrics: Literal["public", "token", "off"] | None = None
    metrics_token_env: str = "IDOPS_METRICS_TOKEN"  # noqa: S105 — the name of a variable, not a secret
    # The address users and Entra reach the service at (behind a reverse proxy: the proxy's, with any
    # path prefix): the pages' sign-in redirect and links are built from it.
    public_url: str = Field(default="http://127.0.0.1:8000", pattern=r"^https?://[^\s]+$")
    # Behind a reverse proxy: the proxies whose X-Forwarded-For / -Proto are believed ("*": any — only
    # when nothing else can reach the service), and the path prefix the proxy serves it under.
    forwarded_allow_ips: str = "127.0.0.1"
    root_path: str = Field(default="", pattern=r"^(/[^\s]*[^/\s])?$")
    # The interactive API documentation (/docs) and its OpenAPI document (/openapi.json). Unset: served
    # in the demo only; a deployment that wants them (an internal network) says so.
    docs: bool | None = None


class WebSettings(_Section):
    session_secret_env: str = "IDOPS_SESSION_SECRET"  # noqa: S105 — the name of a variable, not a secret
    oidc_authority: str = ""
    oidc_client_id: str = ""
    oidc_client_secret_env: str = "IDOPS_OIDC_CLIENT_SECRET"  # noqa: S105 — a variable name
    default_language: Literal["fi", "en"] = "fi"


class ContactSettings(_Section):
    """Who answers the pages' users: shown in every page's footer, on the help page and in the
    accessibility statement (which the law requires to name a feedback channel). Empty keys are
    left out of the pages."""

    organisation: str = Field(default="", max_length=200)  # e.g. "Tampereen seudun koulujen tietohallinto"
    email: str = Field(default="", max_length=254)  # support e-mail
    phone: str = Field(default="", max_length=40)
    url: str = Field(default="", max_length=500)  # a support or service-desk page
    accessibility_email: str = Field(default="", max_length=254)  # feedback on accessibility (else `email`)
    statement_date: date | None = None  # when the accessibility statement was made or last reviewed

    @field_validator("email", "accessibility_email")
    @classmethod
    def _email(cls, value: str) -> str:
        if value and ("@" not in value or any(ch.isspace() for ch in value)):
            raise ValueError("must be an e-mail address")
        return value

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if value and not value.startswith(("https://", "http://")):
            raise ValueError("must start with https://")
        return value


class Settings(BaseSettings):
    """All service settings. Built once by ``load_config``; never a module global."""

    model_config = SettingsConfigDict(
        env_prefix="IDOPS_",
        env_nested_delimiter="__",
        extra="forbid",
        case_sensitive=False,
    )

    demo: bool = False
    data_dir: Path = Path("var")
    database: DatabaseSettings = DatabaseSettings()
    auth: AuthSettings = AuthSettings()
    scheduler: SchedulerSettings = SchedulerSettings()
    policy: PolicySettings = PolicySettings()
    substitutes: SubstituteSettings = SubstituteSettings()
    graph: GraphSettings = GraphSettings()
    emulator: EmulatorSettings = EmulatorSettings()
    logging: LoggingSettings = LoggingSettings()
    mfa: MfaSettings = MfaSettings()
    coverage: CoverageSettings = CoverageSettings()
    api: ApiSettings = ApiSettings()
    web: WebSettings = WebSettings()
    contact: ContactSettings = ContactSettings()

    _toml_file: Path | None = None

    @model_validator(mode="after")
    def _defaults_of_the_demo(self) -> Settings:
        """What is on by default in the demo only (``--demo``) and off elsewhere unless configured."""
        if self.api.docs is None:
            self.api.docs = self.demo
        return self

    @model_validator(mode="after")
    def _public_url_for_sign_in(self) -> Settings:
        """Entra sends users back to ``api.public_url``: without it a deployment behind a proxy would send
        them to the address the request arrived at (the proxy's backend, or a forged Host header)."""
        if self.demo or not (self.web.oidc_authority and self.web.oidc_client_id):
            return self
        if "public_url" not in self.api.model_fields_set:
            raise ValueError("web sign-in (web.oidc_authority) needs api.public_url: the https:// address "
                             "users reach idops at, which Entra redirects back to")
        host = urlsplit(self.api.public_url).hostname or ""
        if not self.api.public_url.startswith("https://") and host not in ("localhost", "127.0.0.1"):
            raise ValueError("api.public_url must be an https:// URL for web sign-in (Entra accepts http only "
                             "for localhost)")
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = settings_cls.model_config.get("toml_file")
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if toml:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml))
        return tuple(sources)


def settings_class_for(toml_file: Path | None) -> type[Settings]:
    """A Settings subclass bound to one TOML file (pydantic-settings reads the file from model_config)."""

    class BoundSettings(Settings):
        model_config = SettingsConfigDict(**{**Settings.model_config, "toml_file": toml_file})

    return BoundSettings
