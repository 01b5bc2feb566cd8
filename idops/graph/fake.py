"""A stateful in-memory ``Directory``: the fake domain unit tests run on instead of Graph.

It keeps real state — users (UPN unique, soft delete to a recycle bin, restore, purge), groups,
licence SKUs with seats, the TAP policy and the passes issued (never their codes), registration
rows, sign-ins, service principals, an outbox — and answers as the adapter does over Graph: the
contract suite in ``tests/integration/graph`` runs the same cases against both, so the two cannot drift apart.

- ``FakeTenant`` is the "server side": one tenant's state, with helpers to seed and inspect it.
- ``FakeDirectory`` is one process's view of it, as ``GraphDirectory`` is: it remembers the accounts
  it created (replication waits apply to those). ``another_process()`` gives a second view.
- Fault injection: ``fail_next(operation, error)`` (an operation is a port method's name, or a step
  of ``apply_account_changes``: ``patch``, ``revoke``, ``add_group``, ``remove_group``,
  ``assign_licence``, ``remove_licence``), ``outage()``, ``lag_new_users()`` (a new account is
  invisible except to replication-waiting calls), ``forbid_leave_date()`` (the app lacks the
  permission to write ``employeeLeaveDateTime``) and ``withdraw(permission)`` (the app lacks an
  application permission: every operation that ``idops.graph.permissions`` says needs it answers 403,
  and the token no longer lists it).
- Every operation calls ``idops.graph.fence.guard`` first (no open transaction, the job unit's
  lease fence still open), as the adapter does before every request.
"""

from __future__ import annotations

import secrets
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from dataclasses import fields as dataclass_fields
from datetime import datetime
from functools import partial
from typing import Any, Literal, TypeVar

from idops.config.region import RegionConfig
from idops.graph.batch import BATCH_LIMIT
from idops.graph.changes import failure_for
from idops.graph.errors import (
    AccessPassPolicyDisabled,
    GraphBadRequest,
    GraphConflict,
    GraphError,
    GraphForbidden,
    GraphNotFound,
    GraphPremiumRequired,
    GraphUnavailable,
)
from idops.graph.fence import guard
from idops.graph.odata import format_datetime
from idops.graph.permissions import LEAVE_DATE, OPERATIONS
from idops.graph.port import (
    UNSET,
    AccessPass,
    AccountChange,
    BulkMember,
    BulkRegistration,
    BulkUser,
    ChangeFailure,
    ChangeResult,
    DirectoryUser,
    ManagedMarker,
    NewUser,
    Page,
    Probe,
    ServicePrincipal,
    SignIn,
    SubscribedSku,
    TapPolicy,
    TokenClaims,
    UserPatch,
)
from idops.kit.clock import Clock, SystemClock

T = TypeVar("T")
USER_TYPE = "#microsoft.graph.user"
GROUP_TYPE = "#microsoft.graph.group"
_TAP_CHARACTERS = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789+-=#@!"
# the registration report's method names → the kinds the per-user listing shows
_REPORT_TO_KIND = {
    "microsoftAuthenticatorPush": "microsoftAuthenticator",
    "microsoftAuthenticatorPasswordless": "microsoftAuthenticator",
    "mobilePhone": "phone",
    "alternateMobilePhone": "phone",
    "officePhone": "phone",
    "softwareOneTimePasscode": "softwareOath",
    "hardwareOneTimePasscode": "hardwareOath",
}
_STRONG_KINDS = frozenset({"microsoftAuthenticator", "phone", "softwareOath", "hardwareOath", "fido2",
                           "windowsHelloForBusiness"})


def _not_found(what: str) -> GraphNotFound:
    return GraphNotFound(f"Resource '{what}' does not exist", status=404, code="Request_ResourceNotFound")


def _new_id() -> str:
    return str(uuid.uuid4())


def _strong(password: str) -> bool:
    """Entra's default complexity: 8–256 characters from at least three of four classes."""
    classes = sum(
        any(test(ch) for ch in password)
        for test in (str.islower, str.isupper, str.isdigit, lambda ch: not ch.isalnum())
    )
    return 8 <= len(password) <= 256 and classes >= 3


