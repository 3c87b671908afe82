"""The package's module-level imports form a one-way graph (no import cycle).

Every module of the installed packages (``tabsynth/``, and the folders installed as
``tabsynth.privacy``, ``tabsynth.evaluation``, ``tabsynth.datasets`` through pyproject's
``package-dir``) is parsed with :mod:`ast`; an edge ``a -> b`` is an import of ``b`` that runs
when ``a`` is imported: module level, class bodies, ``if``/``try``/``with`` blocks, but not
function bodies (lazy imports) and not ``if TYPE_CHECKING:`` blocks. Relative imports are
resolved; ``from pkg import name`` is an edge to ``pkg.name`` when that is a module, else to
``pkg``. Importing ``a.b.c`` also runs ``a`` and ``a.b`` first; those implicit parent edges are
left out (a package's ``__init__`` importing its own submodules is the usual pattern, not a
cycle). Complements ``tests/test_boundaries.py``, which checks the directions between packages.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: used when pyproject.toml cannot be read (no tomllib/tomli on Python 3.10)
DEFAULT_PACKAGE_DIRS = {"tabsynth": "tabsynth", "tabsynth.privacy": "privacy",
                        "tabsynth.evaluation": "evaluation", "tabsynth.datasets": "datasets"}


def package_dirs() -> dict[str, str]:
    """pyproject's ``[tool.setuptools] package-dir``: installed package -> source folder."""
    try:
        import tomllib
    except ImportError:  # pragma: no cover - Python 3.10
        try:
            import tomli as tomllib
        except ImportError:
            return dict(DEFAULT_PACKAGE_DIRS)
    with open(ROOT / "pyproject.toml", "rb") as fh:
        config = tomllib.load(fh)
    return dict(config["tool"]["setuptools"]["package-dir"])


def discover(root: Path, dirs: Mapping[str, str]) -> dict[str, tuple[Path, bool]]:
    """Module name -> (file, is_package) for every ``.py`` file under the source folders."""
    modules: dict[str, tuple[Path, bool]] = {}
    # deepest installed name first, so that a folder mapped to a subpackage is named by it
    for pkg, folder in sorted(dirs.items(), key=lambda kv: -kv[0].count(".")):
        base = root / folder
        for path in sorted(base.rglob("*.py")):
            rel = path.relative_to(base).with_suffix("").parts
            is_pkg = rel[-1] == "__init__"
            name = ".".join((pkg, *(rel[:-1] if is_pkg else rel)))
            modules.setdefault(name, (path, is_pkg))
    return modules


def _is_type_checking(test: ast.expr) -> bool:
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


def _import_time_nodes(body: list[ast.stmt]) -> Iterator[ast.Import | ast.ImportFrom]:
    """Import statements that run when the module is imported (not in functions)."""
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        elif isinstance(node, ast.If):
            if not _is_type_checking(node.test):
                yield from _import_time_nodes(node.body)
            yield from _import_time_nodes(node.orelse)
        elif isinstance(node, ast.ClassDef):
            yield from _import_time_nodes(node.body)
        elif isinstance(node, (ast.Try, getattr(ast, "TryStar", ast.Try))):
            for block in (node.body, node.orelse, node.finalbody):
                yield from _import_time_nodes(block)
            for handler in node.handlers:
                yield from _import_time_nodes(handler.body)
        elif isinstance(node, (ast.With, ast.AsyncWith, ast.For, ast.AsyncFor, ast.While)):
            yield from _import_time_nodes(node.body)
            yield from _import_time_nodes(getattr(node, "orelse", []))


def _owner(name: str, modules: Mapping[str, tuple[Path, bool]]) -> str | None:
    """``name`` if it is a module of ours, else its longest prefix that is, else None."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in modules:
            return candidate
        parts.pop()
    return None


def import_graph(modules: Mapping[str, tuple[Path, bool]]) -> dict[str, set[str]]:
    """Module -> the modules of ours it imports at import time."""
    graph: dict[str, set[str]] = {}
    for name, (path, is_pkg) in modules.items():
        package = name if is_pkg else name.rpartition(".")[0]
        edges: set[str] = set()
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in _import_time_nodes(tree.body):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                if node.level:
                    base_parts = package.split(".")
                    base_parts = base_parts[: len(base_parts) - (node.level - 1)]
                    base = ".".join(base_parts + ([node.module] if node.module else []))
                else:
                    base = node.module or ""
                targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                           for alias in node.names]
            for target in targets:
                owner = _owner(target, modules)
                if owner is not None and owner != name:
                    edges.add(owner)
        graph[name] = edges
    return graph


def find_cycle(graph: Mapping[str, set[str]]) -> list[str] | None:
    """One cycle as ``[a, b, ..., a]``, or None (iterative depth-first search)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    for start in sorted(graph):
        if state.get(start):
            continue
        path = [start]
        stack = [iter(sorted(graph[start]))]
        state[start] = 1
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            elif not state.get(nxt):
                state[nxt] = 1
                path.append(nxt)
                stack.append(iter(sorted(graph.get(nxt, ()))))
    return None


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    return import_graph(discover(ROOT, package_dirs()))


def test_no_module_level_import_cycle(graph: dict[str, set[str]]) -> None:
    cycle = find_cycle(graph)
    assert cycle is None, "module-level import cycle: " + " -> ".join(cycle or [])


def test_graph_sees_the_packages_and_resolves_relative_imports(
        graph: dict[str, set[str]]) -> None:
    # guards against a resolver that silently finds nothing (and so no cycle)
    for name in ("tabsynth", "tabsynth.models.ctgan", "tabsynth.privacy.ledger",
                 "tabsynth.evaluation.api", "tabsynth.datasets"):
        assert name in graph, name
    assert "tabsynth.models.base" in graph["tabsynth.models.ctgan"]  # from .base import ...
    assert "tabsynth.errors" in graph["tabsynth.models.base"]  # from ..errors import ...
    assert "tabsynth.metadata" in graph["tabsynth"]
    assert sum(len(e) for e in graph.values()) > 50


def _write(root: Path, files: Mapping[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def test_the_check_can_fail(tmp_path: Path) -> None:
    """A module-level cycle is found and printed; lazy and TYPE_CHECKING imports are not edges."""
    _write(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/a.py": "from .sub import b\n",
        "pkg/sub/__init__.py": "",
        "pkg/sub/b.py": "from ..c import thing\n",
        "pkg/c.py": "import pkg.a\nthing = 1\n",
        "pkg/lazy.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                       "    from . import lazy2\ndef f():\n    from . import lazy2\n",
        "pkg/lazy2.py": "from . import lazy\n",
        "other/x.py": "from . import y\n",
        "other/y.py": "from pkg import a\n",
    })
    modules = discover(tmp_path, {"pkg": "pkg", "pkg.other": "other"})
    graph = import_graph(modules)
    assert graph["pkg.sub.b"] == {"pkg.c"}
    assert graph["pkg.lazy"] == set() and graph["pkg.lazy2"] == {"pkg.lazy"}
    assert graph["pkg.other.x"] == {"pkg.other.y"}
    assert graph["pkg.other.y"] == {"pkg.a"}
    cycle = find_cycle(graph)
    assert cycle is not None and cycle[0] == cycle[-1]
    assert set(cycle) == {"pkg.a", "pkg.sub.b", "pkg.c"}
    del graph["pkg.c"]
    assert find_cycle(graph) is None
