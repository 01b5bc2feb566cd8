"""Whether the browser tests can run, and what to do when they cannot.

- ``IDOPS_CHROMIUM`` names the browser to use (tests inject a missing one through it); otherwise
  Debian's ``chromium`` on the PATH, ``/usr/bin/chromium`` or ``/usr/lib/chromium/chromium``.
- ``python -m tests`` (``./dev test``) first *obtains* Chromium where it can: Debian's package, when
  running as root with apt and ``IDOPS_CHROMIUM`` is not set.
- No browser: outside CI the browser tests are skipped with one loud line saying how to run them;
  with ``CI=true`` they fail (a CI run that silently skipped them would pass untested pages).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass

CHROMIUM_ENV = "IDOPS_CHROMIUM"
CANDIDATES = ("/usr/bin/chromium", "/usr/lib/chromium/chromium")
HOW_TO = ("apt-get install -y --no-install-recommends chromium (as root; ./dev test does it itself), "
          f"or point {CHROMIUM_ENV} at a Chromium, then ./dev test")


def in_ci(env: Mapping[str, str]) -> bool:
    return env.get("CI", "").strip().lower() in {"1", "true", "yes"}


def chromium_path(env: Mapping[str, str], candidates: tuple[str, ...] = CANDIDATES) -> str | None:
    """The browser to drive, or None when there is none."""
    given = env.get(CHROMIUM_ENV)
    found = [given] if given else [shutil.which("chromium", path=env.get("PATH")), *candidates]
    return next((c for c in found if c and os.path.isfile(c) and os.access(c, os.X_OK)), None)


@dataclass(frozen=True, slots=True)
class Decision:
    chromium: str | None
    failure: str | None = None  # the run must fail with this message (CI)
    notice: str | None = None  # the browser tests are skipped; print this once, loudly

    @property
    def run(self) -> bool:
        return self.chromium is not None


def decide(env: Mapping[str, str]) -> Decision:
    path = chromium_path(env)
    if path is not None:
        return Decision(path)
    where = env.get(CHROMIUM_ENV) or "the PATH, " + ", ".join(CANDIDATES)
    if in_ci(env):
        return Decision(None, failure=f"CI=true and no Chromium at {where}: the browser tests must run in CI. "
                                      f"Install it: {HOW_TO}")
    return Decision(None, notice=f"BROWSER TESTS SKIPPED: no Chromium at {where}. To run them: {HOW_TO}")


Runner = Callable[[list[str]], int]


def _run(argv: list[str]) -> int:
    return subprocess.run(argv, check=False, stdout=subprocess.DEVNULL).returncode


def obtain(env: Mapping[str, str], *, run: Runner = _run, is_root: bool | None = None,
           apt: str | None = None, candidates: tuple[str, ...] = CANDIDATES) -> str | None:
    """Install Debian's Chromium when it is missing and this process may (root, apt, no ``IDOPS_CHROMIUM``
    chosen). Returns the browser's path, or None."""
    path = chromium_path(env, candidates)
    if path is not None or env.get(CHROMIUM_ENV):
        return path
    root = os.geteuid() == 0 if is_root is None else is_root
    apt_get = apt if apt is not None else shutil.which("apt-get")
    if not root or not apt_get:
        return None
    print("tests: Chromium is missing; installing Debian's package (about 20 s) …", flush=True)
    install = [apt_get, "install", "-y", "-qq", "--no-install-recommends", "chromium"]
    if run(install) != 0 and (run([apt_get, "update", "-qq"]) != 0 or run(install) != 0):
        return None
    return chromium_path(env, candidates)
