"""The command line: fast help, config check exit codes, dev tokens only under demo auth."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import jwt

from tests.conftest import CONFIG_DIR, REPO


def idops(*args: str, cwd: Path = REPO, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(
        [sys.executable, "-m", "idops.cli", *args], cwd=cwd, capture_output=True, text=True, timeout=60,
        env={**os.environ, **(env or {})},
    )


def test_help_is_fast_and_imports_nothing_heavy() -> None:
    probe = (
        "import sys, time; t=time.perf_counter(); from idops.cli import build_parser; "
        "build_parser().format_help(); "
        "print(time.perf_counter()-t, any(m.startswith(('msgraph','fastapi','sqlalchemy')) for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True)
    seconds, heavy = out.stdout.split()
    assert heavy == "False"
    assert float(seconds) < 0.5
    started = time.perf_counter()
    assert idops("--help").returncode == 0
    assert time.perf_counter() - started < 2.0  # includes interpreter start-up


def test_config_check_passes_on_the_shipped_config_as_the_demo() -> None:
    r = idops("config", "check", "--demo", "--config-dir", str(CONFIG_DIR))
    assert r.returncode == 0, r.stderr
    assert "8 municipalities" in r.stdout


def test_the_shipped_demo_config_is_refused_outside_the_demo() -> None:
    r = idops("config", "check", "--config-dir", str(CONFIG_DIR))
    assert r.returncode == 2
    assert "idops.toml: auth.mode: 'demo' is allowed only with --demo" in r.stderr


def test_serve_without_demo_refuses_the_shipped_config_before_listening() -> None:
    """Demo sign-in, the demo JWKS and dev tokens exist only under --demo: a plain ``idops serve`` with
    the shipped (demo) configuration stops at start-up with a message naming the key."""
    r = idops("serve", "--port", "0", "--config-dir", str(CONFIG_DIR))
    assert r.returncode == 2
    assert "auth.mode: 'demo' is allowed only with --demo" in r.stderr


def test_serve_on_a_port_in_use_says_so_at_once(tmp_path: Path) -> None:
    """A second ``./dev demo`` beside a running one: a message and exit 1 before any start-up (it used to
    wait silently on the first demo's SQLite file)."""
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        started = time.perf_counter()
        r = idops("serve", "--demo", "--port", str(port), "--config-dir", str(CONFIG_DIR), cwd=tmp_path)
    assert r.returncode == 1, r.stderr
    assert f"127.0.0.1:{port} is already in use" in r.stderr and "another idops serve or demo" in r.stderr
    assert time.perf_counter() - started < 30
    assert not (tmp_path / "var").exists()  # nothing started: no database, no demo data


def test_a_deployment_must_name_its_identity_provider(tmp_path: Path) -> None:
    d = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, d)
    (d / "idops.toml").write_text((d / "idops.toml").read_text().replace('mode = "demo"\n', ""))
    r = idops("config", "check", "--config-dir", str(d))
    assert r.returncode == 2
    assert "idops.toml: auth.mode: required key is missing: set 'entra'" in r.stderr
    assert idops("config", "check", "--demo", "--config-dir", str(d)).returncode == 0  # the demo's default


def test_config_check_fails_with_path_qualified_problems(tmp_path: Path) -> None:
    d = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, d)
    (d / "idops.toml").write_text((d / "idops.toml").read_text().replace("[policy]\n", "[policy]\nfoo = 1\n"))
    r = idops("config", "check", "--demo", "--config-dir", str(d))
    assert r.returncode == 2
    assert "idops.toml: policy.foo: unknown key" in r.stderr


def test_dev_token_prints_a_token_as_the_last_word(tmp_path: Path) -> None:
    r = idops("dev-token", "--demo", "--role", "Principal", "--school", "tampere/hervanta",
              "--config-dir", str(CONFIG_DIR), env={"IDOPS_DATA_DIR": str(tmp_path)})
    assert r.returncode == 0, r.stderr
    token = r.stdout.split()[-1]
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["roles"] == ["Principal"]
    assert (tmp_path / "demo-signing-key.pem").stat().st_mode & 0o077 == 0  # key readable by owner only


def test_dev_token_refuses_under_real_identity_provider(tmp_path: Path) -> None:
    env = {
        "IDOPS_AUTH__MODE": "entra",
        "IDOPS_AUTH__ISSUER": "https://login.microsoftonline.com/{tid}/v2.0",
        "IDOPS_AUTH__JWKS_URL": "https://login.microsoftonline.com/common/discovery/v2.0/keys",
        "IDOPS_DATA_DIR": str(tmp_path),
    }
    r = idops("dev-token", "--demo", "--role", "RegionAdmin", "--config-dir", str(CONFIG_DIR), env=env)
    assert r.returncode == 3
    assert "refused" in r.stderr
    assert not (tmp_path / "demo-signing-key.pem").exists()


def test_dev_token_for_unknown_school_is_an_error() -> None:
    r = idops("dev-token", "--demo", "--role", "Principal", "--school", "tampere/atlantis",
              "--config-dir", str(CONFIG_DIR))
    assert r.returncode == 2 and "unknown school" in r.stderr


def test_dev_token_is_refused_without_demo(tmp_path: Path) -> None:
    r = idops("dev-token", "--role", "RegionAdmin", "--config-dir", str(CONFIG_DIR),
              env={"IDOPS_DATA_DIR": str(tmp_path)})
    assert r.returncode == 2 and "--demo" in r.stderr
    assert not (tmp_path / "demo-signing-key.pem").exists()
