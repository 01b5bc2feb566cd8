"""Delete accounts after the grace period; scrub personal data after the retention period (substitutes,
and the names of persons with several accounts in stored single-login reports)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from idops.coverage.service import scrub_names
from idops.substitutes.lifecycle import purge

if TYPE_CHECKING:
    from idops.bootstrap import Container


async def run(c: Container) -> dict[str, int]:
    counts = await purge(c)
    async with c.db.session() as s:
        counts["report_names_scrubbed"] = await scrub_names(s, c.config, c.clock.now())
    return counts
