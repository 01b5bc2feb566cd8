"""``./dev`` installs nothing unchecked: uv itself comes from a hash-pinned lock, as every dependency does."""

from __future__ import annotations

import re

from tests.conftest import REPO

DEV = (REPO / "dev").read_text()


def install_commands() -> list[str]:
    """Every ``pip install`` line of ``./dev`` (continuations joined)."""
    text = DEV.replace("\\\n", " ")
    return [line.strip() for line in text.splitlines() if "pip install" in line and not line.lstrip().startswith("#")]


def test_every_install_of_dev_is_from_a_lock_with_hashes_or_is_the_project_itself() -> None:
    commands = install_commands()
    assert len(commands) == 3, commands  # uv, the dev lock, the project
    for command in commands:
        if command.endswith("--no-deps -e . >&2"):
            continue  # the checkout itself, nothing downloaded
        assert "--require-hashes" in command and re.search(r" -r requirements/\w+\.lock", command), command
        assert not re.search(r"\"?\b[\w-]+==[\w.]+\"?", command.split(" -r ")[0]), f"a pin outside a lock: {command}"


def test_uv_is_pinned_with_the_hash_of_every_wheel() -> None:
    lock = (REPO / "requirements/bootstrap.lock").read_text()
    [version] = re.findall(r"^uv==([\d.]+) \\$", lock, re.M)
    hashes = re.findall(r"--hash=sha256:([0-9a-f]{64})", lock)
    assert len(hashes) >= 10 and len(set(hashes)) == len(hashes)  # a wheel per platform, and the sdist
    assert any("-r requirements/bootstrap.lock" in c for c in install_commands())  # ./dev installs uv from it
    assert version and re.findall(r"^[A-Za-z0-9_.-]+==", lock, re.M) == ["uv=="]  # uv only, nothing else
