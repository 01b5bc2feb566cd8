"""Configuration: loaded once, validated whole, every problem reported with its file and key path."""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from idops.config.apps import App, AppCatalogue
from idops.config.checks import check_surroundings, check_variables, known_variables
from idops.config.region import Municipality, PolicyOverrides, RegionConfig, School
from idops.config.settings import PolicySettings, Settings, settings_class_for

__all__ = [
    "App",
    "AppCatalogue",
    "Config",
    "ConfigError",
    "EffectivePolicy",
    "Municipality",
    "RegionConfig",
    "School",
    "Settings",
    "default_config_dir",
    "load_config",
]

SERVICE_FILE = "idops.toml"
REGION_FILE = "region.toml"
APPS_FILE = "apps.toml"


class ConfigError(Exception):
    """Every problem found, one ``file: key.path: message`` line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class EffectivePolicy(BaseModel):
    """Region defaults overridden by municipality, then by school."""

    max_duration_days: int
    max_lead_days: int
    quota: int
    grace_days: int
    retention_days: int
    notify_before_hours: int
    working_hours_only_tap: bool
    licence_while: Literal["active", "requested"]
    staff_tap_lifetime_minutes: int
    on_limit: Literal["refuse", "approval"]
    code_delivery: bool


@dataclass(frozen=True)
class Config:
    settings: Settings
    region: RegionConfig
    apps: AppCatalogue
    config_dir: Path
    warnings: list[str] = field(default_factory=list)  # worth saying, not worth refusing to start

    def policy_for(self, municipality: Municipality, school: School | None) -> EffectivePolicy:
        base: PolicySettings = self.settings.policy
        values: dict[str, Any] = {k: getattr(base, k) for k in EffectivePolicy.model_fields}
        layers: list[PolicyOverrides] = [municipality.policy]
        if school is not None:
            layers.append(school.policy)
        for layer in layers:
            for k, v in layer.model_dump(exclude_none=True).items():
                values[k] = v
        if school is not None and school.quota is not None:
            values["quota"] = school.quota
        return EffectivePolicy(**values)

    def region_admin_tenants(self) -> frozenset[str] | None:
        """Tenants whose RegionAdmin tokens count; None (any tenant of the region) only with demo sign-in."""
        if self.settings.auth.mode == "demo":
            return None
        return frozenset(t.lower() for t in self.settings.auth.region_admin_tenant_ids)

    def metrics_access(self) -> Literal["public", "token", "off"]:
        return metrics_access(self.settings)

    def resolve_path(self, path: Path) -> Path:
        """Relative data paths are relative to the working directory, as a 12-factor service expects."""
        return path if path.is_absolute() else Path.cwd() / path


#: The demo's configuration, shipped inside the package: used only by ``--demo`` (see ``default_config_dir``).
DEMO_CONFIG_DIR = Path(__file__).resolve().parent.parent / "demo_config"


def metrics_access(settings: Settings) -> Literal["public", "token", "off"]:
    """Who may read ``/metrics``: as configured; by default anyone only in the demo, else a bearer token."""
    chosen = settings.api.metrics
    if chosen is not None:
        return chosen
    return "public" if settings.demo else "token"


def default_config_dir(*, demo: bool = False) -> Path:
    """``$IDOPS_CONFIG_DIR``, else ``./config``. For the demo, when neither exists, the demo configuration
    inside the package — so ``docker run … idops serve --demo`` works in an image that holds no config,
    and a deployment never falls back to the demo's."""
    env = os.environ.get("IDOPS_CONFIG_DIR")
    if env:
        return Path(env)
    local = Path.cwd() / "config"
    if demo and not (local / SERVICE_FILE).exists() and not (local / REGION_FILE).exists():
        return DEMO_CONFIG_DIR
    return local


