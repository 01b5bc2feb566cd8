"""Nothing personal outlives its retention — checked by a scan that cannot be fooled.

Persons go through every terminal path (expired, revoked, missing, failed before provisioning,
failed during it with the half-made account cleaned up, restored for a second period and ended
again), an orphan account appears and disappears, the directory mirror, the sign-in aggregate and a
single-login report are filled while the accounts exist; then the clock runs past retention while
``purge`` runs as the scheduler starts it (through the job runtime, on several days). Finally EVERY
column of EVERY table — the schema reflected from the database, not listed here — and the captured
log output are searched for the names, e-mails, phones, UPNs and Entra object ids used: 0 hits. A
substitute still working (the control) must be found, so the scan is known to see what it looks for.

On the code before this change the test fails at the database scan: the old ``purge`` only scrubbed
persons whose periods were expired/revoked/missing/failed, and after the grace period a period is
``deleted`` — so the persons deleted after grace (here: the expired, revoked and missing ones, the
restored one) kept their names, contact details and UPN in ``substitute_persons`` (and their UPN in
``audit_events.personal``), the accounts' object ids stayed in ``audit_events.details``,
``directory_users`` and ``signin_daily``, and the orphan's UPN in ``orphan_accounts``. Against main's
later purge (which scrubs deleted persons' names) it still fails (dozens of hits): the Entra object ids in
``substitute_persons.entra_user_id``, ``audit_events.details``, ``directory_users`` (with UPN and
display name), ``directory_memberships`` and ``signin_daily``, and the orphan everywhere (checked by
running this test with ``jobs.purge.run`` replaced by main's at 25c9fd6).
Runs on SQLite and on PostgreSQL (the suite runs twice in CI).
"""

from __future__ import annotations

import io
import logging
from datetime import timedelta
from typing import Any

from idops.graph.errors import GraphBadRequest
from idops.kit.logging import configure_logging
from tests.integration.substitutes.conftest import SCHOOL, FakeApi
from tests.integration.substitutes.scan import Subject, scan_database, scan_log

PIRKKALA_SCHOOL = "pirkkala/killo"
MARKER = {"extensionAttribute15": "idops-managed"}
TEAMS = "1fec8e78-bce4-4aaf-ab1b-5451cc387264"


async def _events(fake_api: FakeApi, period_id: str, school: str = SCHOOL) -> list[dict[str, Any]]:
    r = await fake_api.client.get(f"/v1/substitutes/{period_id}/events", headers=fake_api.principal(school))
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


async def _request(fake_api: FakeApi, subject: Subject, given: str, surname: str, *, school: str = SCHOOL,
                   days: float = 5, status: int = 201, **extra: Any) -> dict[str, Any]:
    subject.add_name(given, surname)
    contact = extra.get("contact") or {}
    subject.add(contact.get("email"), contact.get("mobile_phone"))
    r = await fake_api.request(given=given, surname=surname, school=school, days=days, **extra)
    assert r.status_code == status, r.text
    out: dict[str, Any] = r.json()
    if status == 201:
        subject.add(out["user_principal_name"], (out["user_principal_name"] or "").split("@")[0], out["display_name"])
    return out


async def _collect_account_ids(fake_api: FakeApi, subject: Subject, period_id: str, school: str = SCHOOL) -> None:
    """The Entra object ids idops recorded for the period's account (created, reused or restored)."""
    for e in await _events(fake_api, period_id, school):
        if "entra_user_id" in e["details"]:
            subject.add(e["details"]["entra_user_id"])


async def test_every_retired_person_is_gone_from_every_column_and_the_log(fake_api: FakeApi, clean_db: str) -> None:
    out = io.StringIO()
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    configure_logging("json", "DEBUG", stream=out)
    try:
        subjects, control, purges = await _scenario(fake_api, clean_db)
    finally:
        root.handlers[:], _ = saved
        root.setLevel(saved[1])

    hits = scan_database(clean_db, subjects)
    assert hits == [], "\n".join(f"{h.where}: {h.subject} {h.value!r}" for h in hits)
    log_hits = scan_log(out.getvalue(), subjects)
    assert log_hits == [], [line[:300] for line in out.getvalue().splitlines()
                             if any(h.value in line.lower() for h in log_hits)][:8]

    # the scan sees what it looks for: the substitute still working is found where idops keeps them
    seen = {h.where for h in scan_database(clean_db, [control])}
    assert {"substitute_persons.given_name", "substitute_persons.email", "substitute_persons.user_principal_name",
            "audit_events.personal"} <= seen, seen
    assert out.getvalue().count("job_finished") >= 10  # the log was captured

    # purge counts what it scrubbed (each person once) and /metrics has the count
    assert sum(run.get("persons_scrubbed", 0) for run in purges) == 6
    assert purges[-1].get("persons_scrubbed", 0) == 0  # the run after: nothing left, nothing twice
    assert purges[-1].get("orphans_forgotten", 0) == 0 and sum(r.get("orphans_forgotten", 0) for r in purges) == 1
    metrics = (await fake_api.client.get("/metrics")).text
    assert "idops_persons_scrubbed_total 6.0" in metrics


