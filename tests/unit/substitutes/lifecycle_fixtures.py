"""The world of the ``test_lifecycle_*`` tests: a real ``Container`` from ``bootstrap()`` with the stateful
``FakeDirectory`` in every tenant (seeded as idops expects: groups, licence SKUs, principals with
mailboxes, the notification senders) and a frozen clock. No socket: services are called directly and the
fake's *state*, the database's rows and the audit trail are what tests assert.

Test modules take the fixtures ``life`` and ``make_life`` by importing ``life_fixture`` and
``make_life_fixture`` (named so that no test argument shadows an import). ``make_config`` is whichever
of the repository's is nearest (a ``conftest.py`` of this directory may bring a faster one).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from idops.audit.models import AuditEvent
from idops.auth.scope import Caller, Role, Scope
from idops.bootstrap import bootstrap
from idops.config import Config
from idops.container import Container
from idops.graph.fake import FakeDirectory, FakeDirectoryProvider, FakeTenant, FakeUser
from idops.kit.clock import FrozenClock
from idops.substitutes.models import SubstitutePeriod, SubstitutePerson
from idops.substitutes.requests import request_substitute
from idops.substitutes.schemas import SubstituteRequest

# Monday 30 November 2026, 08:00 in Helsinki.
START = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)
SCHOOL = "tampere/hervanta"
OTHER_SCHOOL = "tampere/kaleva"
SEATS = 50
# Entra sign-in settings rather than the demo's, which would make a signing key per test; nobody signs in.
ENTRA = {"mode": "entra", "issuer": "https://login.example.invalid/v2.0", "jwks_url": "https://login.example.invalid/keys"}


class Life:
    """One test's substitutes: call the services, read back the fake and the database."""

    def __init__(self, c: Container, clock: FrozenClock, provider: FakeDirectoryProvider) -> None:
        self.c = c
        self.clock = clock
        self.provider = provider

    # ---- the world ----------------------------------------------------------------------------

    def tenant_id(self, school: str = SCHOOL) -> str:
        found = self.c.config.region.school(school)
        assert found is not None
        return found[0].tenant_id

    def directory(self, school: str = SCHOOL) -> FakeDirectory:
        return self.provider.for_tenant(self.tenant_id(school))

    def state(self, school: str = SCHOOL) -> FakeTenant:
        return self.directory(school).state

    def group(self, school: str = SCHOOL) -> str:
        found = self.c.config.region.school(school)
        assert found is not None and found[1].substitute_group_ids
        return found[1].substitute_group_ids[0]

    def sku(self, school: str = SCHOOL) -> str:
        found = self.c.config.region.school(school)
        assert found is not None and found[1].licence_sku_ids
        return found[1].licence_sku_ids[0]

    def free_seats(self, school: str = SCHOOL) -> int:
        sku = self.state(school).skus[self.sku(school)]
        return sku.enabled_units - sku.consumed_units

    def set_free_seats(self, n: int, school: str = SCHOOL) -> None:
        """As someone outside idops would: seats bought, or taken by others."""
        sku = self.state(school).skus[self.sku(school)]
        sku.enabled_units = sku.consumed_units + n

    def caller(self, role: Role = "Principal", *, schools: tuple[str, ...] = (SCHOOL,),
               municipalities: tuple[str, ...] = ()) -> Caller:
        region = self.c.config.region
        if role == "RegionAdmin":
            scope = Scope(role, frozenset(region.school_paths()), frozenset(m.key for m in region.municipalities))
        elif role == "ItAdmin":
            paths = frozenset(p for p in region.school_paths() if p.split("/")[0] in municipalities)
            scope = Scope(role, paths, frozenset(municipalities))
        else:
            scope = Scope(role, frozenset(schools), frozenset())
        return Caller("2795da0d-d184-5a90-8b25-3ebda7811047", self.tenant_id(next(iter(scope.schools))),
                      frozenset({role}), scope)

    # ---- requests -----------------------------------------------------------------------------

    def body(self, *, school: str = SCHOOL, starts: timedelta = timedelta(0), days: float = 5,
             given: str = "Aino", surname: str = "Äijälä", **extra: Any) -> SubstituteRequest:
        starts_at = self.clock.now() + starts
        return SubstituteRequest(school=school, given_name=given, surname=surname, starts_at=starts_at,
                                 ends_at=starts_at + timedelta(days=days), **extra)

    async def request(self, *, caller: Caller | None = None, key: str | None = None, **body: Any) -> str:
        """Request (and so provision) a period; its id. Keywords as ``body``."""
        b = self.body(**body)
        result = await request_substitute(self.c.uow(), self.c, caller or self.caller(schools=(b.school,)), b, key)
        return result.period_id

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

    async def all(self, model: Any) -> list[Any]:
        async with self.c.uow() as uow:
            return list((await uow.substitutes.session.execute(select(model))).scalars())

    async def events(self, subject_id: str, subject_type: str = "period") -> list[AuditEvent]:
        async with self.c.uow() as uow:
            return list(await uow.audit.events_of(subject_type, subject_id))

    async def actions(self, subject_id: str, subject_type: str = "period") -> list[str]:
        return [e.action for e in await self.events(subject_id, subject_type)]

    # ---- accounts in the fake -----------------------------------------------------------------

    async def account(self, period_id: str) -> FakeUser:
        person = await self.person_of(period_id)
        assert person.entra_user_id, f"person of {period_id} has no recorded account"
        user = self.state((await self.period(period_id)).school).user(person.entra_user_id)
        assert user is not None
        return user

    def marked(self, school: str = SCHOOL) -> list[FakeUser]:
        s = self.c.config.settings.substitutes
        return [u for u in self.state(school).users.values()
                if u.extension_attributes.get(s.marker_attribute) == s.marker_value]

    def in_group(self, user: FakeUser, school: str = SCHOOL) -> bool:
        return user.id in self.state(school).members(self.group(school))

    def licensed(self, user: FakeUser, school: str = SCHOOL) -> bool:
        return self.sku(school) in user.licences


