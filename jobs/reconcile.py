"""Repair drift between Entra and idops: re-disable, report orphans, mark missing accounts."""

from __future__ import annotations

from typing import TYPE_CHECKING

from idops.config.region import REGION, Shard
from idops.substitutes.reconcile import reconcile

if TYPE_CHECKING:
    from idops.container import Container


async def run(c: Container, shard: Shard = REGION) -> dict[str, int]:
    return await reconcile(c.uow(), c, shard=shard)