@dataclass
class FakeUser:
    """A user as the directory keeps it: ``DirectoryUser``'s fields, mutable, plus what Graph keeps
    but does not show (the password, the registration report's row)."""

    id: str
    user_principal_name: str
    display_name: str
    account_enabled: bool = True
    given_name: str | None = None
    surname: str | None = None
    mail_nickname: str | None = None
    mail: str | None = None
    preferred_language: str | None = None
    employee_id: str | None = None
    employee_type: str | None = None
    employee_hire_date: datetime | None = None
    employee_leave_date_time: datetime | None = None
    usage_location: str | None = None
    user_type: str = "Member"
    created_date_time: datetime | None = None
    deleted_date_time: datetime | None = None
    sign_in_sessions_valid_from: datetime | None = None
    licences: list[str] = field(default_factory=list)  # sku ids, in assignment order
    extension_attributes: dict[str, str] = field(default_factory=dict)
    password: str | None = None
    force_change_password: bool = False
    other_mails: tuple[str, ...] = ()
    mobile_phone: str | None = None
    # the registration report's row
    mfa_registered: bool = False
    mfa_capable: bool = False
    passwordless_capable: bool = False
    is_admin: bool = False
    methods_registered: tuple[str, ...] = ()

    def view(self) -> DirectoryUser:
        """The port's immutable view (fields of the same name, licences and attributes copied)."""
        shared = {f.name: getattr(self, f.name) for f in dataclass_fields(DirectoryUser) if f.name not in _COPIED}
        return DirectoryUser(**shared, assigned_license_sku_ids=tuple(self.licences),
                             extension_attributes=dict(self.extension_attributes))


_COPIED = frozenset({"assigned_license_sku_ids", "extension_attributes"})


@dataclass
class FakeGroup:
    id: str
    display_name: str
    members: dict[str, None] = field(default_factory=dict)  # insertion-ordered set of object ids


@dataclass
class FakeSku:
    sku_id: str
    sku_part_number: str
    enabled_units: int
    consumed_units: int = 0


@dataclass(frozen=True, slots=True)
class IssuedPass:
    """What the directory keeps of a Temporary Access Pass: never its code."""

    id: str
    created_date_time: datetime
    start_date_time: datetime
    lifetime_in_minutes: int
    is_usable_once: bool


@dataclass(frozen=True, slots=True)
class SentMail:
    sender: str
    to: tuple[str, ...]
    subject: str
    body: str
    at: datetime


@dataclass(frozen=True, slots=True)
class Call:
    """One request the fake answered: a port operation or one step of an account change."""

    operation: str
    subject: str | None = None


