"""The two worlds the contract suite runs in: the adapter over HTTP to the emulator, and the fake.

A ``World`` gives the ``Directory`` under test plus what a test needs around it — seeding the tenant,
reading its state back, and switching on the conditions both worlds can produce (replication lag,
an outage, a forbidden leave date, a throttled account). Each is a few lines over the world's own
state: the emulator's ``EmulatorState``/``Faults``, or the fake's ``FakeTenant``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from idops.config.region import GraphConnection
from idops.emulator.server import EmulatorServer
from idops.graph.errors import GraphThrottled
from idops.graph.fake import FakeDirectory
from idops.graph.port import Directory
from idops.graph.sdk import GraphDirectory
from tests.integration.graph.conftest import fast_settings
from tests.support.graph import DOMAIN, TENANT

PAGE_SIZE = 3  # small, so every listing in the suite crosses pages


@dataclass(frozen=True)
class UserState:
    """What a test reads back about one account, the same from either world."""

    enabled: bool
    display_name: str
    given_name: str | None
    leave_date: datetime | None
    sessions_revoked: bool
    skus: frozenset[str]
    extension_attributes: dict[str, str]
    password: str | None
    force_change_password: bool


@dataclass(frozen=True)
class PassState:
    lifetime_in_minutes: int
    is_usable_once: bool


class World(Protocol):
    kind: str

    @property
    def directory(self) -> Directory:
        """The implementation under test."""
        ...

    def other_process(self) -> Directory:
        """The same tenant as another idops process sees it (it did not create anything)."""
        ...

    def add_user(self, local: str, display_name: str | None = None, **fields: Any) -> str:
        """Seed a user ``local@DOMAIN``; ``fields``: enabled, usage_location, marker (ext15), skus,
        employee_type, employee_hire_date, user_type. Returns its id."""
        ...

    def add_group(self, name: str, members: Sequence[str] = ()) -> str: ...

    def add_sku(self, sku_id: str, seats: int) -> None: ...

    def set_tap_policy(self, *, state: str = "enabled", maximum: int = 480, usable_once: bool = False) -> None: ...

    def set_registration(self, user_id: str, *, methods: tuple[str, ...], admin: bool = False) -> None: ...

    def set_premium(self, premium: bool) -> None: ...

    def add_sign_in(self, user_id: str, at: datetime, *, mfa: bool = False, interactive: bool = True) -> None: ...

    def add_service_principal(self, app_id: str, name: str, sso_mode: str | None = None) -> None: ...

    def user(self, user_id: str) -> UserState | None:
        """A live account's state; None when it does not exist (or is in the recycle bin)."""
        ...

    def in_recycle_bin(self, user_id: str) -> bool: ...

    def members(self, group_id: str) -> list[str]: ...

    def consumed(self, sku_id: str) -> int: ...

    def access_pass(self, user_id: str) -> PassState | None: ...

    def sent_mail(self) -> list[tuple[str, tuple[str, ...], str, str]]: ...

    def requests(self) -> int:
        """Requests that reached the directory so far (one ``$batch`` counts once in the emulator)."""
        ...

    def lag_new_users(self) -> None:
        """New accounts stay invisible to calls that do not wait for replication."""
        ...

    def forbid_leave_date(self) -> None: ...

    def withdraw(self, permission: str) -> None:
        """The app loses an application permission in this tenant (its consent withdrawn)."""
        ...

    def outage(self) -> None:
        """Every request fails as if Graph were down (5xx for as long as the adapter retries)."""
        ...

    def throttle_account_patch(self, user_id: str) -> None:
        """Every PATCH of this account is answered 429, however often it is retried."""
        ...


def _ext(marker: str | None, fields: dict[str, Any]) -> dict[str, str]:
    return {"extensionAttribute15": marker} if marker else dict(fields.pop("extension_attributes", {}))


