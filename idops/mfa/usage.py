"""The "used" level: MFA-satisfied share of each user's interactive sign-ins (last 30 days).

Sign-ins are ingested once, for MFA and single-login, by ``idops.signins`` (issue 6). This is
the one seam to it: until that package exists, "used" is unknown (``None``), never an error.
"""

from __future__ import annotations

import importlib
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

UsageMap = dict[str, tuple[int, int]]  # user id → (interactive sign-ins, of which MFA-satisfied)


def _signins() -> Any | None:
    try:
        return importlib.import_module("idops.signins.service")
    except ModuleNotFoundError as exc:
        if exc.name is not None and "idops.signins".startswith(exc.name):
            return None
        raise


async def tenant_usage(
    session: AsyncSession, tenant_id: str, since: datetime
) -> tuple[bool | None, UsageMap | None]:
    """``(signins_available, usage)``. ``available`` is False for tenants whose licence gives no
    sign-in logs (403 premium) and None when unknown (not ingested yet, or no ingestion at all)."""
    mod = _signins()
    if mod is None:
        return None, None
    available: bool | None = await mod.signins_available(session, tenant_id)
    if available is False:
        return False, None
    result: UsageMap = await mod.mfa_usage(session, tenant_id, since)
    return available, result
