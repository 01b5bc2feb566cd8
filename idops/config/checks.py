"""Checks of a loaded configuration against its surroundings: what would otherwise fail only at start,
at the first job or at the first Graph call. ``load_config`` runs them for every command.

Problems (``idops config check`` exits 2; every other command refuses to start):

- **Secrets named by ``*_env`` keys**: each Graph tenant's ``client_secret_env`` /
  ``certificate_path_env`` variable is set; a certificate file exists and is readable; workload
  identity's ``AZURE_FEDERATED_TOKEN_FILE`` is set and readable; ``[web] oidc_client_secret_env`` is set
  when ``oidc_client_id`` is (the pages' sign-in). Values are never printed, only names.
- **Credentials**: a ``managed_identity`` cannot be bound to a tenant (its tokens are always for its
  own), so one managed identity for two or more tenants is refused.
- **``IDOPS_*`` variables that are no setting**: a variable shaped like a setting
  (``IDOPS_SECTION__KEY``) or within two edits of a known name is reported as a likely typo with the
  closest known name (``IDOPS_DATABSE__URL`` → ``IDOPS_DATABASE__URL``): pydantic-settings would
  ignore it silently. Others are warnings.
- **Scope overlaps that hand out scope by accident** (groups are compared within a tenant):
  a school's *substitute* group or *pupil* group is also a principals or IT-admin group (every
  substitute idops provisions, or every pupil, would get that scope once they hold the role); one
  principal (object id or group) listed for schools of two municipalities (a principal would see
  another education provider's substitutes — municipalities are separate controllers).

Warnings (printed, not fatal): an IT-admin object or group listed for two municipalities that share
a tenant (a shared IT team sees both: allowed, but said); an MFA exclusion group that is also a
school's staff or pupil group (those people would drop out of the MFA numbers).
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from pydantic import BaseModel

from idops.config.region import Municipality, RegionConfig
from idops.config.settings import Settings

SERVICE_FILE = "idops.toml"
REGION_FILE = "region.toml"

#: ``IDOPS_*`` variables read outside the settings: the configuration directory, and the test tooling.
TOOL_VARIABLES = frozenset({"IDOPS_CONFIG_DIR", "IDOPS_TEST_DATABASE_URL", "IDOPS_TEST_WORKERS", "IDOPS_CHROMIUM"})


@dataclass
class Findings:
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def extend(self, other: Findings) -> None:
        self.problems += other.problems
        self.warnings += other.warnings


def check_surroundings(settings: Settings, region: RegionConfig, environ: Mapping[str, str] | None = None) -> Findings:
    env = os.environ if environ is None else environ
    found = Findings()
    found.extend(_graph_secrets(region, env))
    found.extend(_web_secrets(settings, env))
    found.extend(_managed_identities(region))
    found.extend(_scope_overlaps(settings, region))
    return found


# ---------------------------------------------------------------------------------------- secrets


def _where(i: int, m: Municipality) -> str:
    return f"{REGION_FILE}: municipalities[{i}]({m.key})"


def _readable(path: str) -> str | None:
    """None when ``path`` is a file this process can read; else why not."""
    if not os.path.exists(path):
        return "does not exist"
    if not os.path.isfile(path):
        return "is not a file"
    if not os.access(path, os.R_OK):
        return "is not readable by this user"
    return None


def _graph_secrets(region: RegionConfig, env: Mapping[str, str]) -> Findings:
    found = Findings()
    seen: set[str] = set()
    for i, m in enumerate(region.municipalities):
        if m.tenant_id in seen:  # municipalities sharing a tenant share its [graph] (checked at load)
            continue
        seen.add(m.tenant_id)
        g, at = m.graph, f"{_where(i, m)}.graph"
        if g.credential == "client_secret" and g.client_secret_env and not env.get(g.client_secret_env):
            found.problems.append(f"{at}.client_secret_env: environment variable {g.client_secret_env} is not set")
        if g.credential == "certificate" and g.certificate_path_env:
            path = env.get(g.certificate_path_env)
            if not path:
                found.problems.append(
                    f"{at}.certificate_path_env: environment variable {g.certificate_path_env} is not set")
            elif (why := _readable(path)) is not None:
                found.problems.append(
                    f"{at}.certificate_path_env: the certificate file named by {g.certificate_path_env} {why}")
        if g.credential == "workload_identity":
            token_file = env.get("AZURE_FEDERATED_TOKEN_FILE")
            if not token_file:
                found.problems.append(f"{at}.credential: workload_identity needs AZURE_FEDERATED_TOKEN_FILE "
                                      "(set by the workload-identity webhook)")
            elif (why := _readable(token_file)) is not None:
                found.problems.append(f"{at}.credential: AZURE_FEDERATED_TOKEN_FILE {why}")
    return found


def _web_secrets(settings: Settings, env: Mapping[str, str]) -> Findings:
    web, found = settings.web, Findings()
    if web.oidc_client_id and not env.get(web.oidc_client_secret_env):
        found.problems.append(f"{SERVICE_FILE}: web.oidc_client_secret_env: environment variable "
                              f"{web.oidc_client_secret_env} is not set (the pages' sign-in needs it)")
    return found


def _managed_identities(region: RegionConfig) -> Findings:
    """A managed identity's token is for its own tenant: it cannot serve two tenants."""
    found = Findings()
    by_identity: dict[str | None, list[tuple[int, Municipality]]] = {}
    seen: set[str] = set()
    for i, m in enumerate(region.municipalities):
        if m.graph.credential == "managed_identity" and m.tenant_id not in seen:
            by_identity.setdefault(m.graph.client_id, []).append((i, m))
        seen.add(m.tenant_id)
    for identity, uses in by_identity.items():
        if len(uses) < 2:
            continue
        named = f"managed identity {identity}" if identity else "the system-assigned managed identity"
        for i, m in uses[1:]:
            found.problems.append(
                f"{_where(i, m)}.graph.credential: {named} already serves tenant {uses[0][1].tenant_id} "
                f"({uses[0][1].key}); a managed identity gets tokens only for its own tenant — use "
                "'certificate' or 'workload_identity' with a multi-tenant app registration")
    if any(m.graph.credential == "default" for m in region.municipalities) and len(region.tenants()) > 1:
        found.warnings.append(f"{REGION_FILE}: graph.credential 'default' serves several tenants: every token "
                              "request names its tenant, but a managed identity in the chain ignores that; "
                              "`idops config check --online` compares each token's tid")
    return found


