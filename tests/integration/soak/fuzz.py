"""The long schemathesis profile: ``python -m tests.integration.soak.fuzz --max-examples 500 [--seed N]``.

Serves the app on loopback against the Graph emulator (temporary SQLite database), fuzzes every
operation for every role and without/with an invalid token, prints cases and failures per role and
exits 1 on any failure.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path

import structlog

from tests.integration.fuzz.harness import ROLES, fuzz, fuzz_environment


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.integration.soak.fuzz")
    parser.add_argument("--max-examples", type=int, default=500)
    parser.add_argument("--seed", type=int, default=20261130)
    parser.add_argument("--role", action="append", choices=ROLES, help="default: all")
    parser.add_argument("--database-url", help="default: a temporary SQLite file")
    args = parser.parse_args(argv)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    with tempfile.TemporaryDirectory(prefix="idops-fuzz-") as tmp:
        url = args.database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'idops.db'}"
        started = time.monotonic()
        with fuzz_environment(Path(tmp), url) as (base_url, headers_for):
            results = fuzz(base_url, headers_for, roles=tuple(args.role or ROLES), max_examples=args.max_examples,
                           seed=args.seed, progress=lambda line: print("schemathesis", line, flush=True))
    for r in results:
        for failure in r.failures:
            print(f"\n--- {r.role}: {failure}")
    total = sum(r.cases for r in results)
    failed = sum(len(r.failures) for r in results)
    print(f"\nschemathesis total cases={total} failures={failed} max_examples={args.max_examples} "
          f"seed={args.seed} elapsed={time.monotonic() - started:.0f}s")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
