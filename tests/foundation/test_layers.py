"""The cli package is the top of the stack: no package imports it; no module takes part in an
import cycle (import-linter's contracts in pyproject.toml cover the rest); no module is over
600 lines and no function over 80 (issue 15's size rule)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import grimp

from tests.conftest import REPO

IMPORTS_CLI = re.compile(r"^\s*(from\s+cli\s+import|import\s+cli\b)", re.MULTILINE)


def test_no_package_imports_the_cli() -> None:
    offenders = [
        str(path.relative_to(REPO))
        for package in ("odm_engine", "renderers", "services", "storage", "webapp")
        for path in (REPO / package).rglob("*.py")
        if IMPORTS_CLI.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


PROJECT_PACKAGES = ("cli", "odm_engine", "renderers", "services", "storage", "webapp")
# none today (storage.audit and storage.subjects both take SubjectRef from storage.refs)
KNOWN_CYCLES: frozenset[frozenset[str]] = frozenset()
"""Import cycles known and not yet broken. Any other cycle fails the test below, and so does
an entry here that is no longer a cycle (remove it)."""


def _cycles(imports: dict[str, set[str]]) -> list[frozenset[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []
    for root in sorted(imports):
        if root in index:
            continue
        work = [(root, iter(sorted(imports[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(imports.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(frozenset(component))
    return found


def test_the_cycle_finder_finds_a_cycle_and_only_cycles() -> None:
    imports = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e", "d"}}
    assert _cycles(imports) == [frozenset({"a", "b", "c"})]


def test_the_project_has_no_import_cycle() -> None:
    """Every import counts (inside functions and under TYPE_CHECKING too), as import-linter
    sees them: a cycle among the project's modules fails here with its members named."""
    graph = grimp.build_graph(*PROJECT_PACKAGES, cache_dir=None)
    imports = {m: set(graph.find_modules_directly_imported_by(m)) for m in graph.modules}
    cycles = set(_cycles(imports))
    assert sorted(sorted(c) for c in cycles - KNOWN_CYCLES) == []
    assert sorted(sorted(c) for c in KNOWN_CYCLES - cycles) == [], "no longer a cycle: remove"


SIZED_PACKAGES = ("odm_engine", "renderers", "storage", "services", "webapp", "cli", "bench")
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 80
MIGRATIONS = REPO / "storage" / "migrations" / "versions"


def _oversize(path: Path, root: Path = REPO) -> list[str]:
    """What in one module breaks the size rule: the module's line count, and each function or
    method (nested ones too) from its ``def`` line to its last line, decorators not counted."""
    text = path.read_text(encoding="utf-8")
    name = path.relative_to(root).as_posix()
    found = []
    if (lines := len(text.splitlines())) > MAX_MODULE_LINES:
        found.append(f"{name}: {lines} lines")
    for node in ast.walk(ast.parse(text, filename=name)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            if length > MAX_FUNCTION_LINES:
                found.append(f"{name}:{node.lineno} {node.name}: {length} lines")
    return found


def test_the_size_rule_finds_long_modules_and_functions(tmp_path: Path) -> None:
    def write(name: str, text: str) -> Path:
        (tmp_path / name).write_text(text, encoding="utf-8")
        return tmp_path / name

    body = [f"x{i} = {i}" for i in range(MAX_FUNCTION_LINES - 1)]
    fits = write("fits.py", "def f():\n" + "".join(f"    {line}\n" for line in body))
    method = "".join(f"        {line}\n" for line in [*body, "return x0"])
    long = write("long.py", f"class C:\n    @staticmethod\n    async def m():\n{method}")
    many = write("many.py", "x = 1\n" * (MAX_MODULE_LINES + 1))
    assert _oversize(fits, tmp_path) == []
    assert _oversize(long, tmp_path) == ["long.py:3 m: 81 lines"]
    assert _oversize(many, tmp_path) == ["many.py: 601 lines"]


def test_no_module_over_600_lines_and_no_function_over_80() -> None:
    """Issue 15's size rule, held on every module of the project's packages (the bench too):
    a module over 600 lines or a function or method over 80 (its ``def`` line to its last
    line) fails here, named with its size. Split it by responsibility, not by line count.

    Alembic revisions (``storage/migrations/versions/``) are exempt: a revision is history,
    applied to databases as it stands and never edited, so it is not split either (the
    initial schema's ``upgrade`` is one long function by nature)."""
    modules = [
        path
        for package in SIZED_PACKAGES
        for path in sorted((REPO / package).rglob("*.py"))
        if not path.is_relative_to(MIGRATIONS)
    ]
    assert len(modules) > 100  # the packages were found
    assert [found for path in modules for found in _oversize(path)] == []