class FakeTenant:
    """One tenant's directory state. Seed it with ``add_*``; read it with ``user``, ``members`` …"""

    def __init__(self, tenant_id: str, domains: Iterable[str] = (), *, clock: Clock | None = None,
                 page_size: int = 100) -> None:
        self.tenant_id = tenant_id
        self.domains = {d.lower() for d in domains}  # empty: any domain is verified
        self.clock: Clock = clock or SystemClock()
        self.page_size = page_size
        self.users: dict[str, FakeUser] = {}
        self.deleted: dict[str, FakeUser] = {}
        self.groups: dict[str, FakeGroup] = {}
        self.skus: dict[str, FakeSku] = {}
        self.tap_policy = TapPolicy("enabled", 60, 60, 480, False)
        self.passes: dict[str, IssuedPass] = {}  # user id → the one pass a user may have
        self.sign_ins: list[SignIn] = []
        self.service_principals: list[ServicePrincipal] = []
        self.outbox: list[SentMail] = []
        self.calls: list[Call] = []
        # HTTP requests the adapter would send for the same calls: one per port request or page, and one
        # per ``$batch`` of up to 20 account-change steps (a step is a ``Call``, not a round trip)
        self.round_trips = 0
        self.premium = True
        self.withdrawn: set[str] = set()  # application permissions the app lacks in this tenant
        self.lag_new_users = False
        self.replicating: set[str] = set()  # ids created while lagging, not yet visible everywhere
        self.down = False
        self.faults: dict[str, list[tuple[str | None, GraphError]]] = {}  # operation → (subject, error)

    # ---- seeding ------------------------------------------------------------------------------

    def add_user(self, upn: str, display_name: str | None = None, **fields: Any) -> FakeUser:
        """Insert a user directly (no validation, no replication lag); ``fields`` are ``FakeUser``'s."""
        user = FakeUser(id=(fields.pop("id", None) or _new_id()).lower(), user_principal_name=upn,
                        display_name=display_name or upn.split("@")[0], created_date_time=self.clock.now())
        for name, value in fields.items():
            setattr(user, name, value)
        user.mail_nickname = user.mail_nickname or upn.split("@")[0]
        user.licences = [sku.lower() for sku in user.licences]
        self.users[user.id] = user
        for sku in user.licences:
            self._consume(sku, 1)
        return user

    def add_group(self, display_name: str, members: Iterable[str] = (), *, id: str | None = None) -> FakeGroup:
        group = FakeGroup((id or _new_id()).lower(), display_name, dict.fromkeys(m.lower() for m in members))
        self.groups[group.id] = group
        return group

    def add_sku(self, sku_id: str, part_number: str, enabled_units: int) -> FakeSku:
        consumed = sum(1 for u in self.users.values() if sku_id.lower() in u.licences)
        sku = FakeSku(sku_id.lower(), part_number, enabled_units, consumed)
        self.skus[sku.sku_id] = sku
        return sku

    def set_registration(self, user_id: str, *, registered: bool, capable: bool | None = None,
                         passwordless: bool = False, methods: tuple[str, ...] | None = None,
                         admin: bool | None = None) -> None:
        user = self.users[user_id]
        if admin is not None:
            user.is_admin = admin
        user.mfa_registered = registered
        user.mfa_capable = registered if capable is None else capable
        user.passwordless_capable = passwordless
        default = ("microsoftAuthenticatorPush", "mobilePhone") if registered else ()
        user.methods_registered = default if methods is None else methods

    def add_sign_in(self, user_id: str, app_id: str, app_name: str, at: datetime, *, mfa: bool | None = False,
                    error_code: int = 0, interactive: bool = True) -> SignIn:
        """``mfa``: as the adapter reads it — True/False where Conditional Access tells, None where it
        does not (security defaults, per-user MFA)."""
        user = self.users[user_id]
        row = SignIn(id=_new_id(), created_date_time=at, user_id=user.id,
                     user_principal_name=user.user_principal_name.lower(), app_id=app_id, app_display_name=app_name,
                     status_error_code=error_code, is_interactive=interactive,
                     conditional_access_status="success" if mfa else "notApplied", mfa_satisfied=mfa)
        self.sign_ins.append(row)
        return row

    def add_service_principal(self, app_id: str, display_name: str, sso_mode: str | None = None) -> ServicePrincipal:
        sp = ServicePrincipal(_new_id(), app_id, display_name, sso_mode)
        self.service_principals.append(sp)
        return sp

    @property
    def leave_date_writable(self) -> bool:
        return LEAVE_DATE.name not in self.withdrawn

    # ---- inspection ---------------------------------------------------------------------------

    def user(self, user_id: str) -> FakeUser | None:
        """A live (not deleted) user, replicating or not."""
        return self.users.get(user_id.lower())

    def user_by_upn(self, upn: str) -> FakeUser | None:
        return next((u for u in self.users.values() if u.user_principal_name.lower() == upn.lower()), None)

    def deleted_user(self, user_id: str) -> FakeUser | None:
        return self.deleted.get(user_id.lower())

    def group(self, group_id: str) -> FakeGroup | None:
        return self.groups.get(group_id.lower())

    def members(self, group_id: str) -> list[str]:
        return list(self.groups[group_id.lower()].members)

    def count(self, operation: str | None = None) -> int:
        """Requests answered (of one operation or step, or all)."""
        return sum(1 for c in self.calls if operation is None or c.operation == operation)

    # ---- internals ----------------------------------------------------------------------------

    def _consume(self, sku_id: str, delta: int) -> None:
        sku = self.skus.get(sku_id.lower())
        if sku is not None:
            sku.consumed_units = max(0, sku.consumed_units + delta)

    def _upn_taken(self, upn: str) -> bool:
        return self.user_by_upn(upn) is not None

    def _take_fault(self, operation: str, subject: str | None) -> GraphError | None:
        queue = self.faults.get(operation, [])
        for i, (only, error) in enumerate(queue):
            if only is None or (subject is not None and only.lower() == subject.lower()):
                del queue[i]
                return error
        return None


Step = Literal["patch", "revoke", "add_group", "remove_group", "assign_licence", "remove_licence"]


