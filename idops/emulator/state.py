"""In-memory directory state of every emulated tenant.

One ``EmulatorState`` holds many tenants; the HTTP layer picks the tenant from the bearer token.
Every public method takes the state's re-entrant lock, because tests mutate the state from their
own thread while uvicorn serves requests from another. Objects are ``slots`` dataclasses so a
region of several hundred thousand users stays in a few hundred MB.
"""

from __future__ import annotations

import itertools
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

# Registration flags (one int per user keeps 100k+ users compact).
MFA_REGISTERED = 1
MFA_CAPABLE = 2
PASSWORDLESS = 4
SSPR_REGISTERED = 8
IS_ADMIN = 16

EPOCH = datetime(2020, 1, 1, tzinfo=UTC)


def new_id() -> str:
    return str(uuid.uuid4())


@dataclass(slots=True)
class User:
    """A directory user. ``password_profile`` is stored but never rendered (as in Graph)."""

    id: str
    user_principal_name: str
    display_name: str
    account_enabled: bool = True
    given_name: str | None = None
    surname: str | None = None
    mail_nickname: str | None = None
    mail: str | None = None
    preferred_language: str | None = None
    other_mails: tuple[str, ...] = ()
    mobile_phone: str | None = None
    job_title: str | None = None
    employee_id: str | None = None
    employee_type: str | None = None
    employee_hire_date: datetime | None = None
    employee_leave_date_time: datetime | None = None
    usage_location: str | None = None
    user_type: str = "Member"
    created_date_time: datetime = EPOCH
    deleted_date_time: datetime | None = None
    sign_in_sessions_valid_from: datetime | None = None
    # (skuId, disabledPlans) pairs
    licenses: tuple[tuple[str, tuple[str, ...]], ...] = ()
    ext: dict[str, str] | None = None  # onPremisesExtensionAttributes, non-null values only
    password_profile: dict[str, Any] | None = None
    password_policies: str | None = None
    # registration report (flags above); the previous row is shown while the report lags
    reg_flags: int = 0
    reg_methods: tuple[str, ...] = ()
    reg_changed_at: datetime | None = None
    reg_prev_flags: int = 0
    reg_prev_methods: tuple[str, ...] = ()


@dataclass(slots=True)
class Group:
    id: str
    display_name: str
    # insertion-ordered set of member object ids (users or groups)
    members: dict[str, None] = field(default_factory=dict)
    description: str | None = None
    security_enabled: bool = True
    mail_enabled: bool = False


@dataclass(slots=True)
class Sku:
    sku_id: str
    sku_part_number: str
    enabled_units: int
    consumed_units: int = 0
    capability_status: str = "Enabled"
    id: str = ""
    service_plans: tuple[dict[str, str], ...] = ()


@dataclass(slots=True)
class TapPolicy:
    state: str = "enabled"
    default_lifetime_in_minutes: int = 60
    minimum_lifetime_in_minutes: int = 60
    maximum_lifetime_in_minutes: int = 480
    is_usable_once: bool = False
    default_length: int = 8


@dataclass(slots=True)
class Tap:
    id: str
    code: str
    created_date_time: datetime
    start_date_time: datetime
    lifetime_in_minutes: int
    is_usable_once: bool


@dataclass(slots=True)
class ServicePrincipal:
    id: str
    app_id: str
    display_name: str
    preferred_single_sign_on_mode: str | None = None


@dataclass(frozen=True, slots=True)
class SignInRecord:
    """One interactive sign-in. ``mfa`` is the truth; how v1.0 shows it depends on ``conditional_access``:
    with Conditional Access in use, MFA is a satisfied CA grant and no MFA a listed policy that did not
    apply; without it (security defaults, per-user MFA) no policy is listed either way, so v1.0 does not
    tell whether MFA was used (render.signin_json)."""

    id: str
    created: datetime
    user_id: str
    user_principal_name: str
    user_display_name: str
    app_id: str
    app_display_name: str
    mfa: bool
    error_code: int = 0
    is_interactive: bool = True
    conditional_access: bool = True


