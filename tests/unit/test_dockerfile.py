"""What can be read off the image's recipe without a Docker engine: user, health check, entrypoint, locks
(hadolint runs as a process: tests/integration/test_dockerfile.py)."""

from __future__ import annotations

import json
import re
import shlex
import tomllib

from idops.cli import build_parser
from tests.conftest import REPO

DOCKERFILE = (REPO / "Dockerfile").read_text()


def instructions(name: str) -> list[str]:
    text = DOCKERFILE.replace("\\\n", " ")
    return [line.split(None, 1)[1] for line in text.splitlines() if line.upper().startswith(name + " ")]


def test_final_stage_runs_as_non_root() -> None:
    users = instructions("USER")
    assert users and users[-1].split(":")[0] not in ("root", "0")


def test_the_health_check_is_the_role_aware_command() -> None:
    [check] = instructions("HEALTHCHECK")
    command = json.loads(check.split("CMD", 1)[1])
    assert command == ["idops", "healthcheck"]
    assert build_parser().parse_args(command[1:]).func.__name__ == "cmd_healthcheck"


def test_the_image_holds_no_configuration_but_the_package_carries_the_demos() -> None:
    copies = " ".join(instructions("COPY"))
    assert "config" not in copies.replace("idops", "")  # no config/ copied in
    assert "IDOPS_CONFIG_DIR" not in " ".join(instructions("ENV"))  # so ./config (mounted) is the default
    package_data = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["idops"]
    assert "demo_config/*.toml" in package_data
    shipped = {p.name for p in (REPO / "idops/demo_config").glob("*.toml")}
    assert shipped == {"idops.toml", "region.toml", "apps.toml"}
    assert "serve --demo" in DOCKERFILE  # how to run the demo from the image is written down


def test_entrypoint_and_default_command_exist_in_the_package() -> None:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    [entrypoint] = instructions("ENTRYPOINT")
    [cmd] = instructions("CMD")
    program = json.loads(entrypoint)[0]
    assert pyproject["project"]["scripts"][program] == "idops.cli:main"
    args = build_parser().parse_args(json.loads(cmd))
    assert args.command == "serve" and args.host == "0.0.0.0"
    migrate = build_parser().parse_args(["db", "upgrade"])
    assert migrate.func.__name__ == "cmd_db_upgrade"


def test_every_copied_path_exists() -> None:
    for copy in instructions("COPY"):
        if "--from=" in copy:
            continue  # copies between build stages
        parts = [p for p in shlex.split(copy) if not p.startswith("--")]
        for src in parts[:-1]:
            assert (REPO / src).exists(), src


def test_runtime_lock_pins_every_dependency_with_hashes() -> None:
    lock = (REPO / "requirements/runtime.lock").read_text()
    pinned = {m.group(1).lower().replace("_", "-") for m in re.finditer(r"^([A-Za-z0-9_.-]+)==", lock, re.M)}
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    for dep in pyproject["project"]["dependencies"]:
        name = re.split(r"[<>=\[ ;]", dep, maxsplit=1)[0].lower().replace("_", "-")
        assert name in pinned, f"{name} is not in requirements/runtime.lock"
    blocks = re.split(r"^(?=[A-Za-z0-9_.-]+==)", lock, flags=re.M)[1:]
    assert all("--hash=sha256:" in b for b in blocks)


def test_every_pip_install_from_a_lock_checks_hashes() -> None:
    installs = [r for r in instructions("RUN") if "pip install" in r]
    assert installs
    for run in installs:
        for part in run.split("&&"):
            if "pip install" in part and " -r " in part:
                assert "--require-hashes" in part, part


def test_ci_lints_the_dockerfile_and_does_not_fake_a_vulnerability_audit() -> None:
    ci = (REPO / ".ci/run").read_text()
    assert "hadolint Dockerfile" in ci
    # pip-audit cannot reach a vulnerability database from CI: it would pass without auditing anything
    assert "pip-audit" not in ci
    readme = (REPO / "README.md").read_text()
    assert "pip-audit -r requirements/runtime.lock --strict" in readme
    assert "--read-only --tmpfs /app/var" in readme
