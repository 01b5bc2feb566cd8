"""Take access away from every period whose end is due or overdue (the expiry invariant), then make
sure accounts of periods that ended lately stayed disabled (a provisioning write may land late)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from idops.substitutes.ending import expire_due, recheck_recent_ends

if TYPE_CHECKING:
    from idops.container import Container


async def run(c: Container) -> dict[str, int]:
    counts = await expire_due(c.uow(), c)
    for key, n in (await recheck_recent_ends(c.uow(), c)).items():
        counts[key] = counts.get(key, 0) + n
    return counts
