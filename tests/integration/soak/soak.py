"""Chaos soak: the real service (``idops serve --demo`` with its scheduler) in a subprocess, the Graph
emulator in this process (its state survives the service's deaths), a load of principals requesting,
extending, revoking and issuing access passes, while the emulator injects 429/503/latency/dropped
connections/replication delay and the service is SIGKILLed and restarted. Loopback only.

    .venv/bin/python -m tests.integration.soak.soak                  # full profile (≥ 2 000 operations, ≥ 5 kills)
    .venv/bin/python -m tests.integration.soak.soak --profile short  # the CI profile (test_soak_short.py here)

After the chaos the faults are cleared, the service gets one job interval (plus its lease) to recover,
and the soak prints and checks: operations made / succeeded / failed with a clear error (problem+json
below 500, or 503 with Retry-After) / interrupted by a kill / unclear (must be 0); accounts expired late
(enabled in the emulator more than one job interval after their end while the service was up: 0);
duplicates (0); orphans (0); audit events missing (0); secrets found in logs and database (0).
Exit code 1 when any check fails.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, inspect, select, text

REPO = Path(__file__).resolve().parents[3]
PROBLEM = "application/problem+json"
MARKER = ("extensionAttribute15", "idops-managed")
JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")


@dataclass
class Profile:
    duration_s: float  # chaos window (load + faults + kills)
    max_ops: int  # the load stops at this many operations (or at the end of the window)
    kills: int
    workers: int
    period_s: tuple[float, float]  # length of a requested period
    interval_s: int = 10  # lifecycle job interval of the service under test
    lease_s: int = 10  # job lease; a killed holder's lease blocks its job this long
    slack_s: float = 8.0  # one job run's duration under injected latency and retries
    users_per_tenant: int = 50
    # how long to let periods a kill left half-provisioned converge after recovery (their provisioning
    # claim, 2 min, must lapse first); 0 = report them without waiting
    converge_s: float = 0.0
    seed: int = 20261130


PROFILES = {
    "full": Profile(duration_s=330, max_ops=3000, kills=6, workers=24, period_s=(45, 120), converge_s=180),
    "short": Profile(duration_s=24, max_ops=600, kills=2, workers=16, period_s=(6, 12), lease_s=8, slack_s=6),
}


@dataclass
class Report:
    operations: int = 0
    succeeded: int = 0
    failed_clear: int = 0
    interrupted_by_kill: int = 0
    unclear: int = 0
    by_kind: dict[str, Counter[str]] = field(default_factory=dict)
    kills: int = 0
    restarts: int = 0
    periods: int = 0
    period_status: dict[str, int] = field(default_factory=dict)
    late_expiries: int = 0
    max_disable_lag_s: float = 0.0
    duplicates: int = 0
    orphans: int = 0
    stuck: int = 0
    stuck_required: bool = True
    audit_missing: int = 0
    secrets_known: int = 0
    secrets_found: int = 0
    log_lines: int = 0
    db_values: int = 0
    emulator_requests: int = 0
    emulator_faults: int = 0
    elapsed_s: float = 0.0
    examples: list[str] = field(default_factory=list)
    diagnostics: list[str] = field(default_factory=list)  # the story of each account left enabled
    refusals: Counter[str] = field(default_factory=Counter)  # "kind status: detail" of clear failures

    def ok(self) -> bool:
        return (self.unclear == 0 and self.late_expiries == 0 and self.duplicates == 0 and self.orphans == 0
                and self.audit_missing == 0 and self.secrets_found == 0
                and (self.stuck == 0 or not self.stuck_required))

    def render(self) -> str:
        refusals = "\n".join(f"  {n:>5} × {what}" for what, n in self.refusals.most_common(6))
        kinds = "\n".join(f"  {k:<12} {dict(sorted(v.items()))}" for k, v in sorted(self.by_kind.items()))
        return (
            f"operations            {self.operations}\n"
            f"  succeeded           {self.succeeded}\n"
            f"  failed, clear error {self.failed_clear}   (problem+json < 500, or 503 + Retry-After)\n"
            f"  interrupted by kill {self.interrupted_by_kill}   (connection lost while the service was killed)\n"
            f"  unclear             {self.unclear}\n"
            f"per operation (status → count):\n{kinds}\n"
            f"clear refusals (top):\n{refusals}\n"
            f"kills (SIGKILL)       {self.kills}   restarts {self.restarts}\n"
            f"periods               {self.periods}   {dict(sorted(self.period_status.items()))}\n"
            f"late expiries         {self.late_expiries}   (max end→disabled lag seen {self.max_disable_lag_s:.1f} s)\n"
            f"duplicates            {self.duplicates}\n"
            f"orphans               {self.orphans}\n"
            f"stuck periods         {self.stuck}   (live past their end or still provisioning after recovery"
            f"{'' if self.stuck_required else '; reported only in this profile'})\n"
            f"audit events missing  {self.audit_missing}\n"
            f"secrets found         {self.secrets_found}   (of {self.secrets_known} known secrets, in "
            f"{self.log_lines} log lines and {self.db_values} database values)\n"
            f"emulator              {self.emulator_requests} requests, {self.emulator_faults} faults injected\n"
            f"elapsed               {self.elapsed_s:.0f} s\n"
            f"result                {'PASS' if self.ok() else 'FAIL'}"
        )


@dataclass
class Tracked:
    id: str
    school: str
    ends_at: datetime
    revoked: bool = False
    taps: int = 0
    extensions: int = 0
    revokes: int = 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Service:
    """``idops serve --demo`` in a subprocess, pointed at the external emulator; killed with SIGKILL."""

    def __init__(self, workdir: Path, db_url: str, emulator_url: str, profile: Profile) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / "service.log"
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("IDOPS_")},
            "IDOPS_CONFIG_DIR": str(REPO / "config"),
            "IDOPS_DATA_DIR": str(workdir / "var"),
            "IDOPS_DATABASE__URL": db_url,
            "IDOPS_EMULATOR__EXTERNAL_URL": emulator_url,
            "IDOPS_SCHEDULER__ENABLED": "true",
            "IDOPS_SCHEDULER__LIFECYCLE_INTERVAL_SECONDS": str(profile.interval_s),
            "IDOPS_SCHEDULER__RECONCILE_INTERVAL_SECONDS": "60",
            "IDOPS_SCHEDULER__LEASE_SECONDS": str(profile.lease_s),
            "IDOPS_LOGGING__FORMAT": "json",
            "IDOPS_LOGGING__LEVEL": "INFO",
            "IDOPS_GRAPH__MAX_BACKOFF_SECONDS": "2",
            "IDOPS_GRAPH__REPLICATION_WAIT_SECONDS": "5",
            "IDOPS_GRAPH__REQUEST_TIMEOUT_SECONDS": "10",
            "PYTHONUNBUFFERED": "1",
        }
        self.proc: subprocess.Popen[bytes] | None = None
        self.up_since: float | None = None  # monotonic time the current process became ready
        self.kill_epoch = 0

    async def start(self) -> None:
        self.proc = await asyncio.to_thread(self._spawn)
        deadline = time.monotonic() + 90
        async with httpx.AsyncClient(timeout=2) as client:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"service exited with {self.proc.returncode}; see {self.log_path}")
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(f"{self.url}/readyz")).status_code == 200:
                        self.up_since = time.monotonic()
                        return
                await asyncio.sleep(0.2)
        raise RuntimeError(f"service not ready in 90 s; see {self.log_path}")

    def _spawn(self) -> subprocess.Popen[bytes]:
        with self.log_path.open("ab") as log:
            return subprocess.Popen(
                [str(REPO / ".venv/bin/idops"), "serve", "--demo", "--host", "127.0.0.1", "--port", str(self.port)],
                cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.up_since = None
            self.kill_epoch += 1
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


class Soak:
    def __init__(self, profile: Profile, workdir: Path, db_url: str | None = None) -> None:
        from idops.auth.demo import DemoSigner
        from idops.config import load_config
        from idops.migrations import upgrade

        self.p = profile
        self.rng = random.Random(profile.seed)
        self.workdir = workdir
        (workdir / "var").mkdir(parents=True, exist_ok=True)
        self.db_url = db_url or f"sqlite+aiosqlite:///{workdir / 'idops.db'}"
        upgrade(self.db_url)
        self.config = load_config(REPO / "config", demo=True, data_dir=workdir / "var", database={"url": self.db_url})
        self.signer = DemoSigner.load_or_create(workdir / "var")
        self.report = Report()
        self.tracked: dict[str, Tracked] = {}
        self.secrets: set[str] = set()
        self.tokens: dict[str, str] = {}
        self.lags: dict[str, float] = {}
        self.late: set[str] = set()
        self.stop_load = asyncio.Event()

    # ------------------------------------------------------------------------------------ setup
    def start_emulator(self) -> None:
        from idops.emulator.faults import Faults
        from idops.emulator.generator import generate_region
        from idops.emulator.server import EmulatorServer
        from idops.kit.clock import SystemClock
        from tests.integration.substitutes.conftest import load_toml

        generated = generate_region(load_toml("region.toml"), load_toml("apps.toml"), seed=self.p.seed % 1000,
                                    users_per_tenant=self.p.users_per_tenant, now=datetime.now(UTC),
                                    days_of_signins=1)
        # access passes: Graph's shortest lifetime (10 min); one tenant has the TAP policy off, so its
        # principals get the one-time-password fallback
        tenants = list(self.config.region.tenants())
        for i, tid in enumerate(tenants):
            pol = generated.state.tenant(tid).tap_policy
            pol.minimum_lifetime_in_minutes = 10
            for sku in generated.state.tenant(tid).skus.values():
                sku.enabled_units += 5000  # the load is about lifecycles, not about running out of seats
            if i == 1:
                pol.state = "disabled"
        self.faults = Faults(seed=self.p.seed)
        self.emulator = EmulatorServer(generated.state, faults=self.faults, clock=SystemClock()).start()
        self.state = generated.state

    def principal_tokens(self) -> None:
        from idops.auth.demo import demo_claims

        now = datetime.now(UTC)
        for muni in self.config.region.municipalities:
            for school in muni.schools:
                path = f"{muni.key}/{school.key}"
                try:
                    claims = demo_claims(self.config, role="Principal", now=now, school=path,
                                         lifetime=timedelta(hours=2))
                except ValueError:
                    continue
                self.tokens[path] = self.signer.sign(claims)
        admin = demo_claims(self.config, role="RegionAdmin", now=now, lifetime=timedelta(hours=2))
        self.admin_token = self.signer.sign(admin)
        self.secrets.update(self.tokens.values())
        self.secrets.add(self.admin_token)
        # the bearer tokens the service itself sends to the emulator (static credential)
        self.secrets.update(f"emu.{t}" for t in self.config.region.tenants())

    def chaos(self, on: bool) -> None:
        self.faults.clear()
        if not on:
            return
        self.faults.add_rule("latency", probability=0.25, latency_ms=60, jitter_ms=120)
        self.faults.add_rule("429", probability=0.04, retry_after=1)
        self.faults.add_rule("503", probability=0.03, retry_after=1)
        self.faults.add_rule("504", probability=0.01)
        self.faults.add_rule("drop", probability=0.015)
        self.faults.add_rule("batch_429", probability=0.05, retry_after=1)
        self.faults.replication_delay_s = 1.0

    # ------------------------------------------------------------------------------------ load
    def _classify(self, kind: str, response: httpx.Response | None, epoch: int, error: str = "") -> str:
        counts = self.report.by_kind.setdefault(kind, Counter())
        self.report.operations += 1
        if response is None:
            if epoch != self.service.kill_epoch or self.service.up_since is None:
                counts["killed"] += 1
                self.report.interrupted_by_kill += 1
                return "killed"
            counts[f"unclear:{error}"] += 1
            self.report.unclear += 1
            self._example(f"{kind}: {error} while the service was up")
            return "unclear"
        counts[str(response.status_code)] += 1
        if response.status_code < 400:
            self.report.succeeded += 1
            return "ok"
        is_problem = response.headers.get("content-type", "").startswith(PROBLEM)
        if is_problem and (response.status_code < 500
                           or (response.status_code == 503 and response.headers.get("retry-after"))):
            self.report.failed_clear += 1
            detail = response.json().get("detail") or response.json().get("title")
            self.report.refusals[f"{kind} {response.status_code}: {str(detail)[:90]}"] += 1
            return "clear"
        self.report.unclear += 1
        self._example(f"{kind}: {response.status_code} {response.headers.get('content-type')} {response.text[:300]}")
        return "unclear"

    def _example(self, text_: str) -> None:
        if len(self.report.examples) < 12:
            self.report.examples.append(text_)

    async def _call(self, client: httpx.AsyncClient, kind: str, method: str, path: str, school: str,
                    **kw: Any) -> httpx.Response | None:
        epoch = self.service.kill_epoch
        headers = {"Authorization": f"Bearer {self.tokens[school]}", **kw.pop("headers", {})}
        try:
            response = await client.request(method, f"{self.service.url}{path}", headers=headers, **kw)
        except httpx.HTTPError as exc:
            self._classify(kind, None, epoch, type(exc).__name__)
            return None
        self._classify(kind, response, epoch)
        return response

    async def worker(self, n: int) -> None:
        rng = random.Random(self.p.seed + n)
        schools = sorted(self.tokens)
        async with httpx.AsyncClient(timeout=httpx.Timeout(30, connect=2)) as client:
            while not self.stop_load.is_set() and self.report.operations < self.p.max_ops:
                if self.service.up_since is None:
                    await asyncio.sleep(0.2)
                    continue
                school = rng.choice(schools)
                mine = [t for t in self.tracked.values() if t.school == school and not t.revoked
                        and t.ends_at > datetime.now(UTC)]
                roll = rng.random()
                if not mine or roll < 0.25:
                    await self.create(client, rng, school)
                else:
                    await self.act(client, rng, school, rng.choice(mine), roll)
                await asyncio.sleep(rng.uniform(0, 0.05))

    async def create(self, client: httpx.AsyncClient, rng: random.Random, school: str) -> None:
        now = datetime.now(UTC)
        # most periods end during the soak; a third run past it (long enough for an access pass) and are
        # revoked at the end
        long = rng.random() < 0.33
        length = rng.uniform(70 * 60, 120 * 60) if long else rng.uniform(*self.p.period_s)
        body = {
            "school": school, "given_name": rng.choice(["Aino", "Äijä", "Jussi", "Ngọc", "O'Brien", "Sanna-Maria"]),
            "surname": rng.choice(["Äijälä", "Öhman-Ström", "Åkerlund", "Nguyễn", "Virtanen", "Korhonen"]),
            "starts_at": now.isoformat(), "ends_at": (now + timedelta(seconds=length)).isoformat(),
        }
        key = uuid.uuid4().hex
        for _attempt in range(3):  # a retry after a lost answer carries the same key: never a second account
            r = await self._call(client, "create", "POST", "/v1/substitutes", school, json=body,
                                 headers={"Idempotency-Key": key})
            if r is not None:
                if r.status_code in (200, 201):
                    d = r.json()
                    self.tracked.setdefault(d["id"], Tracked(d["id"], school, datetime.fromisoformat(d["ends_at"])))
                return
            while self.service.up_since is None and not self.stop_load.is_set():  # noqa: ASYNC110 — polling
                await asyncio.sleep(0.2)

    async def act(self, client: httpx.AsyncClient, rng: random.Random, school: str, t: Tracked, roll: float) -> None:
        base = f"/v1/substitutes/{t.id}"
        if roll < 0.45:
            new_end = t.ends_at + timedelta(seconds=rng.uniform(5, 30))
            r = await self._call(client, "extend", "PATCH", base, school, json={"ends_at": new_end.isoformat()})
            if r is not None and r.status_code == 200:
                t.ends_at = datetime.fromisoformat(r.json()["ends_at"])
                t.extensions += 1
        elif roll < 0.55:
            r = await self._call(client, "revoke", "POST", f"{base}/revoke", school)
            if r is not None and r.status_code == 200:
                t.revoked = True
                t.revokes += 1
        elif roll < 0.7:
            r = await self._call(client, "access_pass", "POST", f"{base}/access-pass", school)
            if r is not None and r.status_code == 200:
                d = r.json()
                secret = d.get("temporary_access_pass") or d.get("one_time_password")
                if secret:
                    self.secrets.add(secret)
                    t.taps += 1
        elif roll < 0.8:
            await self._call(client, "get", "GET", base, school)
        elif roll < 0.9:
            await self._call(client, "events", "GET", f"{base}/events", school)
        else:
            await self._call(client, "list", "GET", "/v1/substitutes", school, params={"school": school, "limit": 20})

    async def revoke_long_periods(self) -> None:
        """Wind-down: the principals end every period that would outlive the soak."""
        horizon = datetime.now(UTC) + timedelta(seconds=self.p.period_s[1] * 2)
        async with httpx.AsyncClient(timeout=30) as client:
            for t in [t for t in self.tracked.values() if not t.revoked and t.ends_at > horizon]:
                for _ in range(5):
                    r = await self._call(client, "revoke", "POST", f"/v1/substitutes/{t.id}/revoke", t.school)
                    if r is not None and r.status_code == 200:
                        t.revoked, t.revokes = True, t.revokes + 1
                        t.ends_at = min(t.ends_at, datetime.now(UTC))
                        break
                    await asyncio.sleep(1)

    async def converge(self) -> None:
        """Give periods a kill left mid-provisioning time to finish (or fail cleanly) after recovery."""
        self.report.stuck_required = self.p.converge_s > 0
        t_end = time.monotonic() + self.p.converge_s
        while time.monotonic() < t_end and await asyncio.to_thread(self._unsettled):
            await asyncio.to_thread(self.observe)
            await asyncio.sleep(2)

    def _unsettled(self) -> int:
        engine = create_engine(sync_url(self.db_url))
        try:
            with engine.connect() as conn:
                n: int = conn.execute(text(
                    "SELECT count(*) FROM substitute_periods WHERE status IN ('requested', 'provisioning') "
                    "OR (status IN ('scheduled', 'active') AND ends_at < :now)"), {"now": datetime.now(UTC)
                                                                                .replace(tzinfo=None)}).scalar_one()
        finally:
            engine.dispose()
        return n

    # --------------------------------------------------------------------------------- killer
    async def killer(self) -> None:
        gap = self.p.duration_s / (self.p.kills + 1)
        for _ in range(self.p.kills):
            await asyncio.sleep(gap * self.rng.uniform(0.7, 1.2))
            self.service.kill()
            self.report.kills += 1
            await asyncio.sleep(self.rng.uniform(0.5, 2.5))
            await self.service.start()
            self.report.restarts += 1

    # -------------------------------------------------------------------------------- monitor
    def _accounts(self) -> list[tuple[str, str, str, datetime, bool]]:
        """(period id, tenant, entra user id, effective end, may still be live) per period, from the database."""
        engine = create_engine(sync_url(self.db_url))
        try:
            with engine.connect() as conn:
                rows = conn.execute(text(
                    "SELECT p.id, p.tenant_id, s.entra_user_id, p.ends_at, p.revoked_at, p.status "
                    "FROM substitute_periods p JOIN substitute_persons s ON s.id = p.person_id "
                    "WHERE s.entra_user_id IS NOT NULL")).all()
        finally:
            engine.dispose()
        out = []
        for pid, tenant, uid, ends_at, revoked_at, status in rows:
            end = _aware(ends_at)
            if revoked_at is not None:
                end = min(end, _aware(revoked_at))
            out.append((pid, tenant, uid, end, status))
        return out

    def observe(self) -> None:
        """One sample: every account enabled past its end beyond the allowance, while the service was up."""
        now = datetime.now(UTC)
        mono = time.monotonic()
        per_user: dict[tuple[str, str], list[tuple[str, datetime, str]]] = {}
        for pid, tenant, uid, end, status in self._accounts():
            per_user.setdefault((tenant, uid), []).append((pid, end, status))
        with self.state.lock:
            enabled = {key: bool(u.account_enabled) for key in per_user
                       if (u := self.state.user(key[0], key[1])) is not None and u.deleted_date_time is None}
        up_since = self.service.up_since
        for key, periods in per_user.items():
            if key not in enabled:
                continue
            last_end = max(e for _, e, _ in periods)
            if last_end > now:
                continue
            pid = max(periods, key=lambda x: x[1])[0]
            if not enabled[key]:
                self.lags.setdefault(pid, (now - last_end).total_seconds())
                continue
            if up_since is None:
                continue
            since_end = (now - last_end).total_seconds()
            # the service had its chance from the end, or from when it came back (a killed holder's
            # lease then still blocks the job for up to lease_s)
            chance_from = max(mono - since_end, up_since + (self.p.lease_s if self.service.kill_epoch else 0))
            if mono - chance_from > self.p.interval_s + self.p.slack_s:
                self.late.add(pid)
                self._example(f"late: period {pid} enabled {since_end:.0f} s after its end")

    def _allowance(self) -> float:
        """How long after an end the service may take to disable the account: one job interval, one
        job run under faults, and the lease a killed holder leaves behind."""
        return self.p.interval_s + self.p.lease_s + self.p.slack_s

    async def monitor(self) -> None:
        while True:
            await asyncio.to_thread(self.observe)
            await asyncio.sleep(1.0)

    # --------------------------------------------------------------------------------- checks
    def final_checks(self) -> None:
        from idops.audit.models import AuditEvent
        from idops.substitutes.models import SubstitutePeriod, SubstitutePerson

        engine = create_engine(sync_url(self.db_url))
        try:
            with engine.connect() as conn:
                periods = conn.execute(select(SubstitutePeriod.__table__)).mappings().all()
                persons = conn.execute(select(SubstitutePerson.__table__)).mappings().all()
                events = conn.execute(select(AuditEvent.__table__).where(AuditEvent.subject_type == "period")
                                      .order_by(AuditEvent.seq)).mappings().all()
        finally:
            engine.dispose()
        r = self.report
        r.periods = len(periods)
        r.period_status = dict(Counter(p["status"] for p in periods))
        now = datetime.now(UTC)
        r.stuck = sum(1 for p in periods if p["status"] in ("requested", "provisioning")
                      or (p["status"] in ("scheduled", "active") and _aware(p["ends_at"]) < now))
        # accounts in the emulator
        tracked_users = {(p["tenant_id"], p["entra_user_id"]) for p in persons if p["entra_user_id"]}
        with self.state.lock:
            marked = [(t, u) for t in self.config.region.tenants()
                      for u in self.state.users_with_marker(t, *MARKER)]
            for _t, u in marked:
                pw = (u.password_profile or {}).get("password")
                if pw:
                    self.secrets.add(pw)
            enabled_after_end = []
            last_end: dict[str, datetime] = {}
            for p in periods:
                end = _aware(p["ends_at"]) if p["revoked_at"] is None else min(_aware(p["ends_at"]),
                                                                                _aware(p["revoked_at"]))
                last_end[p["person_id"]] = max(last_end.get(p["person_id"], end), end)
            for person in persons:
                # the same allowance as during the run: one job interval (and a dead holder's lease) past the end
                if not person["entra_user_id"] or last_end.get(person["id"], now) > now - timedelta(
                        seconds=self._allowance()):
                    continue
                u = self.state.user(person["tenant_id"], person["entra_user_id"])
                if u is not None and u.account_enabled and u.deleted_date_time is None:
                    enabled_after_end.append(person["id"])
        per_person = Counter((t, u.employee_id) for t, u in marked)
        r.duplicates = sum(n - 1 for n in per_person.values() if n > 1)
        orphaned = [(t, u) for t, u in marked if (t, u.id) not in tracked_users]
        r.orphans = len(orphaned)
        by_id = {p["id"]: p for p in persons}
        for _t, u in orphaned:
            owner = by_id.get(u.employee_id or "")
            owner_periods = [(p["status"], p["step"], p["last_error"]) for p in periods
                             if owner is not None and p["person_id"] == owner["id"]]
            self._example(f"orphan {u.user_principal_name} enabled={u.account_enabled} created={u.created_date_time} "
                          f"owner upn={owner and owner['user_principal_name']} owner entra id="
                          f"{owner and owner['entra_user_id']} periods={owner_periods}")
        for pid in enabled_after_end:
            self.late.add(f"person:{pid}")
            self.report.diagnostics.append(self._explain(by_id[pid], periods, events))
            self._example(f"late at the end: person {pid} still enabled")
        r.late_expiries = len(self.late)
        r.max_disable_lag_s = max(self.lags.values(), default=0.0)
        # audit trails
        actions: dict[str, list[str]] = {}
        for e in events:
            actions.setdefault(e["subject_id"], []).append(e["action"])
        entered_by = {"scheduled": {"provisioned"}, "active": {"provisioned", "activated"}, "failed": {"failed"},
                      "expired": {"expired"}, "revoked": {"revoked"}, "missing": {"missing"},
                      "deleted": {"deleted"}}
        missing = 0
        for p in periods:
            acts = actions.get(p["id"], [])
            c = Counter(acts)
            miss = []
            if not acts or acts[0] != "requested":
                miss.append("requested")
            if p["status"] in entered_by and not entered_by[p["status"]] & set(acts):
                miss.append(f"event for status {p['status']}")
            if p["status"] in ("expired", "revoked") and p["activated_at"] and not c["provisioned"]:
                miss.append("provisioned")
            t = self.tracked.get(p["id"])
            if t is not None:
                issued = c["temporary_access_pass_issued"] + c["one_time_password_issued"]
                if issued < t.taps:
                    miss.append(f"{t.taps - issued} credential issued")
                if c["ends_at_changed"] < t.extensions:
                    miss.append(f"{t.extensions - c['ends_at_changed']} ends_at_changed")
                if t.revokes and not (c["revoke_requested"] or c["revoked"]):
                    miss.append("revoke")
            if miss:
                missing += len(miss)
                self._example(f"audit: period {p['id']} ({p['status']}) {acts} lacks {miss}")
        r.audit_missing = missing

    def _explain(self, person: Any, periods: Any, events: Any) -> str:
        """Everything known about one account left enabled: its periods, their audit trail and what the
        emulator was asked to do to the user — so a failure in CI can be understood from its output."""
        t0 = self.started_at
        mine = [p for p in periods if p["person_id"] == person["id"]]
        ids = {p["id"] for p in mine}
        lines = [f"person {person['id']} user {person['entra_user_id']} (t=0 at soak start)"]
        for p in mine:
            lines.append(f"  period {p['id'][:8]} {p['status']}/{p['step']} start={_rel(p['starts_at'], t0)} "
                         f"end={_rel(p['ends_at'], t0)} revoked={_rel(p['revoked_at'], t0)} "
                         f"ended={_rel(p['ended_at'], t0)} attempts={p['attempts']} error={p['last_error']!r}")
        for e in events:
            if e["subject_id"] in ids:
                lines.append(f"  audit {_rel(e['at'], t0)} {e['subject_id'][:8]} {e['action']} by {e['actor']}")
        for e in self.emulator.log.snapshot():
            if person["entra_user_id"] and person["entra_user_id"] in e.path:
                at = datetime.fromtimestamp(e.at, UTC)
                batch = " (batch)" if e.in_batch else ""
                lines.append(f"  graph {_rel(at, t0)} {e.method} {e.path} → {e.status}{batch}")
        return "\n".join(lines[:80])

    def sweep_secrets(self) -> None:
        """Every line the service logged and every value of every table, against every secret we know."""
        r = self.report
        secrets = [s for s in self.secrets if len(s) >= 6]
        r.secrets_known = len(secrets)
        found: list[str] = []
        log_text = self.service.log_path.read_text(errors="replace")
        lines = log_text.splitlines()
        r.log_lines = len(lines)
        for n, line in enumerate(lines, 1):
            if any(s in line for s in secrets) or JWT.search(line):
                found.append(f"service.log:{n}")
        engine = create_engine(sync_url(self.db_url))
        values = 0
        try:
            with engine.connect() as conn:
                for table in inspect(conn).get_table_names():
                    for row in conn.execute(text(f'SELECT * FROM "{table}"')):  # noqa: S608 — names from the schema
                        for value in row:
                            if value is None or isinstance(value, int | float | datetime):
                                continue
                            values += 1
                            s = value if isinstance(value, str) else json.dumps(value, default=str)
                            if any(x in s for x in secrets) or JWT.search(s):
                                found.append(f"{table}")
        finally:
            engine.dispose()
        r.db_values = values
        r.secrets_found = len(found)
        for where in found[:5]:
            self._example(f"secret found in {where}")

    # ------------------------------------------------------------------------------------ run
    async def run(self) -> Report:
        started = time.monotonic()
        self.started_at = datetime.now(UTC)
        self.start_emulator()
        self.principal_tokens()
        self.service = Service(self.workdir, self.db_url, self.emulator.base_url, self.p)
        monitor = None
        try:
            await self.service.start()
            self.chaos(True)
            monitor = asyncio.create_task(self.monitor())
            workers = [asyncio.create_task(self.worker(n)) for n in range(self.p.workers)]
            killer = asyncio.create_task(self.killer())
            deadline = time.monotonic() + self.p.duration_s
            while time.monotonic() < deadline and self.report.operations < self.p.max_ops:  # noqa: ASYNC110
                await asyncio.sleep(0.5)
            await killer  # the load goes on until every kill happened
            self.stop_load.set()
            await asyncio.gather(*workers)
            # recovery: faults off, the service up, then wait for every period to end and one job
            # interval (plus a dead holder's lease) to pass
            self.chaos(False)
            if self.service.up_since is None:
                await self.service.start()
            await self.revoke_long_periods()
            # The ends as the database has them: a create or an extension whose answer a kill cut off
            # is not in self.tracked, yet it moved an end.
            horizon = datetime.now(UTC) + timedelta(seconds=self.p.period_s[1] * 2)
            ends = await asyncio.to_thread(self._accounts)
            last_end = max((end for _, _, _, end, _ in ends if end < horizon), default=datetime.now(UTC))
            settle = max(0.0, (last_end - datetime.now(UTC)).total_seconds()) + self._allowance()
            t_end = time.monotonic() + settle
            await asyncio.sleep(max(0.0, t_end - time.monotonic()))
            await asyncio.to_thread(self.observe)
            await self.converge()
        finally:
            if monitor is not None:
                await _cancel(monitor)
            self.service.stop()
        self.report.emulator_requests = self.emulator.log.round_trips()
        self.report.emulator_faults = sum(1 for e in self.emulator.log.snapshot() if e.status in (429, 503, 504))
        self.final_checks()
        self.sweep_secrets()
        self.emulator.stop()
        self.report.elapsed_s = time.monotonic() - started
        return self.report


async def _cancel(task: asyncio.Task[Any]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def _aware(v: datetime | str) -> datetime:
    d = datetime.fromisoformat(v) if isinstance(v, str) else v
    return d if d.tzinfo else d.replace(tzinfo=UTC)


def _rel(v: datetime | str | None, t0: datetime) -> str:
    return "-" if v is None else f"{(_aware(v) - t0).total_seconds():+.1f}s"


def sync_url(url: str) -> str:
    return url.replace("+aiosqlite", "").replace("+asyncpg", "+psycopg")


def run_soak(profile: Profile, workdir: Path | None = None, db_url: str | None = None) -> Report:
    logging.getLogger("idops.emulator").setLevel(logging.CRITICAL)  # dropped connections are on purpose
    with tempfile.TemporaryDirectory(prefix="idops-soak-") as tmp:
        return asyncio.run(Soak(profile, workdir or Path(tmp), db_url).run())


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.integration.soak.soak", description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", choices=sorted(PROFILES), default="full")
    parser.add_argument("--duration", type=float, help="chaos window in seconds")
    parser.add_argument("--max-ops", type=int)
    parser.add_argument("--kills", type=int)
    parser.add_argument("--workdir", type=Path, help="keep the database and service log here")
    parser.add_argument("--database-url", help="default: SQLite in the work directory")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    args = parser.parse_args(argv)
    p = PROFILES[args.profile]
    overrides = {k: v for k, v in (("duration_s", args.duration), ("max_ops", args.max_ops), ("kills", args.kills))
                 if v is not None}
    profile = Profile(**{**asdict(p), **overrides})
    if args.workdir:
        args.workdir.mkdir(parents=True, exist_ok=True)
    report = run_soak(profile, args.workdir, args.database_url)
    print(report.render())
    for ex in report.examples:
        print("  example:", ex)
    for story in report.diagnostics:
        print(story)
    if args.json:
        print(json.dumps({k: v for k, v in asdict(report).items() if k not in ("by_kind", "refusals")}, default=str))
    return 0 if report.ok() else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
