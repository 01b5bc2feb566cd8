"""Licence seats per tenant, cached a few minutes (``subscribedSkus`` costs 3 resource units).

What the cache holds is what Graph last said, less the seats idops itself has given to accounts it
created since (``consume``). Any other assignment or removal, and Graph's "no free seat", invalidate
it (``forget``; see ``access.apply_changes``). A seat taken outside idops is seen after the TTL — or at
once near the edge: at ``margin`` free seats or fewer the count is read fresh on every check, so the
last seats are never handed out on a stale number.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from idops.graph.port import Directory


@dataclass
class _Entry:
    fetched_at: datetime
    available: dict[str, int] = field(default_factory=dict)


class SeatCache:
    def __init__(self, ttl: timedelta) -> None:
        self._ttl = ttl
        self._by_tenant: dict[str, _Entry] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self.fetches = 0

    async def available(
        self, directory: Directory, sku_ids: frozenset[str], now: datetime, *, margin: int = 0
    ) -> dict[str, int]:
        """Free seats of each SKU; read from Graph when the cache is older than the TTL, lacks a SKU or
        shows ``margin`` free seats or fewer for one of them."""
        lock = self._locks.setdefault(directory.tenant_id, asyncio.Lock())
        async with lock:
            entry = self._by_tenant.get(directory.tenant_id)
            if (
                entry is None
                or now - entry.fetched_at > self._ttl
                or not {s.lower() for s in sku_ids} <= entry.available.keys()
                or any(entry.available[s.lower()] <= margin for s in sku_ids)
            ):
                skus = await directory.list_subscribed_skus()
                entry = _Entry(now, {s.sku_id.lower(): s.available_units for s in skus})
                self._by_tenant[directory.tenant_id] = entry
                self.fetches += 1
            return {sku: entry.available.get(sku.lower(), 0) for sku in sku_ids}

    def consume(self, tenant_id: str, sku_ids: frozenset[str], n: int = 1) -> None:
        """Count seats idops just gave to new accounts without asking Graph again."""
        entry = self._by_tenant.get(tenant_id)
        if entry is None:
            return
        for sku in sku_ids:
            if sku.lower() in entry.available:
                entry.available[sku.lower()] = max(0, entry.available[sku.lower()] - n)

    def forget(self, tenant_id: str) -> None:
        """Invalidate a tenant's counts: the next check reads them from Graph."""
        self._by_tenant.pop(tenant_id, None)
