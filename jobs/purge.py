"""Delete accounts after the grace period; scrub personal data after the retention period (substitutes,
and the names of persons with several accounts in stored single-login reports)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from idops.config.region import REGION, Shard
from idops.coverage.service import scrub_names
from idops.substitutes.retention import purge

if TYPE_CHECKING:
    from idops.container import Container


async def run(c: Container, shard: Shard = REGION) -> dict[str, int]:
    counts = await purge(c.uow(), c, shard=shard)
    if shard.is_region:  # run on its own (tests, one process): the region-wide step too
        counts.update(await finish(c, None))
    return counts


async def finish(c: Container, municipalities: frozenset[str] | None) -> dict[str, int]:
    """After every unit of a region run: the single-login reports are the region's (an IT admin's run
    leaves them alone)."""
    if municipalities is not None:
        return {}
    return {"report_names_scrubbed": await scrub_names(c.uow(), c.config, c.clock.now())}