class FakeDirectory:
    """``Directory`` over a ``FakeTenant``: one process's view (it remembers what it created)."""

    def __init__(self, tenant_id: str = "00000000-0000-4000-8000-000000000000", domains: Iterable[str] = (), *,
                 clock: Clock | None = None, page_size: int = 100, state: FakeTenant | None = None) -> None:
        self.state = state or FakeTenant(tenant_id, domains, clock=clock, page_size=page_size)
        self.tenant_id = self.state.tenant_id
        self._recent: set[str] = set()  # ids this view created: replication waits apply to them

    def another_process(self) -> FakeDirectory:
        """A second view of the same tenant, as another idops process would see it."""
        return FakeDirectory(state=self.state)

    # ---- fault injection ----------------------------------------------------------------------

    def fail_next(self, operation: str, error: GraphError, *, times: int = 1, subject: str | None = None) -> None:
        """The next ``times`` calls of ``operation`` (a port method or a change step) fail with ``error``;
        with ``subject``, only calls about that user (id or UPN, as passed) or group."""
        self.state.faults.setdefault(operation, []).extend([(subject, error)] * times)

    def outage(self, down: bool = True) -> None:
        """While down, every operation raises ``GraphUnavailable`` (as the adapter does once its retries run out)."""
        self.state.down = down

    def lag_new_users(self, lag: bool = True) -> None:
        """Accounts created from now on are invisible to calls that do not wait for replication."""
        self.state.lag_new_users = lag

    def forbid_leave_date(self, forbidden: bool = True) -> None:
        """Writing ``employeeLeaveDateTime`` answers 403 (User-LifeCycleInfo.ReadWrite.All not granted)."""
        if forbidden:
            self.withdraw(LEAVE_DATE.name)
        else:
            self.state.withdrawn.discard(LEAVE_DATE.name)

    def withdraw(self, *permissions: str) -> None:
        """The app loses these application permissions in this tenant (403 Authorization_RequestDenied)."""
        self.state.withdrawn.update(permissions)

    # ---- plumbing -----------------------------------------------------------------------------

    def _enter(self, operation: str, subject: str | None = None) -> None:
        """Every request: refuse inside a transaction, record it, then fail if a fault says so."""
        guard(f"Directory.{operation}")
        self.state.calls.append(Call(operation, subject))
        self.state.round_trips += 1
        if self.state.down:
            raise GraphUnavailable(f"{operation}: the directory is unreachable", status=503)
        fault = self.state._take_fault(operation, subject)
        if fault is not None:
            raise fault
        row = OPERATIONS.get(operation)
        if row is not None:
            self._permitted(*row.permissions)

    def _permitted(self, *permissions: Any) -> None:
        """403 as Graph answers when the app lacks one of ``permissions`` (``Permission`` rows)."""
        missing = [p.name for p in permissions if p.name in self.state.withdrawn]
        if missing:
            raise GraphForbidden("Insufficient privileges to complete the operation.", status=403,
                                 code="Authorization_RequestDenied")

    def _visible(self, id_or_upn: str, *, waits: bool) -> FakeUser | None:
        """The user as a read sees it; one still replicating is visible only to a call that waits for it."""
        st = self.state
        user = st.users.get(id_or_upn.lower()) or st.user_by_upn(id_or_upn)
        if user is None:
            return None
        if user.id in st.replicating:
            if not (waits or user.id in self._recent):
                return None
            st.replicating.discard(user.id)  # the wait outlasted the lag
        return user

    def _user(self, id_or_upn: str, *, waits: bool = False) -> FakeUser:
        user = self._visible(id_or_upn, waits=waits)
        if user is None:
            raise _not_found(id_or_upn)
        return user

    def _leave_date_write(self) -> None:
        if not self.state.leave_date_writable:
            raise GraphForbidden("Insufficient privileges to complete the operation.", status=403,
                                 code="Authorization_RequestDenied")

    async def _paged(self, operation: str, rows: Callable[[], Sequence[T]]) -> AsyncIterator[list[T]]:
        """Non-empty pages of ``rows()`` (computed at the first page), each page one request."""
        self._enter(operation)
        items = list(rows())
        size = self.state.page_size
        for start in range(0, len(items), size):
            if start:
                self._enter(operation)
            yield items[start : start + size]

    # ---- users --------------------------------------------------------------------------------

    async def create_user(self, user: NewUser) -> DirectoryUser:
        self._enter("create_user", user.user_principal_name)
        st = self.state
        local, _, domain = user.user_principal_name.partition("@")
        if not local or not domain or (st.domains and domain.lower() not in st.domains):
            raise GraphBadRequest("Property userPrincipalName is invalid.", status=400, code="Request_BadRequest")
        if not _strong(user.password):
            raise GraphBadRequest("The specified password does not comply with password complexity requirements.",
                                  status=400, code="Request_BadRequest")
        if user.employee_leave_date_time is not None:
            self._leave_date_write()
        if st._upn_taken(user.user_principal_name):
            raise GraphConflict("Another object with the same value for property userPrincipalName already exists.",
                                status=400, code="Request_BadRequest")
        created = st.add_user(
            user.user_principal_name, user.display_name, account_enabled=user.account_enabled,
            given_name=user.given_name, surname=user.surname, mail_nickname=user.mail_nickname,
            employee_id=user.employee_id, employee_type=user.employee_type, employee_hire_date=user.employee_hire_date,
            employee_leave_date_time=user.employee_leave_date_time, usage_location=user.usage_location,
            extension_attributes=dict(user.extension_attributes), password=user.password,
            force_change_password=user.force_change_password, other_mails=user.other_mails,
            mobile_phone=user.mobile_phone,
        )
        if st.lag_new_users:
            st.replicating.add(created.id)
        self._recent.add(created.id)
        return created.view()

    async def get_user(self, id_or_upn: str, *, just_created: bool = False) -> DirectoryUser:
        self._enter("get_user", id_or_upn)
        return self._user(id_or_upn, waits=just_created).view()

    async def update_user(self, user_id: str, patch: UserPatch, *, just_created: bool = False) -> None:
        guard("Directory.update_user")
        if patch.is_empty():
            return
        self._enter("update_user", user_id)
        user = self._user(user_id, waits=just_created)
        if patch.employee_leave_date_time is not UNSET:
            self._leave_date_write()
        if patch.display_name is not UNSET and not patch.display_name:
            raise GraphBadRequest("Invalid value specified for property 'displayName'.", status=400)
        if patch.extension_attributes is None:
            raise GraphBadRequest("Invalid value specified for property 'onPremisesExtensionAttributes'.", status=400)
        if patch.password is not UNSET and not _strong(patch.password):
            raise GraphBadRequest("The specified password does not comply with password complexity requirements.",
                                  status=400)
        for name in ("account_enabled", "display_name", "given_name", "surname", "employee_type",
                     "employee_hire_date", "employee_leave_date_time", "usage_location"):
            value = getattr(patch, name)
            if value is not UNSET:
                setattr(user, name, value)
        if patch.extension_attributes is not UNSET:
            for key, value in patch.extension_attributes.items():
                if value is None:
                    user.extension_attributes.pop(key, None)
                else:
                    user.extension_attributes[key] = value
        if patch.password is not UNSET:
            user.password, user.force_change_password = patch.password, True

    async def delete_user(self, user_id: str) -> None:
        self._enter("delete_user", user_id)
        self._recent.discard(user_id.lower())
        st = self.state
        user = st.users.pop(user_id.lower(), None)
        if user is None:
            return  # already gone: success
        st.replicating.discard(user.id)
        user.deleted_date_time = st.clock.now()
        st.deleted[user.id] = user
        st.passes.pop(user.id, None)
        for sku in user.licences:
            st._consume(sku, -1)

    async def restore_deleted_user(self, user_id: str) -> DirectoryUser:
        self._enter("restore_deleted_user", user_id)
        st = self.state
        user = st.deleted.get(user_id.lower())
        if user is None:
            raise _not_found(user_id)
        if st._upn_taken(user.user_principal_name):
            raise GraphConflict("Another object with the same value for property userPrincipalName already exists.",
                                status=400, code="Request_BadRequest")
        del st.deleted[user.id]
        user.deleted_date_time = None
        st.users[user.id] = user
        for sku in user.licences:
            st._consume(sku, 1)
        return user.view()

    async def purge_deleted_user(self, user_id: str) -> None:
        self._enter("purge_deleted_user", user_id)
        st = self.state
        if st.deleted.pop(user_id.lower(), None) is not None:
            for group in st.groups.values():
                group.members.pop(user_id.lower(), None)

    def _listed_users(self) -> list[FakeUser]:
        """Users a listing shows: replicating ones are not in the index yet."""
        return [u for u in self.state.users.values() if u.id not in self.state.replicating]

    def list_managed_users(
        self, marker: ManagedMarker, *, enabled_only: bool = False
    ) -> AsyncIterator[Page[DirectoryUser]]:
        guard("Directory.list_managed_users")
        return self._paged("list_managed_users", lambda: [
            u.view() for u in self._listed_users()
            if u.extension_attributes.get(marker.attribute) == marker.value and (u.account_enabled or not enabled_only)
        ])

    def list_users_bulk(self) -> AsyncIterator[Page[BulkUser]]:
        guard("Directory.list_users_bulk")
        return self._paged("list_users_bulk", lambda: [
            BulkUser(
                id=u.id, user_principal_name=u.user_principal_name, display_name=u.display_name,
                account_enabled=u.account_enabled, user_type=u.user_type, employee_id=u.employee_id,
                employee_type=u.employee_type, mail=u.mail,
                employee_hire_date=format_datetime(u.employee_hire_date) if u.employee_hire_date else None,
            )
            for u in self._listed_users()
        ])

    # ---- account changes ----------------------------------------------------------------------

    async def apply_account_changes(
        self,
        changes: Sequence[AccountChange],
        *,
        leave_date_allowed: bool = True,
        replication_wait: float = 0.0,
    ) -> dict[str, ChangeResult]:
        """The same contract as the adapter's (see ``port.Directory``), applied to the state at once."""
        guard("Directory.apply_account_changes")
        if self.state.down:
            raise GraphUnavailable("apply_account_changes: the directory is unreachable", status=503)
        results = {ch.user_id: ChangeResult(ch.user_id) for ch in changes}
        for phase in (1, 2):
            skip = {u for u, r in results.items() if r.gone or (phase == 2 and not r.ok)}
            steps = [
                (ch.user_id, step, action)
                for ch in changes
                if not (ch.user_id in skip and (results[ch.user_id].gone or ch.takes_access_away))
                for step, action in self._steps(ch, phase, leave_date_allowed)
            ]
            self.state.round_trips += -(-len(steps) // BATCH_LIMIT)  # the adapter's $batch calls of ≤ 20
            for user_id, step, action in steps:
                self._run_step(step, user_id, action, results[user_id], waits=replication_wait > 0)
        return results

    def _steps(self, ch: AccountChange, phase: int,
               leave_date_allowed: bool) -> list[tuple[Step, Callable[[FakeUser], None]]]:
        steps: list[tuple[Step, Callable[[FakeUser], None]]] = []
        if phase == 1:
            fields: dict[str, Any] = {}
            if ch.enabled is not None:
                fields["account_enabled"] = ch.enabled
            if leave_date_allowed and (ch.leave_date is not None or ch.clear_leave_date):
                fields["employee_leave_date_time"] = ch.leave_date
            if fields:
                steps.append(("patch", lambda u: self._patch(u, fields)))
            return steps
        if ch.revoke_sessions:
            steps.append(("revoke", self._revoke))
        steps += [("add_group", partial(self._add_member, group_id=g)) for g in ch.add_groups]
        steps += [("remove_group", partial(self._remove_member, group_id=g)) for g in ch.remove_groups]
        if ch.add_skus:
            steps.append(("assign_licence", partial(self._assign, add=ch.add_skus, remove=ch.remove_skus)))
        else:  # one request per removed licence, so each is idempotent on its own
            steps += [("remove_licence", partial(self._assign, add=(), remove=(s,))) for s in ch.remove_skus]
        return steps

    def _run_step(self, step: Step, user_id: str, action: Callable[[FakeUser], None], res: ChangeResult, *,
                  waits: bool) -> None:
        self.state.calls.append(Call(step, user_id))
        fault = self.state._take_fault(step, user_id)
        if fault is not None:
            res.fail(step, failure_for(type(fault)), status=fault.status)
            return
        user = self._visible(user_id, waits=waits)
        if user is None:
            may_be_new = waits or user_id.lower() in self._recent
            if step in ("patch", "revoke") and not may_be_new:
                res.vanish(step)
            else:
                res.fail(step, ChangeFailure.NOT_FOUND, status=404)
            return
        try:
            action(user)
        except _StepFailed as failed:
            res.fail(step, failed.code, status=failed.status)

    def _patch(self, user: FakeUser, fields: Mapping[str, Any]) -> None:
        if "employee_leave_date_time" in fields and not self.state.leave_date_writable:
            raise _StepFailed(ChangeFailure.FORBIDDEN, 403)
        for name, value in fields.items():
            setattr(user, name, value)

    def _revoke(self, user: FakeUser) -> None:
        user.sign_in_sessions_valid_from = self.state.clock.now()

    def _add_member(self, user: FakeUser, group_id: str) -> None:
        group = self.state.group(group_id)
        if group is None:
            raise _StepFailed(ChangeFailure.NOT_FOUND, 404)
        group.members.setdefault(user.id)  # already a member: done

    def _remove_member(self, user: FakeUser, group_id: str) -> None:
        group = self.state.group(group_id)
        if group is not None:
            group.members.pop(user.id, None)  # not a member: done

    def _assign(self, user: FakeUser, add: Sequence[str], remove: Sequence[str]) -> None:
        """assignLicense: all or nothing, checked as Graph checks it."""
        st = self.state
        if add and not user.usage_location:
            raise _StepFailed(ChangeFailure.LICENCE_INVALID, 400)
        for sku_id in add:
            sku = st.skus.get(sku_id.lower())
            if sku is None:
                raise _StepFailed(ChangeFailure.REJECTED, 400)
            if sku.sku_id not in user.licences and sku.consumed_units >= sku.enabled_units:
                raise _StepFailed(ChangeFailure.NO_LICENCES_AVAILABLE, 400)
        missing = [s for s in remove if s.lower() not in user.licences]
        if missing:
            if add:
                raise _StepFailed(ChangeFailure.REJECTED, 400)
            return  # removing a licence the user does not have: done
        for sku_id in remove:
            user.licences.remove(sku_id.lower())
            st._consume(sku_id, -1)
        for sku_id in add:
            if sku_id.lower() not in user.licences:
                user.licences.append(sku_id.lower())
                st._consume(sku_id, 1)

    # ---- groups, licences ---------------------------------------------------------------------

    def list_group_members_bulk(self, group_id: str, *, transitive: bool = True) -> AsyncIterator[Page[BulkMember]]:
        guard("Directory.list_group_members_bulk")

        def rows() -> list[BulkMember]:
            st = self.state
            if st.group(group_id) is None:
                raise _not_found(group_id)
            found: dict[str, None] = {}
            queue = [group_id.lower()]
            while queue:
                for mid in st.groups[queue.pop(0)].members:
                    if mid in found:
                        continue
                    found[mid] = None
                    if transitive and mid in st.groups:
                        queue.append(mid)
            return [BulkMember(mid, GROUP_TYPE if mid in st.groups else USER_TYPE)
                    for mid in found if mid in st.groups or mid in st.users]

        return self._paged("list_group_members_bulk", rows)

    async def list_subscribed_skus(self) -> list[SubscribedSku]:
        self._enter("list_subscribed_skus")
        return [SubscribedSku(s.sku_id, s.sku_part_number, s.enabled_units, s.consumed_units)
                for s in self.state.skus.values()]

    # ---- credentials --------------------------------------------------------------------------

    async def create_access_pass(
        self, user_id: str, *, start: datetime | None, lifetime_minutes: int, usable_once: bool
    ) -> AccessPass:
        self._enter("create_access_pass", user_id)
        user = self._user(user_id)
        policy = self.state.tap_policy
        if policy.state != "enabled":
            raise AccessPassPolicyDisabled("Converged UserCredentialPolicy does not allow creating or updating this "
                                           "authentication method.", status=400, code="Request_BadRequest")
        if user.user_type.lower() == "guest":
            raise GraphBadRequest("Temporary Access Pass cannot be added to an external guest user.", status=400)
        if not (10 <= lifetime_minutes <= 43200
                and policy.minimum_lifetime_in_minutes <= lifetime_minutes <= policy.maximum_lifetime_in_minutes):
            raise GraphBadRequest("The lifetime of the Temporary Access Pass is outside the policy.", status=400)
        now = self.state.clock.now()
        issued = IssuedPass(_new_id(), now, start or now, lifetime_minutes, usable_once or policy.is_usable_once)
        self.state.passes[user.id] = issued  # one per user: a new pass replaces the old
        code = "".join(secrets.choice(_TAP_CHARACTERS) for _ in range(8))
        return AccessPass(issued.id, code, issued.start_date_time, lifetime_minutes, issued.is_usable_once)

    async def get_access_pass_policy(self) -> TapPolicy:
        self._enter("get_access_pass_policy")
        return replace(self.state.tap_policy)

    async def list_authentication_methods(self, user_id: str) -> list[str]:
        """The user's methods as Graph lists them: the password, the methods of their registration
        (``methods_registered``, in the report's words, turned into method kinds) and a pass if one
        was issued. Consistent with ``set_registration``: registered ⇒ a strong method, passwordless ⇒
        a FIDO2 key or Windows Hello."""
        self._enter("list_authentication_methods", user_id)
        user = self._user(user_id)
        kinds = ["password", *(_REPORT_TO_KIND.get(m, m) for m in user.methods_registered)]
        if user.passwordless_capable and not {"fido2", "windowsHelloForBusiness"} & set(kinds):
            kinds.append("fido2")
        if user.mfa_registered and not _STRONG_KINDS & set(kinds):
            kinds.append("microsoftAuthenticator")
        if user.id in self.state.passes:
            kinds.append("temporaryAccessPass")
        return list(dict.fromkeys(kinds))

    # ---- reports ------------------------------------------------------------------------------

    def _premium(self) -> None:
        if not self.state.premium:
            raise GraphPremiumRequired("Neither tenant is B2C or tenant doesn't have premium license", status=403,
                                       code="Authentication_RequestFromNonPremiumTenantOrB2CTenant")

    def list_registration_details_bulk(self) -> AsyncIterator[Page[BulkRegistration]]:
        guard("Directory.list_registration_details_bulk")

        def rows() -> list[BulkRegistration]:
            self._premium()
            as_of = format_datetime(self.state.clock.now())
            return [
                BulkRegistration(
                    id=u.id, user_principal_name=u.user_principal_name, user_display_name=u.display_name,
                    is_mfa_registered=u.mfa_registered, is_mfa_capable=u.mfa_capable,
                    is_passwordless_capable=u.passwordless_capable, methods_registered=u.methods_registered,
                    last_updated_date_time=as_of, is_admin=u.is_admin,
                )
                for u in self._listed_users()
            ]

        return self._paged("list_registration_details_bulk", rows)

    def list_sign_ins(self, start: datetime, end: datetime) -> AsyncIterator[Page[SignIn]]:
        guard("Directory.list_sign_ins")

        def rows() -> list[SignIn]:
            self._premium()
            kept = [s for s in self.state.sign_ins if s.is_interactive and start <= s.created_date_time < end]
            return sorted(kept, key=lambda s: s.created_date_time, reverse=True)

        return self._paged("list_sign_ins", rows)

    def list_service_principals(self) -> AsyncIterator[Page[ServicePrincipal]]:
        guard("Directory.list_service_principals")
        return self._paged("list_service_principals", lambda: list(self.state.service_principals))

    # ---- onboarding ---------------------------------------------------------------------------

    async def token_claims(self) -> TokenClaims:
        """As an app-only token would say: this tenant, and every permission the table names but those withdrawn."""
        self._enter("token_claims")
        granted = {p.name for op in OPERATIONS.values() for p in op.permissions} - self.state.withdrawn
        return TokenClaims(tenant_id=self.tenant_id, app_id="fake-app", roles=frozenset(granted))

    async def probe(self, probe: Probe) -> None:
        self._enter("probe", probe.value)
        proven = {p.name: p for op in OPERATIONS.values() for p in op.permissions if p.probe == probe}
        self._permitted(*proven.values())
        if any(p.premium for p in proven.values()):
            self._premium()

    # ---- mail ---------------------------------------------------------------------------------

    async def send_mail(self, sender: str, to: Sequence[str], subject: str, body_text: str) -> None:
        self._enter("send_mail", sender)
        mailbox = self._visible(sender, waits=False)
        if mailbox is None:
            raise GraphNotFound(f"The requested user '{sender}' is invalid.", status=404, code="ErrorInvalidUser")
        if not to or not all(to):
            raise GraphBadRequest("At least one recipient isn't valid.", status=400, code="ErrorInvalidRecipients")
        self.state.outbox.append(SentMail(mailbox.user_principal_name, tuple(to), subject, body_text,
                                          self.state.clock.now()))


class _StepFailed(Exception):
    def __init__(self, code: ChangeFailure, status: int) -> None:
        super().__init__(code.value)
        self.code, self.status = code, status


class FakeDirectoryProvider:
    """``DirectoryProvider`` over fakes: one ``FakeDirectory`` per tenant."""

    def __init__(self, directories: Mapping[str, FakeDirectory]) -> None:
        self._directories = {tid.lower(): d for tid, d in directories.items()}

    @classmethod
    def for_region(cls, region: RegionConfig, *, clock: Clock | None = None) -> FakeDirectoryProvider:
        """An empty fake tenant for every tenant of ``region``, its municipalities' UPN domains verified."""
        domains: dict[str, set[str]] = {}
        for m in region.municipalities:
            domains.setdefault(m.tenant_id, set()).add(m.upn_domain)
        return cls({tid: FakeDirectory(tid, d, clock=clock) for tid, d in domains.items()})

    def for_tenant(self, tenant_id: str) -> FakeDirectory:
        try:
            return self._directories[tenant_id.lower()]
        except KeyError:
            raise LookupError(f"tenant {tenant_id} is not configured") from None

    @property
    def tenant_ids(self) -> list[str]:
        return list(self._directories)

    def calls(self) -> Counter[str]:
        """Requests answered per operation, over every tenant."""
        return Counter(c.operation for d in self._directories.values() for c in d.state.calls)

    async def aclose(self) -> None:
        """Nothing to release; here so the fake can stand wherever the adapter's provider does."""
