"""OData query options as Graph applies them to directory objects and reports.

``parse_filter`` turns a ``$filter`` into a small AST (exposed so property tests can prove that an
escaped value stays one literal); ``evaluate`` runs it against any object through a getter.

Advanced-query rules enforced (graph-facts §9), for ``/users`` only:

- ``ne``, ``not``, ``endswith`` and any filter on ``onPremisesExtensionAttributes/*`` need
  ``ConsistencyLevel: eventual`` **and** ``$count=true``; otherwise 400 ``Request_UnsupportedQuery``
  "Unsupported Query." (the extension-attribute rule is the conservative reading of a doc conflict).
- ``$count=true`` without the header is silently ignored; with it, ``@odata.count`` is on page 1 only.
- ``/users/$count`` without the header → 400 ``Request_BadRequest`` "$count is not currently supported."
- ``employeeLeaveDateTime`` filters are accepted with or without the header ([U] in the facts).

Syntax errors → 400 ``BadRequest`` "Invalid filter clause: …"; unknown functions → 400
``Request_UnsupportedQuery``; unknown properties → 400 ``Request_BadRequest``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from idops.emulator.errors import GraphHTTPError

# --- AST ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Lit:
    value: Any
    kind: str  # str | guid | bool | null | number | datetime


@dataclass(frozen=True, slots=True)
class Prop:
    path: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Cmp:
    op: str  # eq ne gt ge lt le
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class And:
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Or:
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Not:
    operand: Node


@dataclass(frozen=True, slots=True)
class In:
    left: Node
    values: tuple[Lit, ...]


@dataclass(frozen=True, slots=True)
class Func:
    name: str  # startswith | endswith
    args: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    collection: tuple[str, ...]
    var: str | None
    predicate: Node | None


Node = Lit | Prop | Cmp | And | Or | Not | In | Func | AnyOf

# --- tokenizer ------------------------------------------------------------------------------

_GUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_DT = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,7})?)?(?:Z|[+-]\d{2}:\d{2})"
_TOKEN = re.compile(
    rf"""\s*(?:
      (?P<str>'(?:[^']|'')*')
    | (?P<dt>{_DT})(?![\w-])
    | (?P<guid>{_GUID})(?![\w-])
    | (?P<num>-?\d+(?:\.\d+)?)(?![\w-])
    | (?P<ident>[A-Za-z_][A-Za-z0-9_]*(?:/[A-Za-z_][A-Za-z0-9_.]*)*)
    | (?P<punct>[(),:])
    )""",
    re.VERBOSE,
)

_CMP_OPS = {"eq", "ne", "gt", "ge", "lt", "le"}
_FUNCS = {"startswith", "endswith"}


def _syntax(msg: str) -> GraphHTTPError:
    return GraphHTTPError(400, "BadRequest", f"Invalid filter clause: {msg}")


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise _syntax(f"syntax error at position {pos} in '{text}'.")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.toks = _tokens(text)
        self.i = 0
        self.vars: list[str] = []

    def peek(self) -> tuple[str, str] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> tuple[str, str]:
        t = self.peek()
        if t is None:
            raise _syntax("unexpected end of expression.")
        self.i += 1
        return t

    def expect(self, value: str) -> None:
        t = self.take()
        if t[1] != value:
            raise _syntax(f"expected '{value}' but found '{t[1]}'.")

    def is_word(self, word: str) -> bool:
        t = self.peek()
        return t is not None and t[0] == "ident" and t[1].lower() == word

    def parse(self) -> Node:
        node = self.or_expr()
        if self.peek() is not None:
            raise _syntax(f"unexpected '{self.peek()[1]}'.")  # type: ignore[index]
        return node

    def or_expr(self) -> Node:
        node = self.and_expr()
        while self.is_word("or"):
            self.take()
            node = Or(node, self.and_expr())
        return node

    def and_expr(self) -> Node:
        node = self.unary()
        while self.is_word("and"):
            self.take()
            node = And(node, self.unary())
        return node

    def unary(self) -> Node:
        if self.is_word("not"):
            self.take()
            return Not(self.unary())
        return self.comparison()

    def comparison(self) -> Node:
        left = self.primary()
        t = self.peek()
        if t is not None and t[0] == "ident" and t[1].lower() in _CMP_OPS:
            self.take()
            return Cmp(t[1].lower(), left, self.primary())
        if t is not None and t[0] == "ident" and t[1].lower() == "in":
            self.take()
            self.expect("(")
            values: list[Lit] = []
            while True:
                v = self.primary()
                if not isinstance(v, Lit):
                    raise _syntax("'in' takes literals only.")
                values.append(v)
                if self.take()[1] == ")":
                    break
            return In(left, tuple(values))
        return left

    def primary(self) -> Node:
        kind, val = self.take()
        if kind == "punct" and val == "(":
            node = self.or_expr()
            self.expect(")")
            return node
        if kind == "str":
            return Lit(val[1:-1].replace("''", "'"), "str")
        if kind == "dt":
            return Lit(datetime.fromisoformat(val.replace("Z", "+00:00")), "datetime")
        if kind == "guid":
            return Lit(val.lower(), "guid")
        if kind == "num":
            return Lit(float(val) if "." in val else int(val), "number")
        if kind == "ident":
            low = val.lower()
            if low in ("true", "false"):
                return Lit(low == "true", "bool")
            if low == "null":
                return Lit(None, "null")
            nxt = self.peek()
            parts = tuple(val.split("/"))
            if nxt == ("punct", "("):
                if len(parts) > 1 and parts[-1].lower() in ("any", "all"):
                    return self.lambda_(parts[:-1], parts[-1].lower())
                if low in _FUNCS:
                    self.take()
                    args = [self.or_expr()]
                    while self.peek() == ("punct", ","):
                        self.take()
                        args.append(self.or_expr())
                    self.expect(")")
                    if len(args) != 2:
                        raise _syntax(f"{low} takes two arguments.")
                    return Func(low, tuple(args))
                raise GraphHTTPError(400, "Request_UnsupportedQuery", f"Unsupported Query. Function '{val}'.")
            if low in _CMP_OPS or low in ("and", "or", "in"):
                raise _syntax(f"unexpected operator '{val}'.")
            return Prop(parts)
        raise _syntax(f"unexpected '{val}'.")

    def lambda_(self, collection: tuple[str, ...], kind: str) -> Node:
        if kind == "all":
            raise GraphHTTPError(400, "Request_UnsupportedQuery", "Unsupported Query. Lambda 'all'.")
        self.expect("(")
        if self.peek() == ("punct", ")"):
            self.take()
            return AnyOf(collection, None, None)
        var_kind, var = self.take()
        if var_kind != "ident" or "/" in var:
            raise _syntax("lambda variable expected.")
        self.expect(":")
        self.vars.append(var)
        pred = self.or_expr()
        self.vars.pop()
        self.expect(")")
        return AnyOf(collection, var, pred)


def parse_filter(text: str) -> Node:
    """Parse a ``$filter`` value (already percent-decoded). Raises ``GraphHTTPError`` 400."""
    if not text.strip():
        raise _syntax("empty expression.")
    return _Parser(text).parse()


def quote(value: str) -> str:
    """An OData string literal: ``'`` doubled (what a correct client must send)."""
    return "'" + value.replace("'", "''") + "'"


