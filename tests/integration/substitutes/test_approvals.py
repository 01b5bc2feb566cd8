"""Approvals over HTTP against the emulator: 202 ``awaiting_approval``, ``/v1/approvals`` for the
municipality's IT admins only, approve → the account exists in the emulator, deny → the principal sees
the reason."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import pytest

from idops.config import Config
from idops.emulator.state import EmulatorState
from tests.integration.substitutes.conftest import SCHOOL, Api


@pytest.fixture
def sub_config(make_config: Callable[..., Config]) -> Config:
    return make_config(
        graph={"max_backoff_seconds": 0.2, "replication_wait_seconds": 5.0},
        policy={"on_limit": "approval"},
    )


async def test_requests_over_a_limit_wait_for_the_municipalitys_it_admin(api: Api, region_state: EmulatorState) -> None:
    # 70 days ahead is over max_lead_days (60): recorded, not refused
    first = await api.request(starts=timedelta(days=70), days=3)
    second = await api.request(starts=timedelta(days=70), days=3, given="Bertta", surname="Björk")
    assert first.status_code == second.status_code == 202, first.text
    waiting = first.json()
    assert (waiting["status"], waiting["approval_limits"]) == ("awaiting_approval", ["max_lead_days"])
    tenant = region_state.tenants[api.tenant()]
    assert waiting["user_principal_name"].lower() not in tenant.upn_index

    mine = await api.client.get("/v1/approvals", headers=api.admin("tampere"))
    assert mine.status_code == 200
    assert {s["id"] for s in mine.json()["items"]} == {waiting["id"], second.json()["id"]}
    foreign = await api.client.get("/v1/approvals", headers=api.admin("pirkkala"))
    assert foreign.status_code == 200 and foreign.json()["items"] == []
    assert (await api.client.get("/v1/approvals", headers=api.principal())).status_code == 403

    approve = f"/v1/approvals/{waiting['id']}/approve"
    assert (await api.client.post(approve, headers=api.admin("pirkkala"))).status_code == 404
    assert (await api.client.post(approve, headers=api.principal())).status_code == 403
    done = await api.client.post(approve, json={"reason": "leirikoulu"}, headers=api.admin("tampere"))
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "scheduled"
    assert waiting["user_principal_name"].lower() in tenant.upn_index  # the account exists now
    assert (await api.client.post(approve, headers=api.admin("tampere"))).status_code == 409

    deny = f"/v1/approvals/{second.json()['id']}/deny"
    assert (await api.client.post(deny, json={}, headers=api.admin("tampere"))).status_code == 422
    denied = await api.client.post(deny, json={"reason": "ei budjettia"}, headers=api.admin("tampere"))
    assert denied.status_code == 200
    seen = await api.client.get(f"/v1/substitutes/{second.json()['id']}", headers=api.principal(SCHOOL))
    assert (seen.json()["status"], seen.json()["decision_reason"]) == ("denied", "ei budjettia")


async def test_the_approvals_page_decides_and_the_principal_sees_the_denial(api: Api) -> None:
    ids = []
    for given in ("Aino", "Bertta"):
        r = await api.request(starts=timedelta(days=70), days=3, given=given)
        assert r.status_code == 202
        ids.append(r.json()["id"])

    async def sign_in(who: str) -> None:
        page = await api.client.get("/sign-in")
        done = await api.client.post("/sign-in/demo", data={"csrf": csrf(page.text), "who": who})
        assert done.status_code == 303

    await sign_in("itadmin:tampere")
    page = await api.client.get("/admin/approvals")
    assert page.status_code == 200
    assert all(f'data-id="{i}"' in page.text for i in ids) and "pyydetty liian aikaisin" in page.text
    token = csrf(page.text)
    empty = await api.client.post(f"/admin/approvals/{ids[1]}/deny", data={"csrf": token, "reason": ""})
    assert empty.status_code == 303
    assert (await api.client.get(f"/v1/substitutes/{ids[1]}", headers=api.principal())).json()["status"] == (
        "awaiting_approval"
    )
    ok = await api.client.post(f"/admin/approvals/{ids[0]}/approve", data={"csrf": token})
    no = await api.client.post(f"/admin/approvals/{ids[1]}/deny", data={"csrf": token, "reason": "ei budjettia"})
    assert ok.status_code == no.status_code == 303
    after = await api.client.get("/admin/approvals")
    assert 'id="no-approvals"' in after.text

    await api.client.post("/sign-out", data={"csrf": csrf(after.text)})
    await sign_in("principal:tampere/hervanta")
    denied = await api.client.get(f"/substitutes/{ids[1]}")
    assert "Kunnan tietohallinto hylkäsi pyynnön: ei budjettia" in denied.text
    approved = await api.client.get(f"/v1/substitutes/{ids[0]}", headers=api.principal())
    assert approved.json()["status"] == "scheduled"


def csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found
    return found.group(1)
