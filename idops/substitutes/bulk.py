"""Bulk requests (a flu week, a recurring weekly slot): up to ``MAX_ITEMS`` substitute requests in one call.

Contracts:
- Each item is validated, recorded and provisioned exactly as ``requests.request_substitute`` does for a
  single request (the same function), in request order; there is no all-or-nothing: an item's typed
  error (policy, quota, duplicate, Graph unreachable) is its result and the next item goes on.
- One ``Idempotency-Key`` covers the batch: item ``i`` is recorded under ``<key>:<i>``, so a retry of the
  batch replays every recorded item (nothing is created twice) and re-evaluates the refused ones,
  which are refused again as long as nothing changed.
- Graph round trips are those of the single request per item (no cross-item ``$batch``): for a new
  person ``create_user`` and the account's changes (groups, licence); the seat count is cached per tenant.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import structlog

from idops.auth.scope import Caller
from idops.graph.errors import GraphError
from idops.kit.errors import IdopsError
from idops.substitutes.deps import SubstituteDeps
from idops.substitutes.repository import SubstitutesUnitOfWork
from idops.substitutes.requests import RequestResult, request_substitute
from idops.substitutes.schemas import SubstituteRequest

log = structlog.get_logger("idops.substitutes")

MAX_ITEMS = 50


@dataclass(frozen=True)
class ItemOutcome:
    index: int
    result: RequestResult | None = None
    error: IdopsError | GraphError | None = None


_KEY = re.compile(r"^[A-Za-z0-9._:-]{1,120}$")


def valid_key(key: str) -> bool:
    return bool(_KEY.match(key))


def item_key(batch_key: str | None, index: int) -> str | None:
    return f"{batch_key}:{index}" if batch_key else None


async def request_many(
    uow: SubstitutesUnitOfWork,
    c: SubstituteDeps,
    caller: Caller,
    items: Sequence[SubstituteRequest],
    batch_key: str | None,
) -> list[ItemOutcome]:
    """Every item through ``request_substitute``, in order; one outcome per item (module doc)."""
    outcomes: list[ItemOutcome] = []
    for index, body in enumerate(items):
        try:
            result = await request_substitute(uow, c, caller, body, item_key(batch_key, index))
        except (IdopsError, GraphError) as exc:
            outcomes.append(ItemOutcome(index, error=exc))
            continue
        outcomes.append(ItemOutcome(index, result=result))
    log.info(
        "bulk_requested",
        items=len(items),
        failed=sum(1 for o in outcomes if o.error is not None),
        awaiting=sum(1 for o in outcomes if o.result is not None and o.result.awaiting_approval),
    )
    return outcomes
