"""Delete accounts after the grace period; scrub personal data after the retention period."""

from __future__ import annotations

from typing import TYPE_CHECKING

from idops.substitutes.lifecycle import purge

if TYPE_CHECKING:
    from idops.bootstrap import Container


async def run(c: Container) -> dict[str, int]:
    return await purge(c)
