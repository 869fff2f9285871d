"""The DataType registry (odm_engine.datatypes.registry) is complete, and the only table.

ODM 1.3.2 §2.13 and the DataType enumeration of ODM1-3-2-foundation.xsd name 22 DataTypes;
each needs one complete DataTypeSpec, and no other Python module may hold a table keyed by
DataType names (docs/architecture.md, "How to add an ODM DataType").
"""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import pytest

from odm_engine.datatypes import (
    DATA_TYPES,
    ITEM_DATA_ELEMENTS,
    REGISTRY,
    DataTypeSpec,
    Parsed,
    format_value,
    parse_value,
)
from odm_engine.datatypes.registry import EXPRESSION_TYPES, KINDS, PAPER, TRUNCATIONS, WIDGETS
from odm_engine.exchange.records import TYPED_ITEM_DATA
from renderers.i18n import texts
from tests.conftest import REPO

XSD_DATA_TYPES = (
    "integer", "float", "date", "datetime", "time", "text", "string", "double", "URI",
    "boolean", "hexBinary", "base64Binary", "hexFloat", "base64Float", "partialDate",
    "partialTime", "partialDatetime", "durationDatetime", "intervalDatetime",
    "incompleteDatetime", "incompleteDate", "incompleteTime",
)  # fmt: skip
"""The DataType enumeration of ODM1-3-2-foundation.xsd."""
XSD_ITEM_DATA = {
    "ItemDataAny": None, "ItemDataString": "string", "ItemDataInteger": "integer",
    "ItemDataFloat": "float", "ItemDataDate": "date", "ItemDataTime": "time",
    "ItemDataDatetime": "datetime", "ItemDataBoolean": "boolean", "ItemDataDouble": "double",
    "ItemDataHexBinary": "hexBinary", "ItemDataBase64Binary": "base64Binary",
    "ItemDataHexFloat": "hexFloat", "ItemDataBase64Float": "base64Float",
    "ItemDataPartialDate": "partialDate", "ItemDataPartialTime": "partialTime",
    "ItemDataPartialDatetime": "partialDatetime",
    "ItemDataDurationDatetime": "durationDatetime",
    "ItemDataIntervalDatetime": "intervalDatetime",
    "ItemDataIncompleteDatetime": "incompleteDatetime",
    "ItemDataIncompleteDate": "incompleteDate", "ItemDataIncompleteTime": "incompleteTime",
    "ItemDataURI": "URI",
}  # fmt: skip
"""The typed ItemData elements of ODM 1.3.2 §3.1.6.6 and the DataType each carries."""
DEFINE_TYPES = {
    "text", "integer", "float", "datetime", "date", "time", "partialDate", "partialTime",
    "partialDatetime", "incompleteDatetime", "durationDatetime", "intervalDatetime",
}  # fmt: skip
"""Define-XML 2.1 ItemDef/@DataType."""
DATASET_JSON_TYPES = {
    "string", "integer", "decimal", "float", "double", "boolean", "datetime", "date", "time",
    "URI",
}  # fmt: skip
"""Dataset-JSON 1.1 column dataType."""
EXAMPLES = {
    "text": (" a b ", " a b "), "string": ("x", "x"), "integer": ("+042", "42"),
    "float": ("1.50", "1.50"), "double": ("1E3", "1000"), "boolean": ("1", "true"),
    "date": ("2019-03-15", "2019-03-15"), "time": ("14:30:00", "14:30:00"),
    "datetime": ("2019-03-15T14:30:00", "2019-03-15T14:30:00"),
    "partialDate": ("2019-03", "2019-03"), "partialTime": ("14:30", "14:30"),
    "partialDatetime": ("2019-03-15T14", "2019-03-15T14"),
    "incompleteDate": ("2019---15", "2019---15"), "incompleteTime": ("14:-:-", "14"),
    "incompleteDatetime": ("2019---15T14:-:-", "2019---15T14:-:-"),
    "durationDatetime": ("P2W", "P2W"), "intervalDatetime": ("2019-01-01/P1M", "2019-01-01/P1M"),
    "hexBinary": ("0fa3", "0FA3"), "hexFloat": ("3FF8000000000000", "3FF8000000000000"),
    "base64Binary": ("SGVsbG8=", "SGVsbG8="), "base64Float": ("P/gAAAAAAAA=", "P/gAAAAAAAA="),
    "URI": ("https://example.org/a%20b", "https://example.org/a%20b"),
}  # fmt: skip
"""A value of each DataType as written and its canonical text (the tests of a new DataType)."""
OPTIONAL = {"compare", "truncation", "fast_path"}
"""Fields a DataType may leave None: it has no order, is no date or time, has no fast path."""


def test_every_odm_data_type_has_an_entry_and_nothing_else_does() -> None:
    assert sorted(REGISTRY) == sorted(XSD_DATA_TYPES)
    assert DATA_TYPES == frozenset(XSD_DATA_TYPES)
    assert set(EXAMPLES) == DATA_TYPES, "add an example of the new DataType to EXAMPLES"


