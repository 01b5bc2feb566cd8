"""``python -m tests``: the README's test command. Runs the whole suite on two workers.

pytest's exit code 5 ("no tests ran") is turned into a failure with a clear message, so an
empty or mis-collected suite can never pass CI by accident. A missing Chromium is installed first
where this process may (``tests/browser.py``); otherwise the browser tests skip (or fail in CI).
"""

from __future__ import annotations

import os
import sys

import pytest


def main(argv: list[str]) -> int:
    from tests.browser import obtain

    obtain(os.environ)
    # The suite starts many Python processes (workers, servers, CLI runs): let them keep compiled bytecode
    # (and pytest its rewritten test modules) instead of compiling every import again.
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    sys.dont_write_bytecode = False
    workers = os.environ.get("IDOPS_TEST_WORKERS", "2")
    args = ["-n", workers, "--dist", "loadgroup", *argv] if workers != "0" else list(argv)
    code = int(pytest.main(args))
    if code == pytest.ExitCode.NO_TESTS_COLLECTED:
        print("tests: pytest collected no tests — treating as a failure", file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