def seed(provider: FakeDirectoryProvider, config: Config) -> None:
    """Every tenant as idops expects it: substitute groups, licence SKUs with ``SEATS`` free seats, the
    principals (object ids, with a mailbox) and their principal groups, and the notification senders."""
    for m in config.region.municipalities:
        tenant = provider.for_tenant(m.tenant_id).state
        if m.notification_sender and tenant.user_by_upn(m.notification_sender) is None:
            tenant.add_user(m.notification_sender, "idops", mail=m.notification_sender)
        for school in m.schools:
            for gid in school.substitute_group_ids:
                if tenant.group(gid) is None:
                    tenant.add_group(f"{school.name} sijaiset", id=gid)
            for sku in school.licence_sku_ids:
                if sku not in tenant.skus:
                    tenant.add_sku(sku, "STANDARDWOFFPACK_FACULTY", SEATS)
            for i, oid in enumerate(school.principals.object_ids):
                if tenant.user(oid) is None:
                    upn = f"rehtori{i}.{school.key}@{m.upn_domain}"
                    tenant.add_user(upn, f"Rehtori {school.name}", id=oid, mail=upn)
            for gid in school.principals.group_ids:
                if tenant.group(gid) is None:
                    tenant.add_group(f"{school.name} rehtorit", id=gid)


MakeLife = Callable[..., Awaitable[Life]]


@pytest.fixture(name="make_life")
async def make_life_fixture(make_config: Callable[..., Config]) -> AsyncIterator[MakeLife]:
    """``await make_life(policy={"licence_while": "requested"})``: the shipped configuration with these
    overrides, on the fake with every tenant seeded, at ``START``."""
    built: list[Container] = []

    async def make(**overrides: Any) -> Life:
        config = make_config(**{"auth": ENTRA, **overrides})
        clock = FrozenClock(START)
        provider = FakeDirectoryProvider.for_region(config.region, clock=clock)
        seed(provider, config)
        built.append(bootstrap(config, directories=provider, clock=clock))
        return Life(built[-1], clock, provider)

    yield make
    for c in built:
        await c.aclose()


@pytest.fixture(name="life")
async def life_fixture(make_life: MakeLife) -> Life:
    return await make_life()
