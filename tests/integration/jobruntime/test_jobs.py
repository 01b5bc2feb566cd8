"""The job runtime: leases across processes, takeover after SIGKILL, run records, the jobs API."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.conftest import CONFIG_DIR, REPO, TokenFactory, bearer


def spawn(database_url: str, data_dir: Path, mark: Path, start_at: float, sleep: float,
          job: str = "sleepy", lease_seconds: int = 2, clock_offset: float = 0.0,
          grace: float = 20.0) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "IDOPS_CONFIG_DIR": str(CONFIG_DIR),
        "IDOPS_DATABASE__URL": database_url,
        "IDOPS_DATA_DIR": str(data_dir),
        "IDOPS_SCHEDULER__LEASE_SECONDS": str(lease_seconds),
        "IDOPS_LOGGING__LEVEL": "WARNING",
        "SLEEPY_SECONDS": str(sleep),
        "SLEEPY_MARK": str(mark),
        "CLOCK_OFFSET": str(clock_offset),
        "IDOPS_SCHEDULER__SHUTDOWN_GRACE_SECONDS": str(grace),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "tests.integration.jobruntime.job_process", job, str(start_at)],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def result(proc: subprocess.Popen[str]) -> dict[str, str]:
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1])


def query(database_url: str, sql: str) -> list[tuple[Any, ...]]:
    engine = create_engine(database_url.replace("+aiosqlite", ""))
    with engine.connect() as conn:
        rows = conn.execute(text(sql)).all()
    engine.dispose()
    return [tuple(r) for r in rows]


def runs(database_url: str) -> list[tuple[str, str | None]]:
    return [(r[0], r[1]) for r in query(database_url, "SELECT outcome, error FROM job_runs ORDER BY started_at")]


def wait_for(mark: Path, proc: subprocess.Popen[str]) -> None:
    deadline = time.time() + 90  # a process's start-up (imports, migrations) on a loaded 2-core machine
    while not mark.exists():
        assert time.time() < deadline, proc.stderr.read() if proc.stderr else ""
        time.sleep(0.05)


@pytest.mark.xdist_group("processes")
def test_two_processes_at_the_same_moment_run_the_job_once(clean_db: str, tmp_path: Path) -> None:
    start_at = time.time() + 2.5
    a = spawn(clean_db, tmp_path / "var", tmp_path / "a.mark", start_at, sleep=1.5)
    b = spawn(clean_db, tmp_path / "var", tmp_path / "b.mark", start_at, sleep=1.5)
    got = sorted([result(a), result(b)], key=lambda r: r["outcome"])
    if got[0]["outcome"] == "skipped":  # the second found the run's one unit taken
        assert [r["outcome"] for r in got] == ["skipped", "succeeded"]
        assert sorted(runs(clean_db)) == [("skipped", "lease held"), ("succeeded", None)]
    else:  # the second came before the unit was claimed and joined the run (one run, one record)
        assert [r["outcome"] for r in got] == ["succeeded", "succeeded"] and got[0]["id"] == got[1]["id"]
        assert runs(clean_db) == [("succeeded", None)]
    assert len(list(tmp_path.glob("*.mark"))) == 1  # the job body ran exactly once


@pytest.mark.xdist_group("processes")
def test_lease_of_a_killed_holder_is_taken_over_after_it_expires(clean_db: str, tmp_path: Path) -> None:
    mark, ttl = tmp_path / "a.mark", 60  # far longer than a slow start-up of the second process under load
    a = spawn(clean_db, tmp_path / "var", mark, time.time(), sleep=60, lease_seconds=ttl)
    wait_for(mark, a)
    a.send_signal(signal.SIGKILL)
    killed_at = time.time()
    a.wait()
    early = result(spawn(clean_db, tmp_path / "var", tmp_path / "b.mark", time.time(), sleep=0.1,
                         lease_seconds=ttl))
    assert early["outcome"] == "skipped"  # the dead holder's lease has not expired yet
    # A third process whose clock reads past the lease's expiry takes the job over (no sleeping).
    late = result(spawn(clean_db, tmp_path / "var", tmp_path / "c.mark", time.time(), sleep=0.1,
                        lease_seconds=ttl, clock_offset=killed_at + ttl + 1 - time.time()))
    assert late["outcome"] == "succeeded"
    outcomes = [o for o, _ in runs(clean_db)]
    assert outcomes == ["abandoned", "skipped", "succeeded"]


@pytest.mark.xdist_group("processes")
def test_sigterm_during_a_job_hands_its_unit_back_and_the_next_run_resumes_it(clean_db: str,
                                                                               tmp_path: Path) -> None:
    mark = tmp_path / "a.mark"
    a = spawn(clean_db, tmp_path / "var", mark, time.time(), sleep=60, lease_seconds=60, grace=0.5)
    wait_for(mark, a)
    sent = time.monotonic()
    a.send_signal(signal.SIGTERM)
    first = result(a)  # exit 0: a requested stop
    assert time.monotonic() - sent < 15  # the grace (0.5 s) and a clean exit, not the 60 s job
    assert first["outcome"] == "interrupted"
    assert query(clean_db, "SELECT name, holder FROM job_leases") == []  # every lease released
    assert query(clean_db, "SELECT status, attempts FROM job_units") == [("pending", 0)]  # handed back

    # the next run (the lease's 60 s have not passed: it was released, not left to expire) resumes it
    second = result(spawn(clean_db, tmp_path / "var", tmp_path / "b.mark", time.time(), sleep=0.1,
                          lease_seconds=60))
    assert second["outcome"] == "succeeded" and second["id"] == first["id"]
    assert runs(clean_db) == [("succeeded", None)]
    assert query(clean_db, "SELECT status, attempts FROM job_units") == [("succeeded", 1)]


async def test_jobs_api_shows_last_outcome_and_next_run(api: httpx.AsyncClient, make_token: TokenFactory) -> None:
    """A job with a region-wide step (housekeeping) is started by a region admin; an IT admin gets 403 and
    does not see its runs (none of their units is the IT admin's municipality's)."""
    admin = bearer(make_token("RegionAdmin"))
    it_admin = bearer(make_token("ItAdmin", municipality="nokia"))
    before = (await api.get("/v1/jobs", headers=admin)).json()["items"]
    housekeeping = next(j for j in before if j["name"] == "housekeeping")
    assert housekeeping["last_run"] is None and housekeeping["next_run_at"] is not None
    assert housekeeping["municipal"] is False

    refused = await api.post("/v1/jobs/housekeeping/run", headers=it_admin)
    assert refused.status_code == 403 and refused.headers["content-type"] == "application/problem+json"
    run = await api.post("/v1/jobs/housekeeping/run", headers=admin)
    assert run.status_code == 200, run.text
    assert run.json()["outcome"] == "succeeded"
    assert run.json()["counts"] == {
        "job_runs_removed": 0,
        "idempotency_keys_removed": 0,
        "rate_limits_removed": 0,
        "sessions_removed": 0,
    }
    assert [(u["key"], u["status"], u["attempts"]) for u in run.json()["units"]] == [("*", "succeeded", 1)]

    after = (await api.get("/v1/jobs", headers=admin)).json()["items"]
    last = next(j for j in after if j["name"] == "housekeeping")["last_run"]
    assert last["id"] == run.json()["id"] and last["outcome"] == "succeeded" and last["trigger"] == "api"
    assert last["counts"] == run.json()["counts"]
    seen = next(j for j in (await api.get("/v1/jobs", headers=it_admin)).json()["items"] if j["name"] == "housekeeping")
    assert seen["last_run"] is None  # no unit of the region's housekeeping is the IT admin's municipality's
    assert (await api.get(f"/v1/jobs/runs/{last['id']}", headers=it_admin)).status_code == 404
    runs = [j["last_run"] for j in (await api.get("/v1/jobs", headers=admin)).json()["items"] if j["last_run"]]
    assert len(runs) == 1  # the refused IT admin's attempt started nothing


async def test_run_without_waiting_answers_202_with_the_run_id(api: httpx.AsyncClient,
                                                                make_token: TokenFactory) -> None:
    admin = bearer(make_token("RegionAdmin"))
    r = await api.post("/v1/jobs/housekeeping/run?wait=false", headers=admin)
    assert r.status_code == 202
    run_id = r.json()["id"]
    for _ in range(100):
        got = (await api.get(f"/v1/jobs/runs/{run_id}", headers=admin)).json()
        if got["outcome"] != "running":
            break
        import asyncio

        await asyncio.sleep(0.05)
    assert got["outcome"] == "succeeded"


async def test_unknown_job_is_404(api: httpx.AsyncClient, make_token: TokenFactory) -> None:
    r = await api.post("/v1/jobs/nonexistent/run", headers=bearer(make_token("RegionAdmin")))
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"


async def test_principals_cannot_run_jobs(api: httpx.AsyncClient, make_token: TokenFactory) -> None:
    r = await api.post("/v1/jobs/housekeeping/run", headers=bearer(make_token("Principal", school="nokia/harjuniitty")))
    assert r.status_code == 403
