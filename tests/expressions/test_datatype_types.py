"""The OEL type of an item comes from the DataType registry (odm_engine.datatypes.registry).

ODM 1.3.2 §2.13 gives hexFloat and base64Float the lexical space of xs:hexBinary and
xs:base64Binary: a value is bytes, with no order. The expression language had typed them as
numbers while their runtime values were bytes, so every comparison with them came out
unknown; they are text now, like hexBinary, URI and intervalDatetime.
"""

from __future__ import annotations

import pytest

from odm_engine.datatypes import DATA_TYPES, REGISTRY
from odm_engine.expressions import values

from .helpers import compiled, condition, item, messages, one_form, refs


@pytest.mark.parametrize("data_type", sorted(DATA_TYPES))
def test_oel_type_is_the_registry_expression_type(data_type: str) -> None:
    assert values.oel_type(data_type) == REGISTRY[data_type].expression_type


def test_binary_uri_and_interval_items_are_text() -> None:
    kinds = {t: values.oel_type(t) for t in ("hexFloat", "base64Float", "URI", "intervalDatetime")}
    assert kinds == dict.fromkeys(kinds, "text")
    assert values.oel_type("decimal") == "text"  # not an ODM DataType: read as it is


def test_hex_float_value_is_its_text_not_bytes() -> None:
    assert values.read_item("hexFloat", "3FF8000000000000", None, None) == (
        "3FF8000000000000",
        None,
    )
    assert values.read_item("hexFloat", "3FF", None, None)[0] is None  # odd number of digits


def test_hex_float_compared_with_a_number_is_a_finding() -> None:
    body = one_form(
        refs("IT.HF", "IT.X", **{"IT.X": 'CollectionExceptionConditionOID="C.1"'}),
        item("IT.HF", "hexFloat") + item("IT.X", "text"),
        condition("C.1", "IT.HF &gt; 1.5"),
    )
    assert [m.split(": ", 1)[1] for m in messages(compiled(body))] == [
        "ODM-EXPR-103 error: CONDITION C.1: 'IT.HF' is a text; cannot compare with number 1.5."
    ]


def test_negative_zero_duration_is_zero() -> None:
    """-P0D is the zero duration (canonical PT0S), not a missing value."""
    assert values.read_item("durationDatetime", "-P0D", None, None) == (values.Duration(), None)
    assert values.read_item("durationDatetime", "-P1D", None, None) == (None, None)