class SignInSource(Protocol):
    """A lazily generated sign-in log: whole days at a time, newest first."""

    def day_count(self) -> int: ...

    def day_bounds(self, day: int) -> tuple[datetime, datetime]:
        """Day 0 is the newest: ``[end - 1 day, end)``."""
        ...

    def day(self, day: int) -> list[SignInRecord]:
        """That day's sign-ins, newest first."""
        ...


@dataclass(slots=True)
class SentMail:
    sender: str
    to: tuple[str, ...]
    subject: str
    body: str
    at: datetime


LEAVE_DATE_PERMISSION = "User-LifeCycleInfo.ReadWrite.All"


class Tenant:
    """One tenant's directory. Access it only while holding ``EmulatorState.lock``."""

    def __init__(self, tenant_id: str, domains: Iterable[str], *, premium: bool = True) -> None:
        self.tenant_id = tenant_id
        self.domains: list[str] = [d.lower() for d in domains]
        self.premium = premium
        self.users: dict[str, User] = {}
        self.upn_index: dict[str, str] = {}
        self.deleted: dict[str, User] = {}
        self.groups: dict[str, Group] = {}
        self.skus: dict[str, Sku] = {}
        self.taps: dict[str, Tap] = {}
        self.tap_policy = TapPolicy()
        self.service_principals: list[ServicePrincipal] = []
        self.signins: list[SignInRecord] = []  # hand-added, kept newest first
        self.signin_source: SignInSource | None = None
        self.sent_mail: list[SentMail] = []
        self.report_lag = timedelta(0)
        self.report_page_size = 100
        # Application permissions the app lacks in this tenant: requests that need one answer
        # 403 Authorization_RequestDenied (``handlers.NEEDS``), as Graph does after consent is withdrawn.
        self.withdrawn: set[str] = set()
        # monotonic deadline until which a freshly created id is invisible (replication delay)
        self.replicating: dict[str, float] = {}

    @property
    def leave_date_writable(self) -> bool:
        """False when the app lacks User-LifeCycleInfo.ReadWrite.All (writing employeeLeaveDateTime is 403)."""
        return LEAVE_DATE_PERMISSION not in self.withdrawn

    def lacks(self, *permissions: str) -> bool:
        return any(p in self.withdrawn for p in permissions)

    # lookups ---------------------------------------------------------------------------
    def resolve_user(self, id_or_upn: str) -> User | None:
        u = self.users.get(id_or_upn)
        if u is None:
            uid = self.upn_index.get(id_or_upn.lower())
            u = self.users.get(uid) if uid else None
        return u

    def index_user(self, u: User) -> None:
        self.users[u.id] = u
        self.upn_index[u.user_principal_name.lower()] = u.id

    def unindex_user(self, u: User) -> None:
        self.users.pop(u.id, None)
        if self.upn_index.get(u.user_principal_name.lower()) == u.id:
            del self.upn_index[u.user_principal_name.lower()]

    def transitive_members(self, group_id: str) -> list[str]:
        """Every user and group below ``group_id`` (each once, in discovery order)."""
        out: dict[str, None] = {}
        stack = [group_id]
        seen_groups = {group_id}
        while stack:
            g = self.groups.get(stack.pop(0))
            if g is None:
                continue
            for mid in g.members:
                if mid in out:
                    continue
                out[mid] = None
                if mid in self.groups and mid not in seen_groups:
                    seen_groups.add(mid)
                    stack.append(mid)
        return list(out)

    def sku_consumed(self, sku_id: str, delta: int) -> None:
        s = self.skus.get(sku_id)
        if s is not None:
            s.consumed_units = max(0, s.consumed_units + delta)

    def iter_signins(self) -> Iterator[SignInRecord]:
        """Every sign-in (hand-added and generated), newest first within each source."""
        yield from self.signins
        if self.signin_source is not None:
            for d in range(self.signin_source.day_count()):
                yield from self.signin_source.day(d)


