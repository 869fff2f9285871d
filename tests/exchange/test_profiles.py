"""Dialect profiles (odm_engine.profiles): the "how to add a vendor profile" checklist, kept
honest. A profile is one module of the package holding one complete ``PROFILE``, listed once
in the registry; no module outside the package branches on a vendor's name or namespace."""

from __future__ import annotations

import ast
import importlib
import pkgutil

import pytest

from odm_engine import profiles
from odm_engine.exchange.records import FileHeader
from odm_engine.findings import CATALOGUE, Severity, finding
from odm_engine.profiles import PROFILES, choose_profile, conditions, tolerate
from odm_engine.profiles.base import Profile
from odm_engine.profiles.namespaces import VENDOR_NAMES
from tests.conftest import REPO

_MACHINERY = {"base", "conditions", "namespaces"}
EXPRESSION_DIALECTS = "odm_engine/expressions/foreign.py"
"""Branches on FormalExpression/@Context (``redcap:BranchingLogic``, ``OpenEDC``): the
language an expression is written in, which any file may use, not the file's vendor."""
"""Modules of the package that hold no profile."""
PROFILE_MODULES = sorted(
    info.name for info in pkgutil.iter_modules(profiles.__path__) if info.name not in _MACHINERY
)


def test_every_profile_module_is_in_the_registry_once() -> None:
    declared = [
        importlib.import_module(f"odm_engine.profiles.{n}").PROFILE for n in PROFILE_MODULES
    ]
    assert sorted(p.name for p in declared) == sorted(p.name for p in PROFILES)
    assert all(any(p is q for q in PROFILES) for p in declared)
    assert len({p.name for p in PROFILES}) == len(PROFILES)
    assert PROFILES[-1] is profiles.GENERIC


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p.name)
def test_every_profile_is_complete(profile: Profile) -> None:
    """Detection, tolerations, metadata normaliser and element mapping, each well formed."""
    assert profile.name and profile.mapping and not profile.mapping.endswith(".")
    assert callable(profile.detect) and callable(profile.normalise)
    for toleration in profile.tolerations:
        assert toleration.condition in CATALOGUE or toleration.condition in conditions.CONDITIONS
        assert toleration.action and not toleration.action.endswith(".")
    if profile.element_maps:
        assert profile.vendor_namespace, "element maps read elements of the vendor namespace"
    if profile.vendor_namespace is not None:
        header = FileHeader(namespaces=(("v", profile.vendor_namespace),))
        assert choose_profile(header) == (profile, f"namespace {profile.vendor_namespace}")


def test_a_plain_file_gets_the_generic_profile() -> None:
    assert choose_profile(FileHeader(source_system="Our EDC")) == (
        profiles.GENERIC,
        "no vendor SourceSystem or namespace",
    )
    assert choose_profile(FileHeader(source_system=" REDCap 14.0 "))[1] == (
        'SourceSystem="REDCap 14.0"'
    )


def test_a_tolerated_schema_error_becomes_a_located_warning() -> None:
    """The libxml2 message is recognised once (profiles.conditions); the profile names the
    condition by its code and the finding keeps its line and OID."""
    message = (
        "Element 'CodeList', attribute 'DataType': [facet 'enumeration'] The value 'boolean' "
        "is not an element of the set {'integer', 'float', 'text', 'string'}."
    )
    error = finding("ODM-XSD-001", path="p.xml", line=7, oid="CL.YN", detail=message)
    assert conditions.condition_of(error) == conditions.BOOLEAN_CODE_LIST
    [warning] = tolerate([error], profiles.REDCAP)
    assert (warning.code, warning.severity, warning.line, warning.oid) == (
        "ODM-PROF-002",
        Severity.WARNING,
        7,
        "CL.YN",
    )
    assert warning.message == (
        "REDCap profile: REDCap's boolean code lists are read as integer code lists (0/1). "
        f"The file deviates from ODM 1.3.2 here (Schema: {message}); the study is loaded as "
        "the profile reads it."
    )
    assert tolerate([error], profiles.RAVE) == [error]
    assert tolerate([error], profiles.GENERIC) == [error]


def _vendor_words() -> tuple[set[str], set[str]]:
    uris = set(VENDOR_NAMES) | {p.vendor_namespace for p in PROFILES if p.vendor_namespace}
    names = {"redcap", "openclinica", "medidata", "rave", "mdsol", "openedc", "viedoc"}
    return uris, names


def _branches_on_vendor(tree: ast.AST, uris: set[str], names: set[str]) -> list[int]:
    """Lines holding a vendor namespace literal, or comparing text with a vendor's name."""
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if any(uri in node.value for uri in uris):
                lines.append(node.lineno)
        compared: list[ast.expr] = []
        if isinstance(node, ast.Compare):
            compared = [node.left, *node.comparators]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr in ("startswith", "endswith", "lower", "casefold"):
                compared = list(node.args)
        for expr in compared:
            for part in ast.walk(expr):
                if isinstance(part, ast.Constant) and isinstance(part.value, str):
                    word = part.value.strip().lower()
                    if any(word.startswith(name) for name in names):
                        lines.append(part.lineno)
    return lines


def test_no_module_outside_the_profiles_package_branches_on_a_vendor() -> None:
    uris, names = _vendor_words()
    roots = [REPO / p for p in ("odm_engine", "renderers", "services", "storage", "webapp")]
    files = [f for root in roots if root.exists() for f in root.rglob("*.py")]
    files.append(REPO / "cli.py")
    if (REPO / "cli").is_dir():
        files.extend((REPO / "cli").rglob("*.py"))
    inside = REPO / "odm_engine" / "profiles"
    offenders = [
        f"{path.relative_to(REPO)}:{line}"
        for path in files
        if path.exists()
        and inside not in path.parents
        and path.relative_to(REPO).as_posix() != EXPRESSION_DIALECTS
        for line in _branches_on_vendor(ast.parse(path.read_text(encoding="utf-8")), uris, names)
    ]
    assert offenders == []


def test_the_scan_sees_a_vendor_branch() -> None:
    uris, names = _vendor_words()
    source = 'if source.lower().startswith("redcap"):\n    ns = "https://projectredcap.org"\n'
    assert _branches_on_vendor(ast.parse(source), uris, names) == [1, 2]
