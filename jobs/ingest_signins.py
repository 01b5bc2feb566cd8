"""Read every tenant's new interactive sign-ins into the daily aggregate (see ``idops.signins.service``).

Also the first step of ``single_login_report``; run it on its own before ``sync_mfa`` so MFA "used"
sees fresh data. Safe to re-run and to kill at any point (the watermark moves with the data).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from idops.signins.service import IngestOptions, ingest

if TYPE_CHECKING:
    from idops.container import Container


def options_for(c: Container) -> IngestOptions:
    s = c.config.settings
    return IngestOptions(retention_days=max(s.mfa.signin_retention_days, s.coverage.window_days + 1))


async def run(c: Container) -> dict[str, int]:
    result = await ingest(c.uow(), c.directories, c.config.region.tenants(), c.clock.now(), options_for(c))
    return result.counts()
