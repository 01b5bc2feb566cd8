"""Enable accounts whose period has started (due or overdue) and resume deferred provisioning."""

from __future__ import annotations

from typing import TYPE_CHECKING

from idops.config.region import REGION, Shard
from idops.substitutes.activation import activate_due

if TYPE_CHECKING:
    from idops.container import Container


async def run(c: Container, shard: Shard = REGION) -> dict[str, int]:
    return await activate_due(c.uow(), c, shard=shard)
