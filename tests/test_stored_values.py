"""The per-value logic of the impact report (odm_engine.stored_values): which items need their
stored values checked, what each kind of change says about a value, where a value has no
place any more, and how a form's structure changed."""

from __future__ import annotations

import pytest

from odm_engine import model as m
from odm_engine.compiled_study import CompiledStudy
from odm_engine.loader import load_odm
from odm_engine.stored_values import (
    StoredValueChecker,
    changed_items,
    form_structure_changes,
    place_verdict,
)
from tests.conftest import odm, one_item_study

UNITS = (
    '<MeasurementUnit OID="MU.KG" Name="kg"><Symbol><TranslatedText>kg</TranslatedText>'
    '</Symbol></MeasurementUnit><MeasurementUnit OID="MU.G" Name="g"><Symbol>'
    "<TranslatedText>g</TranslatedText></Symbol></MeasurementUnit>"
)


def version(item: str, *, item_ref: str | None = None, extra: str = "") -> m.MetaDataVersion:
    ref = item_ref if item_ref is not None else '<ItemRef ItemOID="IT.A" Mandatory="No"/>'
    loaded = load_odm(odm(one_item_study(item, item_ref=ref, extra=extra))).odm
    assert loaded is not None and loaded.study is not None
    mdv = loaded.study.metadata_version()
    assert mdv is not None
    return mdv


def checker(mdv: m.MetaDataVersion) -> StoredValueChecker:
    return StoredValueChecker(CompiledStudy.of_version(mdv).plan)


def test_only_items_whose_rules_for_a_value_changed_are_checked() -> None:
    old = version('<ItemDef OID="IT.A" Name="A" DataType="text" Length="5"/>')
    renamed = version(
        '<ItemDef OID="IT.A" Name="Renamed" DataType="text" Length="5">'
        "<Question><TranslatedText>New wording</TranslatedText></Question></ItemDef>"
    )
    soft = version(
        '<ItemDef OID="IT.A" Name="A" DataType="text" Length="5"><RangeCheck Comparator="NE" '
        'SoftHard="Soft"><CheckValue>x</CheckValue></RangeCheck></ItemDef>'
    )
    longer = version('<ItemDef OID="IT.A" Name="A" DataType="text" Length="9"/>')
    assert changed_items(old, renamed) == changed_items(old, soft) == frozenset()
    assert changed_items(old, longer) == frozenset({"IT.A"})


@pytest.mark.parametrize(
    ("item", "text", "kind", "words"),
    [
        ('DataType="integer"', "abc", "type", "DataType integer"),
        ('DataType="text" Length="3"', "abcd", "length", "Length 3"),
        ('DataType="integer" Length="2"', "123", "length", "Length 2"),
        ('DataType="float" SignificantDigits="1"', "1.25", "significant_digits", "Round it"),
    ],
)
def test_type_length_and_digits_say_which_limit_refuses(
    item: str, text: str, kind: str, words: str
) -> None:
    verdict = checker(version(f'<ItemDef OID="IT.A" Name="A" {item}/>')).verdict("IT.A", text)
    assert verdict is not None and verdict.kind == kind and words in verdict.message


def test_valid_values_canonical_or_not_pass() -> None:
    check = checker(version('<ItemDef OID="IT.A" Name="A" DataType="integer" Length="3"/>'))
    assert [check.verdict("IT.A", v) for v in ("7", "007", " 12 ", "-5")] == [None] * 4


def test_codes_and_hard_range_checks_with_units() -> None:
    coded = version(
        '<ItemDef OID="IT.A" Name="A" DataType="integer"><CodeListRef CodeListOID="CL.1"/>'
        "</ItemDef>",
        extra='<CodeList OID="CL.1" Name="C" DataType="integer"><EnumeratedItem CodedValue="1"/>'
        "</CodeList>",
    )
    assert checker(coded).verdict("IT.A", "01") is None  # the same code written otherwise
    gone = checker(coded).verdict("IT.A", "2")
    assert gone is not None and gone.kind == "code" and "CL.1" in gone.message
    loaded = load_odm(
        odm(
            one_item_study(
                '<ItemDef OID="IT.A" Name="A" DataType="float"><MeasurementUnitRef '
                'MeasurementUnitOID="MU.KG"/><MeasurementUnitRef MeasurementUnitOID="MU.G"/>'
                '<RangeCheck Comparator="LE" SoftHard="Hard"><CheckValue>150</CheckValue>'
                '<MeasurementUnitRef MeasurementUnitOID="MU.KG"/></RangeCheck></ItemDef>'
            ),
            units=UNITS,
        )
    ).odm
    assert loaded is not None and loaded.study is not None
    check = StoredValueChecker(CompiledStudy.of(loaded.study).plan)
    assert check.verdict("IT.A", "149", "MU.KG") is None
    assert check.verdict("IT.A", "149000", "MU.G") is None  # 149 kg
    heavy = check.verdict("IT.A", "151000", "MU.G")
    assert heavy is not None and heavy.kind == "hard_check" and "IT.A#RC1" in heavy.message
    soft = version(
        '<ItemDef OID="IT.A" Name="A" DataType="integer"><RangeCheck Comparator="LT" '
        'SoftHard="Soft"><CheckValue>5</CheckValue></RangeCheck></ItemDef>'
    )
    assert checker(soft).verdict("IT.A", "9") is None  # soft checks open queries, not refuse


def test_places_removed_item_or_unreachable() -> None:
    kept = version(
        '<ItemDef OID="IT.A" Name="A" DataType="text"/><ItemDef OID="IT.B" Name="B" '
        'DataType="text"/>'
    )
    assert place_verdict(kept, "SE.1", "F.1", "IG.1", "IT.A") is None
    gone = place_verdict(kept, "SE.1", "F.1", "IG.1", "IT.C")
    assert gone is not None and gone.kind == "removed_item"
    away = place_verdict(kept, "SE.1", "F.1", "IG.1", "IT.B")
    assert away is not None and away.kind == "unreachable"
    assert "ItemGroupDef IG.1 no longer references ItemDef IT.B" in away.message
    moved = place_verdict(kept, "SE.1", "F.2", "IG.1", "IT.A")
    assert moved is not None and "FormDef F.2" in moved.message


def test_form_structure_changes() -> None:
    old = version('<ItemDef OID="IT.A" Name="A" DataType="text"/>')
    same = version('<ItemDef OID="IT.A" Name="A changed" DataType="integer"/>')
    more = version(
        '<ItemDef OID="IT.A" Name="A" DataType="text"/><ItemDef OID="IT.B" Name="B" '
        'DataType="text"/>',
        item_ref='<ItemRef ItemOID="IT.A" Mandatory="No"/><ItemRef ItemOID="IT.B" Mandatory="No"/>',
    )
    assert form_structure_changes(old, same, "F.1") is None
    change = form_structure_changes(old, more, "F.1")
    assert change is not None and change.items_added == ("IG.1/IT.B",)
    assert change.describe() == "items added: IG.1/IT.B"
    back = form_structure_changes(more, old, "F.1")
    assert back is not None and back.items_removed == ("IG.1/IT.B",)
