"""docs/architecture.md stays true (issue 15): its picture names every layer of the
import-linter contract, every layer has a paragraph of its own, each "how to add" checklist
names a test that keeps it honest, and every file, test and ``module.name`` it names exists."""

from __future__ import annotations

import importlib
import re
import tomllib

import grimp
import pytest

from tests.conftest import REPO

DOC = (REPO / "docs" / "architecture.md").read_text(encoding="utf-8")
PACKAGES = ("cli", "odm_engine", "renderers", "services", "storage", "webapp")
PATH_ROOTS = (*PACKAGES, "tests", "docs", "bench")
REMOVED = {"webapp/formdata.py"}
"""Files the page names as removed (a speed trick replaced by the library): they must be gone."""
HOW_TO_ADD = ("A new ODM DataType", "A new export format", "A new web page", "A new vendor profile")


def _layers() -> list[str]:
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    layers = next(c["layers"] for c in contracts if c["type"] == "layers")
    return [name.strip() for layer in layers for name in layer.split("|")]


def _section(heading: str) -> str:
    """The text under a ``##``/``###`` heading, up to the next heading of any level."""
    match = re.search(rf"^#+ {re.escape(heading)}\n(.*?)(?=^#+ |\Z)", DOC, re.S | re.M)
    assert match, f"no section {heading!r}"
    return match.group(1)


def test_the_picture_names_every_layer_of_the_contract() -> None:
    picture = _section("The layers").split("```")[1]
    assert sorted({*_layers(), "cli"}) == sorted(PACKAGES)
    assert [p for p in PACKAGES if f"{p}/" not in picture] == []


def test_every_layer_has_a_paragraph_of_its_own() -> None:
    """A ``## Heading (`pkg/`)`` or a paragraph that opens ``**Name (`pkg/`)...**``."""
    openers = [
        line
        for line in DOC.splitlines()
        if line.startswith("## ") or (line.startswith("**") and "**" in line[2:])
    ]
    lacking = [
        p for p in PACKAGES if not any(f"`{p}/`" in line.split("**")[:2][-1] for line in openers)
    ]
    assert lacking == []


def test_no_heading_is_buried_inside_a_paragraph() -> None:
    assert [line for line in DOC.splitlines() if re.search(r"\S.*\s#{2,} ", line)] == []


def test_each_how_to_checklist_names_a_test_that_exists() -> None:
    for heading in HOW_TO_ADD:
        tests = re.findall(r"`(tests/[\w/]+\.py)", _section(heading))
        assert tests, f"{heading}: names no test that keeps it honest"
        assert [t for t in tests if not (REPO / t).is_file()] == [], heading


def _named_paths() -> list[str]:
    found = re.findall(r"`([\w./<>-]+/[\w./<>\[\]:-]*)`", DOC)
    return [t for t in found if t.split("/")[0] in PATH_ROOTS and "<" not in t]


def test_every_file_and_test_the_page_names_exists() -> None:
    paths = _named_paths()
    assert len(paths) > 40  # the scan sees the page's paths
    missing = []
    for token in paths:
        path, _, test = token.partition("::")
        target = REPO / path
        if path in REMOVED:
            if target.exists():
                missing.append(f"{path} is named as removed but exists")
            continue
        if not target.exists():
            missing.append(token)
        elif test and f"def {test.split('[')[0]}(" not in target.read_text(encoding="utf-8"):
            missing.append(token)
    assert missing == []


def _resolve(dotted: str) -> object:
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            found: object = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for attr in parts[i:]:
            found = getattr(found, attr)
        return found
    raise ImportError(dotted)


def test_every_module_and_name_the_page_names_exists() -> None:
    """``storage.form_status.open_form_for_change`` and the like resolve; a dotted name that
    is no module is a ``python -m bench`` row and must be one."""
    bench = "".join(p.read_text(encoding="utf-8") for p in (REPO / "bench").rglob("*.py"))
    names = {
        n
        for n in re.findall(r"`([a-z_]+(?:\.\w+)+)(?:\([^`]*\))?`", DOC)
        if n.split(".")[0] in PACKAGES
    }
    assert len(names) > 30
    unknown = []
    for name in sorted(names):
        try:
            _resolve(name)
        except (ImportError, AttributeError):
            if f'"{name}"' not in bench:
                unknown.append(name)
    assert unknown == []


@pytest.mark.parametrize("leaf", ["webapp.errors", "storage.refs"])
def test_the_modules_the_page_calls_leaves_import_nothing_of_their_package(leaf: str) -> None:
    package = leaf.partition(".")[0]
    graph = grimp.build_graph(package, cache_dir=None)
    own = [m for m in graph.find_modules_directly_imported_by(leaf) if m.startswith(package + ".")]
    assert own == []
