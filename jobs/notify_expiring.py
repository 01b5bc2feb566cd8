"""Tell principals (e-mail through Graph) that a substitute account ends soon."""

from __future__ import annotations

from typing import TYPE_CHECKING

from idops.config.region import REGION, Shard
from idops.substitutes.notices import notify_expiring

if TYPE_CHECKING:
    from idops.container import Container


async def run(c: Container, shard: Shard = REGION) -> dict[str, int]:
    return await notify_expiring(c.uow(), c, shard=shard)
