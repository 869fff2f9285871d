"""The DataType registry: everything the code knows about each ODM 1.3.2 DataType, in one place.

One :class:`DataTypeSpec` per value of ItemDef/@DataType (ODM 1.3.2 §2.13, the ``DataType``
enumeration of the foundation schema) holds its reader and canonical writer, its order, the
OEL type an expression sees, the typed ItemData element that carries it, its Define-XML and
Dataset-JSON types, how it is entered on a web form and drawn on paper, and how ItemDef/@Length
and @SignificantDigits apply to it. Every layer reads from here: ``parse_value`` and
``format_value``, the expression checker, the ClinicalData reader, the tabular, Define-XML, web
and print renderers. ``tests/test_datatype_registry.py`` fails when a DataType lacks an entry or
an entry lacks a field, and when a per-DataType table appears anywhere else.

To add a DataType: add its lexical reader and writer to ``lexical.py`` (and an order to
``order.py`` if it has one), add one ``DataTypeSpec`` below, and add its cases to
``tests/test_datatypes.py``; see docs/architecture.md, "How to add an ODM DataType".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from odm_engine.datatypes import lexical as lx
from odm_engine.datatypes.fast import FastPath, fast_date, fast_decimal, fast_integer, fast_text
from odm_engine.datatypes.order import compare_durations, compare_numbers, compare_temporals

__all__ = [
    "DATA_TYPES",
    "ITEM_DATA_ELEMENTS",
    "REGISTRY",
    "DataTypeSpec",
    "Entry",
    "spec",
]

KINDS = frozenset(
    {"text", "integer", "number", "boolean", "date", "time", "datetime", "duration"}
    | {"binary", "uri", "interval"}
)
"""Python kinds: what ``parse_value`` gives (see the module docstring of the package)."""
EXPRESSION_TYPES = frozenset(
    {"text", "integer", "number", "boolean", "date", "time", "datetime", "duration"}
)
"""The types of the OEL expression language (docs/expressions.md)."""
WIDGETS = frozenset({"text", "long_text", "number", "checkbox", "date", "clock"})
PAPER = frozenset({"text", "number", "checkbox", "date", "time", "datetime"})
TRUNCATIONS = frozenset({"none", "right", "any"})


@dataclass(frozen=True, slots=True)
class Entry:
    """How a value is entered on a web form (``renderers.html``) and drawn on paper
    (``renderers.print``).

    ``widget``: ``text`` (a text input with maxlength), ``long_text`` (a textarea when the
    Length is over 200 or missing), ``number``, ``checkbox``, ``date`` (a text input that
    accepts partial dates), ``clock`` (the browser's time or datetime-local input).
    ``hint``: the key of the placeholder in the web form's UI texts. ``paper``: the printed
    answer field; ``paper_hint``: keys of the print UI texts shown under it, joined by a space.
    """

    widget: str
    hint: str | None = None
    paper: str = "text"
    paper_hint: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class DataTypeSpec:
    """One ODM 1.3.2 DataType: how its values are read, written, ordered, typed and shown."""

    name: str
    """ItemDef/@DataType as ODM 1.3.2 spells it."""
    kind: str
    """The Python kind ``parse_value`` gives (``python_kind``)."""
    noun: str
    """What a value is, for messages: 'a partial date'."""
    how: str
    """How to write a value, for messages."""
    read: Callable[[str], object]
    """The lexical reader: stripped text -> typed value, or LexicalError."""
    write: Callable[[object, str], str]
    """The canonical writer: typed value (and this name, for messages) -> canonical text."""
    compare: Callable[[object, object, str], int | None] | None
    """The order (-1, 0, 1 or None when unknown); None when the DataType has no order."""
    expression_type: str
    """The OEL type of an item of this DataType in an expression."""
    item_data_element: str
    """The typed ItemData element of ODM 1.3.2 §3.1.6 that carries a value of it."""
    define_type: str
    """Define-XML 2.1 ItemDef/@DataType of the dataset variable."""
    tabular_type: str
    """Dataset-JSON 1.1 ``dataType`` of the column."""
    entry: Entry
    truncation: str | None = None
    """Dates and times: ``none`` (complete), ``right`` (partial: the smaller parts may be
    missing) or ``any`` (incomplete: any part may be missing); None for other kinds."""
    keeps_space: bool = False
    """Whitespace around a value is part of it (text, string)."""
    counts_characters: bool = False
    """ItemDef/@Length counts characters (else digits, for numbers, or nothing)."""
    significant_digits: bool = False
    """ItemDef/@SignificantDigits applies."""
    code_list_type: bool = False
    """A DataType a CodeList may have (ODM 1.3.2: integer, float, text, string)."""
    code_list_types: frozenset[str] = field(default_factory=frozenset)
    """CodeList DataTypes whose values an ItemDef of this DataType takes as they are (besides
    its own)."""
    fast_path: FastPath | None = None
    """``canonical_checker``'s fast path, or None to always parse."""


_NUMBER_HOW = "Write digits with an optional sign, decimal point and exponent, e.g. 3.14 or 1.2E3."
_HEX_HOW = "Write pairs of digits 0-9 and A-F, e.g. 0FA3."
_BASE64_HOW = "Write base64 characters padded with = to a multiple of 4, e.g. SGVsbG8=."
_TEXT_ENTRY = Entry("long_text")
_PLAIN_ENTRY = Entry("text")
_NUMBER_ENTRY = Entry("number", paper="number")
_TIME_PAPER = ("time_hint",)
_DATETIME_PAPER = ("date_hint", "time_hint")


def _text(name: str) -> DataTypeSpec:
    return DataTypeSpec(
        name=name,
        kind="text",
        noun="text",
        how="Enter at least one character.",
        read=lx.read_text,
        write=lx.write_text,
        compare=None,
        expression_type="text",
        item_data_element="ItemDataString",
        define_type="text",
        tabular_type="string",
        entry=_TEXT_ENTRY,
        keeps_space=True,
        counts_characters=True,
        code_list_type=True,
        code_list_types=frozenset({"text", "string"}),
        fast_path=fast_text,
    )


def _decimal(name: str, element: str) -> DataTypeSpec:
    return DataTypeSpec(
        name=name,
        kind="number",
        noun="a number",
        how=_NUMBER_HOW,
        read=lx.read_decimal,
        write=lx.write_decimal,
        compare=compare_numbers,
        expression_type="number",
        item_data_element=element,
        define_type="float",
        tabular_type="decimal",
        entry=_NUMBER_ENTRY,
        significant_digits=True,
        code_list_type=name == "float",
        code_list_types=frozenset({"float", "double", "integer"}),
        fast_path=fast_decimal,
    )


def _binary(name: str, element: str, noun: str, *, hexadecimal: bool) -> DataTypeSpec:
    """hexBinary, hexFloat, base64Binary, base64Float. ODM 1.3.2 gives the two float types the
    lexical space of xs:hexBinary and xs:base64Binary: their values are bytes, without an
    order, and an expression sees their canonical text (as for hexBinary), not a number."""
    return DataTypeSpec(
        name=name,
        kind="binary",
        noun=noun,
        how=_HEX_HOW if hexadecimal else _BASE64_HOW,
        read=lx.read_hex if hexadecimal else lx.read_base64,
        write=lx.write_hex if hexadecimal else lx.write_base64,
        compare=None,
        expression_type="text",
        item_data_element=element,
        define_type="text",
        tabular_type="string",
        entry=_PLAIN_ENTRY,
        counts_characters=True,
        significant_digits=name.endswith("Float"),
    )


def _temporal(  # noqa: PLR0917 - one argument per column of the table below
    name: str,
    kind: str,
    truncation: str,
    noun: str,
    how: str,
    read: Callable[[str], object],
    write: Callable[[object, str], str],
    define_type: str,
    entry: Entry,
) -> DataTypeSpec:
    return DataTypeSpec(
        name=name,
        kind=kind,
        noun=noun,
        how=how,
        read=read,
        write=write,
        compare=compare_temporals,
        expression_type=kind,
        item_data_element="ItemData" + name[0].upper() + name[1:],
        define_type=define_type,
        tabular_type=define_type if define_type in ("date", "time", "datetime") else "string",
        entry=entry,
        truncation=truncation,
        fast_path=fast_date if name == "date" else None,
    )


_SPECS = (
    _text("text"),
    _text("string"),
    DataTypeSpec(
        name="integer",
        kind="integer",
        noun="an integer",
        how="Write digits with an optional sign, e.g. 42 or -7.",
        read=lx.read_integer,
        write=lx.write_integer,
        compare=compare_numbers,
        expression_type="integer",
        item_data_element="ItemDataInteger",
        define_type="integer",
        tabular_type="integer",
        entry=_NUMBER_ENTRY,
        code_list_type=True,
        code_list_types=frozenset({"integer"}),
        fast_path=fast_integer,
    ),
    _decimal("float", "ItemDataFloat"),
    _decimal("double", "ItemDataDouble"),
    DataTypeSpec(
        name="boolean",
        kind="boolean",
        noun="a boolean",
        how="Write true or false (1 and 0 are accepted too).",
        read=lx.read_boolean,
        write=lx.write_boolean,
        compare=None,
        expression_type="boolean",
        item_data_element="ItemDataBoolean",
        define_type="text",
        tabular_type="string",
        entry=Entry("checkbox", paper="checkbox"),
    ),
    # name, kind, truncation, noun, how to write it, reader, writer, Define type, entry
    _temporal(
        "date", "date", "none", "a date", "Write YYYY-MM-DD, e.g. 2019-12-01.",
        lx.read_date, lx.write_date, "date",
        Entry("date", "full_date_hint", "date", ("date_hint",)),
    ),
    _temporal(
        "time", "time", "none", "a time",
        "Write hh:mm:ss with an optional time zone, e.g. 14:30:00+01:00.",
        lx.read_time, lx.write_time, "time", Entry("clock", None, "time", _TIME_PAPER),
    ),
    _temporal(
        "datetime", "datetime", "none", "a datetime",
        "Write YYYY-MM-DDThh:mm:ss with an optional time zone, e.g. 2019-12-01T14:30:00.",
        lx.read_datetime, lx.write_datetime, "datetime",
        Entry("clock", None, "datetime", _DATETIME_PAPER),
    ),
    _temporal(
        "partialDate", "date", "right", "a partial date",
        "Write YYYY, YYYY-MM or YYYY-MM-DD, e.g. 2019-12.",
        lx.read_partial_date, lx.write_partial_date, "partialDate",
        Entry("date", "date_hint", "date", ("partial_date_hint",)),
    ),
    _temporal(
        "partialTime", "time", "right", "a partial time",
        "Write hh, hh:mm or hh:mm:ss, e.g. 14:30.",
        lx.read_partial_time, lx.write_partial_time, "partialTime",
        Entry("text", "partial_time_hint", "time", _TIME_PAPER),
    ),
    _temporal(
        "partialDatetime", "datetime", "right", "a partial datetime",
        "Write YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DD followed by T and hh, hh:mm or "
        "hh:mm:ss, e.g. 2019-12-01T14:30.",
        lx.read_partial_datetime, lx.write_partial_datetime, "partialDatetime",
        Entry("text", "partial_datetime_hint", "datetime", _DATETIME_PAPER),
    ),
    _temporal(
        "incompleteDate", "date", "any", "an incomplete date",
        "Write YYYY-MM-DD with a single '-' for each unknown part, e.g. 2019---15 or --12-15.",
        lx.read_incomplete_date, lx.write_incomplete_date, "text",
        Entry("date", "incomplete_date_hint", "date", ("partial_date_hint",)),
    ),
    _temporal(
        "incompleteTime", "time", "any", "an incomplete time",
        "Write hh:mm:ss with a single '-' for each unknown part, e.g. 14:-:- or -:30:-.",
        lx.read_incomplete_time, lx.write_incomplete_time, "text",
        Entry("text", "partial_time_hint", "time", _TIME_PAPER),
    ),
    _temporal(
        "incompleteDatetime", "datetime", "any", "an incomplete datetime",
        "Write YYYY-MM-DDThh:mm:ss with a single '-' for each unknown part, "
        "e.g. 2019---15T14:-:-.",
        lx.read_incomplete_datetime, lx.write_incomplete_datetime, "incompleteDatetime",
        Entry("text", "partial_datetime_hint", "datetime", _DATETIME_PAPER),
    ),
    DataTypeSpec(
        name="durationDatetime",
        kind="duration",
        noun="a duration",
        how="Write PnYnMnDTnHnMnS or PnW, e.g. P1Y2M10D, PT4H35M or P2W; "
        "only the seconds may have decimals.",
        read=lx.read_duration,
        write=lx.write_duration,
        compare=compare_durations,
        expression_type="duration",
        item_data_element="ItemDataDurationDatetime",
        define_type="durationDatetime",
        tabular_type="string",
        entry=Entry("text", "duration_hint"),
    ),
    DataTypeSpec(
        name="intervalDatetime",
        kind="interval",
        noun="an interval",
        how="Write start/end, start/duration or duration/end, "
        "e.g. 2019-01-01/2019-03-31 or 2019-01-01T08:00/PT4H.",
        read=lx.read_interval,
        write=lx.write_interval,
        compare=None,
        expression_type="text",
        item_data_element="ItemDataIntervalDatetime",
        define_type="intervalDatetime",
        tabular_type="string",
        entry=_PLAIN_ENTRY,
    ),
    _binary("hexBinary", "ItemDataHexBinary", "hexadecimal binary", hexadecimal=True),
    _binary("hexFloat", "ItemDataHexFloat", "a hexadecimal float", hexadecimal=True),
    _binary("base64Binary", "ItemDataBase64Binary", "base64 binary", hexadecimal=False),
    _binary("base64Float", "ItemDataBase64Float", "a base64 float", hexadecimal=False),
    DataTypeSpec(
        name="URI",
        kind="uri",
        noun="a URI",
        how="Write a URI without spaces, e.g. https://example.org/a%20b.",
        read=lx.read_uri,
        write=lx.write_text,
        compare=None,
        expression_type="text",
        item_data_element="ItemDataURI",
        define_type="text",
        tabular_type="string",
        entry=_PLAIN_ENTRY,
        counts_characters=True,
    ),
)  # fmt: skip

REGISTRY: Mapping[str, DataTypeSpec] = MappingProxyType({s.name: s for s in _SPECS})
"""ODM 1.3.2 DataType name -> its spec, in the order of the schema's enumeration."""

DATA_TYPES: frozenset[str] = frozenset(REGISTRY)
"""The 22 values of ItemDef/@DataType in ODM 1.3.2."""

ITEM_DATA_ELEMENTS: Mapping[str, str | None] = MappingProxyType(
    {"ItemDataAny": None} | {s.item_data_element: s.name for s in _SPECS if s.name != "text"}
)
"""Typed ItemData element name -> the DataType it names (ODM 1.3.2 §3.1.6.6); ItemDataAny
names none, and ItemDataString carries both text and string (it names string)."""


def spec(data_type: str) -> DataTypeSpec:
    """The spec of ``data_type``; ValueError when ODM 1.3.2 does not define it."""
    try:
        return REGISTRY[data_type]
    except KeyError:
        raise ValueError(f"{data_type!r} is not an ODM 1.3.2 DataType") from None
