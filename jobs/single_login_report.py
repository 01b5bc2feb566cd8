"""single_login_report: bring the sign-in aggregate up to date, then compute and store the report.

Step 1 is ``ingest_signins`` (its own short transactions, one per chunk: safe to kill anywhere).
Step 2 reads the directory mirror that ``sync_mfa`` keeps (scheduled before this job) and stores one
report run in one transaction. A tenant whose sign-ins could not be read is counted in ``failed``
(the run is "partial") but the report is still written, with that tenant flagged; non-premium
tenants ("no sign-in data") are not failures.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from idops.coverage import service
from idops.signins.service import ingest
from jobs.ingest_signins import options_for

if TYPE_CHECKING:
    from idops.container import Container


async def run(c: Container) -> dict[str, int]:
    now = c.clock.now()
    ingested = await ingest(c.uow(), c.directories, c.config.region.tenants(), now, options_for(c))
    report = await service.generate(c.uow(), c.config, c.directories, now)
    counts = ingested.counts()
    return {
        "sign_ins": counts["sign_ins"],
        "signin_pages": counts["pages"],
        "signins_unavailable": counts["unavailable"],
        "failed": counts["failed"],
        "staff_persons": report.staff_persons,
        "unknown_apps": report.unknown_apps,
    }
