"""The job runtime: leases across processes, takeover after SIGKILL, run records, the jobs API."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.conftest import CONFIG_DIR, REPO, TokenFactory, bearer


def spawn(database_url: str, data_dir: Path, mark: Path, start_at: float, sleep: float,
          job: str = "sleepy", lease_seconds: int = 2, clock_offset: float = 0.0) -> subprocess.Popen[str]:
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
    }
    return subprocess.Popen(
        [sys.executable, "-m", "tests.integration.jobruntime.job_process", job, str(start_at)],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def result(proc: subprocess.Popen[str]) -> dict[str, str]:
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1])


def runs(database_url: str) -> list[tuple[str, str | None]]:
    engine = create_engine(database_url.replace("+aiosqlite", ""))
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT outcome, error FROM job_runs ORDER BY started_at")).all()
    engine.dispose()
    return [(r[0], r[1]) for r in rows]


@pytest.mark.xdist_group("processes")
def test_two_processes_at_the_same_moment_run_the_job_once(clean_db: str, tmp_path: Path) -> None:
    start_at = time.time() + 2.5
    a = spawn(clean_db, tmp_path / "var", tmp_path / "a.mark", start_at, sleep=1.5)
    b = spawn(clean_db, tmp_path / "var", tmp_path / "b.mark", start_at, sleep=1.5)
    outcomes = sorted([result(a)["outcome"], result(b)["outcome"]])
    assert outcomes == ["skipped", "succeeded"]
    assert sorted(runs(clean_db)) == [("skipped", "lease held"), ("succeeded", None)]
    assert len(list(tmp_path.glob("*.mark"))) == 1  # the job body ran exactly once


@pytest.mark.xdist_group("processes")
def test_lease_of_a_killed_holder_is_taken_over_after_it_expires(clean_db: str, tmp_path: Path) -> None:
    mark, ttl = tmp_path / "a.mark", 60  # far longer than a slow start-up of the second process under load
    a = spawn(clean_db, tmp_path / "var", mark, time.time(), sleep=60, lease_seconds=ttl)
    deadline = time.time() + 30
    while not mark.exists():
        assert time.time() < deadline, a.stderr.read() if a.stderr else ""
        time.sleep(0.05)
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


async def test_jobs_api_shows_last_outcome_and_next_run(api: httpx.AsyncClient, make_token: TokenFactory) -> None:
    """Jobs run over the whole region: a region admin starts them; an IT admin gets 403 and sees outcomes and
    times but not the region's counts."""
    admin = bearer(make_token("RegionAdmin"))
    it_admin = bearer(make_token("ItAdmin", municipality="nokia"))
    before = (await api.get("/v1/jobs", headers=admin)).json()["items"]
    housekeeping = next(j for j in before if j["name"] == "housekeeping")
    assert housekeeping["last_run"] is None and housekeeping["next_run_at"] is not None

    refused = await api.post("/v1/jobs/housekeeping/run", headers=it_admin)
    assert refused.status_code == 403 and refused.headers["content-type"] == "application/problem+json"
    run = await api.post("/v1/jobs/housekeeping/run", headers=admin)
    assert run.status_code == 200, run.text
    assert run.json()["outcome"] == "succeeded"
    assert run.json()["counts"] == {"job_runs_removed": 0, "idempotency_keys_removed": 0, "sessions_removed": 0}

    after = (await api.get("/v1/jobs", headers=admin)).json()["items"]
    last = next(j for j in after if j["name"] == "housekeeping")["last_run"]
    assert last["id"] == run.json()["id"] and last["outcome"] == "succeeded" and last["trigger"] == "api"
    assert last["counts"] == run.json()["counts"]
    seen = next(j for j in (await api.get("/v1/jobs", headers=it_admin)).json()["items"] if j["name"] == "housekeeping")
    assert seen["last_run"]["outcome"] == "succeeded" and seen["last_run"]["counts"] == {}
    one = (await api.get(f"/v1/jobs/runs/{last['id']}", headers=it_admin)).json()
    assert one["outcome"] == "succeeded" and one["counts"] == {} and one["error"] is None
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
