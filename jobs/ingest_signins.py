"""Read every tenant's new interactive sign-ins into the daily aggregate (see ``idops.signins.service``).

Also the first step of ``single_login_report``; run it on its own before ``sync_mfa`` so MFA "used"
sees fresh data. Safe to re-run and to kill at any point (the watermark moves with the data).
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from idops.config.region import REGION, Shard
from idops.signins.service import IngestOptions, ingest, prune_aggregates

if TYPE_CHECKING:
    from idops.container import Container


def options_for(c: Container) -> IngestOptions:
    s = c.config.settings
    return IngestOptions(retention_days=max(s.mfa.signin_retention_days, s.coverage.window_days + 1))


def retention(c: Container) -> timedelta:
    """How long the sign-in aggregate keeps a day."""
    return timedelta(days=options_for(c).retention_days)


async def run(c: Container, shard: Shard = REGION) -> dict[str, int]:
    """Ingest the tenants of ``shard`` (a unit: one tenant; by default all, then prune)."""
    result = await ingest(c.uow(), c.directories, shard.tenant_ids(c.config.region), c.clock.now(), options_for(c),
                          prune=shard.is_region)
    return result.counts()


async def finish(c: Container, municipalities: frozenset[str] | None, counts: dict[str, int]) -> dict[str, int]:
    """After every unit: drop aggregates older than the retention."""
    return {"pruned": await prune_aggregates(c.uow(), c.clock.now(), retention(c))}
