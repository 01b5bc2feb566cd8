"""One source of the Graph permissions: every port operation and ``$batch`` step has a row, every feature
uses rows that exist, and ``docs/entra-setup.md`` and the API app's manifest agree with the code."""

from __future__ import annotations

import json
import re
import uuid
from typing import get_args

import pytest

from idops.cli import main
from idops.graph import changes
from idops.graph.batch import BatchRequest
from idops.graph.permissions import FEATURES, OPERATIONS, admin_consent_url, markdown_table, permission_names
from idops.graph.port import Directory
from tests.conftest import REPO

DOC = (REPO / "docs/entra-setup.md").read_text()
MANIFEST = json.loads((REPO / "docs/entra/idops-api.manifest.json").read_text())


def test_every_port_operation_declares_its_permissions() -> None:
    port = {name for name in dir(Directory) if not name.startswith("_")} - {"tenant_id", "apply_account_changes"}
    declared = {name.split(".")[0] for name in OPERATIONS}
    assert port <= declared, port - declared
    assert declared - {"apply_account_changes"} <= port  # no row for an operation that does not exist


def test_every_batch_step_of_account_changes_has_a_row() -> None:
    assert set(changes.STEP_OPERATIONS) == set(get_args(changes.Step))
    assert set(changes.STEP_OPERATIONS.values()) <= set(OPERATIONS)


def _item(step: changes.Step, body: dict[str, object] | None) -> changes._Item:
    return changes._Item("u", step, BatchRequest("1", "PATCH", "/users/u", body))


def test_a_patch_needs_the_permissions_of_what_it_writes() -> None:
    assert changes.permissions_of(_item("patch", {"accountEnabled": False})) == (
        "User.EnableDisableAccount.All", "User.Read.All")
    assert changes.permissions_of(_item("patch", {"employeeLeaveDateTime": None})) == (
        "User-LifeCycleInfo.ReadWrite.All", "User.Read.All")
    assert "User-LifeCycleInfo.ReadWrite.All" in changes.permissions_of(
        _item("patch", {"accountEnabled": True, "employeeLeaveDateTime": "2026-01-01T00:00:00Z"}))


def test_features_use_declared_operations_and_the_known_least_privileged_permissions() -> None:
    for f in FEATURES:
        assert f.uses and all(u.operation in OPERATIONS and u.why_fi and u.why_en for u in f.uses), f.key
    grants = {f.key: {p.name for p, _ in f.grants()} for f in FEATURES}
    assert {"Policy.Read.All", "UserAuthMethod-TAP.ReadWrite.All", "User.Create"} <= grants["substitutes"]
    assert grants["leave_dates"] == {"User-LifeCycleInfo.ReadWrite.All", "User.Read.All"}  # graph-facts §1
    assert grants["one_time_password"] == {"User-PasswordProfile.ReadWrite.All"}
    assert "Mail.Send" in grants["notices"]
    assert "AuditLog.Read.All" in grants["mfa"] and "Application.Read.All" in grants["single_login"]
    # nothing broader than needed: no blanket read/write permission in the grant list
    assert not {"User.ReadWrite.All", "Directory.ReadWrite.All", "Directory.Read.All"} & set(
        permission_names(FEATURES))


def test_the_setup_guide_carries_the_generated_table() -> None:
    block = re.search(r"<!-- permissions:begin[^>]*-->\n(.*?)\n<!-- permissions:end -->", DOC, re.S)
    assert block, "docs/entra-setup.md lost its permissions markers"
    assert block.group(1) == markdown_table(), "regenerate it: idops entra permissions --markdown"


def test_the_setup_guide_covers_consent_roles_tokens_oidc_and_caveats() -> None:
    assert DOC.startswith("# Entra ID -käyttöönotto")  # Finnish first
    assert "## Yhteenveto (suomeksi)" in DOC and "## English steps" in DOC
    assert "https://login.microsoftonline.com/{tenant}/adminconsent?client_id={client_id}" in DOC
    assert admin_consent_url("{tenant}", "{client_id}") in DOC
    for needle in ("multitenant", "certificate", "accessTokenAcceptedVersion: 2", "/sign-in/callback",
                   "Temporary Access Pass", "User-LifeCycleInfo.ReadWrite.All", "User Administrator",
                   "idops config check --online", "premium required"):
        assert needle in DOC, needle
    for f in FEATURES:
        assert f.disabled_en in DOC, f.key


def test_the_api_manifest_defines_the_three_roles_and_v2_tokens() -> None:
    assert MANIFEST["accessTokenAcceptedVersion"] == 2
    roles = {r["value"]: r for r in MANIFEST["appRoles"]}
    assert set(roles) == {"Principal", "ItAdmin", "RegionAdmin"}
    assert len({uuid.UUID(r["id"]) for r in roles.values()}) == 3
    assert all(r["isEnabled"] and r["allowedMemberTypes"] == ["User"] for r in roles.values())


def test_the_readme_links_the_guide_and_nothing_outside_the_repository() -> None:
    readme = (REPO / "README.md").read_text()
    assert "(docs/entra-setup.md)" in readme
    assert "../shared" not in readme and "/work/" not in readme


def test_idops_entra_permissions_prints_each_feature_with_why(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["entra", "permissions", "--feature", "leave_dates", "--lang", "fi"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("leave_dates — Sijaisuuden päättymispäivä Entrassa\n  User-LifeCycleInfo.ReadWrite.All\n")
    assert "päivittää employeeLeaveDateTime-kentän" in out
    assert out.rstrip().endswith("User-LifeCycleInfo.ReadWrite.All, User.Read.All")
