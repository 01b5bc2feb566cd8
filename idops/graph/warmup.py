"""Paying msgraph's first-deserialization cost (~1.3 s) in the background at start, not on a request."""

from __future__ import annotations

import asyncio

import structlog

log = structlog.get_logger("idops.graph")


def _import_user_model() -> None:
    from msgraph.generated.models.user import User

    User().get_field_deserializers()


async def warm_up() -> None:
    """Best effort: a failure is logged at debug level and otherwise ignored."""
    try:
        await asyncio.to_thread(_import_user_model)
    except Exception:
        log.debug("graph_warmup_failed")
