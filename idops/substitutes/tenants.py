"""What idops learns about each tenant while it runs: whether it may write leave dates, and its
Temporary Access Pass policy (cached a few minutes). One instance each, built by ``bootstrap()``."""

from __future__ import annotations

from datetime import datetime, timedelta

import structlog

from idops.graph.port import Directory, TapPolicy

log = structlog.get_logger("idops.substitutes")

TAP_POLICY_TTL = timedelta(minutes=10)


class LeaveDates:
    """``employeeLeaveDateTime`` is sent unless switched off or refused by a tenant (it needs
    ``User-LifeCycleInfo.ReadWrite.All``); after one refusal the tenant is skipped until restart."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._forbidden: set[str] = set()

    def allowed(self, tenant_id: str) -> bool:
        return self.enabled and tenant_id not in self._forbidden

    def forbid(self, tenant_id: str) -> None:
        if tenant_id not in self._forbidden:
            self._forbidden.add(tenant_id)
            log.warning(
                "leave_date_not_permitted",
                tenant=tenant_id,
                hint="grant User-LifeCycleInfo.ReadWrite.All to set employeeLeaveDateTime",
            )


class TapPolicies:
    """Each tenant's TAP policy, read at most every ``TAP_POLICY_TTL``."""

    def __init__(self) -> None:
        self._by_tenant: dict[str, tuple[datetime, TapPolicy]] = {}

    async def get(self, directory: Directory, now: datetime) -> TapPolicy:
        hit = self._by_tenant.get(directory.tenant_id)
        if hit and now - hit[0] < TAP_POLICY_TTL:
            return hit[1]
        policy = await directory.get_access_pass_policy()
        self._by_tenant[directory.tenant_id] = (now, policy)
        return policy
