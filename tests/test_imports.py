"""The layout's rules, checked by parsing every import (``ast``), so they stay true:

- imports run one way, down these layers (a package may import its own layer or lower):
  contracts → errors → providers → config → infrastructure → domain → consumers, producers → CLI
  and API;
- only the CLI and the API import ``producers``; only the CLI and the group registry
  (``consumers/__init__.py``) import a consumer group, and no group imports another;
- ``streams.providers`` does not import ``streams.config``;
- no import cycle between modules, nor between packages."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OURS = ("contracts", "streams", "consumers", "producers")
LAYERS: list[tuple[str, ...]] = [
    ("contracts",),
    ("streams", "streams.errors", "streams.urls"),
    ("streams.providers",),
    ("streams.config",),
    ("streams.kafka", "streams.runtime", "streams.inputs", "streams.limiter", "streams.devstack"),
    ("streams.runs", "streams.calls", "streams.validation", "streams.embedding",
     "streams.scoring", "streams.correlation", "streams.ops", "streams.simulator",
     "streams.projects", "streams.visibility", "streams.schedules", "streams.alerts",
     "streams.feeds", "streams.sources"),
    ("consumers", "producers"),
    ("streams.cli", "streams.api"),
]
RANK = {package: rank for rank, packages in enumerate(LAYERS) for package in packages}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for top in OURS for path in (ROOT / top).rglob("*.py")}


MODULES = _modules()


def _imports(path: Path) -> set[str]:
    """Every project module ``path`` imports (``from pkg import module`` counts as the module)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        found.update(name for name in names if name in MODULES)
    return found


GRAPH = {module: _imports(path) - {module} for module, path in MODULES.items()}


def _package(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "streams" and len(parts) > 1 else parts[0]


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _upward(graph: dict[str, set[str]]) -> list[str]:
    return sorted(f"{module} imports {target}" for module, targets in graph.items()
                  for target in targets if RANK[_package(target)] > RANK[_package(module)])


def _wrong_group_imports(graph: dict[str, set[str]]) -> list[str]:
    wrong = []
    for module, targets in graph.items():
        for target in targets:
            # The CLI and the API publish through the producers.
            outside = _package(module) != _package(target) and _package(module) not in (
                "streams.cli", "streams.api")
            if _package(target) == "producers" and outside:
                wrong.append(f"{module} imports {target}")
            # Inside consumers/, only the registry (the package itself) imports a group.
            if _package(target) == "consumers" and (outside or module != "consumers"):
                if _package(module) != "streams.cli":
                    wrong.append(f"{module} imports {target}")
    return sorted(wrong)


def _packages(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    packages: dict[str, set[str]] = defaultdict(set)
    for module, targets in graph.items():
        packages[_package(module)].update(_package(t) for t in targets)
    return {package: targets - {package} for package, targets in packages.items()}


def test_every_package_has_a_layer() -> None:
    assert sorted({_package(m) for m in MODULES} - set(RANK)) == []


def test_imports_run_down_the_layers() -> None:
    assert _upward(GRAPH) == []


def test_only_the_cli_and_the_registry_import_consumers_and_producers() -> None:
    assert _wrong_group_imports(GRAPH) == []


def test_providers_do_not_read_config() -> None:
    assert sorted(f"{m} imports {t}" for m, targets in GRAPH.items() for t in targets
                  if _package(m) == "streams.providers" and t == "streams.config") == []


def test_no_import_cycles() -> None:
    assert _cycles(GRAPH) == []
    assert _cycles(_packages(GRAPH)) == []


def test_the_checks_catch_violations() -> None:
    """The rules are not vacuous: each bad edge added to the real graph is caught."""
    def bad(module: str, target: str) -> dict[str, set[str]]:
        return {**GRAPH, module: GRAPH[module] | {target}}

    assert _upward(bad("streams.kafka.broker", "streams.cli.main")) == [
        "streams.kafka.broker imports streams.cli.main"]
    assert _wrong_group_imports(bad("consumers.scoring", "consumers.capture")) == [
        "consumers.scoring imports consumers.capture"]
    assert _wrong_group_imports(bad("streams.runtime.runner", "consumers")) == [
        "streams.runtime.runner imports consumers"]
    assert _cycles(bad("streams.runs.prompts", "streams.simulator.answers")) != []
    assert _cycles(_packages(bad("streams.scoring.stats", "streams.correlation.evaluate"))) != []


def test_every_group_names_its_module() -> None:
    import importlib

    from consumers import GROUPS

    for name, group in GROUPS.items():
        module = importlib.import_module(group.module)
        assert (module.GROUP, callable(module.register)) == (name, True), group
        if group.background is not None:
            assert callable(getattr(module, group.background)), group


def _loaded(modules: str, heavy: tuple[str, ...]) -> str:
    """Which of ``heavy`` a fresh interpreter has loaded after importing ``modules``."""
    import subprocess
    import sys

    probe = (f"import sys, streams.cli.main, {modules}; "
             f"print(','.join(m for m in {heavy!r} if m in sys.modules))")
    return subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, check=True).stdout.strip()


def test_a_capture_or_provider_calls_process_loads_no_heavy_dependency() -> None:
    """`domain-runner run capture` / `provider-calls` import only their own groups' modules:
    not the embedding model, the statistics or the plotting of the others (start time, RSS)."""
    assert _loaded("consumers, consumers.capture, consumers.provider_calls",
                   ("torch", "scipy", "sentence_transformers", "matplotlib", "sklearn", "numpy",
                    "fastapi", "vaderSentiment")) == ""


def test_the_statistics_groups_load_no_model_nor_scipy_stats() -> None:
    """Scoring, visibility and sources need distribution functions, not scipy.stats (~50 MB of
    RSS more), and never the embedding model."""
    assert _loaded("consumers.scoring, consumers.visibility, consumers.sources",
                   ("torch", "sentence_transformers", "scipy.stats", "matplotlib",
                    "fastapi")) == ""