# --- inspection ----------------------------------------------------------------------------


def walk(node: Node) -> list[Node]:
    out: list[Node] = [node]
    if isinstance(node, Cmp | And | Or):
        out += walk(node.left) + walk(node.right)
    elif isinstance(node, Not):
        out += walk(node.operand)
    elif isinstance(node, In):
        out += walk(node.left)
    elif isinstance(node, Func):
        for a in node.args:
            out += walk(a)
    elif isinstance(node, AnyOf) and node.predicate is not None:
        out += walk(node.predicate)
    return out


def top_properties(node: Node) -> set[str]:
    """First path segments referenced outside lambdas (for allow-listing)."""
    props: set[str] = set()
    lambda_vars = {n.var for n in walk(node) if isinstance(n, AnyOf) and n.var}
    for n in walk(node):
        if isinstance(n, Prop) and n.path[0] not in lambda_vars:
            props.add(n.path[0])
        elif isinstance(n, AnyOf):
            props.add(n.collection[0])
    return props


def needs_advanced(node: Node) -> bool:
    for n in walk(node):
        if isinstance(n, Not) or (isinstance(n, Cmp) and n.op == "ne"):
            return True
        if isinstance(n, Func) and n.name == "endswith":
            return True
        if isinstance(n, Prop) and n.path[0] == "onPremisesExtensionAttributes":
            return True
    return False


def check_properties(node: Node, allowed: set[str], type_name: str) -> None:
    for p in top_properties(node):
        if p not in allowed:
            raise GraphHTTPError(
                400, "Request_BadRequest", f"Could not find a property named '{p}' on type '{type_name}'."
            )


# --- evaluation ----------------------------------------------------------------------------

Getter = Callable[[tuple[str, ...]], Any]


def _norm(v: Any) -> Any:
    if isinstance(v, str):
        return v.lower()
    return v


