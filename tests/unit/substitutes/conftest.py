"""Substitute rules on the in-memory fake: a real ``Container`` from ``bootstrap()`` with the stateful
``FakeDirectory`` in every tenant, a frozen clock, and a SQLite file of the test's own.

No socket and no PostgreSQL (whatever ``IDOPS_TEST_DATABASE_URL`` says): the schema is migrated once
per session into a template file, which each test copies. Tests drive the services
(``idops/substitutes/*.py``) and assert the fake's *state* and the database's rows and audit events.
The fixture ``sub`` (a ``Substitutes``) is the way in; the helpers below it are its methods.

Test modules import names from here only under ``TYPE_CHECKING``: pytest imports this file under a
module name of its own choosing, and a second, runtime import would be a second copy of it. What a
test needs at run time (the schools, the crash) it reaches through ``sub``.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from idops.audit.models import AuditEvent
from idops.auth.scope import Caller, Role, Scope
from idops.bootstrap import bootstrap
from idops.config import Config, load_config
from idops.config.region import RegionConfig
from idops.container import Container
from idops.graph.fake import FakeDirectory, FakeDirectoryProvider, FakeTenant, FakeUser
from idops.kit.clock import FrozenClock
from idops.migrations import upgrade
from idops.substitutes.models import OrphanAccount, SubstitutePeriod, SubstitutePerson
from idops.substitutes.requests import RequestResult, request_substitute
from idops.substitutes.schemas import SubstituteRequest
from tests.conftest import CONFIG_DIR

# Monday 30 November 2026, 08:00 in Helsinki: inside working hours.
START = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)
SCHOOL = "tampere/hervanta"
OTHER_SCHOOL = "tampere/kaleva"
SEATS = 50  # per licence SKU and tenant; a test that needs scarcity lowers it


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The schema, migrated for real once per session (each test copies the file: ~1 ms)."""
    path = tmp_path_factory.mktemp("unit-db") / "template.db"
    upgrade(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def unit_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("unit-var")


@pytest.fixture(scope="session")
def load_unit_config(unit_data_dir: Path) -> Callable[[str], Config]:
    """The shipped configuration (with overrides as ``load_config`` takes them, a dict merging into its
    section), loaded once per set of overrides: parsing the region costs ~0.1 s, a test's copy ~nothing.

    Entra sign-in settings rather than the demo's, which would load the demo signing key per test;
    these tests authenticate nobody."""
    loaded: dict[str, Config] = {}

    def load(overrides_json: str) -> Config:
        if overrides_json not in loaded:
            base: dict[str, Any] = {
                "data_dir": unit_data_dir,
                "auth": {"mode": "entra", "issuer": "https://login.example.invalid/v2.0",
                         "jwks_url": "https://login.example.invalid/keys"},
                "scheduler": {"enabled": False},
                "logging": {"format": "json", "level": "WARNING"},
                # The demo asks IT admins over a limit; tests start from refusals, approval tests opt in.
                "policy": {"on_limit": "refuse"},
            }
            for key, value in json.loads(overrides_json).items():
                merge = isinstance(value, dict) and isinstance(base.get(key), dict)
                base[key] = {**base[key], **value} if merge else value
            loaded[overrides_json] = load_config(CONFIG_DIR, **base)
        return loaded[overrides_json]

    return load


@pytest.fixture
def database_file(template_db: Path, tmp_path: Path) -> Path:
    path = tmp_path / "idops.db"
    shutil.copyfile(template_db, path)
    return path


@pytest.fixture
def make_config(load_unit_config: Callable[[str], Config], database_file: Path) -> Callable[..., Config]:
    """``make_config(policy={"orphan_action": "report"})``: the configuration on this test's database."""

    def make(**overrides: Any) -> Config:
        config = load_unit_config(json.dumps(overrides, sort_keys=True))
        database = config.settings.database.model_copy(update={"url": f"sqlite+aiosqlite:///{database_file}"})
        return dataclasses.replace(config, settings=config.settings.model_copy(update={"database": database}))

    return make


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


def seed(provider: FakeDirectoryProvider, config: Config) -> None:
    """Every tenant as idops expects to find it: the schools' substitute groups, the licence SKUs with
    ``SEATS`` free seats, the principals (with a mailbox) and their (empty) principal groups, and each
    municipality's notification sender."""
    for municipality in config.region.municipalities:
        tenant = provider.for_tenant(municipality.tenant_id).state
        if municipality.notification_sender and tenant.user_by_upn(municipality.notification_sender) is None:
            tenant.add_user(municipality.notification_sender, "idops", mail=municipality.notification_sender)
        for school in municipality.schools:
            for gid in school.substitute_group_ids:
                if tenant.group(gid) is None:
                    tenant.add_group(f"{school.name} sijaiset", id=gid)
            for sku in school.licence_sku_ids:
                if sku.lower() not in tenant.skus:
                    tenant.add_sku(sku, "STANDARDWOFFPACK_FACULTY", SEATS)
            for i, oid in enumerate(school.principals.object_ids):
                if tenant.user(oid) is None:
                    upn = f"rehtori{i}.{school.key}@{municipality.upn_domain}"
                    tenant.add_user(upn, f"Rehtori {school.name}", id=oid, mail=upn)
            for gid in school.principals.group_ids:
                if tenant.group(gid) is None:
                    tenant.add_group(f"{school.name} rehtorit", id=gid)


class Crash(BaseException):
    """The process dies: nothing after this point runs, nothing uncommitted survives (a
    ``BaseException``, so no ``except Exception`` of the product's catches it)."""


class Substitutes:
    """The substitutes of one test: call services, read back the fake's state and the database."""

    SCHOOL = SCHOOL
    OTHER_SCHOOL = OTHER_SCHOOL

    def __init__(self, c: Container, clock: FrozenClock) -> None:
        self.c = c
        self.clock = clock

    # ---- the world ----------------------------------------------------------------------------

    def tenant_id(self, school: str = SCHOOL) -> str:
        found = self.c.config.region.school(school)
        assert found is not None
        return found[0].tenant_id

    def directory(self, school: str = SCHOOL) -> FakeDirectory:
        d = self.c.directories.for_tenant(self.tenant_id(school))
        assert isinstance(d, FakeDirectory)
        return d

    def state(self, school: str = SCHOOL) -> FakeTenant:
        return self.directory(school).state

    def groups(self, school: str = SCHOOL) -> list[str]:
        found = self.c.config.region.school(school)
        assert found is not None
        return list(found[1].substitute_group_ids)

    def skus(self, school: str = SCHOOL) -> list[str]:
        found = self.c.config.region.school(school)
        assert found is not None
        return list(found[1].licence_sku_ids)

    def principal(self, *schools: str) -> Caller:
        schools = schools or (SCHOOL,)
        return Caller("2795da0d-d184-5a90-8b25-3ebda7811047", self.tenant_id(schools[0]), frozenset({"Principal"}),
                      Scope("Principal", frozenset(schools), frozenset()))

    def admin(self, *municipalities: str) -> Caller:
        """An IT admin of ``municipalities``; with none, the region admin."""
        region = self.c.config.region
        role: Role = "ItAdmin" if municipalities else "RegionAdmin"
        keys = frozenset(municipalities or (m.key for m in region.municipalities))
        schools = frozenset(p for p in region.school_paths() if p.split("/")[0] in keys)
        return Caller("5d9a3f0e-6f0b-5bd4-9c1e-0e1f6a7b8c9d", self.tenant_id(min(schools)), frozenset({role}),
                      Scope(role, schools, keys))

    def free_seats(self, school: str = SCHOOL) -> int:
        sku = self.state(school).skus[self.skus(school)[0].lower()]
        return sku.enabled_units - sku.consumed_units

    def set_free_seats(self, n: int, school: str = SCHOOL) -> None:
        """As someone outside idops would: seats bought, or handed out to others in the Entra portal."""
        for sku_id in self.skus(school):
            sku = self.state(school).skus[sku_id.lower()]
            sku.enabled_units = sku.consumed_units + n

    def marker(self) -> dict[str, str]:
        s = self.c.config.settings.substitutes
        return {s.marker_attribute: s.marker_value}

    # ---- requests -----------------------------------------------------------------------------

    def body(self, *, school: str = SCHOOL, starts: timedelta = timedelta(0), days: float = 5,
             given: str = "Aino", surname: str = "Äijälä", **extra: Any) -> SubstituteRequest:
        starts_at = self.clock.now() + starts
        return SubstituteRequest(school=school, given_name=given, surname=surname, starts_at=starts_at,
                                 ends_at=starts_at + timedelta(days=days), **extra)

    async def request(self, *, key: str | None = None, caller: Caller | None = None, **body: Any) -> str:
        """Request (and so provision) a period; its id. Keywords as ``body``."""
        return (await self.request_result(key=key, caller=caller, **body)).period_id

    async def request_result(self, *, key: str | None = None, caller: Caller | None = None,
                             **body: Any) -> RequestResult:
        b = self.body(**body)
        return await request_substitute(self.c.uow(), self.c, caller or self.principal(b.school), b, key)

    # ---- the database -------------------------------------------------------------------------

    async def period(self, period_id: str) -> SubstitutePeriod:
        async with self.c.uow() as uow:
            row = await uow.substitutes.get_period(period_id)
        assert row is not None
        return row

    async def person_of(self, period_id: str) -> SubstitutePerson:
        async with self.c.uow() as uow:
            pair = await uow.substitutes.period_with_person(period_id)
        assert pair is not None
        return pair[1]

    async def persons(self) -> list[SubstitutePerson]:
        return await self.rows(SubstitutePerson)

    async def periods(self) -> list[SubstitutePeriod]:
        return await self.rows(SubstitutePeriod)

    async def orphans(self) -> list[OrphanAccount]:
        return await self.rows(OrphanAccount)

    async def rows(self, model: Any) -> list[Any]:
        async with self.c.uow() as uow:
            return list((await uow.substitutes.session.execute(select(model))).scalars())

    async def actions(self, subject_id: str, subject_type: str = "period") -> list[str]:
        """The audit trail of one subject, oldest first."""
        return [e.action for e in await self.events(subject_id, subject_type)]

    async def events(self, subject_id: str, subject_type: str = "period") -> list[AuditEvent]:
        async with self.c.uow() as uow:
            return list(await uow.audit.events_of(subject_type, subject_id))

    async def all_actions(self) -> list[str]:
        async with self.c.uow() as uow:
            rows = await uow.audit.session.execute(select(AuditEvent.action).order_by(AuditEvent.seq))
            return list(rows.scalars())

    # ---- the account in the fake --------------------------------------------------------------

    async def account(self, period_id: str) -> FakeUser:
        """The live Entra account of the period's person (fails if there is none)."""
        person = await self.person_of(period_id)
        assert person.entra_user_id, f"person of {period_id} has no recorded account"
        user = self.state(await self._school(period_id)).user(person.entra_user_id)
        assert user is not None, f"account {person.entra_user_id} is not live in the fake"
        return user

    async def _school(self, period_id: str) -> str:
        return (await self.period(period_id)).school

    def has_access(self, user: FakeUser, school: str = SCHOOL) -> bool:
        """In all the school's substitute groups and holding all its licences."""
        return self.in_groups(user, school) and self.licensed(user, school)

    def in_groups(self, user: FakeUser, school: str = SCHOOL) -> bool:
        """In all the school's substitute groups (licences aside)."""
        return all(user.id in self.state(school).members(g) for g in self.groups(school))

    def licensed(self, user: FakeUser, school: str = SCHOOL) -> bool:
        """Holding all the school's licences (groups aside)."""
        return all(s.lower() in user.licences for s in self.skus(school))

    def has_none_of(self, user: FakeUser, school: str = SCHOOL) -> bool:
        """In none of the school's substitute groups and holding none of its licences."""
        st = self.state(school)
        in_any = any(user.id in st.members(g) for g in self.groups(school))
        return not in_any and not any(s.lower() in user.licences for s in self.skus(school))

    async def crash_after(self, operation: str, work: Awaitable[object], *, school: str = SCHOOL) -> None:
        """Run ``work``; the next ``operation`` of the school's directory takes effect in Entra, then the
        process dies before it hears the answer. Fails unless ``work`` died exactly there."""
        directory = self.directory(school)
        original = getattr(directory, operation)

        async def dies_after(*args: Any, **kwargs: Any) -> Any:
            del directory.__dict__[operation]  # one crash: the restarted process calls the real one
            await original(*args, **kwargs)
            raise Crash(operation)

        setattr(directory, operation, dies_after)
        try:
            await work
        except Crash:
            return
        finally:
            directory.__dict__.pop(operation, None)
        raise AssertionError(f"{operation} was never called")

    async def crash_before(self, owner: Any, name: str, work: Awaitable[object]) -> None:
        """Run ``work``; the process dies when it first calls ``owner.name`` (a function of a module, say:
        a step between two of the product's own transactions), before that runs. Fails unless ``work`` died
        exactly there."""

        async def dies(*args: Any, **kwargs: Any) -> Any:
            raise Crash(name)

        original = getattr(owner, name)
        setattr(owner, name, dies)
        try:
            await work
        except Crash:
            return
        finally:
            setattr(owner, name, original)
        raise AssertionError(f"{name} was never called")

    def marked_users(self, school: str = SCHOOL) -> list[FakeUser]:
        """Live accounts carrying idops' marker."""
        (attribute, value), = self.marker().items()
        return [u for u in self.state(school).users.values() if u.extension_attributes.get(attribute) == value]


MakeSubstitutes = Callable[..., Awaitable["Substitutes"]]


@pytest.fixture
async def make_sub(make_config: Callable[..., Config], clock: FrozenClock) -> AsyncIterator[MakeSubstitutes]:
    """``await make_sub(policy={"orphan_action": "report"})``: a container on settings with these
    overrides (``region=``: a function that edits the region's dict), every tenant a seeded fake (one
    container per test: they share the database file)."""
    built: list[Container] = []

    async def make(*, region: Callable[[dict[str, Any]], None] | None = None, **overrides: Any) -> Substitutes:
        config = make_config(**overrides)
        if region is not None:  # edits the region's dict (e.g. a school's licences)
            edited = config.region.model_dump()
            region(edited)
            config = dataclasses.replace(config, region=RegionConfig.model_validate(edited))
        provider = FakeDirectoryProvider.for_region(config.region, clock=clock)
        seed(provider, config)
        built.append(bootstrap(config, directories=provider, clock=clock))
        return Substitutes(built[-1], clock)

    yield make
    for c in built:
        await c.aclose()


@pytest.fixture
async def sub(make_sub: MakeSubstitutes) -> Substitutes:
    return await make_sub()


@pytest.fixture(autouse=True)
def _no_sockets(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unit tests need no network: a connection any of them opens fails it."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a unit test opened a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
