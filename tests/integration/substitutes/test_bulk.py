"""Bulk over HTTP against the emulator (issue 16's acceptance): 14 requests for a school with quota 10 →
10 provisioned and 4 awaiting approval, results in request order; the same key again returns the same
results and creates nothing."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any

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


def item(api: Api, i: int) -> dict[str, Any]:
    start = api.clock.now() + timedelta(hours=1)
    return {"school": SCHOOL, "given_name": f"Aino{chr(65 + i)}", "surname": "Flunssa",
            "starts_at": start.isoformat(), "ends_at": (start + timedelta(days=5)).isoformat()}


async def test_fourteen_over_a_quota_of_ten_and_a_retry_creates_nothing(api: Api, region_state: EmulatorState) -> None:
    found = api.container.config.region.school(SCHOOL)
    assert found is not None and api.container.config.policy_for(*found).quota == 10
    body = {"items": [item(api, i) for i in range(14)]}
    headers = {**api.principal(), "Idempotency-Key": "flunssaviikko-48"}
    api.emulator.log.clear()
    r = await api.client.post("/v1/substitutes/bulk", json=body, headers=headers)
    assert r.status_code == 200, r.text
    # over the adapter: an account each, then all 10 group adds in one $batch (the periods start later, so
    # no licence yet: licence_while = "active") — 11 round trips where one request at a time took 20
    trips = Counter((e.method, e.path) for e in api.emulator.log.snapshot() if not e.in_batch)
    assert trips == Counter({("POST", "/v1.0/users"): 10, ("POST", "/v1.0/$batch"): 1})
    assert api.emulator.log.count("POST", "/v1.0/groups/", in_batch=True) == 10
    results = r.json()["results"]
    assert [x["index"] for x in results] == list(range(14))
    assert [x["status"] for x in results] == [201] * 10 + [202] * 4
    assert [x["substitute"]["status"] for x in results] == ["scheduled"] * 10 + ["awaiting_approval"] * 4
    tenant = region_state.tenants[api.tenant()]
    upns = [x["substitute"]["user_principal_name"].lower() for x in results]
    assert all(u in tenant.upn_index for u in upns[:10]) and not any(u in tenant.upn_index for u in upns[10:])
    users = len(tenant.users)

    again = await api.client.post("/v1/substitutes/bulk", json=body, headers=headers)
    assert again.status_code == 200
    assert [x["substitute"]["id"] for x in again.json()["results"]] == [x["substitute"]["id"] for x in results]
    assert [x["status"] for x in again.json()["results"]] == [200] * 10 + [202] * 4
    assert len(tenant.users) == users

    # one broken item is its own problem; the others go on
    broken = {"items": [item(api, 20), {**item(api, 21), "ends_at": api.clock.now().isoformat()}]}
    mixed = await api.client.post("/v1/substitutes/bulk", json=broken, headers=api.principal())
    assert [x["status"] for x in mixed.json()["results"]] == [202, 422]
    assert mixed.json()["results"][1]["problem"]["errors"][0]["loc"] == ["body", "ends_at"]
    too_many = await api.client.post("/v1/substitutes/bulk", json={"items": [item(api, 0)] * 51},
                                     headers=api.principal())
    assert too_many.status_code == 422


async def test_the_bulk_page_requests_pasted_rows_and_shows_a_result_per_row(api: Api) -> None:
    page = await api.client.get("/sign-in")
    await api.client.post("/sign-in/demo", data={"csrf": field(page.text, "csrf"), "who": "principal:tampere/hervanta"})
    school = await api.client.get(f"/schools/{SCHOOL}")
    assert 'id="bulk-link"' in school.text
    form = await api.client.get(f"/schools/{SCHOOL}/bulk")
    assert form.status_code == 200
    pasted = "Aino Äijälä; 1.12.2026; 3.12.2026\nBertta\nCeline Carlsson\t2.12.2026 9.00\t4.12.2026\n"
    data = {"csrf": field(form.text, "csrf"), "idempotency_key": field(form.text, "idempotency_key"), "rows": pasted}
    done = await api.client.post(f"/schools/{SCHOOL}/bulk", data=data)
    assert done.status_code == 200, done.text
    cells = re.findall(r'<tr data-line="(\d+)">.*?</tr>', done.text, re.S)
    assert cells == ["1", "2", "3"]
    assert done.text.count("/substitutes/") >= 2 and "Nimeä ei voitu lukea" in done.text
    listed = await api.client.get("/v1/substitutes", headers=api.principal())
    assert sorted(s["display_name"] for s in listed.json()["items"]) == [
        "Aino Äijälä (sijainen)", "Celine Carlsson (sijainen)",
    ]
    again = await api.client.post(f"/schools/{SCHOOL}/bulk", data=data)  # a re-sent form creates nothing
    assert again.status_code == 200
    assert len((await api.client.get("/v1/substitutes", headers=api.principal())).json()["items"]) == 2

    # the form's rows: "add row" without JavaScript keeps what was typed and adds one; a row that failed
    # comes back into the form to be corrected, the others do not
    grid = {"csrf": field(again.text, "csrf"), "idempotency_key": field(again.text, "idempotency_key"),
            "row_name": ["Daniel Dahl", "Eero"], "row_start": ["2.12.2026", "2.12.2026"],
            "row_end": ["3.12.2026", "3.12.2026"]}
    longer = await api.client.post(f"/schools/{SCHOOL}/bulk", data={**grid, "add_row": "1"})
    assert longer.text.count('name="row_name"') == 3 and 'value="Daniel Dahl"' in longer.text
    assert len((await api.client.get("/v1/substitutes", headers=api.principal())).json()["items"]) == 2
    sent = await api.client.post(f"/schools/{SCHOOL}/bulk", data={**grid, "row_name": ["Daniel Dahl", "Eero", ""],
                                                                   "row_start": ["2.12.2026", "2.12.2026", ""],
                                                                   "row_end": ["3.12.2026", "3.12.2026", ""]})
    assert re.findall(r'<tr data-line="(\d+)">', sent.text) == ["1", "2"]
    assert re.findall(r'name="row_name" value="([^"]*)"', sent.text) == ["Eero"]
    assert len((await api.client.get("/v1/substitutes", headers=api.principal())).json()["items"]) == 3


def field(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]+)"', html)
    assert found, name
    return found.group(1)
