"""Configuration is validated whole, and every mistake is reported with its file and key path."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from idops.config import ConfigError, load_config
from tests.conftest import CONFIG_DIR as REPO_CONFIG


@pytest.fixture
def cfg_dir(tmp_path: Path) -> Path:
    d = tmp_path / "config"
    shutil.copytree(REPO_CONFIG, d)
    return d


def edit(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text()
    assert old in text, f"fixture text {old!r} not found"
    path.write_text(text.replace(old, new, count))


def problems_of(cfg_dir: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(cfg_dir)
    return info.value.problems


@pytest.fixture(autouse=True)
def _as_the_demo(monkeypatch: pytest.MonkeyPatch) -> None:
    """The shipped configuration is the demo's (demo sign-in): these tests read it as ``--demo`` does."""
    monkeypatch.setenv("IDOPS_DEMO", "true")


def test_shipped_demo_configuration_is_valid() -> None:
    config = load_config(REPO_CONFIG)
    keys = [m.key for m in config.region.municipalities]
    assert keys == ["tampere", "pirkkala", "ylojarvi", "lempaala", "nokia", "kangasala", "vesilahti", "orivesi"]
    tampere = config.region.municipality("tampere")
    assert tampere is not None and len(tampere.schools) > max(
        len(m.schools) for m in config.region.municipalities if m.key != "tampere"
    )


def test_missing_school_group_id_is_reported_with_its_path(cfg_dir: Path) -> None:
    region = cfg_dir / "region.toml"
    text = region.read_text()
    start = text.index("staff_group_ids")
    end = text.index("\n", start)
    region.write_text(text[:start] + text[end + 1 :])
    assert problems_of(cfg_dir) == [
        "region.toml: municipalities[0](tampere).schools[0](hervanta).staff_group_ids: required key is missing"
    ]


def test_duplicate_school_key_is_reported(cfg_dir: Path) -> None:
    edit(cfg_dir / "region.toml", 'key = "kaleva"', 'key = "hervanta"')
    [problem] = problems_of(cfg_dir)
    assert problem.startswith("region.toml: municipalities[0](tampere): ")
    assert "'hervanta' is used twice" in problem


def test_bad_tenant_id_is_reported(cfg_dir: Path) -> None:
    region = cfg_dir / "region.toml"
    text = region.read_text()
    start = text.index('tenant_id = "') + len('tenant_id = "')
    region.write_text(text[:start] + "not-a-guid-" + text[start + 11 :])
    [problem] = problems_of(cfg_dir)
    assert problem.startswith("region.toml: municipalities[0](tampere).tenant_id: ")
    assert "is not a GUID" in problem


def test_unknown_key_is_reported(cfg_dir: Path) -> None:
    edit(cfg_dir / "idops.toml", "[policy]\n", "[policy]\nmax_duraton_days = 3\n")
    assert problems_of(cfg_dir) == ["idops.toml: policy.max_duraton_days: unknown key"]


def test_every_problem_is_reported_not_just_the_first(cfg_dir: Path) -> None:
    edit(cfg_dir / "idops.toml", "[policy]\n", "[policy]\nbogus = 1\n")
    edit(cfg_dir / "region.toml", 'key = "kaleva"', 'key = "hervanta"')
    edit(cfg_dir / "apps.toml", 'sign_in = "entra-sso"', 'sign_in = "telepathy"')
    files = sorted(p.split(":")[0] for p in problems_of(cfg_dir))
    assert files == ["apps.toml", "idops.toml", "region.toml"]


def test_environment_overrides_toml(cfg_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDOPS_POLICY__MAX_DURATION_DAYS", "12")
    monkeypatch.setenv("IDOPS_DATABASE__URL", "postgresql+psycopg://x@db/idops")
    config = load_config(cfg_dir)
    assert config.settings.policy.max_duration_days == 12
    assert config.settings.database.url == "postgresql+psycopg://x@db/idops"


def test_bad_environment_override_is_reported(cfg_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDOPS_POLICY__MAX_DURATION_DAYS", "many")
    [problem] = problems_of(cfg_dir)
    assert problem.startswith("idops.toml: policy.max_duration_days: ")


def test_entra_mode_requires_issuer_audience_and_https_jwks(cfg_dir: Path) -> None:
    edit(cfg_dir / "idops.toml", 'mode = "demo"', 'mode = "entra"\njwks_url = "http://x/keys"')
    [problem] = problems_of(cfg_dir)
    assert "auth.issuer" in problem


def test_static_graph_credential_is_refused_for_real_graph(cfg_dir: Path) -> None:
    edit(cfg_dir / "region.toml", 'base_url = "http://127.0.0.1:8765/v1.0"', 'base_url = "https://graph.microsoft.com/v1.0"')
    [problem] = problems_of(cfg_dir)
    assert problem.startswith("region.toml: municipalities[0](tampere).graph: ")
    assert "only for the emulator" in problem


def test_app_catalogue_names_unknown_municipality(cfg_dir: Path) -> None:
    edit(cfg_dir / "apps.toml", 'municipalities = ["tampere"]', 'municipalities = ["atlantis"]')
    [problem] = problems_of(cfg_dir)
    assert problem == "apps.toml: apps[1](helmi): unknown municipality 'atlantis'"


def test_policy_overrides_layer_region_municipality_school() -> None:
    config = load_config(REPO_CONFIG)
    tampere = config.region.municipality("tampere")
    nokia = config.region.municipality("nokia")
    assert tampere is not None and nokia is not None
    assert config.policy_for(tampere, None).quota == 25  # municipality override
    assert config.policy_for(tampere, tampere.schools[0]).quota == 10  # school quota wins
    assert config.policy_for(nokia, None).quota == config.settings.policy.quota  # region default


@pytest.mark.parametrize(
    ("public_url", "expected"),
    [
        (None, "web sign-in (web.oidc_authority) needs api.public_url"),
        ('"http://idops.example.fi"', "api.public_url must be an https:// URL"),
        ('"https://idops.example.fi/idops"', None),
        ('"http://localhost:8000"', None),
    ],
)
def test_web_sign_in_outside_the_demo_needs_an_https_public_url(
    cfg_dir: Path, monkeypatch: pytest.MonkeyPatch, public_url: str | None, expected: str | None
) -> None:
    """Entra sends the user (and the code) back to ``api.public_url``; left to the request's Host header a
    deployment behind a proxy would send them to the wrong, or a forged, address."""
    monkeypatch.setenv("IDOPS_DEMO", "false")
    monkeypatch.setenv("IDOPS_SESSION_SECRET", "s" * 40)
    monkeypatch.setenv("IDOPS_OIDC_CLIENT_SECRET", "the-pages-app-secret")
    edit(cfg_dir / "idops.toml", 'mode = "demo"',
         'mode = "entra"\nissuer = "https://login.microsoftonline.com/{tid}/v2.0"\n'
         'jwks_url = "https://login.microsoftonline.com/common/discovery/v2.0/keys"')
    text = (cfg_dir / "idops.toml").read_text()
    text += ('\n[web]\noidc_authority = "https://login.microsoftonline.com/organizations/v2.0"\n'
             'oidc_client_id = "pages"\n')
    if public_url is not None:
        text += f"\n[api]\npublic_url = {public_url}\n"
    (cfg_dir / "idops.toml").write_text(text)
    if expected is None:
        assert load_config(cfg_dir).settings.api.public_url.startswith(("https://", "http://localhost"))
    else:
        assert any(expected in p for p in problems_of(cfg_dir)), problems_of(cfg_dir)
