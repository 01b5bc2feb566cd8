"""``POST /v1/jobs/{name}/run`` while a run holds the lease: 409 naming the running run (never 200
"skipped"), or with ``?wait=true`` that run when it ends; the page's button says the job is running."""

from __future__ import annotations

import asyncio
from datetime import datetime

from idops.jobruntime.spec import JobSpec, cron
from tests.conftest import bearer
from tests.observability.conftest import Harness

RELEASE = asyncio.Event()
STARTED = asyncio.Event()


async def run(_c: object) -> dict[str, int]:
    """The held job: runs until the test releases it."""
    STARTED.set()
    await RELEASE.wait()
    return {"waited": 1}


async def test_a_second_run_while_one_holds_the_lease_is_409_and_wait_joins_the_running_one(
    harness: Harness,
) -> None:
    h = harness
    RELEASE.clear()
    STARTED.clear()
    h.c.jobs = {**h.c.jobs, "held": JobSpec("held", "waits for the test", cron("0 0 1 1 *"), module=__name__)}
    admin = bearer(h.token("RegionAdmin"))

    first = await h.client.post("/v1/jobs/held/run?wait=false", headers=admin)
    assert first.status_code == 202, first.text
    await asyncio.wait_for(STARTED.wait(), 10)

    second = await h.client.post("/v1/jobs/held/run", headers=admin)

    assert second.status_code == 409
    assert second.headers["content-type"] == "application/problem+json"
    problem = second.json()
    assert problem["running_run_id"] == first.json()["id"]
    assert datetime.fromisoformat(problem["running_since"]) == datetime.fromisoformat(first.json()["started_at"])
    assert problem["request_id"] == second.headers["x-request-id"]
    # nothing was recorded for the refused run: the job's runs are the running one only
    listed = {j["name"]: j for j in (await h.client.get("/v1/jobs", headers=admin)).json()["items"]}
    assert listed["held"]["last_run"]["id"] == first.json()["id"]

    # the page: the button says the job is running, and pressing "run now" anyway starts nothing
    await h.sign_in("region")
    page = await h.client.get("/admin/jobs")
    assert f'data-running="{first.json()["id"]}"' in page.text and "Ajo on jo käynnissä" in page.text
    csrf = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    pressed = await h.client.post("/admin/jobs/held/run", data={"csrf": csrf}, follow_redirects=True)
    assert "ajo on jo käynnissä" in pressed.text

    joined = asyncio.create_task(h.client.post("/v1/jobs/held/run?wait=true", headers=admin))
    await asyncio.sleep(0.3)
    assert not joined.done()  # it waits for the running run …
    RELEASE.set()
    answer = await asyncio.wait_for(joined, 10)
    assert answer.status_code == 200
    assert answer.json()["id"] == first.json()["id"] and answer.json()["outcome"] == "succeeded"  # … and is it

    again = await h.client.post("/v1/jobs/held/run?wait=false", headers=admin)  # the lease is free again
    assert again.status_code == 202
    RELEASE.set()