class GraphWorld:
    """``GraphDirectory`` over real HTTP to an ``EmulatorServer``."""

    kind = "graph"

    def __init__(self, emulator: EmulatorServer) -> None:
        self.emulator = emulator
        self.state = emulator.state
        self._built: list[GraphDirectory] = []
        self.directory: GraphDirectory = self.other_process()

    def other_process(self) -> GraphDirectory:
        conn = GraphConnection(credential="static", base_url=self.emulator.base_url)
        d = GraphDirectory.create(TENANT, conn, fast_settings(page_size=PAGE_SIZE, reports_requests=1000))
        self._built.append(d)
        return d

    async def aclose(self) -> None:
        for d in self._built:
            await d.aclose()

    def add_user(self, local: str, display_name: str | None = None, **fields: Any) -> str:
        ext = _ext(fields.pop("marker", None), fields)
        fields["licenses"] = tuple((sku, ()) for sku in fields.pop("skus", ()))
        if "enabled" in fields:
            fields["account_enabled"] = fields.pop("enabled")
        return self.state.add_user(TENANT, f"{local}@{DOMAIN}", display_name, ext=ext or None, **fields).id

    def add_group(self, name: str, members: Sequence[str] = ()) -> str:
        return self.state.add_group(TENANT, name, members=members).id

    def add_sku(self, sku_id: str, seats: int) -> None:
        self.state.add_sku(TENANT, sku_id, "STANDARDWOFFPACK_FACULTY", seats)

    def set_tap_policy(self, *, state: str = "enabled", maximum: int = 480, usable_once: bool = False) -> None:
        with self.state.lock:
            policy = self.state.tenant(TENANT).tap_policy
            policy.state, policy.maximum_lifetime_in_minutes, policy.is_usable_once = state, maximum, usable_once

    def set_registration(self, user_id: str, *, methods: tuple[str, ...], admin: bool = False) -> None:
        self.state.set_registration(TENANT, user_id, registered=True, methods=methods, admin=admin)

    def set_premium(self, premium: bool) -> None:
        self.state.set_premium(TENANT, premium)

    def add_sign_in(self, user_id: str, at: datetime, *, mfa: bool = False, interactive: bool = True) -> None:
        user = self.state.user(TENANT, user_id)
        assert user is not None
        row = self.state.add_signin(TENANT, user, "app-1", "Wilma", at, mfa=mfa)
        if not interactive:
            with self.state.lock:
                rows = self.state.tenant(TENANT).signins
                rows[rows.index(row)] = dataclasses.replace(row, is_interactive=False)

    def add_service_principal(self, app_id: str, name: str, sso_mode: str | None = None) -> None:
        self.state.add_service_principal(TENANT, app_id, name, sso_mode)

    def user(self, user_id: str) -> UserState | None:
        u = self.state.user(TENANT, user_id)
        if u is None:
            return None
        profile = u.password_profile or {}
        return UserState(
            enabled=u.account_enabled, display_name=u.display_name, given_name=u.given_name,
            leave_date=u.employee_leave_date_time, sessions_revoked=u.sign_in_sessions_valid_from is not None,
            skus=frozenset(s for s, _ in u.licenses), extension_attributes=dict(u.ext or {}),
            password=profile.get("password"), force_change_password=bool(profile.get("forceChangePasswordNextSignIn")),
        )

    def in_recycle_bin(self, user_id: str) -> bool:
        return self.state.deleted_user(TENANT, user_id) is not None

    def members(self, group_id: str) -> list[str]:
        return self.state.members(TENANT, group_id)

    def consumed(self, sku_id: str) -> int:
        with self.state.lock:
            return self.state.tenant(TENANT).skus[sku_id].consumed_units

    def access_pass(self, user_id: str) -> PassState | None:
        with self.state.lock:
            tap = self.state.tenant(TENANT).taps.get(user_id)
        return None if tap is None else PassState(tap.lifetime_in_minutes, tap.is_usable_once)

    def sent_mail(self) -> list[tuple[str, tuple[str, ...], str, str]]:
        return [(m.sender, m.to, m.subject, m.body) for m in self.state.sent_mail(TENANT)]

    def requests(self) -> int:
        return self.emulator.log.round_trips()

    def lag_new_users(self) -> None:
        self.emulator.faults.replication_delay_s = 0.4

    def forbid_leave_date(self) -> None:
        self.state.set_leave_date_writable(TENANT, False)

    def withdraw(self, permission: str) -> None:
        self.state.set_withdrawn(TENANT, permission)

    def outage(self) -> None:
        self.emulator.faults.add_rule("503")

    def throttle_account_patch(self, user_id: str) -> None:
        self.emulator.faults.add_rule("batch_429", path_prefix=f"/users/{user_id}", method="PATCH", retry_after=0)


