"""``idops config check --online`` against the emulator serving the demo region: a tenant whose app
lost a permission and a tenant without Entra ID P1/P2, through the real adapter and the command."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from idops.cli import main
from idops.emulator.__main__ import load_region
from idops.emulator.server import EmulatorServer
from tests.conftest import CONFIG_DIR

TAMPERE = "2b9fbc3d-6284-566a-9f9c-8c8e78852612"
YLOJARVI = "22fc1655-1e4a-5a0b-865e-901b79a84fc8"


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorServer]:
    server = EmulatorServer(load_region(50, 1, CONFIG_DIR).state).start()
    try:
        yield server
    finally:
        server.stop()


def _line(out: str, tenant: str, label: str) -> str:
    block = out.split(f"tenant {tenant}", 1)[1].split("\ntenant ", 1)[0]
    return next(line for line in block.splitlines() if line.strip().startswith(label + " "))


def test_online_check_reports_a_withdrawn_permission_and_a_tenant_without_p1(
    emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    admin = httpx.Client(base_url=emulator.url)
    admin.patch(f"/_emulator/tenants/{TAMPERE}", json={"withdrawn_permissions": ["Policy.Read.All"]}).raise_for_status()
    admin.patch(f"/_emulator/tenants/{YLOJARVI}", json={"premium": False}).raise_for_status()
    monkeypatch.setenv("IDOPS_EMULATOR__EXTERNAL_URL", emulator.base_url)
    monkeypatch.setenv("IDOPS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("IDOPS_GRAPH__MAX_RETRIES", "0")

    code = main(["config", "check", "--online", "--demo", "--config-dir", str(CONFIG_DIR)])

    out = capsys.readouterr().out
    assert code == 2
    missing = _line(out, TAMPERE, "Policy.Read.All (tap_policy)")
    assert "missing" in missing and "403 Authorization_RequestDenied" in missing
    assert "substitutes, helpdesk" in missing and "substitute accounts cannot be created" in missing
    assert "ok" in _line(out, TAMPERE, "User.Read.All (users)")
    for label in ("AuditLog.Read.All (registration_report)", "AuditLog.Read.All (sign_ins)"):
        assert "premium required" in _line(out, YLOJARVI, label)
    assert f"tenant {YLOJARVI} (ylojarvi): token ok (tid matches" in out
    assert out.rstrip().endswith(f"6 of 7 tenants OK; problems in {TAMPERE}")
    withdrawn = admin.get("/_emulator/state").json()[TAMPERE]["withdrawn_permissions"]
    assert withdrawn == ["Policy.Read.All"]