# ---------------------------------------------------------------------------------------- variables


def _setting_names(model: type[BaseModel], prefix: str) -> Iterator[str]:
    for name, info in model.model_fields.items():
        ann = info.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            for key in ann.model_fields:
                yield f"{prefix}{name}__{key}".upper()
        else:
            yield f"{prefix}{name}".upper()


def known_variables(settings: Settings | None, region: RegionConfig | None) -> set[str]:
    """Every ``IDOPS_*`` name idops reads: settings, tooling, and the variables ``*_env`` keys name."""
    known = set(_setting_names(Settings, "IDOPS_")) | TOOL_VARIABLES
    web = settings.web if settings is not None else Settings.model_fields["web"].get_default()
    api = settings.api if settings is not None else Settings.model_fields["api"].get_default()
    known |= {web.session_secret_env.upper(), web.oidc_client_secret_env.upper(), api.metrics_token_env.upper()}
    for m in region.municipalities if region is not None else ():
        known |= {n.upper() for n in (m.graph.client_secret_env, m.graph.certificate_path_env) if n}
    return known


def check_variables(settings: Settings | None, region: RegionConfig | None,
                    environ: Mapping[str, str] | None = None) -> Findings:
    """``IDOPS_*`` variables that are no setting. Runs even when the files did not validate, so a typo
    is reported with the rest. (An unknown key of a known section, pydantic-settings reports itself.)"""
    env = os.environ if environ is None else environ
    found = Findings()
    known = known_variables(settings, region)
    sections = {k.split("__")[0] for k in known if "__" in k}
    for name in sorted(env):
        upper = name.upper()
        if not upper.startswith("IDOPS_") or upper in known or upper.split("__")[0] in sections:
            continue
        close = difflib.get_close_matches(upper, sorted(known), n=1, cutoff=0.8)
        if "__" in upper or close:
            hint = f"; did you mean {close[0]}?" if close else ""
            found.problems.append(f"environment: {name}: likely a typo, so idops would ignore it{hint}")
        else:
            found.warnings.append(f"environment: {name}: not an idops setting, ignored")
    return found


