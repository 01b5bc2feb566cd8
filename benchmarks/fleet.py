"""What the multi-process benchmarks share: a fresh PostgreSQL database, the emulator in a child process,
a generated region of any size, ``idops scheduler`` processes, job runs opened and waited for, the
budget's ideal time and peak RSS.

Used by ``shared_budget``, ``multi_process``, ``many_tenants`` and ``single_login``; not a benchmark itself.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text

REPO = Path(__file__).resolve().parent.parent
NEVER = "0 0 1 1 *"  # a cron the benchmarks' schedulers do not reach: the benchmark opens the runs itself
REPORTS_PATHS = ("/auditLogs/", "/reports/")  # the identity & access reports budget (and "/authentication/")


# ---------------------------------------------------------------------------------------------- measuring


def peak_rss_mb(pid: int | str = "self") -> float:
    """A process's own high-water mark (``VmHWM``; it starts fresh at exec, unlike ``ru_maxrss``).
    Read it from another process while that one is still alive."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a live process (all its threads), from ``/proc/PID/stat``."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_cpu() -> tuple[int, int]:
    """(busy, total) jiffies of every core since boot (``/proc/stat``): two readings give the share of
    the machine's CPU that was busy between them, whoever used it (idops, PostgreSQL, the emulator, others)."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


def busy_share(before: tuple[int, int], after: tuple[int, int]) -> float:
    return (after[0] - before[0]) / max(1, after[1] - before[1])


def load_average() -> float:
    return os.getloadavg()[0]


def ideal_seconds(requests: int, budget: int, window: float) -> float:
    """The least time ``requests`` can take under a token bucket of ``budget`` per ``window`` that starts
    full (the emulator's model): the first ``budget`` free, then ``budget / window``."""
    return max(0, requests - budget) * window / budget


def ideal_window_seconds(requests: int, budget: int, window: float) -> float:
    """The least time ``requests`` can take when at most ``budget`` may leave in any ``window`` (a
    sliding window — what idops' pacer keeps, safe under either server model):
    ``floor((requests - 1) / budget) × window`` (``single_login``'s ideal)."""
    return max(0, (requests - 1) // budget) * window


def is_reports(path: str) -> bool:
    return "/authentication/" in path or any(p in path for p in REPORTS_PATHS)


# ---------------------------------------------------------------------------------------------- PostgreSQL


def fresh_database(admin_url: str) -> str:
    """A new, migrated database on ``admin_url``'s server; its URL."""
    from idops.migrations import upgrade

    name = f"idops_bench_{uuid.uuid4().hex[:8]}"
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    url = f"{admin_url.rpartition('/')[0]}/{name}"
    upgrade(url)
    return url


def database_size(url: str) -> int:
    """Bytes on disk of ``url``'s database (``pg_database_size``)."""
    engine = create_engine(url)
    with engine.connect() as conn:
        size = int(conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one())
    engine.dispose()
    return size


def postgres_cpu(url: str) -> float | None:
    """CPU seconds the PostgreSQL server of ``url`` has used so far — its postmaster and every backend
    that has exited (``/proc``: the postmaster's own and its reaped children's times; a server on this
    machine only, else None). Read it while no benchmark connection is open: a live backend's time is
    not in it yet. Other users of the same server count too."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            backend = int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())
        postmaster = int(Path(f"/proc/{backend}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except OSError:
        return None
    finally:
        engine.dispose()
    time.sleep(0.2)  # our backend has exited and been reaped (its time is in cutime/cstime then)
    fields = Path(f"/proc/{postmaster}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def drop_database(admin_url: str, url: str) -> None:
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{url.rpartition("/")[2]}" WITH (FORCE)'))
    engine.dispose()


# ---------------------------------------------------------------------------------------------- the emulator


@dataclass(frozen=True, slots=True)
class EmulatorSpec:
    """What the emulator child generates and enforces. ``frozen_at``: its clock (None: the real one —
    what separate idops processes on the system clock need; the sign-ins are then generated up to now)."""

    region: Mapping[str, Any]
    apps: Mapping[str, Any]
    users_per_tenant: int
    faults: Mapping[str, Any]
    seed: int = 1
    signins_per_user_per_day: float = 0.6
    non_premium_tenants: Sequence[str] | None = None  # None: the generator's default (the last tenant)
    frozen_at: datetime | None = None


def _serve(conn: Any, spec: EmulatorSpec) -> None:
    import gc
    from datetime import UTC

    from idops.emulator.faults import Faults
    from idops.emulator.generator import generate_region
    from idops.emulator.server import EmulatorServer
    from idops.kit.clock import FrozenClock

    now = spec.frozen_at or datetime.now(UTC)
    gen = generate_region(spec.region, spec.apps, seed=spec.seed, users_per_tenant=spec.users_per_tenant, now=now,
                          signins_per_user_per_day=spec.signins_per_user_per_day,
                          non_premium_tenants=spec.non_premium_tenants, eager_truth=False)
    gc.freeze()  # the generated state never becomes garbage: keep full collections from walking it
    faults = Faults()
    faults.load_json(dict(spec.faults))
    clock = FrozenClock(spec.frozen_at) if spec.frozen_at else None
    server = EmulatorServer(gen.state, faults=faults, clock=clock).start()
    conn.send(server.base_url)
    conn.recv()
    server.stop()


@dataclass
class RemoteEmulator:
    base_url: str
    pid: int

    @property
    def admin(self) -> str:
        return self.base_url.rsplit("/v1.0", 1)[0] + "/_emulator"

    def reset(self, faults: Mapping[str, Any]) -> None:
        """Full buckets (a fresh budget) and an empty request log."""
        with httpx.Client(timeout=60) as http:
            http.put(f"{self.admin}/faults", json=dict(faults)).raise_for_status()
            http.delete(f"{self.admin}/log").raise_for_status()

    def log(self) -> list[dict[str, Any]]:
        with httpx.Client(timeout=300) as http:
            return list(http.get(f"{self.admin}/log").json()["entries"])


@contextmanager
def remote_emulator(spec: EmulatorSpec) -> Iterator[RemoteEmulator]:
    """The emulator in a child process, so its rendering does not compete with idops for a GIL."""
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_serve, args=(child, spec), daemon=True)
    proc.start()
    try:
        if not parent.poll(1800):
            raise RuntimeError("the emulator process did not start")
        assert proc.pid is not None
        yield RemoteEmulator(str(parent.recv()), proc.pid)
    finally:
        parent.send("stop")
        proc.join(timeout=10)
        if proc.is_alive():
            proc.kill()


def realistic_faults(window: float) -> dict[str, Any]:
    """Graph's documented budgets (``Faults.realistic_budgets``), time-scaled so the reports window is
    ``window`` seconds (Graph: 10)."""
    from idops.emulator.faults import Faults

    faults = Faults()
    faults.realistic_budgets(window / 10.0)
    return faults.to_json()


def requests_summary(log: list[dict[str, Any]]) -> dict[str, Any]:
    """From the emulator's log: requests, 429s (by throttle class), and per tenant the reports-class
    requests it answered (what the budget's ideal is computed from)."""
    throttled: Counter[str] = Counter()
    reports_ok: Counter[str] = Counter()
    for e in log:
        if e.get("in_batch"):
            continue
        reports = is_reports(e["path"])
        if e["status"] == 429:
            throttled["reports" if reports else e["method"]] += 1
        elif reports and e["tenant_id"]:
            reports_ok[e["tenant_id"]] += 1
    return {"requests": len(log), "429": sum(throttled.values()), "429_by_class": dict(throttled),
            "reports_ok": reports_ok}


# ---------------------------------------------------------------------------------------------- the region


def region_of(config: Path = REPO / "config") -> tuple[dict[str, Any], dict[str, Any]]:
    """The region and apps of a config directory as mappings (what the emulator's generator reads)."""
    import tomllib

    return (tomllib.loads((config / "region.toml").read_text()), tomllib.loads((config / "apps.toml").read_text()))


def _uuid(*parts: object) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "idops-bench/" + "/".join(map(str, parts))))


def generated_region_toml(tenants: int, schools: int = 2) -> str:
    """A region of ``tenants`` municipalities, each its own tenant with ``schools`` schools (fake,
    well-formed, deterministic ids), in ``region.toml``'s format. Its Graph base URL is the demo's
    placeholder: the processes are given the emulator's (``IDOPS_EMULATOR__EXTERNAL_URL``)."""
    out = ['[region]\nkey = "bench-region"\nname = "Benchmark region"\n']
    for m in range(tenants):
        key = f"kunta{m:03d}"
        out.append(f'''
[[municipalities]]
key = "{key}"
name = "Kunta {m}"
tenant_id = "{_uuid(key, "tenant")}"
upn_domain = "sijaiset.{key}.fi"
exclusion_group_ids = ["{_uuid(key, "exclusion")}"]
notification_sender = "idops-noreply@{key}.fi"
it_admins = {{ object_ids = ["{_uuid(key, "it")}"] }}
[municipalities.graph]
credential = "static"
base_url = "http://127.0.0.1:8765/v1.0"
''')
        for s in range(schools):
            school = f"koulu{s}"
            ids = {kind: _uuid(key, school, kind) for kind in ("staff", "pupil", "sub", "sku", "principal")}
            out.append(f'''
[[municipalities.schools]]
key = "{school}"
name = "Koulu {s}"
staff_group_ids = ["{ids["staff"]}"]
pupil_group_ids = ["{ids["pupil"]}"]
substitute_group_ids = ["{ids["sub"]}"]
licence_sku_ids = ["{ids["sku"]}"]
principals = {{ object_ids = ["{ids["principal"]}"] }}
quota = 5
''')
    return "".join(out)


def config_dir(into: Path, region_toml: str | None = None) -> Path:
    """The shipped config with ``region_toml`` (None: the demo region) — for the processes' ``--config-dir``.
    With another region, only the demo's apps that every municipality uses (the others name the demo's)."""
    into.mkdir(parents=True, exist_ok=True)
    for name in ("idops.toml", "apps.toml", "region.toml"):
        shutil.copy(REPO / "config" / name, into / name)
    if region_toml is not None:
        (into / "region.toml").write_text(region_toml)
        blocks = (REPO / "config" / "apps.toml").read_text().split("[[apps]]")
        kept = [b for b in blocks[1:] if "municipalities =" not in b and "sign_in_overrides" not in b]
        (into / "apps.toml").write_text("".join("[[apps]]" + b for b in kept))
    return into


# ---------------------------------------------------------------------------------------------- idops processes


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def idops_env(config: Path, database_url: str, data_dir: Path, emulator_url: str, window: float,
              **settings: object) -> dict[str, str]:
    """The environment of an idops process of the benchmark: ``config``, one database, the external
    emulator, the reports window, no scheduled job firing by itself; ``settings`` are more
    ``IDOPS_<SECTION>__<KEY>`` values (e.g. ``SCHEDULER__POLL_SECONDS=1``)."""
    env = {
        **os.environ,
        "IDOPS_CONFIG_DIR": str(config),
        "IDOPS_DATABASE__URL": database_url,
        "IDOPS_DATA_DIR": str(data_dir),
        "IDOPS_LOGGING__LEVEL": "WARNING",
        "IDOPS_LOGGING__FORMAT": "json",
        "IDOPS_EMULATOR__EXTERNAL_URL": emulator_url,
        # a deployment's settings (no --demo): its identity provider is never asked by these processes
        "IDOPS_AUTH__MODE": "entra",
        "IDOPS_AUTH__ISSUER": "https://login.example.invalid/bench/v2.0",
        "IDOPS_AUTH__JWKS_URL": "https://login.example.invalid/bench/keys",
        "IDOPS_GRAPH__REPORTS_WINDOW_SECONDS": str(window),
        "IDOPS_SCHEDULER__LIFECYCLE_INTERVAL_SECONDS": "3600",
        "IDOPS_SCHEDULER__RECONCILE_INTERVAL_SECONDS": "86400",
        "IDOPS_SCHEDULER__NOTIFY_INTERVAL_SECONDS": "86400",
    }
    for key in ("INGEST_SIGNINS", "SYNC_MFA", "SINGLE_LOGIN_REPORT", "PURGE"):
        env[f"IDOPS_SCHEDULER__{key}_CRON"] = NEVER
    env.update({f"IDOPS_{k}": str(v) for k, v in settings.items()})
    return env


@dataclass
class Schedulers:
    """``n`` ``idops scheduler`` processes on one environment (each its own metrics port)."""

    env: dict[str, str]
    n: int
    procs: list[subprocess.Popen[str]] = field(default_factory=list)
    ports: list[int] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)

    def __enter__(self) -> Schedulers:
        log_dir = Path(self.env["IDOPS_DATA_DIR"])
        for i in range(self.n):
            port = free_port()
            log = log_dir / f"scheduler-{i}.log"
            env = {**self.env, "IDOPS_SCHEDULER__METRICS_PORT": str(port)}
            with log.open("w") as out:
                self.procs.append(subprocess.Popen([sys.executable, "-m", "idops.cli", "scheduler"], cwd=REPO,
                                                   env=env, stdout=out, stderr=subprocess.STDOUT, text=True))
            self.ports.append(port)
            self.logs.append(log)
        self._wait_ready()
        return self

    def _wait_ready(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=2) as http:
            for proc, port in zip(self.procs, self.ports, strict=True):
                while True:
                    if proc.poll() is not None:
                        raise RuntimeError(f"a scheduler exited at start: {self.logs[self.procs.index(proc)]}")
                    try:
                        if http.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                            break
                    except httpx.HTTPError:
                        pass
                    if time.monotonic() > deadline:
                        raise RuntimeError("a scheduler did not start")
                    time.sleep(0.2)

    def peak_rss_mb(self) -> list[float]:
        return [peak_rss_mb(p.pid) for p in self.procs]

    def cpu_seconds(self) -> list[float]:
        return [cpu_seconds(p.pid) for p in self.procs]

    def __exit__(self, *exc: object) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                p.kill()


