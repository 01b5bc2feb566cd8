"""A tenant's first sync into a mirror whose PostgreSQL statistics describe only another tenant: the
sync refreshes them before the snapshot is aggregated.

Found by CI: the pacing test's snapshot took 98 s instead of under one (the worker's database had been
analyzed while it held another region's users; the planner expected 1 row of the new tenant and chose
nested loops — quadratic in the tenant's size)."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from idops.config import Config
from idops.directory.sync import sync_tenants
from idops.emulator.generator import generate_region
from idops.emulator.server import EmulatorServer
from idops.graph.sdk import GraphDirectoryProvider
from idops.mfa import service
from idops.uow import UnitOfWork
from tests.conftest import PG_URL
from tests.integration.mfa.conftest import NOW, region_dicts
from tests.integration.signins.conftest import fast_settings

pytestmark = pytest.mark.skipif(not PG_URL, reason="PostgreSQL's planner statistics (SQLite keeps none unless asked)")

USERS = 3000


@pytest.mark.timeout(240)
async def test_a_tenants_first_sync_leaves_statistics_that_know_its_users(
    make_config: Callable[..., Config], uow: UnitOfWork
) -> None:
    region, apps = region_dicts()
    two = {**region, "municipalities": [m for m in region["municipalities"] if m["key"] in ("tampere", "pirkkala")]}
    config = make_config()
    first, second = (m.tenant_id for m in config.region.municipalities if m.key in ("tampere", "pirkkala"))
    server = EmulatorServer(generate_region(two, apps, seed=3, users_per_tenant=USERS, now=NOW).state).start()
    directories = GraphDirectoryProvider.from_config(config.region, fast_settings(), base_url_override=server.base_url)
    try:
        assert not isinstance((await sync_tenants(uow, directories, config, [first], NOW))[first], BaseException)
        async with uow:  # the statistics now describe the first tenant only (autovacuum may not have run)
            await uow.directory.analyze()
            await uow.commit()
            assert await uow.directory.planned_users(second) < 10

        synced = (await sync_tenants(uow, directories, config, [second], NOW))[second]

        assert not isinstance(synced, BaseException) and synced.users >= USERS
        async with uow:
            assert await uow.directory.planned_users(second) * 10 >= synced.users
        began = time.perf_counter()
        await service.write_snapshot(uow, config, synced, NOW.date())
        await service.other_users(uow, config, second)
        took = time.perf_counter() - began
        # ~0.1 s; ~3.5 s at this size with the stale statistics (quadratic: 123 s at 20 000 users)
        assert took < 1.5, f"the snapshot took {took:.1f} s"
    finally:
        await directories.aclose()
        server.stop()
