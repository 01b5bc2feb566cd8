"""Delete accounts after the grace period; scrub personal data after the retention period (substitute
persons everywhere idops holds them, orphans no longer seen, the names of persons with several
accounts in stored single-login reports); prune the sign-in aggregate to its retention, also when
ingestion has stopped, and the directory mirror of what no sync has seen for ``mfa.mirror_stale_days``
(docs/data-protection.md)."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from idops.coverage.service import scrub_names
from idops.directory.sync import prune_stale
from idops.signins.service import prune
from idops.substitutes.retention import purge
from jobs.ingest_signins import options_for

if TYPE_CHECKING:
    from idops.container import Container


async def run(c: Container) -> dict[str, int]:
    counts = await purge(c.uow(), c)
    counts["report_names_scrubbed"] = await scrub_names(c.uow(), c.config, c.clock.now())
    keep = timedelta(days=options_for(c).retention_days)
    counts["signin_rows_pruned"] = await prune(c.uow(), c.clock.now(), keep)
    stale = timedelta(days=c.config.settings.mfa.mirror_stale_days)
    counts["directory_rows_pruned"] = await prune_stale(c.uow(), c.clock.now(), stale)
    return counts
