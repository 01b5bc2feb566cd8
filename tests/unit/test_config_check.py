"""``idops config check`` catches, at load, what would otherwise fail at start or at the first job: one
broken file (or environment) per case, and the problem names its file and key path."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from idops.cli import main
from idops.config import ConfigError, load_config
from tests.conftest import CONFIG_DIR

CLIENT_ID = "0f9e8d7c-6b5a-4a39-8281-706f5e4d3c2b"
TAMPERE_GRAPH = 'credential = "static"\nbase_url = "http://127.0.0.1:8765/v1.0"'
SECRET = f'credential = "client_secret"\nclient_id = "{CLIENT_ID}"\nclient_secret_env = "IDOPS_TRE_SECRET"'
CERTIFICATE = f'credential = "certificate"\nclient_id = "{CLIENT_ID}"\ncertificate_path_env = "IDOPS_TRE_CERT"'


@pytest.fixture
def cfg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, d)
    monkeypatch.setenv("IDOPS_DEMO", "true")  # the shipped configuration is the demo's
    return d


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"fixture text {old!r} not found"
    path.write_text(text.replace(old, new, 1))


def problems(cfg: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(cfg)
    return info.value.problems


def tampere_graph(cfg: Path, lines: str) -> None:
    edit(cfg / "region.toml", TAMPERE_GRAPH, lines)


def test_a_missing_client_secret_variable_is_named_with_its_key(cfg: Path) -> None:
    tampere_graph(cfg, SECRET)
    assert problems(cfg) == ["region.toml: municipalities[0](tampere).graph.client_secret_env: "
                             "environment variable IDOPS_TRE_SECRET is not set"]


def test_a_set_client_secret_variable_passes_and_its_value_is_never_printed(cfg: Path,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    tampere_graph(cfg, SECRET)
    monkeypatch.setenv("IDOPS_TRE_SECRET", "s3cret-value")
    config = load_config(cfg)
    assert not any("s3cret" in w for w in config.warnings)


def test_a_missing_certificate_file_is_named_with_its_key(cfg: Path, monkeypatch: pytest.MonkeyPatch,
                                                          tmp_path: Path) -> None:
    tampere_graph(cfg, CERTIFICATE)
    assert problems(cfg) == ["region.toml: municipalities[0](tampere).graph.certificate_path_env: "
                             "environment variable IDOPS_TRE_CERT is not set"]
    monkeypatch.setenv("IDOPS_TRE_CERT", str(tmp_path / "missing.pem"))
    assert problems(cfg) == ["region.toml: municipalities[0](tampere).graph.certificate_path_env: "
                             "the certificate file named by IDOPS_TRE_CERT does not exist"]
    (tmp_path / "present.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    monkeypatch.setenv("IDOPS_TRE_CERT", str(tmp_path / "present.pem"))
    load_config(cfg)


def test_workload_identity_needs_its_token_file(cfg: Path) -> None:
    tampere_graph(cfg, f'credential = "workload_identity"\nclient_id = "{CLIENT_ID}"')
    [problem] = problems(cfg)
    assert problem.startswith("region.toml: municipalities[0](tampere).graph.credential: ")
    assert "AZURE_FEDERATED_TOKEN_FILE" in problem


def test_one_managed_identity_for_two_tenants_is_refused(cfg: Path) -> None:
    tampere_graph(cfg, 'credential = "managed_identity"')
    edit(cfg / "region.toml", TAMPERE_GRAPH, 'credential = "managed_identity"')  # pirkkala, the next tenant
    [problem] = problems(cfg)
    assert problem.startswith("region.toml: municipalities[1](pirkkala).graph.credential: ")
    assert "only for its own tenant" in problem


def test_an_hour_that_does_not_exist_in_a_cron_expression_is_refused(cfg: Path) -> None:
    edit(cfg / "idops.toml", "[scheduler]\n", '[scheduler]\npurge_cron = "15 25 * * *"\n')
    [problem] = problems(cfg)
    assert problem.startswith("idops.toml: scheduler.purge_cron: '15 25 * * *' is not a valid crontab expression")


def test_a_misspelt_time_zone_is_refused(cfg: Path) -> None:
    edit(cfg / "idops.toml", "[scheduler]\n", '[scheduler]\ntimezone = "Europe/Helsinky"\n')
    assert problems(cfg) == ["idops.toml: scheduler.timezone: 'Europe/Helsinky' is not an IANA time zone "
                             "(e.g. Europe/Helsinki)"]


@pytest.mark.parametrize("url", ["mysql://idops@db/idops", "postgresql://idops@db/idops", "sqlite:///var/x.db"])
def test_a_database_url_without_a_shipped_async_driver_is_refused(cfg: Path, url: str) -> None:
    edit(cfg / "idops.toml", 'url = "sqlite+aiosqlite:///var/idops.db"', f'url = "{url}"')
    [problem] = problems(cfg)
    assert problem.startswith("idops.toml: database.url: scheme ")
    assert "sqlite+aiosqlite://, postgresql+psycopg://" in problem


@pytest.mark.parametrize("url", ["sqlite+aiosqlite:///var/idops.db", "postgresql+psycopg://idops@db:5432/idops"])
def test_the_shipped_drivers_are_accepted(cfg: Path, url: str) -> None:
    edit(cfg / "idops.toml", 'url = "sqlite+aiosqlite:///var/idops.db"', f'url = "{url}"')
    assert load_config(cfg).settings.database.url == url


def test_a_misspelt_setting_variable_is_a_likely_typo_with_the_closest_name(cfg: Path,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDOPS_DATABSE__URL", "postgresql+psycopg://idops@db/idops")
    assert problems(cfg) == ["environment: IDOPS_DATABSE__URL: likely a typo, so idops would ignore it; "
                             "did you mean IDOPS_DATABASE__URL?"]


def test_an_unknown_key_of_a_known_section_in_the_environment_is_refused(cfg: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDOPS_SCHEDULER__LEASE_SECOND", "30")
    [problem] = problems(cfg)
    assert problem == ("environment: IDOPS_SCHEDULER__LEASE_SECOND: unknown key of [scheduler]; "
                       "did you mean IDOPS_SCHEDULER__LEASE_SECONDS?")


def test_a_variable_that_is_no_setting_and_resembles_none_is_only_a_warning(cfg: Path,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDOPS_CRASH_SEED", "7")  # a test's own knob
    config = load_config(cfg)
    assert "environment: IDOPS_CRASH_SEED: not an idops setting, ignored" in config.warnings


def test_a_key_set_twice_is_named_with_its_line(cfg: Path) -> None:
    edit(cfg / "idops.toml", "seed = 1\n", "seed = 1\nseed = 2\n")
    [problem] = problems(cfg)
    assert problem.startswith("idops.toml: line ")
    assert problem.endswith(": emulator.seed: key is set twice")


def test_a_table_declared_twice_is_named(cfg: Path) -> None:
    edit(cfg / "idops.toml", "[logging]\n", "[policy]\ngrace_days = 3\n\n[logging]\n")
    [problem] = problems(cfg)
    assert problem.endswith(": [policy]: table is declared twice")


def test_a_substitute_group_that_is_a_principals_group_is_refused(cfg: Path) -> None:
    principals_group = "38c9c467-8b96-5827-bdf2-a9f7aeb3da48"  # tampere/hervanta's principals
    edit(cfg / "region.toml", 'substitute_group_ids = ["1db1e15a-b248-5276-8e71-58b21d3db66b"]',
         f'substitute_group_ids = ["{principals_group}"]')  # tampere/kaleva's substitutes
    [problem] = problems(cfg)
    assert problem.startswith("region.toml: municipalities[0](tampere).schools[1](kaleva).substitute_group_ids: ")
    assert "schools[0](hervanta).principals.group_ids" in problem


def test_a_principal_of_two_municipalities_in_a_shared_tenant_is_refused(cfg: Path) -> None:
    lempaala_principal = "f560d6fc-bbdf-5b9d-9600-cea888c8938d"
    edit(cfg / "region.toml", 'object_ids = ["c6d877f8-32a4-578a-a916-b2d5a4f4a0fd"]',
         f'object_ids = ["{lempaala_principal}"]')  # vesilahti/narva
    [problem] = problems(cfg)
    assert problem.startswith("region.toml: municipalities[6](vesilahti).schools[0](narva).principals.object_ids: ")
    assert "also a principal in 'lempaala'" in problem


def test_an_it_admin_of_two_municipalities_is_a_warning(cfg: Path) -> None:
    edit(cfg / "region.toml", 'it_admins = { object_ids = ["187d9dcd-510e-5e2f-a8f6-7504c02e170c"]',
         'it_admins = { object_ids = ["c8b43e20-2731-5316-8b99-e80add34fcb4"]')  # vesilahti gets lempäälä's admin
    config = load_config(cfg)
    assert any(w.startswith("region.toml: municipalities[6](vesilahti).it_admins.object_ids: ") and "'lempaala'" in w
               for w in config.warnings)


def test_the_pages_sign_in_needs_its_client_secret(cfg: Path) -> None:
    edit(cfg / "idops.toml", "[logging]\n", f'[web]\noidc_client_id = "{CLIENT_ID}"\n\n[logging]\n')
    assert problems(cfg) == ["idops.toml: web.oidc_client_secret_env: environment variable IDOPS_OIDC_CLIENT_SECRET "
                             "is not set (the pages' sign-in needs it)"]


def test_config_check_exits_2_listing_every_problem(cfg: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    edit(cfg / "idops.toml", "[scheduler]\n", '[scheduler]\ntimezone = "Europe/Helsinky"\n')
    monkeypatch.setenv("IDOPS_DATABSE__URL", "x")
    with pytest.raises(SystemExit) as exit_:
        main(["config", "check", "--demo", "--config-dir", str(cfg)])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "idops.toml: scheduler.timezone:" in err and "IDOPS_DATABSE__URL" in err
