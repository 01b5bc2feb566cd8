"""Every job: what it does, when it runs and how a run is split. The logic lives in ``jobs/<name>.py``
(``run(container, shard)``, and ``finish`` for a step after every unit).

``shard``: ``"tenant"`` — one unit per tenant (the directory, the sign-in log, the reports budget are
the tenant's); ``"municipality"`` — one per municipality (substitute periods are the municipality's,
also in a shared tenant); ``"region"`` — one unit. ``municipal``: an IT admin may run it for their own
municipalities (the units of their tenants and municipalities); otherwise it needs RegionAdmin.

One list, read by the in-process scheduler, ``idops scheduler``, ``idops jobs`` and ``GET /v1/jobs``;
``bootstrap()`` hands it to the job runtime (``idops.jobruntime.spec.JobSpec``), which imports
nothing from here.
"""

from __future__ import annotations

from idops.jobruntime.spec import JobSpec, cron, every

JOBS: dict[str, JobSpec] = {
    spec.name: spec
    for spec in (
        JobSpec(
            "activate",
            "Enable accounts whose period has started; resume deferred provisioning.",
            every(lambda s: s.lifecycle_interval_seconds),
            shard="municipality",
            municipal=True,
        ),
        JobSpec(
            "expire",
            "Disable accounts whose period has ended; revoke sessions, remove groups and licences.",
            every(lambda s: s.lifecycle_interval_seconds),
            shard="municipality",
            municipal=True,
        ),
        JobSpec(
            "reconcile",
            "Re-disable hand-enabled accounts, report orphans, mark accounts deleted in Entra.",
            every(lambda s: s.reconcile_interval_seconds),
            shard="tenant",
            municipal=True,
        ),
        JobSpec(
            "purge",
            "Delete accounts after the grace period; scrub personal data after retention.",
            cron(lambda s: s.purge_cron),
            shard="municipality",
            municipal=True,
        ),
        JobSpec(
            "notify_expiring",
            "E-mail principals before their substitutes' accounts end.",
            every(lambda s: s.notify_interval_seconds),
            shard="municipality",
            municipal=True,
        ),
        JobSpec(
            "notify_approvals",
            "E-mail IT admins a digest of requests awaiting approval; tell requesters the decision.",
            every(lambda s: s.lifecycle_interval_seconds),
        ),
        JobSpec("housekeeping", "Forget old job runs, idempotency keys and page sessions.", cron("10 4 * * *")),
        JobSpec(
            "sync_mfa",
            "Mirror directories and MFA registration; write the day's MFA snapshot.",
            cron(lambda s: s.sync_mfa_cron),
            shard="tenant",
            municipal=True,
        ),
        JobSpec(
            "ingest_signins",
            "Read new interactive sign-ins into the daily per-user-and-app aggregate.",
            cron(lambda s: s.ingest_signins_cron),
            shard="tenant",
            municipal=True,
        ),
        JobSpec(
            "single_login_report",
            "Ingest sign-ins, then compute and store the single-login coverage report.",
            cron(lambda s: s.single_login_report_cron),
            shard="tenant",  # the report itself is the region's: a region run only
        ),
    )
}
