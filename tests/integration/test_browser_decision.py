"""The browser tests' decision (``tests/browser.py``): run with a browser; without one, skip loudly
outside CI and fail in CI; ``./dev test`` installs Debian's Chromium where it may."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.browser import decide, obtain
from tests.conftest import REPO


def _executable(path: Path) -> Path:
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)
    return path


def test_a_browser_named_by_idops_chromium_runs_the_tests(tmp_path: Path) -> None:
    chromium = _executable(tmp_path / "chromium")
    assert decide({"IDOPS_CHROMIUM": str(chromium), "CI": "true"}).chromium == str(chromium)


def test_no_browser_outside_ci_skips_with_how_to_run_them() -> None:
    d = decide({"IDOPS_CHROMIUM": "/nowhere/chromium"})
    assert not d.run and d.failure is None
    assert d.notice is not None and d.notice.startswith("BROWSER TESTS SKIPPED: no Chromium at /nowhere/chromium")
    assert "apt-get install -y --no-install-recommends chromium" in d.notice


def test_no_browser_in_ci_fails() -> None:
    d = decide({"IDOPS_CHROMIUM": "/nowhere/chromium", "CI": "true"})
    assert d.notice is None and d.failure is not None and "must run in CI" in d.failure


def test_the_test_command_installs_debians_chromium_as_root(tmp_path: Path) -> None:
    commands: list[list[str]] = []

    def apt(argv: list[str]) -> int:
        commands.append(argv)
        if argv[1] == "install":
            _executable(tmp_path / "chromium")
        return 0

    env = {"PATH": str(tmp_path)}
    assert obtain(env, run=apt, is_root=True, apt="/usr/bin/apt-get", candidates=()) == str(tmp_path / "chromium")
    assert commands == [["/usr/bin/apt-get", "install", "-y", "-qq", "--no-install-recommends", "chromium"]]


def test_the_test_command_installs_nothing_when_it_may_not() -> None:
    def refuse(argv: list[str]) -> int:
        raise AssertionError(f"ran {argv}")

    env = {"PATH": "/nowhere"}
    assert obtain(env, run=refuse, is_root=False, apt="/usr/bin/apt-get", candidates=()) is None
    assert obtain(env, run=refuse, is_root=True, apt="", candidates=()) is None
    assert obtain({**env, "IDOPS_CHROMIUM": "/nowhere/chromium"}, run=refuse, is_root=True,
                  apt="/usr/bin/apt-get", candidates=()) is None  # a browser the user chose is not replaced


def _browser_tests(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("CI", "IDOPS_CHROMIUM")}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "tests/e2e/test_security.py", "-q", "-p", "no:cacheprovider"],
        cwd=REPO, env={**clean, **env}, capture_output=True, text=True, timeout=120,
    )


def test_without_a_browser_the_browser_tests_skip_outside_ci_and_fail_in_ci() -> None:
    skipped = _browser_tests(IDOPS_CHROMIUM="/nowhere/chromium")
    assert skipped.returncode == 0, skipped.stdout[-2000:]
    assert "2 skipped" in skipped.stdout
    assert skipped.stdout.count("BROWSER TESTS SKIPPED: no Chromium at /nowhere/chromium") >= 1
    failed = _browser_tests(IDOPS_CHROMIUM="/nowhere/chromium", CI="true")
    assert failed.returncode == 1, failed.stdout[-2000:]
    assert "CI=true and no Chromium at /nowhere/chromium" in failed.stdout
