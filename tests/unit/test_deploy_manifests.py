"""The Kubernetes base (``deploy/k8s``) and ``deploy/compose.yaml``, checked without kubectl or Docker:
every command is one ``idops`` parses, probes hit the routes and ports the process serves, every
``IDOPS_*`` variable is a setting (or a secret's variable name the settings point at), the grace
period outlasts the job units' shutdown grace, and the migration runs before anything takes traffic."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from idops.cli import build_parser
from idops.config.settings import ApiSettings, SchedulerSettings, Settings, WebSettings
from tests.conftest import REPO

K8S = REPO / "deploy" / "k8s"
COMPOSE = REPO / "deploy" / "compose.yaml"
IMAGE_USER = 10001  # the Dockerfile's USER
SECRET_VARIABLES = {  # variables whose *names* are settings: the secret itself never is one
    WebSettings().session_secret_env,
    WebSettings().oidc_client_secret_env,
    ApiSettings().metrics_token_env,
}


def documents() -> list[dict[str, Any]]:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    docs: list[dict[str, Any]] = []
    for resource in kustomization["resources"]:
        docs.extend(d for d in yaml.safe_load_all((K8S / resource).read_text()) if d)
    return docs


def one(kind: str, name: str) -> dict[str, Any]:
    [found] = [d for d in documents() if d["kind"] == kind and d["metadata"]["name"] == name]
    return found


def container(workload: dict[str, Any]) -> dict[str, Any]:
    [c] = workload["spec"]["template"]["spec"]["containers"]
    return c


def env_of(c: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in c.get("env", [])}


def is_setting(name: str, value: Any = None) -> bool:
    """Is ``IDOPS_<SECTION>__<KEY>`` a setting (and a literal value valid for it)?"""
    if name in SECRET_VARIABLES:
        return True
    section, _, key = name.removeprefix("IDOPS_").lower().partition("__")
    field = Settings.model_fields.get(section)
    if field is None or not (isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel)):
        return False
    if key not in field.annotation.model_fields:
        return False
    if isinstance(value, str):
        field.annotation.model_validate({key: value})  # raises on a value the setting refuses
    return True


def port(c: dict[str, Any], name_or_number: str | int) -> int:
    if isinstance(name_or_number, int):
        return name_or_number
    [p] = [p["containerPort"] for p in c["ports"] if p["name"] == name_or_number]
    return int(p)


def test_the_kustomization_lists_every_manifest_and_they_parse() -> None:
    listed = set(yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"])
    assert listed == {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    kinds = sorted(d["kind"] for d in documents())
    assert kinds == sorted(["Job", "Deployment", "Deployment", "Service", "Service", "PodDisruptionBudget",
                            "PodDisruptionBudget", "NetworkPolicy"])


@pytest.mark.parametrize(("name", "command", "replicas"), [
    ("idops-api", "cmd_serve", 2), ("idops-scheduler", "cmd_scheduler", 2),
])
def test_deployments_run_idops_commands_with_probes_on_what_the_process_serves(
    name: str, command: str, replicas: int
) -> None:
    workload = one("Deployment", name)
    c = container(workload)
    assert workload["spec"]["replicas"] == replicas
    assert c["image"] == "idops"  # the kustomization's image name (an overlay sets registry and tag)
    args = build_parser().parse_args(c["args"])
    assert args.func.__name__ == command
    env = env_of(c)
    assert all(is_setting(n, v) for n, v in env.items()), env
    live, ready = c["livenessProbe"]["httpGet"], c["readinessProbe"]["httpGet"]
    if command == "cmd_serve":
        assert args.host == "0.0.0.0" and port(c, live["port"]) == args.port == port(c, ready["port"])
        assert (live["path"], ready["path"]) == ("/healthz", "/readyz")  # ready: database reachable and migrated
        assert env["IDOPS_SCHEDULER__ENABLED"] == "false"  # the schedulers are their own Deployment
    else:
        metrics_port = int(env.get("IDOPS_SCHEDULER__METRICS_PORT", SchedulerSettings().metrics_port))
        assert port(c, live["port"]) == metrics_port and live["path"] == "/healthz"
        assert env["IDOPS_SCHEDULER__METRICS_HOST"] == "0.0.0.0"  # reachable by the kubelet's probe
    # SIGTERM: units get the shutdown grace, then are handed back — before Kubernetes' SIGKILL
    grace = float(env.get("IDOPS_SCHEDULER__SHUTDOWN_GRACE_SECONDS", SchedulerSettings().shutdown_grace_seconds))
    assert workload["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] >= grace + 5
    assert env["IDOPS_DATABASE__URL"]["secretKeyRef"]["name"] == "idops-secrets"


def test_every_pod_is_non_root_read_only_with_requests_and_the_config_mounted() -> None:
    workloads = [d for d in documents() if d["kind"] in ("Deployment", "Job")]
    for w in workloads:
        spec = w["spec"]["template"]["spec"]
        assert spec["securityContext"]["runAsNonRoot"] and spec["securityContext"]["runAsUser"] == IMAGE_USER
        c = container(w)
        assert c["securityContext"]["readOnlyRootFilesystem"] and not c["securityContext"]["allowPrivilegeEscalation"]
        assert {"cpu", "memory"} <= set(c["resources"]["requests"]) and "memory" in c["resources"]["limits"]
        mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
        volumes = {v["name"]: v for v in spec["volumes"]}
        assert volumes[mounts["/app/config"]]["configMap"]["name"] == "idops-config"
        assert "/app/var" in mounts  # the data dir: the only path written


def test_the_migration_job_upgrades_the_schema_before_the_deployments_take_traffic() -> None:
    job = one("Job", "idops-migrate")
    assert build_parser().parse_args(container(job)["args"]).func.__name__ == "cmd_db_upgrade"
    hooks = job["metadata"]["annotations"]
    assert hooks["argocd.argoproj.io/hook"] == "PreSync" and "pre-upgrade" in hooks["helm.sh/hook"]
    assert set(env_of(container(job))) == {"IDOPS_DATABASE__URL"}
    # without hooks the ordering still holds: an API pod is ready only once the schema is at head
    health = (REPO / "idops" / "api" / "health.py").read_text()
    assert "current_revision_matches_head" in health
    assert container(one("Deployment", "idops-api"))["readinessProbe"]["httpGet"]["path"] == "/readyz"


def test_services_and_disruption_budgets_select_the_pods_they_mean() -> None:
    labels = {name: one("Deployment", name)["spec"]["template"]["metadata"]["labels"]
              for name in ("idops-api", "idops-scheduler")}
    for d in documents():
        if d["kind"] == "Service":
            selector = d["spec"]["selector"]
        elif d["kind"] == "PodDisruptionBudget":
            selector = d["spec"]["selector"]["matchLabels"]
            assert d["spec"]["minAvailable"] == 1
        else:
            continue
        matched = [n for n, lab in labels.items() if selector.items() <= lab.items()]
        assert len(matched) == 1, d["metadata"]["name"]
        if d["kind"] == "Service":
            c = container(one("Deployment", matched[0]))
            assert all(port(c, p["targetPort"]) for p in d["spec"]["ports"])
    policy = one("NetworkPolicy", "idops")
    egress = {p["port"] for rule in policy["spec"]["egress"] for p in rule["ports"]}
    assert {53, 443, 5432} <= egress  # DNS, Graph and the identity platform, PostgreSQL


def test_compose_runs_postgresql_the_migration_then_api_and_scheduler() -> None:
    compose = yaml.safe_load(COMPOSE.read_text())
    services = compose["services"]
    assert set(services) == {"postgres", "migrate", "api", "scheduler"}
    assert services["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    expected = {"migrate": "cmd_db_upgrade", "api": "cmd_serve", "scheduler": "cmd_scheduler"}
    for name, command in expected.items():
        service = services[name]
        assert build_parser().parse_args(service["command"]).func.__name__ == command
        assert service["environment"]["IDOPS_DATABASE__URL"].startswith("postgresql+psycopg://")
        assert all(is_setting(n, v) for n, v in service["environment"].items() if "${" not in str(v))
        assert service["volumes"] == ["../config:/app/config:ro"] and service["read_only"] is True
        if name != "migrate":
            assert service["depends_on"] == {"migrate": {"condition": "service_completed_successfully"}}
            assert service["healthcheck"]["test"] == ["CMD", "idops", "healthcheck"]
            grace = float(service["environment"].get("IDOPS_SCHEDULER__SHUTDOWN_GRACE_SECONDS",
                                                     SchedulerSettings().shutdown_grace_seconds))
            assert int(service["stop_grace_period"].removesuffix("s")) >= grace + 5
    assert services["api"]["environment"]["IDOPS_SCHEDULER__ENABLED"] == "false"


def test_a_wrong_setting_name_or_value_is_caught() -> None:
    """The checks above can fail: a misspelt key or a refused value is not a setting."""
    assert not is_setting("IDOPS_SCHEDULER__SHUTDOWN_GRACE")
    assert not is_setting("IDOPS_NOSUCH__KEY")
    with pytest.raises(ValueError, match="shutdown_grace_seconds"):
        is_setting("IDOPS_SCHEDULER__SHUTDOWN_GRACE_SECONDS", "-1")
    assert is_setting("IDOPS_SCHEDULER__SHUTDOWN_GRACE_SECONDS", "20")


def test_the_deploy_folder_has_no_manifest_the_checks_skip() -> None:
    checked = {*(K8S / r for r in yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"]),
               K8S / "kustomization.yaml", COMPOSE}
    present = {p for p in (REPO / "deploy").glob("*.yaml")} | set(K8S.glob("*.yaml"))
    assert present <= {Path(p) for p in checked}
