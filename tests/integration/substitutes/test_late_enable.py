"""An enabling write that lands after expiry (provisioning in flight when the period ended, its process
killed before it could notice) is undone by the next expire run — not only by the hourly reconcile."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from idops.audit.models import AuditEvent
from idops.substitutes.ending import RECHECK_AFTER_END
from idops.substitutes.models import SubstitutePerson
from tests.integration.substitutes.conftest import Api
from tests.integration.substitutes.test_reconcile import expired_substitute


async def person_events(api: Api, person_id: str) -> list[tuple[str, str]]:
    async with api.container.database.session() as s:
        rows = await s.scalars(select(AuditEvent).where(AuditEvent.subject_type == "person",
                                                        AuditEvent.subject_id == person_id))
        return [(e.action, e.actor) for e in rows]


async def test_an_account_enabled_again_just_after_its_end_is_disabled_by_the_next_expire_run(api: Api) -> None:
    sub = await expired_substitute(api)
    user = api.emulator.state.user_by_upn(api.tenant(), sub["user_principal_name"])
    assert user is not None and user.account_enabled is False
    api.clock.advance(timedelta(seconds=30))
    api.emulator.state.set_enabled(api.tenant(), user.id, True)  # provisioning's late write lands

    run = await api.run_job("expire")

    assert run["counts"] == {"re_disabled": 1}
    assert user.account_enabled is False
    assert user.sign_in_sessions_valid_from == api.clock.now()
    assert await person_events(api, sub["person_id"]) == [("re_disabled", "job:expire")]
    again = await api.run_job("expire")  # nothing left: no second event
    assert again["counts"] == {}
    assert len(await person_events(api, sub["person_id"])) == 1


async def test_an_account_whose_creation_was_never_recorded_is_found_by_its_employee_id(api: Api) -> None:
    sub = await expired_substitute(api)
    user = api.emulator.state.user_by_upn(api.tenant(), sub["user_principal_name"])
    assert user is not None and user.employee_id == sub["person_id"]
    async with api.container.database.session() as s:  # expiry found no account: the create had not landed yet
        person = await s.get(SubstitutePerson, sub["person_id"])
        assert person is not None
        person.entra_user_id = None
    api.emulator.state.set_enabled(api.tenant(), user.id, True)  # …then it did, enabled

    run = await api.run_job("expire")

    assert run["counts"] == {"re_disabled": 1}
    assert user.account_enabled is False


async def test_a_running_period_of_the_same_person_keeps_the_account_enabled(api: Api) -> None:
    first = await api.request(days=1)
    assert first.status_code == 201, first.text
    second = await api.request(days=5, person_id=first.json()["person_id"], school="tampere/kaleva")
    assert second.status_code == 201, second.text
    api.clock.advance(timedelta(days=1, minutes=1))

    run = await api.run_job("expire")

    assert run["counts"] == {"expired": 1}
    user = api.emulator.state.user_by_upn(api.tenant(), first.json()["user_principal_name"])
    assert user is not None and user.account_enabled is True  # the second substitution is still running


async def test_older_ends_are_left_to_reconcile(api: Api) -> None:
    sub = await expired_substitute(api)
    user = api.emulator.state.user_by_upn(api.tenant(), sub["user_principal_name"])
    assert user is not None
    api.clock.advance(RECHECK_AFTER_END + timedelta(seconds=1))
    api.emulator.state.set_enabled(api.tenant(), user.id, True)  # by hand at the help desk, later on

    assert (await api.run_job("expire"))["counts"] == {}  # the expire job stays cheap …
    assert (await api.run_job("reconcile"))["counts"] == {"re_disabled": 1}  # … reconcile repairs drift
    assert user.account_enabled is False
