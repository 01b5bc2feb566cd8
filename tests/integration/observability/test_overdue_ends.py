"""Graph down across a period's end: the overdue end shows on the period, in the run's record, on the IT
admins' pages and in the expiry metrics — and the account is closed once Graph answers again."""

from __future__ import annotations

from datetime import datetime, timedelta

from idops.graph.errors import GraphForbidden
from idops.jobruntime.runner import run_job
from idops.kit.clock import as_utc
from idops.substitutes.models import SubstitutePeriod
from tests.conftest import bearer
from tests.integration.observability.conftest import Harness


def sample(h: Harness, name: str) -> float:
    value = h.c.metrics.registry.get_sample_value(name)
    assert value is not None, name
    return value


async def test_an_end_missed_while_graph_is_down_is_visible_everywhere_and_done_when_it_is_back(
    harness: Harness,
) -> None:
    h = harness
    period_id, user_id = await h.add_active(ends_in=timedelta(hours=1))
    directory = h.directory()
    h.clock.advance(timedelta(hours=1, minutes=5))
    directory.outage()

    run = await run_job(h.c, "expire", trigger="cli")
    admin = bearer(h.token("ItAdmin", municipality="tampere"))

    # the run: partial, with the failures and their reason in its counts and error summary
    assert run.outcome == "partial"
    assert run.counts == {"failed": 1, "failed.GraphUnavailable": 1}
    assert run.error == "1 failed (GraphUnavailable 1)"
    # the period: still active (nothing Graph did not confirm is recorded), overdue since its end
    got = (await h.client.get(f"/v1/substitutes/{period_id}", headers=admin)).json()
    async with h.c.database.session() as s:
        period = await s.get(SubstitutePeriod, period_id)
        assert period is not None
        ends_at = as_utc(period.ends_at)
    assert got["status"] == "active"
    assert got["overdue_since"] is not None and got["end_error"] == "GraphUnavailable"
    assert as_utc(datetime.fromisoformat(got["overdue_since"])) == ends_at
    events = (await h.client.get(f"/v1/substitutes/{period_id}/events", headers=admin)).json()["items"]
    assert [e["action"] for e in events].count("end_overdue") == 1
    # the metrics: five minutes late, one overdue (set by the job: a scrape reads memory only)
    assert sample(h, "idops_expiry_lag_seconds") == 300
    assert sample(h, "idops_overdue_ends") == 1
    assert h.c.metrics.registry.get_sample_value("idops_job_runs_total", {"job_name": "expire",
                                                                         "outcome": "partial"}) == 1
    # the pages: a banner for the municipality's IT admin, the period's page says why
    await h.sign_in("itadmin:tampere")
    page = await h.client.get("/admin/substitutes")
    assert 'id="overdue-ends"' in page.text and f'data-period="{period_id}"' in page.text
    assert "hakemistopalvelu ei vastannut" in page.text
    detail = await h.client.get(f"/substitutes/{period_id}")
    assert 'id="end-overdue"' in detail.text
    # a second failed attempt moves the attempt, not the overdue start, and records no second event
    h.clock.advance(timedelta(minutes=5))
    await run_job(h.c, "expire", trigger="cli")
    assert sample(h, "idops_expiry_lag_seconds") == 600

    directory.outage(False)
    h.clock.advance(timedelta(seconds=20))
    done = await run_job(h.c, "expire", trigger="cli")

    assert done.outcome == "succeeded" and done.counts == {"expired": 1} and done.error is None
    user = directory.state.user(user_id)
    assert user is not None and not user.account_enabled
    got = (await h.client.get(f"/v1/substitutes/{period_id}", headers=admin)).json()
    assert got["status"] == "expired" and got["end_error"] is None
    assert got["overdue_since"] is not None  # kept: it ended late, and the record says since when
    assert sample(h, "idops_expiry_lag_seconds") == 0 and sample(h, "idops_overdue_ends") == 0
    assert 'id="overdue-ends"' not in (await h.client.get("/admin/substitutes")).text


async def test_a_refused_end_names_its_reason_and_an_extension_clears_the_overdue_mark(harness: Harness) -> None:
    h = harness
    period_id, _ = await h.add_active(ends_in=timedelta(minutes=10))
    h.clock.advance(timedelta(minutes=11))
    h.directory().fail_next("patch", GraphForbidden("Insufficient privileges", status=403))
    run = await run_job(h.c, "expire", trigger="cli")
    assert run.counts == {"failed": 1, "failed.forbidden": 1}
    admin = bearer(h.token("ItAdmin", municipality="tampere"))
    assert (await h.client.get(f"/v1/substitutes/{period_id}", headers=admin)).json()["end_error"] == "forbidden"

    new_end = (h.clock.now() + timedelta(days=2)).isoformat()
    r = await h.client.patch(f"/v1/substitutes/{period_id}", json={"ends_at": new_end}, headers=admin)
    assert r.status_code in (200, 204), r.text
    got = (await h.client.get(f"/v1/substitutes/{period_id}", headers=admin)).json()
    assert got["overdue_since"] is None and got["end_error"] is None and got["end_attempted_at"] is None
