"""``idops config check --online`` on the in-memory fake: the token's tenant, permissions proven by a
read or by the token's roles, premium-only reports, and what counts as a failure."""

from __future__ import annotations

from collections.abc import Callable

from idops.config import Config
from idops.graph.fake import FakeDirectory, FakeDirectoryProvider
from idops.graph.onboarding import Status, TenantResult, check_online, render

TAMPERE = "2b9fbc3d-6284-566a-9f9c-8c8e78852612"
ORIVESI = "4c7b364f-fae1-5437-8ac1-a4dc8c5c22c1"
PIRKKALA = "d7b3331e-f1bd-5948-b90a-98052fad4f2a"


def statuses(result: TenantResult) -> dict[str, Status]:
    return {r.label: r.status for r in result.results}


def by_tenant(results: list[TenantResult]) -> dict[str, TenantResult]:
    return {r.tenant_id: r for r in results}


async def test_a_fully_granted_region_passes(config: Config) -> None:
    results = await check_online(config, FakeDirectoryProvider.for_region(config.region))
    assert not any(r.failed for r in results)
    assert {s for r in results for s in statuses(r).values()} == {Status.OK}
    assert "7 of 7 tenants OK" in render(results)


async def test_a_withdrawn_write_is_missing_from_the_token_and_fails_the_check(config: Config) -> None:
    directories = FakeDirectoryProvider.for_region(config.region)
    directories.for_tenant(TAMPERE).withdraw("Mail.Send")
    directories.for_tenant(ORIVESI).state.premium = False
    results = by_tenant(await check_online(config, directories))
    assert statuses(results[TAMPERE])["Mail.Send"] is Status.MISSING
    assert results[TAMPERE].failed
    orivesi = statuses(results[ORIVESI])
    assert orivesi["AuditLog.Read.All (registration_report)"] is Status.PREMIUM_REQUIRED
    assert orivesi["AuditLog.Read.All (sign_ins)"] is Status.PREMIUM_REQUIRED
    assert not results[ORIVESI].failed  # no P1/P2 makes numbers unavailable; it is no mistake to fix
    table = render(list(results.values()))
    assert "principals get no e-mail about ending accounts" in table
    assert f"problems in {TAMPERE}" in table


async def test_a_disabled_feature_needs_no_permission(make_config: Callable[..., Config]) -> None:
    config = make_config(substitutes={"set_leave_date": False})
    directories = FakeDirectoryProvider.for_region(config.region)
    directories.for_tenant(TAMPERE).withdraw("User-LifeCycleInfo.ReadWrite.All")
    result = by_tenant(await check_online(config, directories))[TAMPERE]
    assert "User-LifeCycleInfo.ReadWrite.All" not in statuses(result)
    assert not result.failed


async def test_a_credential_whose_token_is_for_another_tenant_fails(config: Config) -> None:
    fakes = FakeDirectoryProvider.for_region(config.region)
    wrong = {tid: fakes.for_tenant(tid) for tid in fakes.tenant_ids}
    wrong[TAMPERE] = FakeDirectory(PIRKKALA)  # e.g. a managed identity whose home is Pirkkala
    result = by_tenant(await check_online(config, FakeDirectoryProvider(wrong)))[TAMPERE]
    assert result.failed and result.results == []
    assert result.token_problem is not None and f"for tenant {PIRKKALA}, not {TAMPERE}" in result.token_problem
