"""Benchmark: stream registration-detail rows from the emulator — idops' reader vs a typed SDK script.

Each reader runs in a fresh subprocess that reports rows, wall time and its own peak RSS
(``resource.getrusage``), so import and model-loading costs are counted where they occur.
The emulator runs in this (parent) process with no latency; its rows are put straight into state.

    .venv/bin/python -m benchmarks.graph_stream            # 20 000 and 100 000 rows
    .venv/bin/python -m benchmarks.graph_stream --sizes 5000

The typed script is very slow (msgraph 1.65's ``Entity.get_field_deserializers`` runs ~1 200 import
statements per object, ~5–10 ms a row), so it runs only for sizes up to ``--sdk-max`` (default 20 000);
the ratio is printed for those sizes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import time
from typing import Any

TENANT_PREFIX = "bbbbbbbb-0000-4000-8000-"


def tenant_for(size: int) -> str:
    return f"{TENANT_PREFIX}{size:012d}"


# ------------------------------------------------------------------------------------------ children


def _peak_rss_mb() -> tuple[float, float]:
    """(peak RSS of this program, ``getrusage`` ru_maxrss) in MB.

    On Linux ``ru_maxrss`` survives ``execve`` and includes the *parent's* peak at fork time (the
    parent here holds the emulator and 120 000 users), so it overstates a child's own peak. The first
    value is ``VmHWM`` from ``/proc/self/status`` — the high-water mark of this program's own memory
    map, which starts fresh at exec — and falls back to ``ru_maxrss`` elsewhere.
    """
    rusage = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0, rusage
    except OSError:
        pass
    return rusage, rusage


async def _child_idops(base_url: str, tenant: str) -> dict[str, Any]:
    from idops.config.region import GraphConnection
    from idops.config.settings import GraphSettings
    from idops.graph.sdk import GraphDirectory

    t0 = time.perf_counter()
    directory = GraphDirectory.create(
        tenant,
        GraphConnection(credential="static", base_url=base_url),
        GraphSettings(reports_requests=100_000, page_size=999),  # no emulator budget: pacing off
    )
    rows = mfa = 0
    t1 = time.perf_counter()
    async for page in directory.list_registration_details_bulk():  # the reader the MFA sync uses
        rows += len(page)
        mfa += sum(1 for r in page if r.is_mfa_capable)
    t2 = time.perf_counter()
    await directory.aclose()
    return {"rows": rows, "mfa_capable": mfa, "setup_s": t1 - t0, "stream_s": t2 - t1}


async def _child_sdk(base_url: str, tenant: str) -> dict[str, Any]:
    """What a straightforward msgraph-sdk script does: typed models + ``PageIterator``."""
    from kiota_abstractions.authentication import (
        AccessTokenProvider,
        AllowedHostsValidator,
        BaseBearerTokenAuthenticationProvider,
    )
    from kiota_abstractions.base_request_configuration import RequestConfiguration
    from msgraph import GraphRequestAdapter, GraphServiceClient
    from msgraph.generated.reports.authentication_methods.user_registration_details import (
        user_registration_details_request_builder as urd,
    )
    from msgraph_core import PageIterator

    class Static(AccessTokenProvider):
        async def get_authorization_token(self, uri: str, ctx: dict[str, Any] | None = None) -> str:
            return f"emu.{tenant}"

        def get_allowed_hosts_validator(self) -> AllowedHostsValidator:
            return AllowedHostsValidator([])

    t0 = time.perf_counter()
    adapter = GraphRequestAdapter(BaseBearerTokenAuthenticationProvider(Static()))
    adapter.base_url = base_url
    client = GraphServiceClient(request_adapter=adapter)
    t1 = time.perf_counter()
    query = urd.UserRegistrationDetailsRequestBuilder.UserRegistrationDetailsRequestBuilderGetQueryParameters(
        top=999
    )
    first = await client.reports.authentication_methods.user_registration_details.get(
        request_configuration=RequestConfiguration(query_parameters=query)
    )
    counts = {"rows": 0, "mfa": 0}

    def visit(item: Any) -> bool:
        counts["rows"] += 1
        counts["mfa"] += bool(item.is_mfa_capable)
        return True  # False/None would stop the iterator

    await PageIterator(first, client.request_adapter).iterate(visit)
    t2 = time.perf_counter()
    return {"rows": counts["rows"], "mfa_capable": counts["mfa"], "setup_s": t1 - t0, "stream_s": t2 - t1}


def child_main(kind: str, base_url: str, tenant: str) -> None:
    run = _child_idops if kind == "idops" else _child_sdk
    result = asyncio.run(run(base_url, tenant))
    result["peak_rss_mb"], result["ru_maxrss_mb"] = _peak_rss_mb()
    print(json.dumps(result))


# ------------------------------------------------------------------------------------------ parent


def populate(state: Any, size: int) -> None:
    """``size`` users with uneven MFA registration, straight into the emulator's state."""
    tenant = tenant_for(size)
    state.add_tenant(tenant, ["bench.example.fi"])
    methods = ("microsoftAuthenticatorPush", "mobilePhone")
    for i in range(size):
        u = state.add_user(tenant, f"user{i}@bench.example.fi", f"Käyttäjä {i}")
        if i % 3:
            state.set_registration(tenant, u.id, registered=True, methods=methods)