class EmulatorState:
    """All tenants plus test conveniences. Thread-safe through one re-entrant lock."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.tenants: dict[str, Tenant] = {}

    # construction -----------------------------------------------------------------------
    @classmethod
    def empty_tenant(
        cls, tenant_id: str, domains: Iterable[str] = ("example.edu",), *, premium: bool = True
    ) -> EmulatorState:
        """A state with one empty tenant: the start of a hand-made fixture."""
        st = cls()
        st.add_tenant(tenant_id, domains, premium=premium)
        return st

    def add_tenant(self, tenant_id: str, domains: Iterable[str], *, premium: bool = True) -> Tenant:
        with self.lock:
            t = self.tenants.get(tenant_id)
            if t is None:
                t = Tenant(tenant_id, domains, premium=premium)
                self.tenants[tenant_id] = t
            else:
                for d in domains:
                    if d.lower() not in t.domains:
                        t.domains.append(d.lower())
            return t

    def tenant(self, tenant_id: str) -> Tenant:
        with self.lock:
            return self.tenants[tenant_id]

    # users --------------------------------------------------------------------------------
    def add_user(
        self,
        tenant_id: str,
        upn: str,
        display_name: str | None = None,
        *,
        id: str | None = None,
        **fields: Any,
    ) -> User:
        """Insert a user directly (no validation, no replication delay). ``fields`` are ``User`` fields."""
        with self.lock:
            t = self.tenants[tenant_id]
            u = User(id=id or new_id(), user_principal_name=upn, display_name=display_name or upn.split("@")[0])
            for k, v in fields.items():
                setattr(u, k, v)
            if u.mail_nickname is None:
                u.mail_nickname = upn.split("@")[0]
            t.index_user(u)
            for sku, _ in u.licenses:
                t.sku_consumed(sku, 1)
            return u

    def user_by_upn(self, tenant_id: str, upn: str) -> User | None:
        with self.lock:
            t = self.tenants[tenant_id]
            uid = t.upn_index.get(upn.lower())
            return t.users.get(uid) if uid else None

    def user(self, tenant_id: str, user_id: str) -> User | None:
        with self.lock:
            return self.tenants[tenant_id].users.get(user_id)

    def set_enabled(self, tenant_id: str, user_id: str, enabled: bool) -> None:
        with self.lock:
            self.tenants[tenant_id].users[user_id].account_enabled = enabled

    def users_with_marker(self, tenant_id: str, attr: str, value: str) -> list[User]:
        """Users whose ``onPremisesExtensionAttributes.<attr>`` equals ``value``."""
        with self.lock:
            return [u for u in self.tenants[tenant_id].users.values() if u.ext and u.ext.get(attr) == value]

    def deleted_user(self, tenant_id: str, user_id: str) -> User | None:
        with self.lock:
            return self.tenants[tenant_id].deleted.get(user_id)

    def set_registration(
        self,
        tenant_id: str,
        user_id: str,
        *,
        registered: bool,
        capable: bool | None = None,
        passwordless: bool = False,
        methods: tuple[str, ...] | None = None,
        at: datetime | None = None,
        admin: bool | None = None,
    ) -> None:
        """Change a user's registration row; the report shows the old row until ``at + report_lag``.
        ``admin`` sets the row's ``isAdmin`` (None keeps it)."""
        with self.lock:
            u = self.tenants[tenant_id].users[user_id]
            flags = (MFA_REGISTERED if registered else 0) | (
                MFA_CAPABLE if (registered if capable is None else capable) else 0
            )
            flags |= (PASSWORDLESS if passwordless else 0) | (u.reg_flags & (SSPR_REGISTERED | IS_ADMIN))
            if admin is not None:
                flags = flags | IS_ADMIN if admin else flags & ~IS_ADMIN
            if methods is None:
                methods = ("microsoftAuthenticatorPush", "mobilePhone") if registered else ()
            u.reg_prev_flags, u.reg_prev_methods = u.reg_flags, u.reg_methods
            u.reg_flags, u.reg_methods = flags, methods
            u.reg_changed_at = at

    # groups -------------------------------------------------------------------------------
    def add_group(
        self, tenant_id: str, display_name: str, *, id: str | None = None, members: Iterable[str] = ()
    ) -> Group:
        with self.lock:
            g = Group(id=id or new_id(), display_name=display_name, members=dict.fromkeys(members))
            self.tenants[tenant_id].groups[g.id] = g
            return g

    def add_member(self, tenant_id: str, group_id: str, member_id: str) -> None:
        with self.lock:
            self.tenants[tenant_id].groups[group_id].members[member_id] = None

    def members(self, tenant_id: str, group_id: str, *, transitive: bool = False) -> list[str]:
        with self.lock:
            t = self.tenants[tenant_id]
            return t.transitive_members(group_id) if transitive else list(t.groups[group_id].members)

    # other ----------------------------------------------------------------------------------
    def add_sku(self, tenant_id: str, sku_id: str, part_number: str, enabled_units: int) -> Sku:
        with self.lock:
            t = self.tenants[tenant_id]
            consumed = sum(1 for u in t.users.values() for s, _ in u.licenses if s == sku_id)
            s = Sku(
                sku_id=sku_id,
                sku_part_number=part_number,
                enabled_units=enabled_units,
                consumed_units=consumed,
                id=f"{tenant_id}_{sku_id}",
            )
            t.skus[sku_id] = s
            return s

    def add_service_principal(
        self, tenant_id: str, app_id: str, display_name: str, sso_mode: str | None = None
    ) -> ServicePrincipal:
        with self.lock:
            sp = ServicePrincipal(
                id=new_id(), app_id=app_id, display_name=display_name, preferred_single_sign_on_mode=sso_mode
            )
            self.tenants[tenant_id].service_principals.append(sp)
            return sp

    def add_signin(
        self,
        tenant_id: str,
        user: User,
        app_id: str,
        app_name: str,
        at: datetime,
        *,
        mfa: bool = False,
        error_code: int = 0,
        conditional_access: bool = True,
    ) -> SignInRecord:
        with self.lock:
            rec = SignInRecord(
                id=new_id(),
                created=at,
                user_id=user.id,
                user_principal_name=user.user_principal_name.lower(),
                user_display_name=user.display_name,
                app_id=app_id,
                app_display_name=app_name,
                mfa=mfa,
                error_code=error_code,
                conditional_access=conditional_access,
            )
            t = self.tenants[tenant_id]
            t.signins.append(rec)
            t.signins.sort(key=lambda r: r.created, reverse=True)
            return rec

    def sent_mail(self, tenant_id: str) -> list[SentMail]:
        with self.lock:
            return list(self.tenants[tenant_id].sent_mail)

    def set_leave_date_writable(self, tenant_id: str, writable: bool) -> None:
        self.set_withdrawn(tenant_id, LEAVE_DATE_PERMISSION, withdrawn=not writable)

    def set_withdrawn(self, tenant_id: str, *permissions: str, withdrawn: bool = True) -> None:
        """Withdraw (or grant again) application permissions of the app in one tenant."""
        with self.lock:
            t = self.tenants[tenant_id]
            if withdrawn:
                t.withdrawn.update(permissions)
            else:
                t.withdrawn.difference_update(permissions)

    def set_premium(self, tenant_id: str, premium: bool) -> None:
        with self.lock:
            self.tenants[tenant_id].premium = premium

    def summary(self) -> dict[str, Any]:
        """Counts per tenant, for ``GET /_emulator/state`` and logs."""
        with self.lock:
            return {
                tid: {
                    "domains": t.domains,
                    "premium": t.premium,
                    "withdrawn_permissions": sorted(t.withdrawn),
                    "users": len(t.users),
                    "deleted": len(t.deleted),
                    "groups": len(t.groups),
                    "skus": len(t.skus),
                    "service_principals": len(t.service_principals),
                    "taps": len(t.taps),
                    "sent_mail": len(t.sent_mail),
                    "hand_signins": len(t.signins),
                    "generated_signin_days": t.signin_source.day_count() if t.signin_source else 0,
                }
                for tid, t in self.tenants.items()
            }


def counter_ids(prefix: int) -> Callable[[], str]:
    """Deterministic GUID-shaped ids (used by the generator; ``uuid4`` elsewhere)."""
    c = itertools.count(1)
    return lambda: f"{prefix:08x}-0000-4000-8000-{next(c):012x}"