async def run_jobs(env: Mapping[str, str], names: Sequence[str], give_up_after: float = 3600.0) -> dict[str, Any]:
    """Open a run of each of ``names`` at once (as the API does; the schedulers' ``pick_up`` works on
    their units) and wait until every run has closed. Returns the seconds from opening to the last
    close and each run's record."""
    from idops.bootstrap import bootstrap
    from idops.config import load_config
    from idops.jobruntime.repository import OPEN
    from idops.jobruntime.runner import get_run, start_run

    saved = dict(os.environ)
    os.environ.update(env)
    try:
        config = load_config(Path(env["IDOPS_CONFIG_DIR"]))
    finally:
        os.environ.clear()
        os.environ.update(saved)
    c = bootstrap(config)
    try:
        t0 = time.monotonic()
        runs = [await start_run(c, name, trigger="benchmark") for name in names]
        deadline = t0 + give_up_after
        records = {}
        while time.monotonic() < deadline:
            records = {r.name: await get_run(c, r.id) for r in runs}
            if all(rec is not None and rec.outcome not in OPEN for rec in records.values()):
                break
            await asyncio.sleep(0.2)
        seconds = time.monotonic() - t0
    finally:
        await c.aclose()
    return {"seconds": seconds, "runs": records}


def unit_summary(record: Any) -> dict[str, Any]:
    """A run's outcome, its units by status, the counts that show every tenant's work, and its units'
    own times (the slowest, and the sum: what one worker doing them one by one would need)."""
    statuses: Counter[str] = Counter(u.status for u in record.units)
    seconds = [(u.finished_at - u.started_at).total_seconds() for u in record.units
               if u.started_at is not None and u.finished_at is not None]
    keep = ("tenants", "users", "sign_ins", "failed", "unavailable")
    return {"outcome": record.outcome, "units": dict(statuses),
            "counts": {k: v for k, v in record.counts.items() if k in keep},
            "unit_s_max": round(max(seconds, default=0.0), 2), "unit_s_sum": round(sum(seconds), 1)}


