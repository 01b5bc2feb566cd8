"""Reconcile repairs drift between Entra and idops: hand re-enabled accounts, orphans, deletions."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from idops.audit.models import AuditEvent
from idops.substitutes.models import OrphanAccount
from tests.integration.substitutes.conftest import Api
from tests.integration.substitutes.invariants import MARKER


async def audit_of(api: Api, subject_type: str, subject_id: str) -> list[AuditEvent]:
    async with api.container.database.session() as s:
        rows = await s.scalars(select(AuditEvent).where(AuditEvent.subject_type == subject_type,
                                                        AuditEvent.subject_id == subject_id))
        return list(rows)


async def expired_substitute(api: Api) -> dict[str, str]:
    r = await api.request(days=1)
    assert r.status_code == 201, r.text
    api.clock.advance(timedelta(days=1, minutes=1))
    assert (await api.run_job("expire"))["counts"] == {"expired": 1}
    sub: dict[str, str] = (await api.client.get(f"/v1/substitutes/{r.json()['id']}", headers=api.principal())).json()
    assert sub["status"] == "expired"
    return sub


async def test_an_expired_account_re_enabled_by_hand_is_disabled_again_with_an_audit_event(api: Api) -> None:
    sub = await expired_substitute(api)
    user = api.emulator.state.user_by_upn(api.tenant(), sub["user_principal_name"])
    assert user is not None and user.account_enabled is False
    api.emulator.state.set_enabled(api.tenant(), user.id, True)  # someone at the help desk

    run = await api.run_job("reconcile")

    assert run["counts"].get("re_disabled") == 1
    assert user.account_enabled is False
    assert user.sign_in_sessions_valid_from == api.clock.now()  # sessions of the hand re-enabled account revoked
    events = await audit_of(api, "person", sub["person_id"])
    assert [(e.action, e.actor) for e in events] == [("re_disabled", "job:reconcile")]
    again = await api.run_job("reconcile")  # nothing left to repair: no second event
    assert "re_disabled" not in again["counts"]
    assert len(await audit_of(api, "person", sub["person_id"])) == 1


async def test_a_running_account_is_left_enabled_by_reconcile(api: Api) -> None:
    r = await api.request(days=3)
    user = api.emulator.state.user_by_upn(api.tenant(), r.json()["user_principal_name"])
    run = await api.run_job("reconcile")
    assert run["counts"] == {}
    assert user is not None and user.account_enabled is True


async def test_a_marked_account_unknown_to_idops_is_reported_and_disabled_by_default(api: Api) -> None:
    assert api.container.config.settings.policy.orphan_action == "disable"
    ghost = api.emulator.state.add_user(
        api.tenant(), "ghost.teacher@sijaiset.tampere.fi", "Ghost Teacher (sijainen)", account_enabled=True,
        ext={MARKER[0]: MARKER[1]},
    )
    unmarked = api.emulator.state.add_user(api.tenant(), "not.ours@sijaiset.tampere.fi", account_enabled=True)

    run = await api.run_job("reconcile")

    assert run["counts"].get("orphans_found") == 1 and run["counts"].get("orphan_disabled") == 1
    assert ghost.account_enabled is False
    assert unmarked.account_enabled is True  # only marked accounts are idops' business
    async with api.container.database.session() as s:
        orphans = list(await s.scalars(select(OrphanAccount)))
    assert [(o.entra_user_id, o.user_principal_name) for o in orphans] == [(ghost.id, ghost.user_principal_name)]
    assert [e.action for e in await audit_of(api, "orphan", ghost.id)] == ["orphan_found", "orphan_disabled"]

    again = await api.run_job("reconcile")  # reported once, not on every run
    assert again["counts"] == {}
    assert len(await audit_of(api, "orphan", ghost.id)) == 2


async def test_an_orphan_is_only_reported_when_policy_says_report(api: Api) -> None:
    api.container.config.settings.policy.orphan_action = "report"
    ghost = api.emulator.state.add_user(api.tenant(), "ghost2@sijaiset.tampere.fi", account_enabled=True,
                                        ext={MARKER[0]: MARKER[1]})
    run = await api.run_job("reconcile")
    assert run["counts"] == {"orphans_found": 1}
    assert ghost.account_enabled is True


async def test_a_live_period_whose_account_was_deleted_in_entra_becomes_missing(api: Api) -> None:
    r = await api.request(starts=timedelta(days=1), days=3)
    sub = r.json()
    assert sub["status"] == "scheduled"
    user = api.emulator.state.user_by_upn(api.tenant(), sub["user_principal_name"])
    assert user is not None
    await api.container.directories.for_tenant(api.tenant()).delete_user(user.id)  # deleted by hand

    run = await api.run_job("reconcile")

    assert run["counts"] == {"missing": 1}
    got = (await api.client.get(f"/v1/substitutes/{sub['id']}", headers=api.principal())).json()
    assert got["status"] == "missing"
    events = [e["action"] for e in
              (await api.client.get(f"/v1/substitutes/{sub['id']}/events", headers=api.principal())).json()["items"]]
    assert events[-1] == "missing" and events.count("missing") == 1
    api.clock.advance(timedelta(days=1, seconds=1))
    assert "activated" not in (await api.run_job("activate"))["counts"]  # a missing period is not activated
