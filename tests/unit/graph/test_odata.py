"""The $filter builder: escaping, strict literals, allow-list, and path segments."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from idops.emulator import odata as emu_odata
from idops.graph import odata
from idops.graph.odata import ODataValueError

SKU = "184efa21-98c3-4e5d-95ab-d07053a96e67"


def test_single_quote_is_doubled() -> None:
    assert odata.eq("surname", "O'Brien") == "surname eq 'O''Brien'"


def test_injection_attempt_stays_one_literal() -> None:
    hostile = "x' or startswith(userPrincipalName,'a"
    f = odata.eq("userPrincipalName", hostile)
    assert f == "userPrincipalName eq 'x'' or startswith(userPrincipalName,''a'"
    node = emu_odata.parse_filter(f)  # the emulator's parser sees exactly one comparison
    assert isinstance(node, emu_odata.Cmp)
    assert node.right.value == hostile  # type: ignore[union-attr]


@pytest.mark.parametrize("bad", ["a\x00b", "line\nbreak", "tab\there", "\x7f", "x\u2028y"])
def test_control_characters_are_rejected(bad: str) -> None:
    with pytest.raises(ODataValueError):
        odata.eq("displayName", bad)


def test_string_typed_ids_are_validated_and_quoted() -> None:
    assert odata.eq("id", SKU) == f"id eq '{SKU}'"
    with pytest.raises(ODataValueError):
        odata.eq("id", "not-a-guid' or '1'='1")


def test_booleans_numbers_and_datetimes_are_strict() -> None:
    assert odata.eq("accountEnabled", False) == "accountEnabled eq false"
    assert odata.eq("status/errorCode", 0) == "status/errorCode eq 0"
    when = datetime(2025, 6, 1, 3, 0, tzinfo=timezone(timedelta(hours=3)))
    assert odata.le("employeeLeaveDateTime", when) == "employeeLeaveDateTime le 2025-06-01T00:00:00Z"
    with pytest.raises(ODataValueError):
        odata.eq("accountEnabled", "false")
    with pytest.raises(ODataValueError):
        odata.eq("status/errorCode", True)
    with pytest.raises(ODataValueError):
        odata.le("employeeLeaveDateTime", datetime(2025, 6, 1))  # naive
    with pytest.raises(ODataValueError):
        odata.ge("accountEnabled", True)  # ge on a bool makes no sense


def test_fields_and_operators_come_from_the_allow_list() -> None:
    with pytest.raises(ODataValueError):
        odata.eq("passwordProfile", "x")
    with pytest.raises(ODataValueError):
        odata.startswith("accountEnabled", "t")
    with pytest.raises(ODataValueError):
        odata.in_("userPrincipalName", [])


def test_extension_attributes() -> None:
    field = odata.extension_attribute(15)
    assert odata.eq(field, "idops-managed") == (
        "onPremisesExtensionAttributes/extensionAttribute15 eq 'idops-managed'"
    )
    with pytest.raises(ODataValueError):
        odata.extension_attribute(16)


def test_composition_parenthesises_and_refuses_plain_strings() -> None:
    f = odata.eq("accountEnabled", True) & (odata.startswith("displayName", "Mäk") | odata.eq("surname", "A"))
    assert f == "(accountEnabled eq true) and ((startswith(displayName,'Mäk')) or (surname eq 'A'))"
    assert isinstance(f, odata.Filter)
    assert odata.in_("userPrincipalName", ["a@b.fi", "o'c@b.fi"]) == (
        "userPrincipalName in ('a@b.fi','o''c@b.fi')"
    )
    with pytest.raises(ODataValueError):
        odata.and_(odata.eq("surname", "A"), "surname eq 'B'")  # type: ignore[arg-type]
    emu_odata.parse_filter(f)


def test_user_path_segments() -> None:
    assert odata.path_user(SKU.upper()) == SKU
    assert odata.path_user("o'brien@koulu.fi") == "o%27brien%40koulu.fi".replace("%40", "@")
    assert odata.path_user("x_gmail.com#EXT#@t.onmicrosoft.com") == "x_gmail.com%23EXT%23@t.onmicrosoft.com"
    for bad in ["../users", "a/b@c.fi", "a b@c.fi", "", "$evil@c.fi", "a@c.fi/../../x"]:
        with pytest.raises(ODataValueError):
            odata.path_user(bad)
    with pytest.raises(ODataValueError):
        odata.path_id("1 or 1")


def test_query_string_percent_encodes_the_filter() -> None:
    q = odata.query_string({"$filter": odata.eq("surname", "A&B #1"), "$top": 5, "$count": None})
    assert q == "$filter=surname%20eq%20%27A%26B%20%231%27&$top=5"


@given(st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs")), max_size=60))
def test_any_text_round_trips_through_the_emulator_parser(value: str) -> None:
    if "\u2028" in value or "\u2029" in value:
        return
    node = emu_odata.parse_filter(odata.eq("displayName", value))
    assert isinstance(node, emu_odata.Cmp)
    assert node.right.value == value  # type: ignore[union-attr]


def test_datetime_with_microseconds() -> None:
    when = datetime(2025, 1, 2, 3, 4, 5, 600, tzinfo=UTC)
    assert odata.format_datetime(when) == "2025-01-02T03:04:05.000600Z"