class FakeWorld:
    """``FakeDirectory``: the same tenant, in memory."""

    kind = "fake"

    def __init__(self) -> None:
        self.directory = FakeDirectory(TENANT, [DOMAIN], page_size=PAGE_SIZE)
        self.state = self.directory.state

    def other_process(self) -> FakeDirectory:
        return self.directory.another_process()

    def add_user(self, local: str, display_name: str | None = None, **fields: Any) -> str:
        ext = _ext(fields.pop("marker", None), fields)
        fields["licences"] = list(fields.pop("skus", ()))
        if "enabled" in fields:
            fields["account_enabled"] = fields.pop("enabled")
        return self.state.add_user(f"{local}@{DOMAIN}", display_name, extension_attributes=ext, **fields).id

    def add_group(self, name: str, members: Sequence[str] = ()) -> str:
        return self.state.add_group(name, members).id

    def add_sku(self, sku_id: str, seats: int) -> None:
        self.state.add_sku(sku_id, "STANDARDWOFFPACK_FACULTY", seats)

    def set_tap_policy(self, *, state: str = "enabled", maximum: int = 480, usable_once: bool = False) -> None:
        self.state.tap_policy = dataclasses.replace(
            self.state.tap_policy, state=state, maximum_lifetime_in_minutes=maximum, is_usable_once=usable_once
        )

    def set_registration(self, user_id: str, *, methods: tuple[str, ...], admin: bool = False) -> None:
        self.state.set_registration(user_id, registered=True, methods=methods, admin=admin)

    def set_premium(self, premium: bool) -> None:
        self.state.premium = premium

    def add_sign_in(self, user_id: str, at: datetime, *, mfa: bool = False, interactive: bool = True) -> None:
        self.state.add_sign_in(user_id, "app-1", "Wilma", at, mfa=mfa, interactive=interactive)

    def add_service_principal(self, app_id: str, name: str, sso_mode: str | None = None) -> None:
        self.state.add_service_principal(app_id, name, sso_mode)

    def user(self, user_id: str) -> UserState | None:
        u = self.state.user(user_id)
        if u is None:
            return None
        return UserState(
            enabled=u.account_enabled, display_name=u.display_name, given_name=u.given_name,
            leave_date=u.employee_leave_date_time, sessions_revoked=u.sign_in_sessions_valid_from is not None,
            skus=frozenset(u.licences), extension_attributes=dict(u.extension_attributes),
            password=u.password, force_change_password=u.force_change_password,
        )

    def in_recycle_bin(self, user_id: str) -> bool:
        return self.state.deleted_user(user_id) is not None

    def members(self, group_id: str) -> list[str]:
        return self.state.members(group_id)

    def consumed(self, sku_id: str) -> int:
        return self.state.skus[sku_id].consumed_units

    def access_pass(self, user_id: str) -> PassState | None:
        issued = self.state.passes.get(user_id)
        return None if issued is None else PassState(issued.lifetime_in_minutes, issued.is_usable_once)

    def sent_mail(self) -> list[tuple[str, tuple[str, ...], str, str]]:
        return [(m.sender, m.to, m.subject, m.body) for m in self.state.outbox]

    def requests(self) -> int:
        return self.state.count()

    def lag_new_users(self) -> None:
        self.directory.lag_new_users()

    def forbid_leave_date(self) -> None:
        self.directory.forbid_leave_date()

    def withdraw(self, permission: str) -> None:
        self.directory.withdraw(permission)

    def outage(self) -> None:
        self.directory.outage()

    def throttle_account_patch(self, user_id: str) -> None:
        self.directory.fail_next("patch", GraphThrottled("Please retry again later.", status=429), subject=user_id)
