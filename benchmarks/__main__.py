"""``./dev bench``: run every benchmark, one after another (each prints ratios against its baseline).

``./dev bench NAME [args]`` runs one (graph_stream, mfa_sync, single_login). Benchmarks are never
part of the timed test suite.
"""

from __future__ import annotations

import runpy
import subprocess
import sys

ALL = ("graph_stream", "mfa_sync", "single_login")


def main(argv: list[str]) -> int:
    if argv and argv[0] in ALL:
        sys.argv = [f"benchmarks.{argv[0]}", *argv[1:]]
        runpy.run_module(f"benchmarks.{argv[0]}", run_name="__main__")
        return 0
    failed = 0
    for name in ALL:
        print(f"\n===== {name} =====", flush=True)
        failed += subprocess.call([sys.executable, "-m", f"benchmarks.{name}", *argv]) != 0
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
