"""The house's shape, checked: no import cycle anywhere, and each layer imports only the layers below it.

pipeline/ is pure logic; storage/ stores what it is handed (it may name pipeline's types, never
call its decisions); actors/ wraps both for Ray; service/ says what each route does; api/ is HTTP
and the CLI. See docs/architecture.md.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("api", "actors", "configs", "memos_client", "pipeline", "service", "storage")
# Which top-level packages each may import (besides itself).
ALLOWED = {
    "configs": set(),
    "pipeline": set(),
    "storage": {"pipeline"},
    "actors": {"pipeline", "storage", "configs"},
    "service": {"pipeline", "storage", "actors", "configs"},
    "api": {"pipeline", "storage", "actors", "configs", "service", "memos_client"},
    # The SDK: HTTP only. Of the server it imports the API's own models (api/schemas.py), nothing else.
    "memos_client": {"api"},
}
# pipeline modules that make decisions; storage applies decisions it is handed and never imports these.
DECISION_MODULES = ("pipeline.world_model", "pipeline.write_decisions", "pipeline.dedupe", "pipeline.ranking")
# Where storage names a decision's types: the policy the writer is handed and the decisions it returns,
# the fact type the reader returns, and the dedupe state changes the dedupe index applies.
TYPE_ONLY = {("storage.cube.writer", "pipeline.write_decisions"), ("storage.cube.writer", "pipeline.world_model"),
             ("storage.cube.reader", "pipeline.world_model"), ("storage.dedupe_index", "pipeline.dedupe")}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_modules() -> dict[str, Path]:
    return {module_name(p): p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")}


def imports_of(path: Path, known: set[str]) -> set[str]:
    """Project modules this file imports at module level (TYPE_CHECKING blocks excluded)."""
    found: set[str] = set()
    tree = ast.parse(path.read_text())
    for node in tree.body:
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name:
                found.add(name)
    return found


def graph() -> dict[str, set[str]]:
    modules = project_modules()
    known = set(modules)
    return {name: imports_of(path, known) - {name} for name, path in modules.items()}


def test_no_module_imports_itself_back_through_a_cycle():
    edges = graph()
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(trail[trail.index(nxt):] + [nxt] if nxt in trail else [node, nxt])
            elif state.get(nxt) is None:
                visit(nxt, trail + [nxt])
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    assert cycles == []


def test_each_layer_imports_only_the_layers_below_it():
    wrong = sorted(
        (src, dst)
        for src, dsts in graph().items()
        for dst in dsts
        if (a := src.split(".")[0]) != (b := dst.split(".")[0]) and b not in ALLOWED[a]
    )
    assert wrong == []


def test_storage_never_imports_a_decision_it_could_make_itself():
    wrong = sorted(
        (src, dst)
        for src, dsts in graph().items()
        if src.startswith("storage.")
        for dst in dsts
        if dst.startswith(DECISION_MODULES) and (src, dst) not in TYPE_ONLY
    )
    assert wrong == []


def test_the_sdk_takes_only_the_api_models_from_the_server():
    wrong = sorted((src, dst) for src, dsts in graph().items() if src.startswith("memos_client")
                   for dst in dsts if not dst.startswith("memos_client") and dst != "api.schemas")
    assert wrong == []


def test_every_package_directory_is_listed_for_installation() -> None:
    """pyproject lists packages explicitly; one left out would be missing from an installed copy."""
    import tomllib

    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    on_disk = {module_name(init) for pkg in PACKAGES for init in (ROOT / pkg).rglob("__init__.py")}
    assert on_disk - listed == set(), "add these to [tool.setuptools] packages in pyproject.toml"
