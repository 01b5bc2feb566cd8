"""Observability tests run on the in-memory fake of the Directory port (fast), except where they read
Graph's own requests (the emulator over HTTP): a real database, the real app, a frozen clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from idops.app import create_app
from idops.bootstrap import bootstrap
from idops.config import Config
from idops.container import Container
from idops.graph.fake import FakeDirectory, FakeDirectoryProvider
from idops.kit.clock import FrozenClock
from idops.kit.db import new_id
from idops.substitutes.models import ProvisionStep, Status, SubstitutePeriod, SubstitutePerson
from tests.conftest import TokenFactory, demo_sign_in

NOW = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)  # Monday 08:00 in Helsinki
SCHOOL = "tampere/hervanta"


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(NOW)


@pytest.fixture
def fakes(config: Config, clock: FrozenClock) -> FakeDirectoryProvider:
    return FakeDirectoryProvider.for_region(config.region, clock=clock)


@pytest.fixture
def container(config: Config, clock: FrozenClock, fakes: FakeDirectoryProvider) -> Container:
    return bootstrap(config, clock=clock, directories=fakes)


async def insert_period(
    c: Container, *, school: str, person_id: str, entra_user_id: str | None, upn: str | None, name: str,
    starts_at: datetime, ends_at: datetime, status: Status = Status.ACTIVE,
) -> str:
    """A substitute person and one period of theirs, as provisioning leaves them (the account, if any,
    exists in Entra already); the period's id."""
    found = c.config.region.school(school)
    assert found is not None
    municipality, _ = found
    ended = status not in (Status.ACTIVE, Status.SCHEDULED)
    period = SubstitutePeriod(
        person_id=person_id, school=school, municipality=municipality.key, tenant_id=municipality.tenant_id,
        starts_at=starts_at, ends_at=ends_at, original_ends_at=ends_at, status=status, step=ProvisionStep.DONE,
        created_at=starts_at, created_by="test", activated_at=starts_at, ended_at=ends_at if ended else None,
    )
    async with c.database.session() as session:
        session.add(SubstitutePerson(
            id=person_id, tenant_id=municipality.tenant_id, municipality=municipality.key, given_name=name,
            surname="Äijälä", search_name=f"{name.lower()} aijala", user_principal_name=upn,
            mail_nickname=upn.split("@")[0] if upn else None, display_name=f"{name} Äijälä (sijainen)",
            entra_user_id=entra_user_id, created_at=starts_at, created_by="test",
        ))
        session.add(period)
        await session.flush()
        return period.id


@dataclass
class Harness:
    client: httpx.AsyncClient
    c: Container
    clock: FrozenClock
    fakes: FakeDirectoryProvider
    token: TokenFactory

    def directory(self, school: str = SCHOOL) -> FakeDirectory:
        found = self.c.config.region.school(school)
        assert found is not None
        return self.fakes.for_tenant(found[0].tenant_id)

    async def add_active(self, *, ends_in: timedelta, school: str = SCHOOL, name: str = "Aino") -> tuple[str, str]:
        """A running substitute (person, period and the Entra account in the fake): (period id, user id)."""
        found = self.c.config.region.school(school)
        assert found is not None
        municipality, s = found
        d = self.directory(school)
        for sku in s.licence_sku_ids:
            if sku.lower() not in d.state.skus:
                d.state.add_sku(sku, "STANDARDWOFFPACK_FACULTY", 100)
        for gid in s.substitute_group_ids:
            if d.state.group(gid) is None:
                d.state.add_group("sijaiset", id=gid)
        pid = new_id()
        upn = f"{name.lower()}.{pid[:6]}@{municipality.upn_domain}"
        user = d.state.add_user(upn, f"{name} Äijälä (sijainen)", employee_id=pid, licences=list(s.licence_sku_ids),
                                usage_location="FI")
        for gid in s.substitute_group_ids:
            d.state.groups[gid.lower()].members[user.id] = None
        now = self.clock.now()
        period_id = await insert_period(self.c, school=school, person_id=pid, entra_user_id=user.id, upn=upn,
                                        name=name, starts_at=now - timedelta(days=1), ends_at=now + ends_in)
        return period_id, user.id

    async def sign_in(self, who: str) -> None:
        await demo_sign_in(self.client, who)


@pytest.fixture
async def harness(
    container: Container, config: Config, clock: FrozenClock, fakes: FakeDirectoryProvider, make_token: TokenFactory
) -> AsyncIterator[Harness]:
    app = create_app(config, container_factory=lambda: container, start_scheduler=False)
    async with app.router.lifespan_context(app), httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, raise_app_exceptions=False), base_url="http://idops.test"
    ) as client:
        yield Harness(client, container, clock, fakes, make_token)

