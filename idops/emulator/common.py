"""Request/response types, paging with opaque ``$skiptoken`` cursors, and helpers shared by handlers."""

from __future__ import annotations

import base64
import json
import re
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from idops.emulator import odata
from idops.emulator.errors import bad_request, not_found
from idops.emulator.render import GRAPH
from idops.emulator.state import Tenant, User


@dataclass
class Req:
    method: str
    path: str  # after /v1.0, '//' collapsed, no query
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: Any
    tenant: Tenant
    base_url: str  # absolute, ends with /v1.0
    now: datetime
    replication_delay_s: float = 0.0


@dataclass
class Resp:
    status: int
    body: Any = None  # dict → JSON, str → text/plain, None → empty
    headers: dict[str, str] = field(default_factory=dict)


# --- paging ------------------------------------------------------------------------------------


class Cursors:
    """Result lists of recent queries, so page 2..n never re-runs a 100k-row filter."""

    def __init__(self, size: int = 64) -> None:
        self._lock = threading.Lock()
        self._items: OrderedDict[str, Any] = OrderedDict()
        self._size = size

    def put(self, value: Any) -> str:
        key = secrets.token_hex(8)
        with self._lock:
            self._items[key] = value
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return key

    def get(self, key: str) -> Any:
        with self._lock:
            v = self._items.get(key)
            if v is not None:
                self._items.move_to_end(key)
            return v


CURSORS = Cursors()


def _token(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode().rstrip("=")


def _untoken(tok: str) -> dict[str, Any]:
    try:
        out = json.loads(base64.urlsafe_b64decode(tok + "=" * (-len(tok) % 4)))
        if not isinstance(out, dict):
            raise ValueError(tok)
        return out
    except ValueError as exc:
        raise bad_request("Invalid $skiptoken value.", "BadRequest") from exc


def _next_link(req: Req, tok: str) -> str:
    q = {k: v for k, v in req.query.items() if k != "$skiptoken"}
    q["$skiptoken"] = tok
    return f"{req.base_url}{req.path}?" + urlencode(q, safe="$,'()/:")


def page_list(
    req: Req,
    compute: Callable[[], Sequence[Any]],
    render: Callable[[Any], dict[str, Any] | None],
    size: int,
    context: str,
    *,
    count: bool = False,
) -> Resp:
    """One page of ``compute()``'s result; later pages reuse the cached result via ``$skiptoken``."""
    tok = req.query.get("$skiptoken")
    if tok:
        st = _untoken(tok)
        items = CURSORS.get(str(st.get("c")))
        if items is None:
            items = compute()
        offset = int(st.get("o", 0))
    else:
        items = compute()
        offset = 0
    chunk = items[offset : offset + size]
    values = [v for v in (render(x) for x in chunk) if v is not None]
    body: dict[str, Any] = {"@odata.context": f"{GRAPH}/$metadata#{context}"}
    if count and not tok:
        body["@odata.count"] = len(items)
    body["value"] = values
    has_more = getattr(items, "has_more", None)
    more = has_more(offset + size) if has_more is not None else offset + size < len(items)
    if more:
        old = str(_untoken(tok).get("c")) if tok else ""
        key = old if old and CURSORS.get(old) is not None else CURSORS.put(items)
        body["@odata.nextLink"] = _next_link(req, _token({"c": key, "o": offset + size}))
    return Resp(200, body)


# --- helpers -----------------------------------------------------------------------------------


def _body(req: Req) -> dict[str, Any]:
    if req.body is None:
        return {}
    if not isinstance(req.body, dict):
        raise bad_request("Write requests (excluding DELETE) must contain the Content-Type header declaration.")
    return {k: v for k, v in req.body.items() if k != "@odata.type"}


def _parse_dt(value: Any, prop: str) -> datetime | None:
    if value is None:
        return None
    try:
        dt = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise bad_request(f"Invalid value specified for property '{prop}' of resource 'User'.") from exc
    if dt.tzinfo is None:
        raise bad_request(f"Invalid value specified for property '{prop}' of resource 'User'.")
    return dt


def _replicating(req: Req, object_id: str) -> bool:
    deadline = req.tenant.replicating.get(object_id)
    if deadline is None:
        return False
    if time.monotonic() >= deadline:
        req.tenant.replicating.pop(object_id, None)
        return False
    return True


def _user(req: Req, id_or_upn: str) -> User:
    u = req.tenant.resolve_user(id_or_upn)
    if u is None or _replicating(req, u.id):
        raise not_found(id_or_upn)
    return u


def _advanced(req: Req) -> bool:
    return req.headers.get("consistencylevel", "").lower() == "eventual"


def _count_requested(req: Req) -> bool:
    return req.query.get("$count", "").lower() == "true"


def _select(req: Req, allowed: set[str] | dict[str, Any], type_name: str) -> list[str] | None:
    return odata.parse_select(req.query.get("$select"), set(allowed), type_name)


def _filter(req: Req, allowed: set[str], type_name: str) -> odata.Node | None:
    text = req.query.get("$filter")
    if text is None:
        return None
    node = odata.parse_filter(text)
    odata.check_properties(node, allowed, type_name)
    return node


def _valid_password(pw: str) -> bool:
    classes = sum(bool(re.search(p, pw)) for p in (r"[a-z]", r"[A-Z]", r"[0-9]", r"[^A-Za-z0-9]"))
    return 8 <= len(pw) <= 256 and classes >= 3
