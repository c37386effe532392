"""The gate as a package: every package ships, and its layers import downward.

- pyproject's explicit package list names every package of the tree (a missing one would
  be absent from a wheel while the checkout still works);
- `obsgate.options` is the bottom layer: it imports nothing of the gate;
- no module below the plugin imports it (fixtures and suites read options from options);
- no import cycle among the gate's modules (module-level imports).
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# Installed name -> folder in the checkout (pyproject's package-dir).
ROOTS = {"obsgate": REPO / "obsgate", "obsgate.suites": REPO / "suites",
         "obsgate.loadtests": REPO / "loadtests"}  # fmt: skip


def tree_packages() -> set[str]:
    found = set()
    for name, root in ROOTS.items():
        for init in root.rglob("__init__.py"):
            if "__pycache__" in init.parts:
                continue
            relative = init.parent.relative_to(root).parts
            found.add(".".join((name, *relative)))
    return found | {"obsgate.examples"}


def test_pyproject_lists_every_package_of_the_tree() -> None:
    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
                 ["packages"])  # fmt: skip
    assert listed == tree_packages(), (
        f"missing from pyproject: {sorted(tree_packages() - listed)}; "
        f"listed but absent: {sorted(listed - tree_packages())}"
    )


def module_imports(path: Path) -> set[str]:
    """The gate modules a file imports at module level (not inside functions)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("obsgate"))
        elif (
            isinstance(node, ast.ImportFrom)
            and node.module
            and node.level == 0
            and node.module.startswith("obsgate")
        ):
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
    return found


def gate_modules() -> dict[str, Path]:
    modules = {}
    for path in (REPO / "obsgate").rglob("*.py"):
        parts = path.relative_to(REPO).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        modules[name] = path
    return modules


def import_graph() -> dict[str, set[str]]:
    modules = gate_modules()
    return {name: module_imports(path) & modules.keys() for name, path in modules.items()}


def test_options_is_the_bottom_layer() -> None:
    assert import_graph()["obsgate.options"] == set()


def test_nothing_below_the_plugin_imports_it() -> None:
    importers = sorted(m for m, deps in import_graph().items() if "obsgate.plugin" in deps)
    assert importers == [], f"these modules import the plugin layer: {importers}"
    suites = [p for p in (REPO / "suites").rglob("*.py") if "obsgate.plugin" in module_imports(p)]
    assert suites == [], suites


def test_no_import_cycle() -> None:
    graph = import_graph()
    cycles = []

    def visit(node: str, path: list[str]) -> None:
        for dep in sorted(graph[node]):
            if dep in path:
                cycles.append(" -> ".join([*path[path.index(dep) :], dep]))
            elif dep not in done:
                visit(dep, [*path, dep])
        done.add(node)

    done: set[str] = set()
    for module in sorted(graph):
        if module not in done:
            visit(module, [module])
    assert cycles == [], "import cycles:\n" + "\n".join(sorted(set(cycles)))
