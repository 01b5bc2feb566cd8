"""Keyset pagination with opaque cursors: ``{"items": [...], "next": "<cursor or null>"}``."""

from __future__ import annotations

import base64
import json
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from idops.kit.errors import BadRequest, Message

T = TypeVar("T")

_BAD_CURSOR = Message("Sivutuskohdistin ei kelpaa.", "The page cursor is not valid.")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next: str | None = None


def encode_cursor(values: list[Any]) -> str:
    raw = json.dumps(values, separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, arity: int) -> list[Any] | None:
    """Decode a cursor made by ``encode_cursor``; a tampered or foreign cursor is a 400."""
    if not cursor:
        return None
    if len(cursor) > 512:
        raise BadRequest(_BAD_CURSOR)
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(_BAD_CURSOR) from exc
    if not isinstance(values, list) or len(values) != arity:
        raise BadRequest(_BAD_CURSOR)
    return values
