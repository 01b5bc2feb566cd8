"""The region generator: determinism, realism, ground-truth sanity, sign-ins consistent with the truth,
and the MFA trend (served over HTTP and the 100 000-user budget: tests/integration/emulator)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from idops.emulator.generator import GeneratedRegion, generate_region
from idops.emulator.render import user_getter
from tests.support.emulator import NOW, load_config, sample_region


@pytest.fixture(scope="module")
def gen() -> GeneratedRegion:
    return sample_region()


def _fingerprint(g: GeneratedRegion) -> list[tuple[str, str, bool, int]]:
    return [
        (u.id, u.user_principal_name, u.account_enabled, u.reg_flags)
        for t in g.state.tenants.values()
        for u in t.users.values()
    ]


def test_same_seed_same_region_other_seed_differs(gen: GeneratedRegion) -> None:
    region, apps = load_config()
    again = generate_region(region, apps, seed=7, users_per_tenant=400, now=NOW)
    other = generate_region(region, apps, seed=8, users_per_tenant=400, now=NOW)
    assert _fingerprint(again) == _fingerprint(gen) != _fingerprint(other)
    assert again.truth.mfa == gen.truth.mfa
    assert again.truth.region == gen.truth.region
    tid = gen.tenant_ids[0]
    day = [r.id for r in again.state.tenants[tid].signin_source.day(3)]  # type: ignore[union-attr]
    assert day == [r.id for r in gen.state.tenants[tid].signin_source.day(3)]  # type: ignore[union-attr]


def test_upns_are_ascii_and_in_verified_domains(gen: GeneratedRegion) -> None:
    for t in gen.state.tenants.values():
        for u in t.users.values():
            _local, dom = u.user_principal_name.split("@")
            assert u.user_principal_name.isascii()
            assert dom.lower() in t.domains
    names = " ".join(u.display_name for t in gen.state.tenants.values() for u in t.users.values())
    assert "ä" in names
    assert any(s in names for s in ("Nguyễn", "Warsame", "Aikio", "Åberg"))


def test_tenants_shared_and_non_premium(gen: GeneratedRegion) -> None:
    region, _ = load_config()
    assert len(gen.tenant_ids) == len({m["tenant_id"] for m in region["municipalities"]})
    assert list(gen.truth.premium.values()).count(False) == 1
    np_tid = next(t for t, p in gen.truth.premium.items() if not p)
    assert gen.state.tenants[np_tid].signin_source is None


def test_mfa_truth_rows_add_up_and_are_uneven(gen: GeneratedRegion) -> None:
    region, _ = load_config()
    rows = gen.truth.mfa
    assert len(rows) == 3 * sum(len(m["schools"]) for m in region["municipalities"])
    for row in rows.values():
        assert row.total >= row.registered >= row.capable >= row.passwordless_capable >= 0
    staff = [
        r.registered_share
        for r in rows.values()
        if r.role == "staff"
        and r.registered_share is not None
        and gen.truth.premium[_tenant(region, r.municipality)]
    ]
    pupils = [
        r.registered_share
        for r in rows.values()
        if r.role == "pupil"
        and r.registered_share is not None
        and gen.truth.premium[_tenant(region, r.municipality)]
    ]
    assert sum(staff) / len(staff) > sum(pupils) / len(pupils)
    assert max(staff) - min(staff) > 0.2
    excluded = {
        k: sum(r.excluded[k] for r in rows.values())
        for k in ("disabled", "guest", "excluded_group", "not_started")
    }
    assert all(v > 0 for v in excluded.values()), excluded


def _tenant(region: dict[str, object], muni: str) -> str:
    return next(str(m["tenant_id"]) for m in region["municipalities"] if m["key"] == muni)  # type: ignore[attr-defined,index]


def test_mfa_truth_matches_a_count_over_group_members_and_report(gen: GeneratedRegion) -> None:
    """Recount one row straight from the state (transitive members, exclusion group, report flags)."""
    region, _ = load_config()
    m = region["municipalities"][0]
    s = m["schools"][0]
    t = gen.state.tenants[m["tenant_id"]]
    staff = set(t.transitive_members(s["staff_group_ids"][0])) & set(t.users)
    subs = set(t.transitive_members(s["substitute_group_ids"][0]))
    excl = set(t.transitive_members(m["exclusion_group_ids"][0]))
    included = [
        t.users[i]
        for i in staff - subs
        if t.users[i].account_enabled and t.users[i].user_type == "Member" and i not in excl
    ]
    row = gen.truth.mfa[(m["key"], s["key"], "staff")]
    assert row.total == len(included)
    assert row.registered == sum(1 for u in included if u.reg_flags & 1)


def test_coverage_truth_is_consistent(gen: GeneratedRegion) -> None:
    region_cov = gen.truth.region
    assert region_cov is not None
    assert 0 < region_cov.single_account_persons < region_cov.staff_persons
    for muni, cov in gen.truth.municipality.items():
        schools = [c for (m, _), c in gen.truth.school.items() if m == muni]
        assert cov.staff_persons <= sum(c.staff_persons for c in schools)
        assert cov.headline_persons <= cov.single_account_persons
        assert set(cov.apps_in_use) == set().union(*(set(c.apps_in_use) for c in schools))
    assert gen.truth.municipality["tampere"].headline == 0  # Helmi is a separate account
    assert (
        gen.truth.municipality["pirkkala"].headline
        == gen.truth.municipality["pirkkala"].multiplicity_coverage
    )
    assert "wilma" in gen.truth.municipality["pirkkala"].single_login_apps
    assert "wilma" not in gen.truth.municipality["nokia"].single_login_apps


def test_people_with_accounts_in_two_tenants(gen: GeneratedRegion) -> None:
    seen: dict[str, list[bool]] = {}
    for t in gen.state.tenants.values():
        for u in t.users.values():
            if u.employee_id:
                seen.setdefault(u.employee_id, []).append(u.account_enabled)
    multi = [v for v in seen.values() if len(v) > 1]
    assert any(all(v) for v in multi)
    assert any(not all(v) for v in multi)


def test_sign_in_log_realises_exactly_the_usage_behind_the_truth(gen: GeneratedRegion) -> None:
    for tid in gen.tenant_ids:
        src = gen.state.tenants[tid].signin_source
        if src is None:
            continue
        used: dict[str, set[str]] = {}
        for d in range(src.day_count()):
            for r in src.day(d):
                used.setdefault(r.user_id, set()).add(r.app_id)
                assert r.created < NOW
                assert r.created >= NOW - timedelta(days=30)
        assert used == gen.usage[tid]


def test_advance_registration_raises_registered_counts() -> None:
    region, apps = load_config()
    g = generate_region(region, apps, seed=3, users_per_tenant=300, now=NOW)
    before = sum(r.registered for r in g.truth.mfa.values())
    day1 = g.advance_registration(1)
    day2 = g.advance_registration(2)
    after1, after2 = (sum(r.registered for r in t.mfa.values()) for t in (day1, day2))
    assert before < after1 < after2
    assert day2.as_of == NOW + timedelta(days=2)
    # staff and pupil denominators stay; substitutes start as their hire dates pass
    assert all(
        a.total == b.total
        for a, b in zip(day1.mfa.values(), day2.mfa.values(), strict=True)
        if a.role != "substitute"
    )
    subs = [sum(r.total for r in t.mfa.values() if r.role == "substitute") for t in (g.truth, day2)]
    assert subs[0] <= subs[1]


def test_generated_users_match_filters_the_product_sends(gen: GeneratedRegion) -> None:
    from idops.emulator.odata import evaluate, parse_filter

    node = parse_filter("employeeType eq 'Substitute' and employeeHireDate ge 2026-03-02T08:00:00Z")
    hits = [u for t in gen.state.tenants.values() for u in t.users.values() if evaluate(node, user_getter(u))]
    assert hits
    assert all(u.employee_hire_date and u.employee_hire_date >= NOW for u in hits)
