"""Take access away from every period whose end is due or overdue (the expiry invariant), then make
sure accounts of periods that ended lately stayed disabled (a provisioning write may land late)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from idops.config.region import REGION, Shard
from idops.substitutes.ending import expire_due, recheck_recent_ends
from idops.substitutes.views import refresh_metrics

if TYPE_CHECKING:
    from idops.container import Container


async def run(c: Container, shard: Shard = REGION) -> dict[str, int]:
    """One unit (a municipality; by default the whole region). Counts: ``expired``/``revoked``/``missing``,
    ``failed`` with ``failed.<reason>`` (the run's error summary names them), ``re_disabled``. Called for
    the whole region it also sets the expiry gauges afterwards; a run of units does so in ``finish``."""
    try:
        counts = await expire_due(c.uow(), c, shard=shard)
        for key, n in (await recheck_recent_ends(c.uow(), c, shard=shard)).items():
            counts[key] = counts.get(key, 0) + n
    finally:
        if shard.is_region:
            await refresh_metrics(c.uow(), c)
    return counts


async def finish(c: Container, municipalities: frozenset[str] | None, counts: dict[str, int]) -> dict[str, int]:
    """After every unit of a run: the expiry gauges (lag, overdue, active) — region-wide — so a scrape
    reads memory only."""
    await refresh_metrics(c.uow(), c)
    return {}
