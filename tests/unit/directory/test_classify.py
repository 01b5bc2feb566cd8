"""Classification per docs/definitions.md, with readable hand-made users."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from idops.config.region import RegionConfig
from idops.directory.classify import GroupIndex, Placement

NOW = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
TENANT = "aaaaaaaa-0000-4000-8000-000000000001"


def gid(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


def region() -> RegionConfig:
    school = lambda key, base: {  # noqa: E731 - a table-like helper reads best inline
        "key": key, "name": key.title(), "staff_group_ids": [gid(base + 1)],
        "pupil_group_ids": [gid(base + 2)], "substitute_group_ids": [gid(base + 3)],
    }
    graph = {"credential": "static", "base_url": "http://127.0.0.1:1/v1.0"}
    return RegionConfig.model_validate(
        {
            "municipalities": [
                {"key": "lempaala", "name": "Lempäälä", "tenant_id": TENANT, "upn_domain": "s.lempaala.fi",
                 "graph": graph, "exclusion_group_ids": [gid(90)],
                 "schools": [school("saaksjarvi", 0), school("kuokkala", 10)]},
                {"key": "vesilahti", "name": "Vesilahti", "tenant_id": TENANT, "upn_domain": "s.vesilahti.fi",
                 "graph": graph, "exclusion_group_ids": [gid(91)], "schools": [school("narva", 20)]},
            ]
        }
    )


@dataclass(frozen=True)
class Person:
    account_enabled: bool = True
    user_type: str | None = "Member"
    employee_hire_date: datetime | None = None


def classify(person: Person, *groups: int, global_groups: tuple[str, ...] = ()) -> list[Placement]:
    idx = GroupIndex.for_tenant(region(), TENANT, global_groups)
    for g in groups:
        idx.mark(gid(g), ["u1"])
    return list(idx.classify("u1", person, NOW).placements)


def test_a_teacher_in_the_staff_group_is_staff_and_counted() -> None:
    assert classify(Person(), 1) == [Placement("lempaala", "saaksjarvi", "staff", None)]


def test_a_pupil_is_a_pupil_and_a_user_in_no_school_group_is_other() -> None:
    assert classify(Person(), 2) == [Placement("lempaala", "saaksjarvi", "pupil", None)]
    idx = GroupIndex.for_tenant(region(), TENANT)
    c = idx.classify("nobody", Person(), NOW)
    assert c.placements == () and c.role == "other" and c.user_reason is None


def test_substitute_group_wins_over_staff_and_staff_over_pupil() -> None:
    assert classify(Person(), 1, 2, 3) == [Placement("lempaala", "saaksjarvi", "substitute", None)]
    assert classify(Person(), 1, 2) == [Placement("lempaala", "saaksjarvi", "staff", None)]


def test_a_user_may_belong_to_several_schools_with_a_role_at_each() -> None:
    assert classify(Person(), 1, 13, 22) == [
        Placement("lempaala", "saaksjarvi", "staff", None),
        Placement("lempaala", "kuokkala", "substitute", None),
        Placement("vesilahti", "narva", "pupil", None),
    ]


def test_disabled_wins_over_every_other_reason() -> None:
    person = Person(account_enabled=False, user_type="Guest")
    assert classify(person, 1, 90) == [Placement("lempaala", "saaksjarvi", "staff", "disabled")]


def test_guest_is_case_insensitive_and_comes_before_exclusion_groups() -> None:
    assert classify(Person(user_type="guest"), 1, 90)[0].excluded_reason == "guest"
    assert classify(Person(user_type="GUEST"), 1)[0].excluded_reason == "guest"


def test_exclusion_group_of_the_rows_municipality_or_global_excludes() -> None:
    # Lempäälä's exclusion group: excluded at Lempäälä schools, counted at Vesilahti's
    assert classify(Person(), 1, 21, 90) == [
        Placement("lempaala", "saaksjarvi", "staff", "excluded_group"),
        Placement("vesilahti", "narva", "staff", None),
    ]
    glob = gid(99)
    assert classify(Person(), 21, 99, global_groups=(glob,)) == [
        Placement("vesilahti", "narva", "staff", "excluded_group")
    ]


def test_user_level_reason_knows_every_exclusion_group_of_the_tenant() -> None:
    idx = GroupIndex.for_tenant(region(), TENANT)
    idx.mark(gid(91), ["room"])  # a room mailbox in no school
    assert idx.classify("room", Person(), NOW).user_reason == "excluded_group"


def test_substitute_whose_period_has_not_started_is_excluded_only_where_substitute() -> None:
    later = Person(employee_hire_date=NOW + timedelta(days=3))
    assert classify(later, 3, 11) == [
        Placement("lempaala", "saaksjarvi", "substitute", "not_started"),
        Placement("lempaala", "kuokkala", "staff", None),
    ]
    started = Person(employee_hire_date=NOW - timedelta(minutes=1))
    assert classify(started, 3)[0].excluded_reason is None
    assert classify(Person(employee_hire_date=None), 3)[0].excluded_reason is None


def test_nested_groups_are_read_transitively_by_the_sync_so_marking_any_configured_group_counts() -> None:
    idx = GroupIndex.for_tenant(region(), TENANT)
    idx.mark(gid(500), ["u1"])  # not a configured group: ignored
    assert idx.classify("u1", Person(), NOW).placements == ()
    assert gid(1) in idx.group_ids and gid(90) in idx.group_ids and gid(500) not in idx.group_ids