def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def _describe(file: str, err: ValidationError, data: dict[str, Any] | None = None) -> list[str]:
    problems = []
    for e in err.errors():
        loc = tuple(p for p in e["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        path = _loc(loc)
        path = _with_keys(path, loc, data)
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            msg = "unknown key"
        elif e["type"] == "missing":
            msg = "required key is missing"
        problems.append(f"{file}: {path}: {msg}")
    return problems


def _with_keys(path: str, loc: tuple[Any, ...], data: dict[str, Any] | None) -> str:
    """Add the human key after list indexes: ``municipalities[0](tampere).schools[2](hervanta)``."""
    if data is None:
        return path
    out, node = "", data
    for part in loc:
        if isinstance(part, int) and isinstance(node, list) and 0 <= part < len(node):
            node = node[part]
            key = node.get("key") if isinstance(node, dict) else None
            out += f"[{part}]" + (f"({key})" if isinstance(key, str) else "")
        else:
            out += ("." if out else "") + str(part)
            node = node.get(part) if isinstance(node, dict) else None  # type: ignore[assignment]
    return out or path


def _read_toml(path: Path, problems: list[str]) -> dict[str, Any] | None:
    if not path.exists():
        problems.append(f"{path.name}: file not found in {path.parent}")
        return None
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        problems.append(_toml_problem(path, exc))
        return None


def _toml_problem(path: Path, exc: tomllib.TOMLDecodeError) -> str:
    """A duplicate key or table named by its path; any other syntax error as tomllib says it."""
    text = str(exc)
    at = re.search(r"\(at line (\d+), column \d+\)", text)
    line_no = int(at.group(1)) if at else 0
    table = re.search(r"Cannot declare \(([^)]*)\) twice", text)
    if table:
        name = ".".join(part.strip().strip("'\"") for part in table.group(1).split(",") if part.strip())
        return f"{path.name}: line {line_no}: [{name}]: table is declared twice"
    if text.startswith("Cannot overwrite a value") and line_no:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        key = lines[line_no - 1].split("=", 1)[0].strip() if line_no <= len(lines) else "?"
        header = next((ln.strip().strip("[]") for ln in reversed(lines[: line_no - 1])
                       if ln.strip().startswith("[")), "")
        return f"{path.name}: line {line_no}: {header + '.' if header else ''}{key}: key is set twice"
    return f"{path.name}: not valid TOML: {text}"


def load_config(config_dir: Path | None = None, **overrides: Any) -> Config:
    """Load and validate ``idops.toml``, ``region.toml`` and ``apps.toml``.

    Raises ``ConfigError`` listing every problem (not just the first). ``overrides`` are
    top-level settings values that win over file and environment (tests, ``--demo``).
    """
    config_dir = (config_dir or default_config_dir(demo=bool(overrides.get("demo")))).resolve()
    problems: list[str] = []

    service_path = config_dir / SERVICE_FILE
    settings: Settings | None = None
    raw_service = _read_toml(service_path, problems) if service_path.exists() else {}
    if raw_service is not None:
        try:
            cls = settings_class_for(service_path if service_path.exists() else None)
            settings = cls(**overrides)
        except ValidationError as exc:
            problems.extend(_from_environment(_describe(SERVICE_FILE, exc, raw_service)))

    region: RegionConfig | None = None
    raw_region = _read_toml(config_dir / REGION_FILE, problems)
    if raw_region is not None:
        try:
            region = RegionConfig.model_validate(raw_region)
        except ValidationError as exc:
            problems.extend(_describe(REGION_FILE, exc, raw_region))

    apps: AppCatalogue | None = None
    apps_path = config_dir / APPS_FILE
    raw_apps = _read_toml(apps_path, problems) if apps_path.exists() else {"apps": []}
    if raw_apps is not None:
        try:
            apps = AppCatalogue.model_validate(raw_apps)
        except ValidationError as exc:
            problems.extend(_describe(APPS_FILE, exc, raw_apps))

    found = check_variables(settings, region)
    problems.extend(found.problems)
    warnings = found.warnings
    if settings is not None and region is not None:
        problems.extend(_cross_checks(settings, region))
        found = check_surroundings(settings, region)
        problems.extend(found.problems)
        warnings.extend(found.warnings)
        if settings.auth.mode == "entra" and not settings.auth.region_admin_tenant_ids:
            warnings.append(f"{SERVICE_FILE}: auth.region_admin_tenant_ids is empty: no token is a region admin")
        token_env = settings.api.metrics_token_env
        if metrics_access(settings) == "token" and not os.environ.get(token_env):
            warnings.append(f"{SERVICE_FILE}: api.metrics is 'token' but {token_env} is not set: "
                            "/metrics answers 401 to everyone")
    if region is not None and apps is not None:
        known = {m.key for m in region.municipalities}
        for i, app in enumerate(apps.apps):
            for key in [*app.municipalities, *app.sign_in_overrides]:
                if key not in known:
                    problems.append(f"{APPS_FILE}: apps[{i}]({app.key}): unknown municipality {key!r}")

    if problems or settings is None or region is None or apps is None:
        raise ConfigError(problems or ["configuration could not be loaded"])
    return Config(settings=settings, region=region, apps=apps, config_dir=config_dir, warnings=warnings)


def _from_environment(problems: list[str]) -> list[str]:
    """An unknown key that came from an ``IDOPS_<SECTION>__<KEY>`` variable is the variable's fault:
    name it (and the closest real one), not idops.toml."""
    import difflib

    env = {name.upper(): name for name in os.environ if name.upper().startswith("IDOPS_")}
    known = sorted(known_variables(None, None))
    out = []
    for problem in problems:
        m = re.fullmatch(rf"{SERVICE_FILE}: (\w+)\.(\w+): unknown key", problem)
        name = f"IDOPS_{m.group(1)}__{m.group(2)}".upper() if m else ""
        if m and name in env:
            close = difflib.get_close_matches(name, known, n=1, cutoff=0.8)
            hint = f"; did you mean {close[0]}?" if close else ""
            problem = f"environment: {env[name]}: unknown key of [{m.group(1)}]{hint}"
        out.append(problem)
    return out


def _auth_mode(settings: Settings) -> list[str]:
    """Demo sign-in exists only with --demo (where it is the default); a deployment names 'entra'."""
    if settings.auth.mode is None and settings.demo:
        settings.auth.mode = "demo"
    if settings.auth.mode is None:
        return [f"{SERVICE_FILE}: auth.mode: required key is missing: set 'entra' with auth.issuer, auth.audience "
                "and auth.jwks_url (demo sign-in exists only with --demo)"]
    if settings.auth.mode == "demo" and not settings.demo:
        return [f"{SERVICE_FILE}: auth.mode: 'demo' is allowed only with --demo (idops serve --demo); "
                "a deployment sets 'entra'"]
    return []


def _cross_checks(settings: Settings, region: RegionConfig) -> list[str]:
    problems = _auth_mode(settings)
    tenants = {t.lower() for t in region.tenants()}
    for i, tid in enumerate(settings.auth.region_admin_tenant_ids):
        if tid.lower() not in tenants:
            problems.append(f"{SERVICE_FILE}: auth.region_admin_tenant_ids[{i}]: {tid!r} is not a tenant of the region")
    for i, m in enumerate(region.municipalities):
        emulated = settings.demo or settings.emulator.enabled
        if m.graph.credential == "static" and not emulated and not m.graph.base_url.startswith("http://"):
            problems.append(
                f"{REGION_FILE}: municipalities[{i}]({m.key}).graph.credential: "
                "'static' works only against the emulator"
            )
    return problems
