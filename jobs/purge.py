"""Delete accounts after the grace period; scrub personal data after the retention period (substitutes,
and the names of persons with several accounts in stored single-login reports)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from idops.coverage.service import scrub_names
from idops.substitutes.retention import purge

if TYPE_CHECKING:
    from idops.container import Container


async def run(c: Container) -> dict[str, int]:
    counts = await purge(c.uow(), c)
    counts["report_names_scrubbed"] = await scrub_names(c.uow(), c.config, c.clock.now())
    return counts
