"""Hypothesis properties the example tests cannot reach.

* OData: any value, in any filter the builder composes (eq/ne/startswith/in, and/or nesting, extension
  attributes), parses back in the emulator's parser to exactly the intended tree — a value never changes
  the filter's structure. (tests/unit/graph/test_odata.py covers single ``eq`` round trips only.)
* Scoping: for a random token (roles, oid, tenant, groups drawn from the configuration and outside it)
  and a random school, the served API returns only the schools the configuration grants that token,
  and answers a school or id outside them exactly like a missing one (404).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from idops.app import create_app
from idops.auth.demo import DEMO_ISSUER, DemoSigner
from idops.bootstrap import bootstrap
from idops.config import Config
from idops.emulator import odata as emu
from idops.graph import odata
from idops.graph.odata import ODataValueError
from idops.substitutes.models import ProvisionStep, Status, SubstitutePeriod, SubstitutePerson
from tests.conftest import NoDirectories
from tests.integration.fuzz.harness import served

# ------------------------------------------------------------------------------------------------ OData

TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), max_size=30)
HOSTILE = st.sampled_from(["'", "''", "') or (", " or 1 eq 1", "x' or startswith(mail,'", ")", "(", "eq", ",",
                           "any(s:s/skuId eq 1)", "%27", "\\'", "Äijälä", "Nguyễn"])
VALUES = st.one_of(TEXT, HOSTILE, st.lists(HOSTILE, min_size=1, max_size=4).map("".join))
STRING_FIELDS = sorted(f for f, k in odata.FIELDS.items() if k.value == "string")


def _prop(field: str) -> emu.Prop:
    return emu.Prop(tuple(field.split("/")))


@st.composite
def leaf(draw: st.DrawFn) -> tuple[odata.Filter, emu.Node]:
    field = draw(st.sampled_from(STRING_FIELDS))
    kind = draw(st.sampled_from(["eq", "ne", "startswith", "in", "enabled"]))
    if kind == "enabled":
        flag = draw(st.booleans())
        return odata.eq("accountEnabled", flag), emu.Cmp("eq", _prop("accountEnabled"), emu.Lit(flag, "bool"))
    if kind == "in":
        values = draw(st.lists(VALUES, min_size=1, max_size=5))
        return odata.in_(field, values), emu.In(_prop(field), tuple(emu.Lit(v, "str") for v in values))
    value = draw(VALUES)
    if kind == "startswith":
        return odata.startswith(field, value), emu.Func("startswith", (_prop(field), emu.Lit(value, "str")))
    built = odata.eq(field, value) if kind == "eq" else odata.ne(field, value)
    return built, emu.Cmp(kind, _prop(field), emu.Lit(value, "str"))


def _combine(op: str, parts: list[tuple[odata.Filter, emu.Node]]) -> tuple[odata.Filter, emu.Node]:
    built = (odata.and_ if op == "and" else odata.or_)(*(p[0] for p in parts))
    tree = parts[0][1]
    for _, node in parts[1:]:  # the parser is left-associative
        tree = emu.And(tree, node) if op == "and" else emu.Or(tree, node)
    return built, tree


FILTERS = st.recursive(
    leaf(),
    lambda children: st.tuples(st.sampled_from(["and", "or"]), st.lists(children, min_size=2, max_size=3)).map(
        lambda t: _combine(*t)),
    max_leaves=8,
)


@given(FILTERS)
@settings(max_examples=300, deadline=None, database=None)
def test_no_value_changes_the_structure_of_a_composed_filter(case: tuple[odata.Filter, emu.Node]) -> None:
    built, expected = case
    assert emu.parse_filter(built) == expected
    # on the wire: one percent-encoded parameter that decodes back to the same filter
    query = odata.query_string({"$filter": built, "$top": 5})
    assert [q.split("=")[0] for q in query.split("&")] == ["$filter", "$top"]
    assert unquote(query.split("&")[0].removeprefix("$filter=")) == built


@given(st.text(min_size=1, max_size=20).filter(lambda s: any(ord(ch) < 32 or ord(ch) == 127 for ch in s)))
@settings(max_examples=100, deadline=None, database=None)
def test_control_characters_never_reach_a_filter(value: str) -> None:
    with pytest.raises(ODataValueError):
        odata.eq("displayName", value)
    with pytest.raises(ODataValueError):
        odata.in_("mail", ["ok", value])


@given(st.one_of(TEXT, HOSTILE), st.sampled_from(["id", "userId", "appId"]))
@settings(max_examples=200, deadline=None, database=None)
def test_id_fields_take_only_guids(value: str, field: str) -> None:
    try:
        built = odata.eq(field, value)
    except ODataValueError:
        return
    uuid.UUID(value)  # only a GUID got through
    assert emu.parse_filter(built) == emu.Cmp("eq", _prop(field), emu.Lit(value.lower(), "str")) or \
        emu.parse_filter(built) == emu.Cmp("eq", _prop(field), emu.Lit(value, "str"))


@given(st.one_of(TEXT, HOSTILE.map(lambda h: f"a{h}@x.fi")))
@settings(max_examples=300, deadline=None, database=None)
def test_a_user_path_segment_is_one_segment_or_refused(value: str) -> None:
    try:
        segment = odata.path_user(value)
    except ODataValueError:
        return
    assert not any(ch in segment for ch in "/?#\\ ") and ".." not in segment.split("@")[0][:2]


# ---------------------------------------------------------------------------------------------- scoping


def granted(config: Config, claims: dict[str, Any]) -> set[str] | None:
    """What the configuration grants a token (independent of idops.auth.scope); None = no valid token."""
    region = config.region
    tid = str(claims["tid"]).lower()
    if tid not in {t.lower() for t in region.tenants()} or not claims["roles"]:
        return None  # a token of another tenant, or without any role, is not a valid token here
    oid = str(claims["oid"]).lower()
    groups = {g.lower() for g in claims.get("groups", [])}
    roles = claims["roles"]

    def listed(p: Any) -> bool:
        return oid in {o.lower() for o in p.object_ids} or bool(groups & {g.lower() for g in p.group_ids})

    every = {f"{m.key}/{s.key}" for m in region.municipalities for s in m.schools}
    if "RegionAdmin" in roles:
        return every
    if "ItAdmin" in roles:
        # an IT admin listing counts only in the municipality's own tenant
        munis = [m for m in region.municipalities if m.tenant_id.lower() == tid and listed(m.it_admins)] or [
            m for m in region.municipalities
            if m.tenant_id.lower() == tid and not m.it_admins.object_ids and not m.it_admins.group_ids]
        if munis:
            return {f"{m.key}/{s.key}" for m in munis for s in m.schools}
    if "Principal" in roles:
        return {f"{m.key}/{s.key}" for m in region.municipalities if m.tenant_id.lower() == tid
                for s in m.schools if listed(s.principals)}
    return set()


def seed_one_period_per_school(config: Config, database_url: str) -> dict[str, str]:
    """school path → period id, written straight to the database (no Graph needed to read them)."""
    now = datetime.now(UTC)
    ids: dict[str, str] = {}
    engine = create_engine(database_url.replace("+aiosqlite", "").replace("+asyncpg", "+psycopg"))
    with Session(engine) as s, s.begin():
        for m in config.region.municipalities:
            for school in m.schools:
                path = f"{m.key}/{school.key}"
                person = SubstitutePerson(
                    tenant_id=m.tenant_id, municipality=m.key, given_name="Aino", surname=school.key,
                    search_name=f"aino {school.key}", user_principal_name=f"aino.{school.key}.{m.key}@x.fi",
                    created_at=now, created_by="test")
                s.add(person)
                s.flush()
                period = SubstitutePeriod(
                    person_id=person.id, school=path, municipality=m.key, tenant_id=m.tenant_id,
                    starts_at=now, ends_at=now + timedelta(days=3), original_ends_at=now + timedelta(days=3),
                    status=Status.SCHEDULED, step=ProvisionStep.DONE, created_at=now, created_by="test")
                s.add(period)
                s.flush()
                ids[path] = period.id
    engine.dispose()
    return ids


@pytest.mark.slow
def test_a_random_token_never_sees_another_scopes_data(make_config: Callable[..., Config], clean_db: str,
                                                       data_dir: Path) -> None:
    config = make_config()
    signer = DemoSigner.load_or_create(data_dir)
    ids = seed_one_period_per_school(config, clean_db)
    schools = sorted(ids)
    region = config.region
    oids = sorted({o for m in region.municipalities for p in [m.it_admins, *(s.principals for s in m.schools)]
                   for o in p.object_ids} | {str(uuid.UUID(int=7))})
    groups = sorted({g for m in region.municipalities for p in [m.it_admins, *(s.principals for s in m.schools)]
                     for g in p.group_ids} | {str(uuid.UUID(int=9))})
    tenants = [*sorted(region.tenants()), str(uuid.UUID(int=11))]
    claims_strategy = st.fixed_dictionaries({
        "roles": st.lists(st.sampled_from(["Principal", "ItAdmin", "RegionAdmin", "Reader", "principal"]), min_size=1,
                          max_size=2, unique=True),
        "oid": st.sampled_from(oids), "tid": st.sampled_from(tenants),
        "groups": st.lists(st.sampled_from(groups), max_size=2, unique=True),
    })
    app = create_app(config, container_factory=lambda: bootstrap(config, directories=NoDirectories()))
    checked = {"examples": 0, "with_scope": 0}
    with served(app) as base_url, httpx.Client(base_url=base_url, timeout=30) as client:

        @given(claims=claims_strategy, school=st.sampled_from(schools), other=st.sampled_from(schools))
        @settings(max_examples=120, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        def check(claims: dict[str, Any], school: str, other: str) -> None:
            now = int(datetime.now(UTC).timestamp())
            full = {**claims, "iss": DEMO_ISSUER.replace("{tid}", claims["tid"]), "aud": config.settings.auth.audience,
                    "iat": now, "nbf": now - 5, "exp": now + 600, "sub": claims["oid"], "ver": "2.0"}
            headers = {"Authorization": f"Bearer {signer.sign(full)}"}
            visible = granted(config, full)
            r = client.get("/v1/substitutes", params={"limit": 200}, headers=headers)
            checked["examples"] += 1
            if visible is None:
                assert r.status_code == 401, r.text
                return
            if not visible:
                assert r.status_code == 403, r.text
                return
            checked["with_scope"] += 1
            assert r.status_code == 200, r.text
            assert {item["school"] for item in r.json()["items"]} == visible
            r = client.get("/v1/substitutes", params={"school": school}, headers=headers)
            if school in visible:
                assert [item["id"] for item in r.json()["items"]] == [ids[school]]
            else:
                assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json")
            for path in (f"/v1/substitutes/{ids[other]}", f"/v1/substitutes/{ids[other]}/events"):
                r = client.get(path, headers=headers)
                assert r.status_code == (200 if other in visible else 404), (path, r.text)
            missing = client.get(f"/v1/substitutes/{uuid.uuid4()}", headers=headers)
            if other not in visible:
                assert (missing.status_code, missing.json()["title"]) == (404, r.json()["title"])

        check()
    assert checked["with_scope"] > 15, checked
