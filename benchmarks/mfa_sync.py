"""Benchmark: MFA sync of one large tenant, idops vs a naive msgraph-sdk script; summary latency.

    .venv/bin/python -m benchmarks.mfa_sync                      # 25 000 and 100 000 users
    .venv/bin/python -m benchmarks.mfa_sync --sizes 20000 --baseline-users 2000 --repeat 1

- The emulator serves a generated one-municipality region (Pirkkala, 3 schools) from a spawned child
  process (uvicorn in a thread there; the generated state is ``gc.freeze()``-d once built), unthrottled
  (no budgets, no latency); idops' pacer budget is lifted to match. It renders every page when it is
  asked for (nothing is pre-rendered or cached between runs) and it runs on the same machine: its CPU
  time during each idops run is printed beside idops' own.
- **idops**: ``jobs.sync_mfa.run`` — streaming pages, classification, bulk upserts, snapshot, the
  per-tenant counts of role ``other`` — into a fresh SQLite file, in a fresh subprocess that reports
  its wall time, CPU time and own peak RSS (``VmHWM``); ``--repeat`` runs (default 3, each into a new
  file) per size, the median is the result. The 1-minute load average is printed with each run.
- **naive baseline**: msgraph-sdk typed models through ``PageIterator`` for users, group members and
  the registration report, one ORM insert (``session.add`` + flush) per row. It is ~100× slower, so it
  processes the first ``--baseline-users`` users of each stream and its users/s is compared.
- **summary latency**: ``GET /v1/mfa/summary`` over the synced database over HTTP: the API under
  uvicorn in a child process, 20 concurrent keep-alive clients (httpx) here; p50/p95, with the
  response cache and with it off (every request computes the summary from the snapshot rows).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.fleet import REPO, peak_rss_mb, region_of

NOW = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
MUNICIPALITY = "pirkkala"


def _region() -> tuple[dict[str, Any], dict[str, Any]]:
    region, apps = region_of()
    region["municipalities"] = [m for m in region["municipalities"] if m["key"] == MUNICIPALITY]
    return region, apps


def _config(db_path: Path, data_dir: Path) -> Any:
    from idops.config import load_config
    from idops.config.region import RegionConfig

    config = load_config(
        REPO / "config",
        demo=True,
        data_dir=data_dir,
        database={"url": f"sqlite+aiosqlite:///{db_path}"},
        scheduler={"enabled": False},
        logging={"format": "json", "level": "WARNING"},
        graph={"reports_requests": 1_000_000},  # the emulator is unthrottled: so is the pacer
    )
    return dataclasses.replace(config, region=RegionConfig.model_validate(_region()[0]))


def _prepare_db(url: str) -> None:
    from sqlalchemy import create_engine

    import idops.directory.models
    import idops.mfa.models  # noqa: F401
    from idops.kit.db import Base
    from idops.migrations import upgrade

    upgrade(url)
    engine = create_engine(url.replace("+aiosqlite", ""))
    Base.metadata.create_all(engine)  # until the initial migration is regenerated with these tables
    engine.dispose()


# ------------------------------------------------------------------------------------------ children


async def _child_idops(base_url: str, db_path: Path) -> dict[str, Any]:
    from idops.bootstrap import bootstrap
    from idops.kit.clock import FrozenClock
    from idops.kit.logging import configure_logging
    from jobs import sync_mfa

    configure_logging("json", "WARNING")
    config = _config(db_path, db_path.parent)
    c = bootstrap(config, clock=FrozenClock(NOW), graph_base_url=base_url)
    t0, cpu0 = time.perf_counter(), _cpu_seconds()
    counts = await sync_mfa.run(c)
    seconds, cpu = time.perf_counter() - t0, _cpu_seconds() - cpu0
    await c.directories.aclose()
    await c.database.dispose()
    return {"users": counts["users"], "seconds": seconds, "cpu_seconds": cpu, "counts": counts}


def _cpu_seconds() -> float:
    """CPU time of this process, all threads (the SQLite driver works in its own)."""
    import resource

    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


async def _child_naive(base_url: str, db_path: Path, limit: int) -> dict[str, Any]:
    """A straightforward script: typed SDK models, ``PageIterator``, one ORM insert per row."""
    from kiota_abstractions.authentication import (
        AccessTokenProvider,
        AllowedHostsValidator,
        BaseBearerTokenAuthenticationProvider,
    )
    from kiota_abstractions.base_request_configuration import RequestConfiguration
    from msgraph import GraphRequestAdapter, GraphServiceClient
    from msgraph.generated.users.users_request_builder import UsersRequestBuilder
    from msgraph_core import PageIterator

    from idops.directory.models import DirectoryMembership, DirectoryUserRow
    from idops.kit.db import Database

    config = _config(db_path, db_path.parent)
    tenant = config.region.municipalities[0].tenant_id
    school = config.region.municipalities[0].schools

    class Static(AccessTokenProvider):
        async def get_authorization_token(self, uri: str, ctx: dict[str, Any] | None = None) -> str:
            return f"emu.{tenant}"

        def get_allowed_hosts_validator(self) -> AllowedHostsValidator:
            return AllowedHostsValidator([])

    adapter = GraphRequestAdapter(BaseBearerTokenAuthenticationProvider(Static()))
    adapter.base_url = base_url
    client = GraphServiceClient(request_adapter=adapter)
    db = Database(config.settings.database.url)
    t0 = time.perf_counter()
    n = {"users": 0, "members": 0, "reg": 0}
    async with db.session() as session:
        query = UsersRequestBuilder.UsersRequestBuilderGetQueryParameters(
            top=999,
            select=["id", "userPrincipalName", "displayName", "accountEnabled", "userType", "employeeId",
                    "employeeType", "employeeHireDate", "mail"],
        )
        first = await client.users.get(request_configuration=RequestConfiguration(query_parameters=query))

        # PageIterator calls a *sync* callback: the naive script collects the typed objects, then
        # inserts them one ORM row (and one flush) at a time.
        def collect(into: list[Any]) -> Any:
            def visit(item: Any) -> bool:
                into.append(item)
                return len(into) < limit

            return visit

        users: list[Any] = []
        await PageIterator(first, client.request_adapter).iterate(collect(users))
        for u in users:
            session.add(DirectoryUserRow(
                tenant_id=tenant, user_id=u.id, upn=u.user_principal_name or "", display_name=u.display_name or "",
                employee_id=u.employee_id, mail=u.mail, account_enabled=bool(u.account_enabled),
                user_type=u.user_type, employee_type=u.employee_type, synced_at=NOW, sync_run="naive",
            ))
            await session.flush()
        n["users"] = len(users)
        for s in school:
            for gid in s.staff_group_ids:
                members: list[Any] = []
                page = await client.groups.by_group_id(gid).transitive_members.get()
                await PageIterator(page, client.request_adapter).iterate(collect(members))
                for m in members:
                    session.add(DirectoryMembership(tenant_id=tenant, user_id=m.id, municipality=MUNICIPALITY,
                                                    school=s.key, role="staff", excluded_reason=None,
                                                    sync_run="naive"))
                    await session.flush()
                n["members"] += len(members)
        regs: list[Any] = []
        reg = await client.reports.authentication_methods.user_registration_details.get()
        await PageIterator(reg, client.request_adapter).iterate(collect(regs))
        for r in regs:
            row = await session.get(DirectoryUserRow, (tenant, r.id))
            if row is not None:
                row.is_mfa_registered = bool(r.is_mfa_registered)
                row.is_mfa_capable = bool(r.is_mfa_capable)
                row.methods_registered = list(r.methods_registered or [])
                await session.flush()
        n["reg"] = len(regs)
    seconds = time.perf_counter() - t0
    await db.dispose()
    return {"users": n["users"], "seconds": seconds, "counts": n}


def _serve_app(db_path: str, port: int, cached: bool) -> None:
    """The API under uvicorn in its own process (the load generator must not share its GIL)."""
    import uvicorn

    from idops.app import create_app
    from idops.bootstrap import bootstrap
    from idops.kit.clock import FrozenClock
    from idops.kit.response_cache import ResponseCache

    config = _config(Path(db_path), Path(db_path).parent)

    class NoGraph:
        def for_tenant(self, tenant_id: str) -> Any:
            raise AssertionError("the summary never calls Graph")

        async def aclose(self) -> None:
            return None

    # demo auth: bootstrap() loads the demo signer from the data directory, the one that signed the token
    container = bootstrap(config, clock=FrozenClock(NOW), directories=NoGraph())
    if not cached:
        container.mfa_responses = ResponseCache(ttl=0.0)  # every request computes
    app = create_app(config, container_factory=lambda: container, start_scheduler=False)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


async def _load(base_url: str, token: str, clients: int, requests: int) -> dict[str, Any]:
    import httpx

    latencies: list[float] = []
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=60,
                                 headers={"Authorization": f"Bearer {token}"}) as http:
        for _ in range(100):  # the server is up when it answers; then warm the connections
            try:
                r = await http.get("/v1/mfa/summary")
                break
            except httpx.TransportError:
                await asyncio.sleep(0.1)
        assert r.status_code == 200, r.text
        rows = len(r.json()["rows"])
        await asyncio.gather(*(http.get("/v1/mfa/summary") for _ in range(clients)))

        async def worker() -> None:
            for _ in range(requests):
                t = time.perf_counter()
                resp = await http.get("/v1/mfa/summary")
                latencies.append(time.perf_counter() - t)
                assert resp.status_code == 200

        await asyncio.gather(*(worker() for _ in range(clients)))
    latencies.sort()
    return {
        "rows": rows,
        "requests": len(latencies),
        "p50_ms": statistics.median(latencies) * 1000,
        "p95_ms": latencies[int(len(latencies) * 0.95) - 1] * 1000,
    }


async def _load_raw(port: int, token: str, clients: int, requests: int) -> dict[str, Any]:
    """The same load from a minimal keep-alive HTTP/1.1 client: httpx spends ~1 ms of CPU per request
    itself, so 20 httpx clients in one process measure mostly httpx."""
    request = (f"GET /v1/mfa/summary HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\r\n").encode()
    latencies: list[float] = []

    async def one(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200"), head[:200]
        length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length:"))
        await reader.readexactly(length)

    async def worker() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        await one(reader, writer)
        for _ in range(requests):
            t = time.perf_counter()
            await one(reader, writer)
            latencies.append(time.perf_counter() - t)
        writer.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    wall = time.perf_counter() - t0
    latencies.sort()
    return {
        "requests": len(latencies),
        "per_s": len(latencies) / wall,
        "p50_ms": statistics.median(latencies) * 1000,
        "p95_ms": latencies[int(len(latencies) * 0.95) - 1] * 1000,
    }


def _child_summary(db_path: Path, clients: int, requests: int, cached: bool) -> dict[str, Any]:
    """``GET /v1/mfa/summary`` over HTTP: uvicorn in a child process, ``clients`` concurrent clients here."""
    import multiprocessing
    import socket

    from idops.auth.demo import DemoSigner, demo_claims

    config = _config(db_path, db_path.parent)
    token = DemoSigner.load_or_create(db_path.parent).sign(
        demo_claims(config, role="ItAdmin", municipality=MUNICIPALITY, now=datetime.now(UTC))
    )
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = multiprocessing.get_context("spawn").Process(target=_serve_app, args=(str(db_path), port, cached),
                                                        daemon=True)
    proc.start()
    try:
        out = asyncio.run(_load(f"http://127.0.0.1:{port}", token, clients, requests))
        out["raw"] = asyncio.run(_load_raw(port, token, clients, requests))
        return out
    finally:
        proc.terminate()
        proc.join(10)


def child_main(args: argparse.Namespace) -> None:
    db = Path(args.db)
    if args.child in ("idops", "naive"):
        _prepare_db(f"sqlite+aiosqlite:///{db}")  # alembic runs its own event loop: before ours
    if args.child == "idops":
        result = asyncio.run(_child_idops(args.base_url, db))
    elif args.child == "naive":
        result = asyncio.run(_child_naive(args.base_url, db, args.baseline_users))
    else:
        result = _child_summary(db, args.clients, args.requests, cached=args.child == "summary")
    result["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(result, default=str))


# ------------------------------------------------------------------------------------------ parent


def _process_cpu(pid: int | None) -> float:
    """CPU seconds (user + system, all threads) of another process so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_child(*argv: str) -> dict[str, Any]:
    out = subprocess.run([sys.executable, "-m", "benchmarks.mfa_sync", *argv], check=False,
                         capture_output=True, text=True, cwd=REPO)
    if out.returncode:
        raise SystemExit(f"child {argv[:2]} failed:\n{out.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[25_000, 100_000])
    parser.add_argument("--baseline-users", type=int, default=3_000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests", type=int, default=50, help="per client")
    parser.add_argument("--repeat", type=int, default=3, help="idops runs per size (the median is reported)")
    parser.add_argument("--child", choices=["idops", "naive", "summary", "summary-uncached"])
    parser.add_argument("--base-url")
    parser.add_argument("--db")
    args = parser.parse_args()
    if args.child:
        child_main(args)
        return

    sys.path.insert(0, str(REPO))
    from tests.integration.mfa.remote_emulator import remote_emulator

    region, apps = _region()
    results: dict[int, dict[str, Any]] = {}
    print(f"load average at the start: {' '.join(Path('/proc/loadavg').read_text().split()[:3])}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            t0 = time.perf_counter()
            with remote_emulator(region, apps, seed=1, users_per_tenant=size, now=NOW,
                                 non_premium_tenants=[]) as base_url:
                print(f"emulator: {size:,} users ready in {time.perf_counter() - t0:.1f} s", flush=True)
                emulator_pid = multiprocessing.active_children()[0].pid
                runs = []
                for i in range(args.repeat):
                    db = Path(tmp) / f"idops-{size}-{i}.db"
                    cpu0 = _process_cpu(emulator_pid)
                    r = run_child("--child", "idops", "--base-url", base_url, "--db", str(db))
                    r["emulator_cpu_seconds"] = _process_cpu(emulator_pid) - cpu0
                    r["load"] = Path("/proc/loadavg").read_text().split()[0]
                    r["users_per_s"] = r["users"] / r["seconds"]
                    print(f"{size:>7,} users  idops  {r['users_per_s']:>9,.0f} users/s  {r['seconds']:6.2f} s  "
                          f"(CPU {r['cpu_seconds']:.2f} s, emulator {r['emulator_cpu_seconds']:.2f} s)  "
                          f"peak RSS {r['peak_rss_mb']:6.1f} MB  load {r['load']}", flush=True)
                    runs.append(r)
                r = sorted(runs, key=lambda x: x["seconds"])[len(runs) // 2]  # the median run
                if len(runs) > 1:
                    print(f"{size:>7,} users  idops  median of {len(runs)}: {r['users_per_s']:,.0f} users/s "
                          f"({r['seconds']:.2f} s)", flush=True)
                results[size] = {"idops": r}
                if size == max(args.sizes):
                    nv = run_child("--child", "naive", "--base-url", base_url, "--db", str(Path(tmp) / "naive.db"),
                                   "--baseline-users", str(args.baseline_users))
                    nv["users_per_s"] = nv["users"] / nv["seconds"]
                    print(f"{nv['users']:>7,} users  naive  {nv['users_per_s']:>9,.0f} users/s  "
                          f"{nv['seconds']:6.2f} s  peak RSS {nv['peak_rss_mb']:6.1f} MB", flush=True)
                    results[size]["naive"] = nv
                    for kind in ("summary", "summary-uncached"):
                        results[size][kind] = run_child("--child", kind, "--db", str(db), "--clients",
                                                        str(args.clients), "--requests", str(args.requests))
    big = max(args.sizes)
    i, nv, sm = results[big]["idops"], results[big]["naive"], results[big]["summary"]
    un = results[big]["summary-uncached"]
    print()
    print(f"load average at the end: {' '.join(Path('/proc/loadavg').read_text().split()[:3])} "
          f"({len(os.sched_getaffinity(0))} CPUs)")
    print(f"sync of {big:,} users: idops {i['users_per_s']:,.0f} users/s vs naive {nv['users_per_s']:,.0f} users/s "
          f"→ ×{i['users_per_s'] / nv['users_per_s']:.1f} (target ≥ ×5 and ≥ 30 000 users/s)")
    if len(args.sizes) > 1:
        lo = min(args.sizes)
        a, b = results[lo]["idops"]["peak_rss_mb"], i["peak_rss_mb"]
        print(f"idops peak RSS: {a:.1f} MB at {lo:,} users, {b:.1f} MB at {big:,} users "
              f"(×{b / a:.2f} for ×{big / lo:.0f} users; target ≤ 300 MB and flat)")
    print(f"GET /v1/mfa/summary, {args.clients} concurrent clients, {sm['requests']} requests, {sm['rows']} rows: "
          f"p50 {sm['p50_ms']:.1f} ms, p95 {sm['p95_ms']:.1f} ms (target ≤ 20 ms); computed per request "
          f"(cache off): p50 {un['p50_ms']:.1f} ms, p95 {un['p95_ms']:.1f} ms → ×{un['p95_ms'] / sm['p95_ms']:.1f}")
    rw, ru = sm["raw"], un["raw"]
    print(f"  same with a minimal HTTP/1.1 client instead of httpx: p50 {rw['p50_ms']:.1f} ms, "
          f"p95 {rw['p95_ms']:.1f} ms, "
          f"{rw['per_s']:,.0f} requests/s; cache off: p50 {ru['p50_ms']:.1f} ms, p95 {ru['p95_ms']:.1f} ms, "
          f"{ru['per_s']:,.0f} requests/s")


if __name__ == "__main__":
    main()
