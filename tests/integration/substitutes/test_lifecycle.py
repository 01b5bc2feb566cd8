"""The whole lifecycle through the API, asserting the emulator's state at every step."""

from __future__ import annotations

from datetime import timedelta

from tests.integration.substitutes.conftest import SCHOOL, Api


def entra_user(api: Api, upn: str) -> object:
    user = api.emulator.state.user_by_upn(api.tenant(), upn)
    assert user is not None, f"{upn} not in the emulator"
    return user


async def test_immediate_start_lifecycle(api: Api) -> None:
    school = api.container.config.region.school(SCHOOL)
    assert school is not None
    _, sch = school
    r = await api.request(days=3)
    assert r.status_code == 201, r.text
    sub = r.json()
    assert sub["status"] == "active"
    assert sub["user_principal_name"] == "aino.aijala@sijaiset.tampere.fi"
    assert sub["display_name"] == "Aino Äijälä (sijainen)"
    user = entra_user(api, sub["user_principal_name"])
    assert user.account_enabled is True  # type: ignore[attr-defined]
    tenant = api.emulator.state.tenant(api.tenant())
    for gid in sch.substitute_group_ids:
        assert user.id in tenant.groups[gid].members  # type: ignore[attr-defined]
    assert {s for s, _ in user.licenses} == set(sch.licence_sku_ids)  # type: ignore[attr-defined]

    tap = await api.client.post(f"/v1/substitutes/{sub['id']}/access-pass", headers=api.principal())
    assert tap.status_code == 200, tap.text
    assert tap.headers["cache-control"] == "no-store"
    assert len(tap.json()["temporary_access_pass"]) >= 8

    api.clock.advance(timedelta(days=3, minutes=1))
    await api.run_job("expire")
    got = (await api.client.get(f"/v1/substitutes/{sub['id']}", headers=api.principal())).json()
    assert got["status"] == "expired"
    assert user.account_enabled is False  # type: ignore[attr-defined]
    assert all(user.id not in tenant.groups[g].members for g in sch.substitute_group_ids)  # type: ignore[attr-defined]
    assert not user.licenses  # type: ignore[attr-defined]

    api.clock.advance(timedelta(days=8))
    await api.run_job("purge")
    got = (await api.client.get(f"/v1/substitutes/{sub['id']}", headers=api.principal())).json()
    assert got["status"] == "deleted"
    assert api.emulator.state.user_by_upn(api.tenant(), sub["user_principal_name"]) is None

    events = (await api.client.get(f"/v1/substitutes/{sub['id']}/events", headers=api.principal())).json()
    actions = [e["action"] for e in events["items"]]
    assert actions == ["requested", "account_created", "provisioned", "temporary_access_pass_issued",
                       "expired", "deleted"]


async def test_future_start_is_scheduled_then_activated(api: Api) -> None:
    r = await api.request(starts=timedelta(days=2), days=5, given="Pär", surname="Öhman-Ström")
    assert r.status_code == 201, r.text
    sub = r.json()
    assert sub["status"] == "scheduled"
    user = entra_user(api, sub["user_principal_name"])
    assert user.account_enabled is False  # type: ignore[attr-defined]

    api.clock.advance(timedelta(days=2, seconds=1))
    await api.run_job("activate")
    assert (await api.client.get(f"/v1/substitutes/{sub['id']}", headers=api.principal())).json()["status"] == "active"
    assert user.account_enabled is True  # type: ignore[attr-defined]

    r = await api.client.post(f"/v1/substitutes/{sub['id']}/revoke", headers=api.principal())
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "revoked"
    assert user.account_enabled is False  # type: ignore[attr-defined]