def run_child(kind: str, base_url: str, size: int) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.graph_stream", "--child", kind, "--base-url", base_url,
         "--tenant", tenant_for(size)],
        check=True, capture_output=True, text=True,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    if result["rows"] != size:
        raise SystemExit(f"{kind}: expected {size} rows, got {result['rows']}")
    result["rows_per_s"] = result["rows"] / result["stream_s"]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[20_000, 100_000])
    parser.add_argument("--sdk-max", type=int, default=20_000, help="largest size the typed script runs")
    parser.add_argument("--child", choices=["idops", "sdk"])
    parser.add_argument("--base-url")
    parser.add_argument("--tenant")
    args = parser.parse_args()
    if args.child:
        child_main(args.child, args.base_url, args.tenant)
        return

    from idops.emulator.server import EmulatorServer
    from idops.emulator.state import EmulatorState

    state = EmulatorState()
    t0 = time.perf_counter()
    for size in args.sizes:
        populate(state, size)
    print(f"emulator state: {sum(args.sizes):,} users in {time.perf_counter() - t0:.1f} s")
    with EmulatorServer(state) as server:
        rows = []
        for size in args.sizes:
            for kind in ("idops", "sdk") if size <= args.sdk_max else ("idops",):
                r = run_child(kind, server.base_url, size)
                rows.append((size, kind, r))
                print(
                    f"{size:>7,} rows  {kind:<5}  {r['rows_per_s']:>9,.0f} rows/s  "
                    f"stream {r['stream_s']:6.2f} s  setup {r['setup_s']:5.2f} s  "
                    f"peak RSS {r['peak_rss_mb']:6.1f} MB (ru_maxrss {r['ru_maxrss_mb']:.1f})",
                    flush=True,
                )
    print()
    by = {(s, k): r for s, k, r in rows}
    for size in args.sizes:
        if (size, "sdk") not in by:
            continue
        i, s = by[(size, "idops")], by[(size, "sdk")]
        print(
            f"{size:>7,} rows: idops/sdk throughput x{i['rows_per_s'] / s['rows_per_s']:.2f}, "
            f"peak RSS x{i['peak_rss_mb'] / s['peak_rss_mb']:.2f} "
            f"({i['peak_rss_mb']:.1f} MB vs {s['peak_rss_mb']:.1f} MB)"
        )
    if len(args.sizes) > 1:
        lo, hi = min(args.sizes), max(args.sizes)
        growth = by[(hi, "idops")]["peak_rss_mb"] - by[(lo, "idops")]["peak_rss_mb"]
        print(f"idops reader peak RSS growth from {lo:,} to {hi:,} rows: {growth:+.1f} MB")


if __name__ == "__main__":
    main()
