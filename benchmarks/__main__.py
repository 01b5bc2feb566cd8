"""``./dev bench``: run every benchmark, one after another (each prints ratios against its baseline).

``./dev bench NAME [args]`` runs one (graph_stream, mfa_sync, mfa_method_scan, single_login; shared_budget,
multi_process and many_tenants only so: they need PostgreSQL, ``--database URL``). Benchmarks are never part
of the timed test suite.
"""

from __future__ import annotations

import subprocess
import sys

ALL = ("graph_stream", "mfa_sync", "mfa_method_scan", "single_login")
# these need a PostgreSQL server (--database URL): not in the ``./dev bench`` run
ON_DEMAND = ("shared_budget", "multi_process", "many_tenants")


def main(argv: list[str]) -> int:
    if argv and argv[0] in (*ALL, *ON_DEMAND):
        # A process of its own, as below: run in this one (runpy), a benchmark's functions belong to a
        # '__main__' that is not this module, and the children it spawns cannot unpickle them.
        return subprocess.call([sys.executable, "-m", f"benchmarks.{argv[0]}", *argv[1:]])
    failed = 0
    for name in ALL:
        print(f"\n===== {name} =====", flush=True)
        failed += subprocess.call([sys.executable, "-m", f"benchmarks.{name}", *argv]) != 0
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
