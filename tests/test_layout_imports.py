"""The package's module-level imports: no cycle, and no chain longer than 8 modules.

Imports inside functions (the CLI's lazy commands, optional extras) do not count:
they run only when called. ``if TYPE_CHECKING:`` blocks do not count either.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import mle_toolbox

PACKAGE = Path(mle_toolbox.__file__).parent
MAX_CHAIN = 8


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _resolve(module: str, *, level: int, name: str | None, is_package: bool) -> str:
    if level == 0:
        return name or ""
    base = module.split(".")
    base = base if is_package else base[:-1]
    base = base[:len(base) - (level - 1)]
    return ".".join([*base, name] if name else base)


def _top_level_imports(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    found: list[ast.Import | ast.ImportFrom] = []
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        elif isinstance(node, ast.If) and not _is_type_checking(node.test):
            found += [n for n in node.body + node.orelse
                      if isinstance(n, ast.Import | ast.ImportFrom)]
        elif isinstance(node, ast.Try):
            found += [n for n in node.body if isinstance(n, ast.Import | ast.ImportFrom)]
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def import_graph() -> dict[str, set[str]]:
    """Module -> the package modules it imports at module level, as written.

    A submodule's implicit import of its package's ``__init__`` is not an edge: the
    package's ``__init__`` re-exports MLExperiment and friends, and Python has already
    started it by then, so that edge never runs code or fails.
    """
    paths = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for module, path in paths.items():
        is_package = path.name == "__init__.py"
        targets: set[str] = set()
        for node in _top_level_imports(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                base = _resolve(module, level=node.level, name=node.module,
                                is_package=is_package)
                # `from . import x` may name a submodule or a name in the package.
                names = [f"{base}.{a.name}" if f"{base}.{a.name}" in paths else base
                         for a in node.names]
            targets |= {n for n in names if n in paths and n != module}
        graph[module] = targets
    return graph


def longest_chain(graph: dict[str, set[str]]) -> list[str]:
    """The longest import chain (modules, importer first); the graph must be acyclic."""
    @cache
    def chain(module: str) -> tuple[str, ...]:
        tails = [chain(target) for target in graph[module]]
        return (module, *max(tails, key=len, default=()))

    return list(max((chain(m) for m in graph), key=len))


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle, if there is any."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = 1
        path.append(module)
        for target in sorted(graph[module]):
            if state.get(target) == 1:
                return [*path[path.index(target):], target]
            if target not in state and (found := visit(target)) is not None:
                return found
        path.pop()
        state[module] = 2
        return None

    for module in sorted(graph):
        if module not in state and (found := visit(module)) is not None:
            return found
    return None


def test_the_checker_sees_relative_imports_and_packages() -> None:
    graph = import_graph()
    assert "mle_toolbox.files.jobdir" in graph["mle_toolbox.spec"]
    assert "mle_toolbox.files.layout" in graph["mle_toolbox.files.jobpaths"]
    assert "mle_toolbox.backends.base" in graph["mle_toolbox.backends"]
    assert graph["mle_toolbox.cli"] >= {"mle_toolbox", "mle_toolbox.errors"}
    # lazy imports inside functions are not module-level imports
    assert "mle_toolbox.commands.run" not in graph["mle_toolbox.cli"]


def test_the_checker_finds_a_cycle_and_the_longest_chain() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": set(), "d": {"a"}}
    assert find_cycle(graph) is None
    assert longest_chain(graph) == ["d", "a", "b", "c"]
    graph["c"] = {"a"}
    assert find_cycle(graph) == ["a", "b", "c", "a"]


def test_no_import_cycle_inside_the_package() -> None:
    assert find_cycle(import_graph()) is None


def test_no_import_chain_longer_than_eight_modules() -> None:
    chain = longest_chain(import_graph())
    assert len(chain) <= MAX_CHAIN, " -> ".join(chain)
