"""The narrow port idops talks to Microsoft Graph through.

Everything outside ``idops/graph/`` speaks these dataclasses and the ``Directory``
protocol — domain operations only, no Graph paths, filters or error bodies. One
``Directory`` serves one tenant. Two implementations, held to one contract suite
(``tests/integration/graph``): the msgraph-sdk adapter (``idops.graph.sdk.GraphDirectory``) and the
in-memory fake for unit tests (``idops.graph.fake.FakeDirectory``).

Conventions:
- Times are aware UTC ``datetime``.
- Reads of collections are async iterators of *pages* (lists), so callers stream
  and never hold a whole collection in memory.
- Errors are the typed exceptions of ``idops.graph.errors``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

import msgspec


class _Unset:
    """Marks a field a PATCH leaves alone (``None`` means: send an explicit null)."""

    _instance: _Unset | None = None

    def __new__(cls) -> _Unset:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNSET"

    def __bool__(self) -> bool:
        return False


UNSET: Any = _Unset()


@dataclass(frozen=True, slots=True)
class DirectoryUser:
    id: str
    user_principal_name: str
    display_name: str
    account_enabled: bool
    given_name: str | None = None
    surname: str | None = None
    mail_nickname: str | None = None
    mail: str | None = None
    preferred_language: str | None = None  # e.g. "fi-FI", "en-US"; None when unknown
    employee_id: str | None = None
    employee_type: str | None = None
    employee_hire_date: datetime | None = None
    employee_leave_date_time: datetime | None = None
    usage_location: str | None = None
    user_type: str | None = None
    created_date_time: datetime | None = None
    deleted_date_time: datetime | None = None
    sign_in_sessions_valid_from: datetime | None = None
    assigned_license_sku_ids: tuple[str, ...] = ()
    # onPremisesExtensionAttributes, e.g. {"extensionAttribute15": "idops"}; only non-null values.
    extension_attributes: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class NewUser:
    user_principal_name: str
    display_name: str
    mail_nickname: str
    given_name: str
    surname: str
    account_enabled: bool
    password: str = field(repr=False)  # random, never stored or logged; required by Graph even for TAP-only users
    force_change_password: bool = True
    usage_location: str = "FI"
    employee_type: str | None = None
    employee_id: str | None = None
    employee_hire_date: datetime | None = None
    employee_leave_date_time: datetime | None = None
    extension_attributes: Mapping[str, str] = field(default_factory=dict)
    other_mails: tuple[str, ...] = ()
    mobile_phone: str | None = None


@dataclass(frozen=True, slots=True)
class UserPatch:
    """Fields to change. ``UNSET`` leaves a field alone; ``None`` clears it (explicit JSON null)."""

    account_enabled: Any = UNSET
    display_name: Any = UNSET
    given_name: Any = UNSET
    surname: Any = UNSET
    employee_type: Any = UNSET
    employee_hire_date: Any = UNSET
    employee_leave_date_time: Any = UNSET
    usage_location: Any = UNSET
    extension_attributes: Any = UNSET  # Mapping[str, str | None]
    password: Any = field(default=UNSET, repr=False)  # sets passwordProfile (forceChangePasswordNextSignIn)

    def is_empty(self) -> bool:
        return all(getattr(self, name) is UNSET for name in self.__slots__)


# ---- bulk rows: decoded straight from a page's bytes (msgspec), for syncs of whole tenants.
# Only the listed properties are read; unknown ones are skipped by the decoder, missing ones are None.
# Values are as Graph sent them (times stay DateTimeOffset text): the sync stores them without a
# Python object per property. A value of the wrong JSON type fails the page (``GraphError``).


class BulkUser(msgspec.Struct, frozen=True, gc=False, rename="camel"):
    """A user as the directory sync reads it; ``list_users_bulk`` ``$select``s exactly these fields."""

    id: str
    user_principal_name: str | None = None
    display_name: str | None = None
    account_enabled: bool | None = None
    user_type: str | None = None
    employee_id: str | None = None
    employee_type: str | None = None
    employee_hire_date: str | None = None  # DateTimeOffset text
    mail: str | None = None


class BulkMember(msgspec.Struct, frozen=True, gc=False):
    """A (transitive) group member: its id and ``@odata.type`` (``#microsoft.graph.user``, ``…group``)."""

    id: str
    odata_type: str | None = msgspec.field(default=None, name="@odata.type")

    @property
    def is_group(self) -> bool:
        return self.odata_type is not None and self.odata_type.endswith(".group")


class BulkRegistration(msgspec.Struct, frozen=True, gc=False, rename="camel"):
    """A ``userRegistrationDetails`` row, the fields the MFA mirror keeps."""

    id: str
    user_principal_name: str | None = None
    user_display_name: str | None = None
    is_mfa_registered: bool | None = None
    is_mfa_capable: bool | None = None
    is_passwordless_capable: bool | None = None
    methods_registered: tuple[str, ...] | None = None
    last_updated_date_time: str | None = None  # DateTimeOffset text
    is_admin: bool | None = None  # holds an Entra admin role: the staff helpdesk never issues it a pass


@dataclass(frozen=True, slots=True)
class SubscribedSku:
    sku_id: str
    sku_part_number: str
    enabled_units: int
    consumed_units: int
    capability_status: str = "Enabled"

    @property
    def available_units(self) -> int:
        return max(0, self.enabled_units - self.consumed_units)


@dataclass(frozen=True, slots=True)
class AccessPass:
    """A Temporary Access Pass as Graph returned it on creation; ``code`` exists only here."""

    id: str
    code: str
    start_date_time: datetime
    lifetime_in_minutes: int
    is_usable_once: bool

    def __repr__(self) -> str:  # never print the code, even by accident
        return (
            f"AccessPass(id={self.id!r}, start={self.start_date_time!r}, "
            f"lifetime={self.lifetime_in_minutes})"
        )


@dataclass(frozen=True, slots=True)
class TapPolicy:
    state: str  # "enabled" | "disabled"
    default_lifetime_in_minutes: int
    minimum_lifetime_in_minutes: int
    maximum_lifetime_in_minutes: int
    is_usable_once: bool


@dataclass(frozen=True, slots=True)
class SignIn:
    id: str
    created_date_time: datetime
    user_id: str
    user_principal_name: str
    app_id: str
    app_display_name: str
    status_error_code: int
    is_interactive: bool
    conditional_access_status: str | None = None
    # Did it satisfy MFA: True / False where the data says so, None when it does not (v1.0 without a
    # Conditional Access policy applied: security defaults or per-user MFA may have asked for it).
    mfa_satisfied: bool | None = None


@dataclass(frozen=True, slots=True)
class TokenClaims:
    """What idops reads from the access token its credential obtained for a tenant (never the token).

    ``roles``: the application permissions the token grants (an app-only token lists them); None when
    the token does not say (the emulator's tokens name only the tenant)."""

    tenant_id: str | None
    app_id: str | None = None
    roles: frozenset[str] | None = None


class Probe(StrEnum):
    """The cheapest harmless read that proves one permission (``idops.graph.permissions`` says which)."""

    USERS = "users"  # GET /users?$top=1&$select=id
    GROUPS = "groups"  # GET /groups?$top=1&$select=id
    SUBSCRIBED_SKUS = "subscribed_skus"  # GET /subscribedSkus
    TAP_POLICY = "tap_policy"  # GET /policies/authenticationMethodsPolicy/…/temporaryAccessPass
    REGISTRATION_REPORT = "registration_report"  # GET /reports/authenticationMethods/userRegistrationDetails?$top=1
    SIGN_INS = "sign_ins"  # GET /auditLogs/signIns?$top=1
    SERVICE_PRINCIPALS = "service_principals"  # GET /servicePrincipals?$top=1&$select=id


@dataclass(frozen=True, slots=True)
class ServicePrincipal:
    id: str
    app_id: str
    display_name: str
    preferred_single_sign_on_mode: str | None



_EXTENSION_ATTRIBUTES = frozenset(f"extensionAttribute{n}" for n in range(1, 16))


@dataclass(frozen=True, slots=True)
class ManagedMarker:
    """How idops marks the accounts it manages: ``onPremisesExtensionAttributes.<attribute> == value``."""

    attribute: str = "extensionAttribute15"
    value: str = "idops"

    def __post_init__(self) -> None:
        if self.attribute not in _EXTENSION_ATTRIBUTES:
            raise ValueError(f"marker attribute must be extensionAttribute1..15, not {self.attribute!r}")
        if not self.value:
            raise ValueError("marker value must not be empty")


@dataclass
class AccountChange:
    """What to do to one account. Empty tuples and ``None`` mean "leave alone".

    Expressed as the *difference* to apply, so a change that was already (partly) applied — after a
    crash or a retry — applies again harmlessly.
    """

    user_id: str
    enabled: bool | None = None
    revoke_sessions: bool = False
    add_groups: tuple[str, ...] = ()
    remove_groups: tuple[str, ...] = ()
    add_skus: tuple[str, ...] = ()
    remove_skus: tuple[str, ...] = ()
    leave_date: datetime | None = None
    clear_leave_date: bool = False

    @property
    def takes_access_away(self) -> bool:
        return self.enabled is False


class ChangeFailure(StrEnum):
    """Why one step of an ``AccountChange`` failed, for the domain to branch on (never Graph's text)."""

    NO_LICENCES_AVAILABLE = "no_licences_available"  # the SKU has no free seat
    LICENCE_INVALID = "licence_invalid"  # e.g. the account has no usage location
    FORBIDDEN = "forbidden"  # a permission idops lacks (e.g. writing employeeLeaveDateTime)
    NOT_FOUND = "not_found"  # an object not (yet) visible: replication lag, or a missing group
    THROTTLED = "throttled"
    UNAVAILABLE = "unavailable"  # 5xx, a failed dependency, no answer
    REJECTED = "rejected"  # any other refusal


#: Failures worth retrying later: the same change may well succeed then.
TRANSIENT_FAILURES = frozenset({ChangeFailure.NOT_FOUND, ChangeFailure.THROTTLED, ChangeFailure.UNAVAILABLE})


@dataclass
class ChangeResult:
    """The outcome of one account's change. ``codes`` has one entry per failed step."""

    user_id: str
    ok: bool = True
    gone: bool = False  # the account no longer exists in Entra
    transient: bool = False  # worth retrying later
    errors: list[str] = field(default_factory=list)  # human-readable, for logs and ``last_error``
    codes: list[ChangeFailure] = field(default_factory=list)

    def fail(self, step: str, code: ChangeFailure, *, status: int | None = None) -> None:
        self.ok = False
        self.transient = self.transient or code in TRANSIENT_FAILURES
        self.codes.append(code)
        self.errors.append(f"{step}: {code.value}" + (f" (HTTP {status})" if status is not None else ""))

    def vanish(self, step: str) -> None:
        self.ok, self.gone = False, True
        self.errors.append(f"{step}: account not found")


Page = Sequence


class Directory(Protocol):
    """One tenant's directory, as much of it as idops needs.

    Every operation raises ``TransactionOpenError`` when called while a database transaction is open
    (``idops.kit.db.assert_no_transaction``): Graph is never awaited inside a unit of work.
    """

    tenant_id: str

    # users
    async def create_user(self, user: NewUser) -> DirectoryUser:
        """Create a user. A retried create that meets ObjectConflict resolves to the existing user when
        it is ours; otherwise ``GraphConflict``. ``GraphForbidden`` when a field (the leave date) may
        not be written by this app."""
        ...

    async def get_user(self, id_or_upn: str, *, just_created: bool = False) -> DirectoryUser:
        """Raise ``GraphNotFound`` if absent; ``just_created`` retries 404s through replication delay."""
        ...

    async def update_user(self, user_id: str, patch: UserPatch, *, just_created: bool = False) -> None:
        """Change only the fields set in ``patch``; an empty patch does nothing."""
        ...

    async def delete_user(self, user_id: str) -> None:
        """Soft-delete to the recycle bin; a user already gone is not an error (idempotent)."""
        ...

    async def restore_deleted_user(self, user_id: str) -> DirectoryUser:
        """Bring a soft-deleted user back. ``GraphNotFound`` if purged, ``GraphConflict`` if its UPN
        has been taken meanwhile."""
        ...

    async def purge_deleted_user(self, user_id: str) -> None:
        """Delete a soft-deleted user for good; one already purged is success (idempotent)."""
        ...

    def list_managed_users(
        self, marker: ManagedMarker, *, enabled_only: bool = False
    ) -> AsyncIterator[Page[DirectoryUser]]:
        """The users carrying ``marker`` (only enabled ones with ``enabled_only``), page by page."""
        ...

    async def apply_account_changes(
        self,
        changes: Sequence[AccountChange],
        *,
        leave_date_allowed: bool = True,
        replication_wait: float = 0.0,
    ) -> dict[str, ChangeResult]:
        """Apply ``changes``; returns a result per user id. Never raises for per-account failures
        (it may raise ``GraphError`` when Graph cannot be reached at all).

        - Idempotent: "already a member", "not a member" and "licence not assigned" count as done.
        - Ordered for safety: enabling/disabling and the leave date are applied to every account
          first; only then sessions, groups and licences — and not at all on an account that was to
          be disabled but could not be.
        - ``leave_date_allowed=False`` leaves ``employeeLeaveDateTime`` alone.
        - A missing account is ``gone`` — unless it may be brand new (``replication_wait`` > 0, or
          this directory created it moments ago): then replication lag is waited out for up to
          ``replication_wait`` seconds and, if it outlasts that, is a transient ``not_found``.
        """
        ...

    # bulk rows for whole-tenant syncs: decoded from the page bytes, no dict or model per item
    # (parsing 100 000 typed models costs minutes, 100 000 dicts about a second)
    def list_users_bulk(self) -> AsyncIterator[Page[BulkUser]]: ...

    def list_group_members_bulk(self, group_id: str, *, transitive: bool = True) -> AsyncIterator[Page[BulkMember]]: ...

    def list_registration_details_bulk(self) -> AsyncIterator[Page[BulkRegistration]]:
        """``GraphPremiumRequired`` when the tenant has no Entra ID P1/P2."""
        ...

    # licences
    async def list_subscribed_skus(self) -> list[SubscribedSku]: ...

    # credentials
    async def create_access_pass(
        self, user_id: str, *, start: datetime | None, lifetime_minutes: int, usable_once: bool
    ) -> AccessPass:
        """Create a TAP (replacing any existing one); its code exists only in the returned value.
        ``AccessPassPolicyDisabled`` when the tenant's policy refuses it."""
        ...

    async def get_access_pass_policy(self) -> TapPolicy: ...

    async def list_authentication_methods(self, user_id: str) -> list[str]:
        """The kinds of one user's authentication methods (``password``, ``email``, ``phone``,
        ``microsoftAuthenticator``, ``softwareOath``, ``fido2``, ``windowsHelloForBusiness``,
        ``temporaryAccessPass``, …: Graph's ``@odata.type`` without namespace and suffix; an open set).

        For tenants without the registration report (no Entra ID P1): one request per user, counted
        against the identity & access reports budget (5 requests / 10 s per tenant). ``GraphNotFound``
        when the user is gone; ``GraphForbidden`` without ``UserAuthenticationMethod.Read.All``."""
        ...

    # reports
    def list_sign_ins(self, start: datetime, end: datetime) -> AsyncIterator[Page[SignIn]]:
        """Interactive sign-ins with ``start <= createdDateTime < end``."""
        ...

    def list_service_principals(self) -> AsyncIterator[Page[ServicePrincipal]]: ...

    # mail
    async def send_mail(self, sender: str, to: Sequence[str], subject: str, body_text: str) -> None:
        """Plain-text mail from ``sender``'s mailbox; never repeated once Graph may have acted."""
        ...

    # onboarding (``idops config check --online``)
    async def token_claims(self) -> TokenClaims:
        """Obtain a token for this tenant from its credential and read its claims (no Graph call).
        ``GraphAuthError`` when no token can be had."""
        ...

    async def probe(self, probe: Probe) -> None:
        """Run ``probe``'s harmless read; returns when it is allowed. ``GraphPremiumRequired`` for a
        tenant without Entra ID P1/P2, ``GraphForbidden`` for a missing permission."""
        ...


class DirectoryProvider(Protocol):
    """Gives the Directory of a tenant; built once at start-up."""

    def for_tenant(self, tenant_id: str) -> Directory: ...

    async def aclose(self) -> None: ...