# ---------------------------------------------------------------------------------------- scope


def _scope_overlaps(settings: Settings, region: RegionConfig) -> Findings:
    found = Findings()
    for tenant in region.tenants():
        munis = [(i, m) for i, m in enumerate(region.municipalities) if m.tenant_id == tenant]
        granting: dict[str, str] = {}  # group id → where it grants scope
        for i, m in munis:
            for g in m.it_admins.group_ids:
                granting.setdefault(g, f"{_where(i, m)}.it_admins.group_ids")
            for j, s in enumerate(m.schools):
                for g in s.principals.group_ids:
                    granting.setdefault(g, f"{_where(i, m)}.schools[{j}]({s.key}).principals.group_ids")
        for i, m in munis:
            for j, s in enumerate(m.schools):
                at = f"{_where(i, m)}.schools[{j}]({s.key})"
                for key, groups, who in (("substitute_group_ids", s.substitute_group_ids, "every substitute idops "
                                          "provisions"), ("pupil_group_ids", s.pupil_group_ids, "every pupil")):
                    for g in groups:
                        if g in granting:
                            found.problems.append(f"{at}.{key}: group {g} is also {granting[g]}: {who} would get "
                                                  "that scope once they hold the role")
        found.extend(_principals_across_municipalities(munis))
        found.extend(_shared_it_admins(munis))
        found.extend(_excluded_people(settings, munis))
    return found


def _principals_across_municipalities(munis: list[tuple[int, Municipality]]) -> Findings:
    found = Findings()
    first: dict[str, tuple[int, Municipality]] = {}
    for i, m in munis:
        for j, s in enumerate(m.schools):
            for key, ids in (("object_ids", s.principals.object_ids), ("group_ids", s.principals.group_ids)):
                for x in ids:
                    owner = first.setdefault(x, (i, m))
                    if owner[1].key != m.key:
                        found.problems.append(
                            f"{_where(i, m)}.schools[{j}]({s.key}).principals.{key}: {x} is also a principal in "
                            f"{owner[1].key!r}: a principal would see another municipality's substitutes")
    return found


def _shared_it_admins(munis: list[tuple[int, Municipality]]) -> Findings:
    found = Findings()
    first: dict[str, Municipality] = {}
    for i, m in munis:
        for key, ids in (("object_ids", m.it_admins.object_ids), ("group_ids", m.it_admins.group_ids)):
            for x in ids:
                owner = first.setdefault(x, m)
                if owner.key != m.key:
                    found.warnings.append(f"{_where(i, m)}.it_admins.{key}: {x} is also an IT admin of "
                                          f"{owner.key!r}: they see both municipalities")
    return found


def _excluded_people(settings: Settings, munis: list[tuple[int, Municipality]]) -> Findings:
    found = Findings()
    for i, m in munis:
        excluded = set(m.exclusion_group_ids) | set(settings.mfa.exclusion_group_ids)
        for j, s in enumerate(m.schools):
            for key, groups in (("staff_group_ids", s.staff_group_ids), ("pupil_group_ids", s.pupil_group_ids)):
                for g in sorted(excluded & set(groups)):
                    found.warnings.append(f"{_where(i, m)}.schools[{j}]({s.key}).{key}: group {g} is also an MFA "
                                          "exclusion group: these people drop out of the MFA numbers")
    return found