def _coerce(a: Any, b: Any) -> tuple[Any, Any]:
    if isinstance(a, datetime) and isinstance(b, str):
        b = datetime.fromisoformat(b.replace("Z", "+00:00"))
    elif isinstance(b, datetime) and isinstance(a, str):
        a = datetime.fromisoformat(a.replace("Z", "+00:00"))
    return _norm(a), _norm(b)


def _value(node: Node, get: Getter) -> Any:
    if isinstance(node, Lit):
        return node.value
    if isinstance(node, Prop):
        return get(node.path)
    return evaluate(node, get)


def _compare(op: str, a: Any, b: Any) -> bool:
    a, b = _coerce(a, b)
    if op == "eq":
        return bool(a == b)
    if op == "ne":
        return bool(a != b)
    if a is None or b is None:
        return False
    try:
        if op == "gt":
            return bool(a > b)
        if op == "ge":
            return bool(a >= b)
        if op == "lt":
            return bool(a < b)
        return bool(a <= b)
    except TypeError as exc:
        raise GraphHTTPError(400, "BadRequest", f"Invalid filter clause: incompatible types for '{op}'.") from exc


def _item_getter(var: str, item: Any, outer: Getter) -> Getter:
    def get(path: tuple[str, ...]) -> Any:
        if path[0] != var:
            return outer(path)
        v = item
        for seg in path[1:]:
            v = v.get(seg) if isinstance(v, Mapping) else None
        return v

    return get


def evaluate(node: Node, get: Getter) -> bool:
    """True when the object seen through ``get`` matches. String comparisons ignore case, as Entra's do."""
    if isinstance(node, And):
        return evaluate(node.left, get) and evaluate(node.right, get)
    if isinstance(node, Or):
        return evaluate(node.left, get) or evaluate(node.right, get)
    if isinstance(node, Not):
        return not evaluate(node.operand, get)
    if isinstance(node, Cmp):
        return _compare(node.op, _value(node.left, get), _value(node.right, get))
    if isinstance(node, In):
        v = _norm(_value(node.left, get))
        return any(v == _norm(x.value) for x in node.values)
    if isinstance(node, Func):
        s, prefix = (_value(a, get) for a in node.args)
        if not isinstance(s, str) or not isinstance(prefix, str):
            return False
        if node.name == "startswith":
            return s.lower().startswith(prefix.lower())
        return s.lower().endswith(prefix.lower())
    if isinstance(node, AnyOf):
        items = get(node.collection) or []
        if node.predicate is None or node.var is None:
            return bool(items)
        return any(evaluate(node.predicate, _item_getter(node.var, it, get)) for it in items)
    if isinstance(node, Lit):
        return bool(node.value)
    v = get(node.path)
    return bool(v)


def mapping_getter(obj: Mapping[str, Any]) -> Getter:
    """Getter over a JSON-like dict (reports, sign-ins)."""

    def get(path: tuple[str, ...]) -> Any:
        v: Any = obj
        for seg in path:
            v = v.get(seg) if isinstance(v, Mapping) else None
        return v

    return get


def datetime_bounds(node: Node, prop: str) -> tuple[datetime | None, datetime | None]:
    """Outer bounds ``[lo, hi]`` a top-level ``and`` chain puts on a datetime property (inclusive)."""
    lo: datetime | None = None
    hi: datetime | None = None
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, And):
            stack += [n.left, n.right]
        elif (
            isinstance(n, Cmp)
            and isinstance(n.left, Prop)
            and n.left.path == (prop,)
            and isinstance(n.right, Lit)
            and isinstance(n.right.value, datetime)
        ):
            v = n.right.value
            if n.op in ("ge", "gt", "eq"):
                lo = v if lo is None else max(lo, v)
            if n.op in ("le", "lt", "eq"):
                hi = v if hi is None else min(hi, v)
    return lo, hi


# --- $select / $top ----------------------------------------------------------------------


def parse_select(value: str | None, allowed: set[str], type_name: str) -> list[str] | None:
    if value is None:
        return None
    fields = [f.strip() for f in value.split(",") if f.strip()]
    for f in fields:
        if f not in allowed:
            raise GraphHTTPError(
                400, "Request_BadRequest", f"Could not find a property named '{f}' on type '{type_name}'."
            )
    return fields


def parse_top(value: str | None, default: int, maximum: int) -> int:
    if value is None:
        return default
    try:
        n = int(value)
    except ValueError as exc:
        raise GraphHTTPError(400, "BadRequest", f"Invalid page size specified: '{value}'.") from exc
    if not 1 <= n <= maximum:
        raise GraphHTTPError(
            400,
            "Request_BadRequest",
            f"Invalid page size specified: '{value}'. Must be between 1 and {maximum} inclusive.",
        )
    return n
