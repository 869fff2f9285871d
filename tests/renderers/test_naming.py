"""The field naming scheme the web app parses: IG.OID[REPEATKEY].IT.OID (renderers.html.naming)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from renderers.html import FieldNameError, classify_field, field_name, parse_field_name
from renderers.html.naming import FieldName, FieldRef, remove_field_name, template_name


def test_examples() -> None:
    assert field_name("IG.AE", "2", "IT.TERM") == "IG.AE[2].IT.TERM"
    assert field_name("IG.DM", "", "IT.SEX") == "IG.DM[].IT.SEX"
    assert parse_field_name("IG.AE[2].IT.TERM") == ("IG.AE", "2", "IT.TERM")
    ig, key, item = parse_field_name("IG.DM[].IT.SEX")
    assert (ig, key, item) == ("IG.DM", "", "IT.SEX")


def test_odd_characters_are_escaped() -> None:
    name = field_name("IG[x]", "a:b%", "IT.a]b")
    assert name == "IG%5Bx%5D[a%3Ab%25].IT.a%5Db"
    assert parse_field_name(name) == FieldRef("IG[x]", "a:b%", "IT.a]b")


def test_other_parts_are_classified() -> None:
    assert classify_field("IG.1[3].IT.W:unit") == FieldName("IG.1", "3", "IT.W", "unit")
    assert classify_field("IG.1[].IT.B:checkbox") == FieldName("IG.1", "", "IT.B", "checkbox")
    assert classify_field(remove_field_name("IG.1", "3")) == FieldName("IG.1", "3", "", "remove")
    assert classify_field("csrf_token") is None


@pytest.mark.parametrize(
    "name", ["csrf_token", "IG.1[1]", "IG.1[1].IT.A:unitx", "IG.1[1].IT.A:unit", "IG[%ROW%].IT.A"]
)
def test_parse_refuses_other_names(name: str) -> None:
    with pytest.raises(FieldNameError, match="is not a field name"):
        parse_field_name(name)


def test_template_rows_cannot_be_parsed() -> None:
    """The row template's placeholder key is not a valid escaped key."""
    name = template_name("IG.1", "IT.A")
    assert name == "IG.1[%ROW%].IT.A"
    assert classify_field(name) is None


@given(st.text(), st.text(), st.text(min_size=1))
def test_round_trip(ig: str, key: str, item: str) -> None:
    assert parse_field_name(field_name(ig, key, item)) == (ig, key, item)
    assert classify_field(field_name(ig, key, item, "unit")) == FieldName(ig, key, item, "unit")
    assert classify_field(remove_field_name(ig, key)) == FieldName(ig, key, "", "remove")
