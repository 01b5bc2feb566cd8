"""Delete accounts after the grace period; scrub personal data after the retention period (substitute
persons everywhere idops holds them, orphans no longer seen, the names of persons with several
accounts in stored single-login reports); prune the sign-in aggregate to its retention, also when
ingestion has stopped, and the directory mirror of what no sync has seen for ``mfa.mirror_stale_days``
(docs/data-protection.md)."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from idops.config.region import REGION, Shard
from idops.coverage.service import scrub_names
from idops.directory.sync import prune_stale
from idops.signins.service import prune_aggregates
from idops.substitutes.retention import forget_orphans, purge
from jobs.ingest_signins import retention

if TYPE_CHECKING:
    from idops.container import Container


async def run(c: Container, shard: Shard = REGION) -> dict[str, int]:
    counts = await purge(c.uow(), c, shard=shard)
    if shard.is_region:  # run on its own (tests, one process): the region-wide steps too
        counts.update(await finish(c, None, counts))
    return counts


async def finish(c: Container, municipalities: frozenset[str] | None, counts: dict[str, int]) -> dict[str, int]:
    """After every unit of a region run: orphan accounts (a tenant's, of no one municipality), the
    single-login reports' names, the sign-in aggregate and the directory mirror are the region's (an IT
    admin's run leaves them alone)."""
    if municipalities is not None:
        return {}
    now = c.clock.now()
    stale = timedelta(days=c.config.settings.mfa.mirror_stale_days)
    return {
        **await forget_orphans(c.uow(), c, now),
        "report_names_scrubbed": await scrub_names(c.uow(), c.config, now),
        "signin_rows_pruned": await prune_aggregates(c.uow(), now, retention(c)),
        "directory_rows_pruned": await prune_stale(c.uow(), now, stale),
    }
