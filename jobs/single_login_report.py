"""single_login_report: bring the sign-in aggregate up to date, then compute and store the report.

Step 1 is ``ingest_signins`` (its own short transactions, one per chunk: safe to kill anywhere).
Step 2 reads the directory mirror that ``sync_mfa`` keeps (scheduled before this job) and stores one
report run in one transaction. A tenant whose sign-ins could not be read is counted in ``failed``
(the run is "partial") but the report is still written, with that tenant flagged; non-premium
tenants ("no sign-in data") are not failures.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from idops.config.region import REGION, Shard
from idops.coverage import service
from idops.signins.service import ingest
from jobs.ingest_signins import options_for

if TYPE_CHECKING:
    from idops.container import Container


async def run(c: Container, shard: Shard = REGION) -> dict[str, int]:
    """Step 1 for the tenants of ``shard`` (a unit: one tenant); on its own (the whole region) both steps."""
    now = c.clock.now()
    ingested = await ingest(c.uow(), c.directories, shard.tenant_ids(c.config.region), now, options_for(c),
                            prune=shard.is_region)
    counts = ingested.counts()
    out = {
        "sign_ins": counts["sign_ins"],
        "signin_pages": counts["pages"],
        "signins_unavailable": counts["unavailable"],
        "failed": counts["failed"],
    }
    if shard.is_region:
        out.update(await finish(c, None, out))
    return out


async def finish(c: Container, municipalities: frozenset[str] | None, counts: dict[str, int]) -> dict[str, int]:
    """Step 2, once every tenant's sign-ins are in: the region's report (a region run only)."""
    report = await service.generate(c.uow(), c.config, c.directories, c.clock.now())
    return {"staff_persons": report.staff_persons, "unknown_apps": report.unknown_apps}
