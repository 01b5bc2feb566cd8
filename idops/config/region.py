"""The organisation model: region → municipalities (tenants) → schools. ``config/region.toml``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

GUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
KEY_RE = r"^[a-z][a-z0-9-]{0,39}$"

Key = Annotated[str, StringConstraints(pattern=KEY_RE)]


def _guid(value: str) -> str:
    if not GUID_RE.match(value):
        raise ValueError(f"{value!r} is not a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)")
    return value.lower()


Guid = Annotated[str, StringConstraints(strip_whitespace=True)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PolicyOverrides(_Model):
    max_duration_days: int | None = Field(default=None, ge=1, le=366)
    max_lead_days: int | None = Field(default=None, ge=0, le=366)
    quota: int | None = Field(default=None, ge=0, le=10000)
    grace_days: int | None = Field(default=None, ge=0, le=30)
    retention_days: int | None = Field(default=None, ge=1, le=3650)
    notify_before_hours: int | None = Field(default=None, ge=0)
    working_hours_only_tap: bool | None = None
    licence_while: Literal["active", "requested"] | None = None
    staff_tap_lifetime_minutes: int | None = Field(default=None, ge=10, le=43200)
    on_limit: Literal["refuse", "approval"] | None = None
    code_delivery: bool | None = None


class Principals(_Model):
    object_ids: list[Guid] = []
    group_ids: list[Guid] = []

    @field_validator("object_ids", "group_ids")
    @classmethod
    def _guids(cls, v: list[str]) -> list[str]:
        return [_guid(x) for x in v]


class GraphConnection(_Model):
    """How idops reaches one tenant. Secrets come from the environment, never from this file."""

    credential: Literal[
        "static", "client_secret", "certificate", "workload_identity", "managed_identity", "default"
    ] = "client_secret"
    client_id: Guid | None = None
    base_url: str = "https://graph.microsoft.com/v1.0"
    # name of the environment variable holding the client secret / certificate path
    client_secret_env: str | None = None
    certificate_path_env: str | None = None
    # only for credential = "static" (emulator); the token names the tenant
    static_token: str | None = None

    @field_validator("client_id")
    @classmethod
    def _cid(cls, v: str | None) -> str | None:
        return None if v is None else _guid(v)

    @field_validator("base_url")
    @classmethod
    def _url(cls, v: str) -> str:
        if not re.match(r"^https?://[^\s/]+(/[^\s]*)?$", v):
            raise ValueError(f"{v!r} is not an http(s) URL")
        return v.rstrip("/")

    @model_validator(mode="after")
    def _credential_fields(self) -> GraphConnection:
        if self.credential == "static" and self.base_url.startswith("https://graph.microsoft.com"):
            raise ValueError("credential 'static' is only for the emulator, not graph.microsoft.com")
        if self.credential in ("client_secret", "certificate", "workload_identity") and not self.client_id:
            raise ValueError(f"credential {self.credential!r} needs client_id")
        if self.credential == "client_secret" and not self.client_secret_env:
            raise ValueError("credential 'client_secret' needs client_secret_env (the variable's name)")
        if self.credential == "certificate" and not self.certificate_path_env:
            raise ValueError("credential 'certificate' needs certificate_path_env")
        return self


class School(_Model):
    key: Key
    name: str = Field(min_length=1, max_length=200)
    staff_group_ids: list[Guid] = Field(min_length=1)
    pupil_group_ids: list[Guid] = []
    substitute_group_ids: list[Guid] = []
    licence_sku_ids: list[Guid] = []
    principals: Principals = Principals()
    quota: int | None = Field(default=None, ge=0, le=10000)
    policy: PolicyOverrides = PolicyOverrides()

    @field_validator("staff_group_ids", "pupil_group_ids", "substitute_group_ids", "licence_sku_ids")
    @classmethod
    def _guids(cls, v: list[str]) -> list[str]:
        return [_guid(x) for x in v]


class Municipality(_Model):
    key: Key
    name: str = Field(min_length=1, max_length=200)
    tenant_id: Guid
    upn_domain: str = Field(pattern=r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$")
    graph: GraphConnection
    # MPASSid reaches apps through the Entra tenant (single login) or through Wilma/Helmi (a second login).
    mpassid_home_is_entra: bool = False
    it_admins: Principals = Principals()
    notification_sender: str | None = None  # mailbox UPN used for sendMail; None = no e-mail
    exclusion_group_ids: list[Guid] = []
    policy: PolicyOverrides = PolicyOverrides()
    schools: list[School] = Field(min_length=1)

    @field_validator("tenant_id")
    @classmethod
    def _tid(cls, v: str) -> str:
        return _guid(v)

    @field_validator("exclusion_group_ids")
    @classmethod
    def _guids(cls, v: list[str]) -> list[str]:
        return [_guid(x) for x in v]

    @model_validator(mode="after")
    def _unique_schools(self) -> Municipality:
        seen: set[str] = set()
        for i, school in enumerate(self.schools):
            if school.key in seen:
                raise ValueError(f"schools[{i}].key {school.key!r} is used twice in {self.key!r}")
            seen.add(school.key)
        return self


class RegionInfo(_Model):
    key: Key = "region"
    name: str = "Region"


class RegionConfig(_Model):
    region: RegionInfo = RegionInfo()
    municipalities: list[Municipality] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_and_consistent(self) -> RegionConfig:
        seen: set[str] = set()
        for i, m in enumerate(self.municipalities):
            if m.key in seen:
                raise ValueError(f"municipalities[{i}].key {m.key!r} is used twice")
            seen.add(m.key)
        # Municipalities sharing a tenant must reach it the same way.
        by_tenant: dict[str, Municipality] = {}
        for m in self.municipalities:
            other = by_tenant.setdefault(m.tenant_id, m)
            if other is not m and other.graph != m.graph:
                raise ValueError(
                    f"municipalities {other.key!r} and {m.key!r} share tenant {m.tenant_id} "
                    "but have different [graph] settings"
                )
        return self

    # lookups -------------------------------------------------------------------------
    def municipality(self, key: str) -> Municipality | None:
        return next((m for m in self.municipalities if m.key == key), None)

    def school(self, path: str) -> tuple[Municipality, School] | None:
        """Resolve ``"tampere/hervanta"``; None when unknown."""
        muni_key, _, school_key = path.partition("/")
        m = self.municipality(muni_key)
        if m is None:
            return None
        s = next((s for s in m.schools if s.key == school_key), None)
        return None if s is None else (m, s)

    def school_paths(self) -> Iterator[str]:
        for m in self.municipalities:
            for s in m.schools:
                yield f"{m.key}/{s.key}"

    def tenants(self) -> dict[str, GraphConnection]:
        return {m.tenant_id: m.graph for m in self.municipalities}

    def municipalities_of_tenant(self, tenant_id: str) -> list[Municipality]:
        return [m for m in self.municipalities if m.tenant_id == tenant_id]


@dataclass(frozen=True, slots=True)
class Shard:
    """The part of the region one unit of a job works on.

    ``Shard()`` is the whole region. ``tenant_id`` alone is one tenant with all its municipalities;
    with ``municipalities`` only those of that tenant (a tenant several municipalities share, an IT
    admin of one of them: substitute periods are filtered by municipality, the tenant's directory
    is still the tenant's).
    """

    tenant_id: str | None = None
    municipalities: frozenset[str] | None = None

    @property
    def is_region(self) -> bool:
        return self.tenant_id is None and self.municipalities is None

    def tenant_ids(self, region: RegionConfig) -> list[str]:
        """The tenants this shard touches, in the region's order."""
        return [t for t in region.tenants() if self.tenant_id is None or t == self.tenant_id]

    def includes(self, tenant_id: str, municipality: str) -> bool:
        """Does a record of ``municipality`` in ``tenant_id`` (a period, a person) belong to this shard?"""
        if self.tenant_id is not None and tenant_id != self.tenant_id:
            return False
        return self.municipalities is None or municipality in self.municipalities

    @property
    def whole_tenants(self) -> bool:
        """True when every municipality of the shard's tenant(s) is in it (orphan accounts of a tenant
        can then be judged: they belong to no municipality)."""
        return self.municipalities is None


#: The whole region: the default of a job's ``run``.
REGION = Shard()
