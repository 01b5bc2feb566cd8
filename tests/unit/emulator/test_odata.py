"""graph-facts §15 item 10: the $filter parser — escaping, literal forms, lambdas, hostile values."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from idops.emulator import odata
from idops.emulator.errors import GraphHTTPError
from idops.emulator.odata import AnyOf, Cmp, Func, In, Lit, Prop, parse_filter


def test_doubled_quote_unescapes_to_one() -> None:
    node = parse_filter("displayName eq 'let''s meet'")
    assert node == Cmp("eq", Prop(("displayName",)), Lit("let's meet", "str"))


def test_unquoted_guid_bool_datetime_and_null() -> None:
    n = parse_filter(
        "assignedLicenses/any(s:s/skuId eq 184EFA21-98c3-4e5d-95ab-d07053a96e67) and "
        "accountEnabled eq false and createdDateTime ge 2024-01-13T14:13:32Z and mail eq null"
    )
    nodes = odata.walk(n)
    assert (
        AnyOf(
            ("assignedLicenses",),
            "s",
            Cmp("eq", Prop(("s", "skuId")), Lit("184efa21-98c3-4e5d-95ab-d07053a96e67", "guid")),
        )
        in nodes
    )
    assert Lit(False, "bool") in nodes
    assert Lit(None, "null") in nodes
    assert Lit(datetime(2024, 1, 13, 14, 13, 32, tzinfo=UTC), "datetime") in nodes


def test_in_startswith_nested_paths_and_precedence() -> None:
    n = parse_filter(
        "userPrincipalName in ('a@b.fi','c@b.fi') or startswith(displayName,'Mäk') and "
        "onPremisesExtensionAttributes/extensionAttribute15 eq 'idops'"
    )
    assert isinstance(n, odata.Or)
    assert n.left == In(Prop(("userPrincipalName",)), (Lit("a@b.fi", "str"), Lit("c@b.fi", "str")))
    assert isinstance(n.right, odata.And)
    assert n.right.left == Func("startswith", (Prop(("displayName",)), Lit("Mäk", "str")))
    assert odata.needs_advanced(n)


def test_evaluation_is_case_insensitive_for_strings() -> None:
    n = parse_filter("startswith(userPrincipalName,'MAT') and not(accountEnabled eq false)")
    get = odata.mapping_getter({"userPrincipalName": "matti@x.fi", "accountEnabled": True})
    assert odata.evaluate(n, get)


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "a eq",
        "eq 'x'",
        "(a eq 'x'",
        "a eq 'x')",
        "a eq 'x' and",
        "a eq 'it's'",
        "a eq 'x' or or b eq 'y'",
        "a/all(x:x eq 'y')",
        "substringof('x',a)",
        "a eq 'x'; drop",
    ],
)
def test_malformed_filters_raise_400(bad: str) -> None:
    with pytest.raises(GraphHTTPError) as exc:
        parse_filter(bad)
    assert exc.value.status == 400


HOSTILE = [
    "x' or startswith(userPrincipalName,'",
    "'",
    "''",
    "') or (1 eq 1",
    "a'b''c'''",
    "x' eq 'x",
    "\\'",
    "%27 or 1 eq 1",
    "käyttäjä@edu.fi",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_values_stay_one_literal_when_escaped(value: str) -> None:
    assert parse_filter(f"userPrincipalName eq {odata.quote(value)}") == Cmp(
        "eq", Prop(("userPrincipalName",)), Lit(value, "str")
    )


def test_unescaped_quote_changes_structure_or_fails() -> None:
    value = "x') or startswith(userPrincipalName,'"
    with pytest.raises(GraphHTTPError):
        parse_filter(f"userPrincipalName eq '{value}'")
    value = "x' or startswith(userPrincipalName,'a') or displayName eq 'y"
    node = parse_filter(f"userPrincipalName eq '{value}'")
    assert isinstance(node, odata.Or)  # the injection would have worked: hence escaping


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=40))
def test_any_escaped_value_never_changes_filter_structure(value: str) -> None:
    node = parse_filter(f"employeeId eq {odata.quote(value)} and accountEnabled eq true")
    assert node == odata.And(
        Cmp("eq", Prop(("employeeId",)), Lit(value, "str")),
        Cmp("eq", Prop(("accountEnabled",)), Lit(True, "bool")),
    )
