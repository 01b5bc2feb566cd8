"""Bulk requests (a flu week, a recurring weekly slot): up to ``MAX_ITEMS`` substitute requests in one call.

Contracts:
- Each item is validated, recorded and provisioned exactly as ``requests.request_substitute`` does for a
  single request (the same function), in request order; there is no all-or-nothing: an item's typed
  error (policy, quota, duplicate, Graph unreachable) is its result and the next item goes on.
- One ``Idempotency-Key`` covers the batch: item ``i`` is recorded under ``<key>:<i>``, so a retry of the
  batch replays every recorded item (nothing is created twice) and re-evaluates the refused ones,
  which are refused again as long as nothing changed.
- Graph work is batched across items: every item is recorded first (seats counted against the batch,
  so the last seats are not promised twice), then ``provision_many`` makes the accounts and sends all
  their group and licence steps together. For 20 new substitutes at a school with one group and a
  licence: one ``subscribedSkus`` read (cached), 20 ``POST /users`` and 2 ``$batch`` calls (40 steps,
  20 a call) — 23 round trips, where one request at a time took 41 (20 users + 20 one-user batches +
  the read). Creating users stays one request each: a new account is not reliably visible to a group
  add in the same ``$batch`` (replication lag), and a UPN conflict needs its own answer.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import structlog

from idops.auth.scope import Caller
from idops.graph.errors import GraphError
from idops.kit.errors import IdopsError
from idops.substitutes.deps import SubstituteDeps
from idops.substitutes.provisioning import provision_many
from idops.substitutes.repository import SubstitutesUnitOfWork
from idops.substitutes.requests import RequestResult, record_request, refuse_if_seats_ran_out
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
    """Every item recorded as ``request_substitute`` records it, in order, then provisioned together;
    one outcome per item (module doc)."""
    outcomes: list[ItemOutcome] = []
    taken: Counter[str] = Counter()
    for index, body in enumerate(items):
        try:
            result = await record_request(uow, c, caller, body, item_key(batch_key, index), taken=taken)
        except (IdopsError, GraphError) as exc:
            outcomes.append(ItemOutcome(index, error=exc))
            continue
        outcomes.append(ItemOutcome(index, result=result))
    await provision_many(uow, c, [o.result.period_id for o in outcomes if o.result and o.result.to_provision])
    for i, outcome in enumerate(outcomes):
        if outcome.result is not None and outcome.result.to_provision:
            try:
                await refuse_if_seats_ran_out(uow, outcome.result.period_id)
            except IdopsError as exc:
                outcomes[i] = ItemOutcome(outcome.index, error=exc)
    log.info(
        "bulk_requested",
        items=len(items),
        failed=sum(1 for o in outcomes if o.error is not None),
        awaiting=sum(1 for o in outcomes if o.result is not None and o.result.awaiting_approval),
    )
    return outcomes
