"""Tell approvers (a digest) of requests awaiting approval, and requesters of decisions not yet told."""

from __future__ import annotations

from typing import TYPE_CHECKING

from idops.substitutes.approval_notices import announce_approvals, tell_decisions

if TYPE_CHECKING:
    from idops.container import Container


async def run(c: Container) -> dict[str, int]:
    counts = await announce_approvals(c.uow(), c)
    told = await tell_decisions(c.uow(), c)
    return {**counts, **{f"decisions_{k}": n for k, n in told.items()}}