def measure(emulator: RemoteEmulator, config: Path, admin_url: str, processes: int, jobs: Sequence[str], *,
            window: float, faults: Mapping[str, Any], keep: Path | None = None, **settings: object) -> dict[str, Any]:
    """One measurement: a fresh database, full buckets, ``processes`` schedulers, a run of each of
    ``jobs`` opened at once and awaited; then the processes' peak RSS and CPU, the emulator's CPU and
    log, the PostgreSQL server's CPU (every user of it: this machine is shared), the machine's busy share
    and the database's size (the database is dropped afterwards).
    ``keep``: the processes' data directory (their logs, ``scheduler-N.log``, and the emulator's request
    log, ``emulator-log.json``) instead of a temporary one."""
    url = fresh_database(admin_url)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            data_dir = Path(tmp) if keep is None else keep
            data_dir.mkdir(parents=True, exist_ok=True)
            env = idops_env(config, url, data_dir, emulator.base_url, window, **settings)
            emulator.reset(faults)
            postgres_before = postgres_cpu(url)
            load_before, machine_before, emulator_before = load_average(), machine_cpu(), cpu_seconds(emulator.pid)
            with Schedulers(env, processes) as schedulers:
                done = asyncio.run(run_jobs(env, jobs))
                rss, cpu = schedulers.peak_rss_mb(), schedulers.cpu_seconds()
            busy, emulator_cpu = busy_share(machine_before, machine_cpu()), cpu_seconds(emulator.pid) - emulator_before
            postgres_after = postgres_cpu(url)
            log = emulator.log()
            if keep is not None:
                (keep / "emulator-log.json").write_text(json.dumps(log))
        size = database_size(url)
    finally:
        drop_database(admin_url, url)
    summary = requests_summary(log)
    return {
        "processes": processes, "seconds": round(done["seconds"], 2),
        "requests": summary["requests"], "429": summary["429"], "429_by_class": summary["429_by_class"],
        "reports_ok": summary["reports_ok"],
        "jobs": {name: unit_summary(rec) for name, rec in done["runs"].items()},
        "peak_rss_mb": [round(r, 1) for r in rss], "cpu_s": [round(c, 1) for c in cpu],
        "emulator_cpu_s": round(emulator_cpu, 1), "machine_busy": round(busy, 2),
        "postgres_cpu_s": None if postgres_before is None or postgres_after is None
        else round(postgres_after - postgres_before, 1),
        "db_mb": round(size / 2**20, 1), "load": [round(load_before, 2), round(load_average(), 2)],
    }
