"""Imports run one way: no circle between modules, and no layer imports one above it.

The graph is read from the source with the standard `ast` module, every import counted (also
those inside functions, which is where circles used to hide), so it can never drift from the
code. Layers, bottom to top:

- core: model-free helpers (errors, text checks, keyset pages, htmx, API parts); imports no
  package of memdash;
- audit: the access log and audit trail every layer above writes to; imports only core;
- tenancy: organizations, projects, keys, members, roles; imports only core and audit;
- the product apps (entities, memories) and the project package (memdash: settings, urls);
- development tooling (bench, testkit) and tests, which nothing of the product imports.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SKIPPED_DIRS = {".venv", ".sdk", "node_modules", ".git", "staticfiles", ".pgdata"}
CORE, AUDIT, TENANCY = "core", "audit", "tenancy"
TOOLING = {"bench", "testkit", "tests"}


def packages() -> list[str]:
    """The top-level packages of the repository (directories with an __init__.py)."""
    return sorted(
        path.name
        for path in ROOT.iterdir()
        if path.is_dir() and path.name not in SKIPPED_DIRS and (path / "__init__.py").exists()
    )


def source_files() -> Iterator[Path]:
    for package in packages():
        for path in (ROOT / package).rglob("*.py"):
            if not SKIPPED_DIRS & set(path.relative_to(ROOT).parts):
                yield path


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def modules() -> dict[str, Path]:
    return {module_name(path): path for path in source_files()}


def resolve(name: str) -> str | None:
    """The project module an import of `name` loads: itself, or its nearest package."""
    known = modules()
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in known:
            return candidate
        parts.pop()
    return None


def _type_checking_only(tree: ast.Module) -> set[ast.AST]:
    """The nodes inside `if TYPE_CHECKING:` blocks."""
    inside: set[ast.AST] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test) in (
            "TYPE_CHECKING",
            "typing.TYPE_CHECKING",
        ):
            for child in node.body:
                inside.update(ast.walk(child))
    return inside


def imported_by(module: str, *, typing_only: bool = True) -> set[str]:
    """Project modules `module` imports anywhere in its file (with `typing_only`, also those
    only type checkers see)."""
    path = modules()[module]
    is_package = path.name == "__init__.py"
    tree = ast.parse(path.read_text(), filename=str(path))
    skipped = set() if typing_only else _type_checking_only(tree)
    found: set[str] = set()
    for node in ast.walk(tree):
        if node in skipped:
            continue
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")
                anchor = anchor if is_package else anchor[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            # `from package import module` loads that module; `from module import name`, the module.
            names = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules() else base
                for alias in node.names
            ]
        else:
            continue
        for name in names:
            target = resolve(name)
            if target and target != module:
                found.add(target)
    return found


def graph(*, typing_only: bool = True) -> dict[str, set[str]]:
    return {module: imported_by(module, typing_only=typing_only) for module in modules()}


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in edges.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
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

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def package_of(module: str) -> str:
    return module.split(".")[0]


def crossings(allowed: set[str], of: str) -> list[str]:
    """Imports from package `of` into packages outside `allowed`."""
    return sorted(
        f"{module} imports {target}"
        for module, targets in graph().items()
        if package_of(module) == of
        for target in targets
        if package_of(target) not in allowed
    )


def test_the_graph_is_read_from_the_source():
    edges = graph()
    assert {"core", "tenancy", "entities", "memories", "memdash"} <= set(packages())
    # A sample of known edges, so a resolver bug cannot make every other check pass vacuously.
    assert "memories.events" in edges["memories.services"]
    assert "core.errors" in edges["memories.filters"]
    assert "tenancy.models" in edges["tenancy.api.base"]


def test_no_module_imports_itself_back_through_a_circle():
    # Imports for type checkers only never run (a model's QuerySet names its model that way),
    # so they cannot make a circle; they do count for the layers below.
    assert circles(graph(typing_only=False)) == []


def test_circles_are_found():
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_core_imports_no_package_of_memdash():
    assert crossings({CORE}, of=CORE) == []


def test_the_audit_log_imports_only_the_core():
    assert crossings({CORE, AUDIT}, of=AUDIT) == []


def test_tenancy_imports_only_the_core_and_the_audit_log():
    assert crossings({CORE, AUDIT, TENANCY}, of=TENANCY) == []


def test_the_product_imports_no_development_tooling():
    product = set(packages()) - TOOLING
    for package in product:
        assert crossings(product, of=package) == [], package
