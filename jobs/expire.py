"""Take access away from every period whose end is due or overdue (the expiry invariant)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from idops.substitutes.lifecycle import expire_due

if TYPE_CHECKING:
    from idops.bootstrap import Container


async def run(c: Container) -> dict[str, int]:
    return await expire_due(c)