@pytest.mark.parametrize("name", XSD_DATA_TYPES)
def test_the_entry_is_complete(name: str) -> None:
    spec = REGISTRY[name]
    assert isinstance(spec, DataTypeSpec) and spec.name == name
    for field in dataclasses.fields(DataTypeSpec):
        if field.name not in OPTIONAL:
            assert getattr(spec, field.name) is not None, field.name
    assert spec.kind in KINDS
    assert spec.expression_type in EXPRESSION_TYPES
    assert spec.noun and spec.how.endswith(".")
    assert XSD_ITEM_DATA[spec.item_data_element] in (name, "string")
    assert spec.define_type in DEFINE_TYPES
    assert spec.tabular_type in DATASET_JSON_TYPES
    assert spec.entry.widget in WIDGETS and spec.entry.paper in PAPER
    assert spec.entry.hint is None or spec.entry.hint in texts("form", "en")
    assert all(key in texts("print", "en") for key in spec.entry.paper_hint)
    is_temporal = spec.kind in ("date", "time", "datetime")
    assert (spec.truncation in TRUNCATIONS) == is_temporal
    assert bool(spec.entry.paper_hint) == is_temporal


@pytest.mark.parametrize("name", XSD_DATA_TYPES)
def test_reader_writer_and_order_agree_on_an_example(name: str) -> None:
    text, canonical = EXAMPLES[name]
    parsed = parse_value(name, text)
    assert isinstance(parsed, Parsed) and parsed.canonical == canonical
    assert format_value(name, parsed.value) == canonical
    spec = REGISTRY[name]
    if spec.compare is not None:  # a partial value may be any of several: its order unknown
        known = spec.truncation in (None, "none")
        assert spec.compare(parsed.value, parsed.value, name) in ((0,) if known else (0, None))


def test_typed_item_data_elements_are_those_of_the_schema() -> None:
    assert dict(ITEM_DATA_ELEMENTS) == XSD_ITEM_DATA
    assert TYPED_ITEM_DATA is ITEM_DATA_ELEMENTS


# --- no per-DataType table outside the registry ----------------------------------------------

LAYERS = ("odm_engine", "renderers", "storage", "webapp", "services", "cli", "cli.py")
REGISTRY_PACKAGE = "odm_engine/datatypes/"
OTHER_VOCABULARIES = {
    ("odm_engine/expressions/ast.py", "boolean date datetime integer text time"),
    ("odm_engine/expressions/problems.py", "boolean date datetime integer text time"),
    ("odm_engine/expressions/checker.py", "date datetime"),
    ("odm_engine/expressions/checker.py", "text time"),
    ("odm_engine/expressions/functions.py", "date datetime"),
    ("odm_engine/expressions/printer.py", "date datetime time"),
    ("renderers/define/writer.py", "float integer text"),
    ("renderers/define/writer.py", "float"),
    ("renderers/tabular/writers.py", "float integer text"),
    ("renderers/tabular/writers.py", "float"),
    ("renderers/tabular/writers.py", "integer"),
    ("renderers/tabular/plan.py", "text"),
    ("renderers/tabular/plan.py", "integer"),
    ("renderers/tabular/plan.py", "float"),
    ("odm_engine/profiles/redcap.py", "boolean"),
}
"""Places whose names only share spellings with DataTypes: OEL types (expressions), Define-XML
types (define, tabular: Column.data_type is a Define type), REDCap's CodeList DataType."""


def _names(node: ast.AST) -> set[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.Dict):
        return set().union(*(_names(k) for k in node.keys if k is not None))
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return set().union(set(), *(_names(e) for e in node.elts))
    return set()


def _is_data_type(node: ast.AST) -> bool:
    return (isinstance(node, ast.Attribute) and node.attr == "data_type") or (
        isinstance(node, ast.Name) and node.id in ("data_type", "dt")
    )


def _tables(tree: ast.AST) -> list[tuple[int, set[str]]]:
    """Literal collections naming two DataTypes or more; comparisons of a data_type with one."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict | ast.Tuple | ast.List | ast.Set):
            names = _names(node) & DATA_TYPES
            if len(names) >= 2:
                found.append((node.lineno, names))
        elif isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            if any(_is_data_type(side) for side in sides):
                names = set().union(*(_names(side) for side in sides)) & DATA_TYPES
                if names:
                    found.append((node.lineno, names))
    return found


def test_no_other_module_holds_a_per_data_type_table() -> None:
    """A DataType's behaviour lives in its registry entry; everything else reads it."""
    offenders = []
    for layer in LAYERS:
        root = REPO / layer
        paths = [root] if root.is_file() else sorted(root.rglob("*.py"))
        for path in paths:
            relative = path.relative_to(REPO).as_posix()
            if relative.startswith(REGISTRY_PACKAGE):
                continue
            for line, names in _tables(ast.parse(path.read_text(encoding="utf-8"))):
                if (relative, " ".join(sorted(names))) not in OTHER_VOCABULARIES:
                    offenders.append(f"{relative}:{line}: {sorted(names)}")
    assert offenders == [], (
        "per-DataType tables outside odm_engine/datatypes/registry.py; read the registry "
        "instead (or, for another vocabulary that only shares names, add it to "
        "OTHER_VOCABULARIES with the reason)"
    )


def test_the_scan_sees_a_table() -> None:
    tree = ast.parse('WIDGETS = {"date": 1, "partialDate": 2}\nif item.data_type == "URI": pass')
    assert [line for line, _ in _tables(tree)] == [1, 2]


def test_the_allow_list_has_no_stale_entries() -> None:
    seen = set()
    for relative, _ in OTHER_VOCABULARIES:
        tree = ast.parse((REPO / relative).read_text(encoding="utf-8"))
        seen |= {(relative, " ".join(sorted(names))) for _, names in _tables(tree)}
    assert OTHER_VOCABULARIES - seen == set()


def test_registry_modules_stay_small() -> None:
    for path in Path(REPO / REGISTRY_PACKAGE).glob("*.py"):
        assert len(path.read_text(encoding="utf-8").splitlines()) <= 600, path.name
