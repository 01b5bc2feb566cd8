"""The import rules of STYLE.md, read from the source: no cycles, and each layer imports only what it may.

Every ``import`` counts — at module level, inside functions (a lazy import hides a cycle, it does not
remove it) and under ``if TYPE_CHECKING:`` (a type-only cycle still ties two modules together).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SOURCES = ("idops", "jobs")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    out = {}
    for root in SOURCES:
        for path in (REPO / root).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            out[_module_name(path)] = path
    return out


MODULES = _modules()


def _imported(module: str, path: Path) -> Iterator[str]:
    """Every module name ``module`` imports (resolved to a module of this repository where one is named)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            yield base
            for alias in node.names:  # ``from idops.substitutes import names`` imports a module
                if f"{base}.{alias.name}" in MODULES:
                    yield f"{base}.{alias.name}"


IMPORTS = {module: frozenset(_imported(module, path)) for module, path in MODULES.items()}  # parsed once


def _edges() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for module in MODULES:
        targets = set()
        for name in IMPORTS[module]:
            # the module itself, or the nearest enclosing module of the repository
            while name and name not in MODULES:
                name = name.rpartition(".")[0]
            if name and name != module and not module.startswith(name + "."):
                targets.add(name)
        graph[module] = targets
    return graph


EDGES = _edges()


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def _package(module: str) -> str:
    """``idops.substitutes.requests`` → ``idops.substitutes``; top-level modules stand alone."""
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 2 or f"{module}.__init__" in MODULES else module


def test_the_import_graph_was_read() -> None:
    assert len(MODULES) > 100
    assert "idops.container" in EDGES["idops.bootstrap"]
    assert "idops.substitutes.repository" in EDGES["idops.uow"]


def test_no_module_imports_itself_through_others() -> None:
    assert _cycles(EDGES) == []


def test_no_package_imports_itself_through_others() -> None:
    packages: dict[str, set[str]] = {}
    for module, targets in EDGES.items():
        pkg = _package(module)
        packages.setdefault(pkg, set()).update(_package(t) for t in targets if _package(t) != pkg)
    assert _cycles(packages) == []


def _importers_of(prefixes: tuple[str, ...]) -> dict[str, set[str]]:
    """Modules that import anything under ``prefixes`` (third-party names included), with what."""
    out: dict[str, set[str]] = {}
    for module in MODULES:
        hits = {n for n in IMPORTS[module] if any(n == p or n.startswith(p + ".") for p in prefixes)}
        if hits:
            out[module] = hits
    return out


def test_only_the_graph_package_imports_the_microsoft_libraries() -> None:
    users = _importers_of(("msgraph", "msgraph_core", "kiota_abstractions", "kiota_http", "kiota_serialization_json",
                           "kiota_authentication_azure", "azure.identity", "azure"))
    assert {m for m in users if not m.startswith("idops.graph")} == set()


def test_the_product_does_not_import_the_emulator() -> None:
    users = _importers_of(("idops.emulator",))
    # the demo wiring starts it; the CLI serves it on its own; the emulator imports itself
    allowed = {"idops.demo", "idops.cli", "idops.bootstrap"}
    assert {m for m in users if not m.startswith("idops.emulator") and m not in allowed} == set()


def test_the_emulator_imports_nothing_of_the_product() -> None:
    for module in (m for m in MODULES if m.startswith("idops.emulator")):
        product = {t for t in EDGES[module] if not t.startswith("idops.emulator")}
        assert product <= {"idops.kit.clock"}, (module, product)  # time is the one thing they share


ROUTERS = tuple(m for m in MODULES if m.endswith(".api") or m.startswith("idops.web.") or m == "idops.api.deps")


@pytest.mark.parametrize("router", ROUTERS)
def test_routers_never_import_repositories_or_the_database(router: str) -> None:
    bad = {t for t in EDGES[router] if t.endswith(".repository") or t in ("idops.kit.db",)}
    assert bad == set()


SERVICES = tuple(
    m for m in MODULES
    if m.split(".")[1:2]
    and m.split(".")[1] in ("substitutes", "mfa", "coverage", "signins", "directory", "audit", "sessions")
    and not m.endswith((".api", ".schemas", ".models", ".repository")) and m.count(".") == 2
)


@pytest.mark.parametrize("service", SERVICES)
def test_services_never_import_fastapi_or_open_sessions(service: str) -> None:
    assert not any(n.split(".")[0] in ("fastapi", "starlette") for n in IMPORTS[service])
    assert "idops.kit.db" not in EDGES[service] or service.endswith(".models")
    assert "sqlalchemy" not in {n.split(".")[0] for n in IMPORTS[service]}, service


def test_jobs_never_import_routers() -> None:
    for module in (m for m in MODULES if m.startswith("jobs.")):
        assert not {t for t in EDGES[module] if t in ROUTERS or t.startswith("idops.web")}, module