async def _scenario(fake_api: FakeApi, db_url: str) -> tuple[list[Subject], Subject, list[dict[str, Any]]]:
    api, clock = fake_api, fake_api.clock
    tampere = api.tenant(SCHOOL)
    pirkkala = api.tenant(PIRKKALA_SCHOOL)
    for sku in pirkkala.skus.values():
        sku.enabled_units = 0  # Pirkkala has no free licence: a request there fails before provisioning

    a, b, c, d, e, f = (Subject(x) for x in ("expired", "revoked", "missing", "failed-no-seats",
                                              "failed-provisioning", "restored-then-ended"))
    orphan = Subject("orphan")
    sub_a = await _request(api, a, "Ilmatar", "Kyyräinen", days=3,
                           contact={"email": "ilmatar.kyy@example.org", "mobile_phone": "+358 40 111 2233"})
    sub_b = await _request(api, b, "Väinämöinen", "Suvantola", contact={"email": "vaka.vanha@example.org"})
    sub_c = await _request(api, c, "Lemminkäinen", "Ahtisaari", contact={"mobile_phone": "0405556677"})
    await _request(api, d, "Kullervo", "Untamoinen", school=PIRKKALA_SCHOOL, status=409,
                   contact={"email": "kullervo.u@example.org", "mobile_phone": "+358 50 999 8877"})
    tampere.faults.setdefault("add_group", []).append((None, GraphBadRequest("bad group", status=400)))
    sub_e = await _request(api, e, "Marjatta", "Kalevantytär", contact={"email": "marjatta.k@example.org"})
    assert sub_e["status"] == "failed"
    sub_f = await _request(api, f, "Louhi", "Pohjolanemäntä", days=2)
    for subject, sub in ((a, sub_a), (b, sub_b), (c, sub_c), (e, sub_e), (f, sub_f)):
        await _collect_account_ids(api, subject, sub["id"])
    user_a = tampere.user_by_upn(sub_a["user_principal_name"])
    assert user_a is not None
    lost = tampere.add_user("orvokki.orpolainen@sijaiset.tampere.fi", "Orvokki Orpolainen",
                            extension_attributes=dict(MARKER))
    orphan.add(lost.user_principal_name, "orvokki.orpolainen", "Orvokki Orpolainen", lost.id)

    # day 1: the nightly jobs fill the mirror, the sign-in aggregate and a report while the accounts exist
    clock.advance(timedelta(days=1))
    tampere.add_sign_in(user_a.id, TEAMS, "Microsoft Teams", clock.now() - timedelta(hours=3), mfa=True)
    for job in ("sync_mfa", "single_login_report", "reconcile"):  # the report ingests the sign-ins first
        counts = await api.run_job(job)
        assert not counts.get("failed"), (job, counts)
    before = {(h.where, h.subject) for h in scan_database(db_url, [a, orphan])}
    assert {("directory_users.upn", "expired"), ("directory_memberships.user_id", "expired"),
            ("signin_daily.user_id", "expired"), ("substitute_persons.mobile_phone", "expired"),
            ("audit_events.details", "expired"), ("audit_events.personal", "expired"),
            ("orphan_accounts.user_principal_name", "orphan"), ("audit_events.subject_id", "orphan")} <= before
    r = await api.client.post(f"/v1/substitutes/{sub_b['id']}/revoke", headers=api.principal())
    assert r.status_code == 200, r.text
    user_c = tampere.user_by_upn(sub_c["user_principal_name"])
    assert user_c is not None
    await api.fakes.for_tenant(tampere.tenant_id).delete_user(user_c.id)  # someone deletes it in Entra by hand
    assert (await api.run_job("reconcile")).get("missing") == 1
    await api.run_job("purge")

    # days 2–5: the periods end; the orphan is removed in Entra by hand
    for _ in range(4):
        clock.advance(timedelta(days=1))
        await api.run_job("expire")
    tampere.users.pop(lost.id)
    await api.run_job("reconcile")

    # day 12: the restored-then-ended substitute returns (account deleted after grace on day 9, restorable)
    clock.advance(timedelta(days=4))
    assert (await api.run_job("purge")).get("accounts_deleted", 0) >= 3
    clock.advance(timedelta(days=3))
    again = await api.request(given="Louhi", surname="Pohjolanemäntä", days=2, person_id=sub_f["person_id"])
    assert again.status_code == 201, again.text
    assert "account_restored" in [x["action"] for x in await _events(api, again.json()["id"])]
    clock.advance(timedelta(days=2, hours=1))
    await api.run_job("expire")

    # the nightly purge, on days spread over the retention period and past it, and once more the day after
    purges = []
    for days in (7, 30, 60, 30, 1):
        clock.advance(timedelta(days=days))
        purges.append(await api.run_job("purge"))

    # the control: a substitute working today
    k = Subject("control")
    await _request(api, k, "Annikki", "Tulikannel", contact={"email": "annikki.t@example.org"})
    return [a, b, c, d, e, f, orphan], k, purges
