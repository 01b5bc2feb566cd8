"""Take access away from every period whose end is due or overdue (the expiry invariant), then make
sure accounts of periods that ended lately stayed disabled (a provisioning write may land late)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from idops.substitutes.ending import expire_due, recheck_recent_ends
from idops.substitutes.views import refresh_metrics

if TYPE_CHECKING:
    from idops.container import Container


async def run(c: Container) -> dict[str, int]:
    """Counts: ``expired``/``revoked``/``missing``, ``failed`` with ``failed.<reason>`` (the run's error
    summary names them), ``re_disabled``. Afterwards the expiry gauges (lag, overdue, active) are set."""
    try:
        counts = await expire_due(c.uow(), c)
        for key, n in (await recheck_recent_ends(c.uow(), c)).items():
            counts[key] = counts.get(key, 0) + n
    finally:
        await refresh_metrics(c.uow(), c)
    return counts
