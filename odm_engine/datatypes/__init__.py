"""ODM 1.3.2 DataTypes: one registry, and reading, checking, writing and ordering values.

``parse_value`` turns the text of a value into a typed Python value and its canonical ODM text,
or into a ``DataTypeProblem`` whose message says what is wrong and how to write the value; it
never raises for any text. ``format_value`` is its inverse. ``compare_values`` orders two values
three-valuedly: ``None`` when the order is unknown, as for partial dates that may overlap.

Typed values by DataType:

==========================================  ============================================
text, string, URI                           ``str``
integer                                     ``int``
float, double                               ``decimal.Decimal`` (exact; NaN and ±Infinity)
boolean                                     ``bool``
date, time, datetime                        ``datetime.date`` / ``.time`` / ``.datetime``
partialDate, incompleteDate                 ``PartialDate``
partialTime, incompleteTime                 ``PartialTime``
partialDatetime, incompleteDatetime         ``PartialDatetime``
durationDatetime                            ``Duration``
intervalDatetime                            ``Interval``
hexBinary, base64Binary, hexFloat,          ``bytes``
base64Float
==========================================  ============================================

The registry (:mod:`odm_engine.datatypes.registry`) holds everything known about each DataType;
``lexical`` its readers and writers, ``order`` its orders, ``fast`` the bulk import's fast
paths, ``codec`` the functions below. Import from this package.
"""

from __future__ import annotations

from odm_engine.datatypes.codec import (
    canonical_checker,
    canonical_text,
    compare_values,
    expression_type,
    format_value,
    is_orderable,
    parse_value,
    python_kind,
)
from odm_engine.datatypes.durations import Duration, Interval
from odm_engine.datatypes.registry import (
    DATA_TYPES,
    ITEM_DATA_ELEMENTS,
    REGISTRY,
    DataTypeSpec,
    Entry,
    spec,
)
from odm_engine.datatypes.results import DataTypeProblem, Parsed
from odm_engine.partial_dates import PartialDate, PartialDatetime, PartialTime

__all__ = [
    "DATA_TYPES",
    "ITEM_DATA_ELEMENTS",
    "REGISTRY",
    "DataTypeProblem",
    "DataTypeSpec",
    "Duration",
    "Entry",
    "Interval",
    "Parsed",
    "PartialDate",
    "PartialDatetime",
    "PartialTime",
    "canonical_checker",
    "canonical_text",
    "compare_values",
    "expression_type",
    "format_value",
    "is_orderable",
    "parse_value",
    "python_kind",
    "spec",
]
