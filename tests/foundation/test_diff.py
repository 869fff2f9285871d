"""odm_engine.diff: one test per kind of change a designer names (issue 16, item 3)."""

from __future__ import annotations

import json
from pathlib import Path

from odm_engine import model as m
from odm_engine.diff import Change, MetadataDiff, diff_odm
from odm_engine.loader import load_odm
from odm_engine.profiles import normalise
from tests.conftest import odm

ROOT = Path(__file__).resolve().parents[2]
V2_NAME = "bortezomib-retreatment-v2.xml"

UNITS = (
    '<MeasurementUnit OID="MU.KG" Name="kg">'
    '<Symbol><TranslatedText xml:lang="en">kg</TranslatedText></Symbol></MeasurementUnit>'
)


def tt(text: str, lang: str = "en") -> str:
    return f'<TranslatedText xml:lang="{lang}">{text}</TranslatedText>'


BASE = """
<Protocol>
  <StudyEventRef StudyEventOID="SE.SCREEN" Mandatory="Yes" OrderNumber="1"/>
  <StudyEventRef StudyEventOID="SE.FU" Mandatory="No" OrderNumber="2"/>
</Protocol>
<StudyEventDef OID="SE.SCREEN" Name="Screening" Repeating="No" Type="Scheduled">
  <FormRef FormOID="F.DM" Mandatory="Yes" OrderNumber="1"/>
  <FormRef FormOID="F.VS" Mandatory="Yes" OrderNumber="2"/>
</StudyEventDef>
<StudyEventDef OID="SE.FU" Name="Follow-up" Repeating="Yes" Type="Scheduled">
  <FormRef FormOID="F.VS" Mandatory="No"/>
</StudyEventDef>
<FormDef OID="F.DM" Name="Demographics" Repeating="No">
  <ItemGroupRef ItemGroupOID="IG.DM" Mandatory="Yes"/>
</FormDef>
<FormDef OID="F.VS" Name="Vital signs" Repeating="No">
  <ItemGroupRef ItemGroupOID="IG.VS" Mandatory="Yes"/>
</FormDef>
<ItemGroupDef OID="IG.DM" Name="Demographics" Repeating="No">
  <ItemRef ItemOID="IT.AGE" Mandatory="Yes" OrderNumber="1"/>
  <ItemRef ItemOID="IT.SEX" Mandatory="Yes" OrderNumber="2"/>
  <ItemRef ItemOID="IT.BMI" Mandatory="No" OrderNumber="3" MethodOID="M.BMI"/>
</ItemGroupDef>
<ItemGroupDef OID="IG.VS" Name="Vitals" Repeating="No">
  <ItemRef ItemOID="IT.WEIGHT" Mandatory="No" OrderNumber="1"/>
  <ItemRef ItemOID="IT.HEIGHT" Mandatory="No" OrderNumber="2"/>
</ItemGroupDef>
<ItemDef OID="IT.AGE" Name="AGE" DataType="integer" Length="3">
  <Question><TranslatedText xml:lang="en">Age</TranslatedText></Question>
  <RangeCheck Comparator="GE" SoftHard="Hard"><CheckValue>18</CheckValue>
    <ErrorMessage><TranslatedText xml:lang="en">At least 18.</TranslatedText></ErrorMessage>
  </RangeCheck>
  <Alias Context="SDTM" Name="DM.AGE"/>
</ItemDef>
<ItemDef OID="IT.SEX" Name="SEX" DataType="text" Length="1">
  <Question><TranslatedText xml:lang="en">Sex</TranslatedText></Question>
  <CodeListRef CodeListOID="CL.SEX"/>
</ItemDef>
<ItemDef OID="IT.BMI" Name="BMI" DataType="float" Length="5" SignificantDigits="1">
  <Question><TranslatedText xml:lang="en">BMI</TranslatedText></Question>
</ItemDef>
<ItemDef OID="IT.WEIGHT" Name="WEIGHT" DataType="float" Length="5" SignificantDigits="1">
  <Question><TranslatedText xml:lang="en">Weight</TranslatedText></Question>
  <MeasurementUnitRef MeasurementUnitOID="MU.KG"/>
</ItemDef>
<ItemDef OID="IT.HEIGHT" Name="HEIGHT" DataType="integer" Length="3">
  <Question><TranslatedText xml:lang="en">Height (cm)</TranslatedText></Question>
</ItemDef>
<CodeList OID="CL.SEX" Name="Sex" DataType="text">
  <CodeListItem CodedValue="F">
    <Decode><TranslatedText xml:lang="en">Female</TranslatedText></Decode></CodeListItem>
  <CodeListItem CodedValue="M">
    <Decode><TranslatedText xml:lang="en">Male</TranslatedText></Decode></CodeListItem>
</CodeList>
<ConditionDef OID="C.ADULT" Name="Adult">
  <FormalExpression Context="OEL">[IT.AGE] &gt;= 18</FormalExpression>
</ConditionDef>
<MethodDef OID="M.BMI" Name="BMI" Type="Computation">
  <FormalExpression Context="OEL">[IT.WEIGHT] / ([IT.HEIGHT] / 100) ^ 2</FormalExpression>
</MethodDef>
"""


def _model(xml: bytes) -> m.ODM:
    result = load_odm(xml)
    assert result.odm is not None, [f.format() for f in result.findings]
    return normalise(result.odm)


def diff(new_body: str, *, old_body: str = BASE, new_units: str = UNITS) -> MetadataDiff:
    return diff_odm(_model(odm(old_body, units=UNITS)), _model(odm(new_body, units=new_units)))


def edit(*pairs: tuple[str, str]) -> str:
    """BASE with each (old, new) replaced once; a pair that does not match fails the test."""
    body = BASE
    for old, new in pairs:
        assert body.count(old) == 1, old
        body = body.replace(old, new)
    return body


def row(change: Change) -> tuple[str | None, ...]:
    return (change.kind, change.element, change.oid, change.attribute, change.old, change.new)


def rows(result: MetadataDiff) -> list[tuple[str | None, ...]]:
    return [row(change) for change in result.changes]


def test_identical_files_and_a_reformatted_copy_have_no_changes() -> None:
    assert not diff(BASE)
    reformatted = "\n\n".join(line.strip() for line in BASE.splitlines())
    result = diff(reformatted)
    assert rows(result) == [] and result.as_text() == "No differences."


def test_events_forms_groups_and_items_added_and_removed() -> None:
    body = edit(
        ('<ItemRef ItemOID="IT.HEIGHT" Mandatory="No" OrderNumber="2"/>', ""),
        ('<ItemDef OID="IT.HEIGHT" Name="HEIGHT"', '<ItemDef OID="IT.TEMP" Name="TEMP"'),
        (
            '<ItemRef ItemOID="IT.WEIGHT" Mandatory="No" OrderNumber="1"/>',
            '<ItemRef ItemOID="IT.WEIGHT" Mandatory="No" OrderNumber="1"/>'
            '<ItemRef ItemOID="IT.TEMP" Mandatory="No" OrderNumber="2"/>',
        ),
        (
            '<StudyEventRef StudyEventOID="SE.FU" Mandatory="No" OrderNumber="2"/>',
            '<StudyEventRef StudyEventOID="SE.EOS" Mandatory="No" OrderNumber="2"/>',
        ),
        ('<StudyEventDef OID="SE.FU" Name="Follow-up"', '<StudyEventDef OID="SE.EOS" Name="End"'),
    )
    body += (
        '<FormDef OID="F.AE" Name="Adverse events" Repeating="No">'
        '<ItemGroupRef ItemGroupOID="IG.AE" Mandatory="No"/></FormDef>'
        '<ItemGroupDef OID="IG.AE" Name="AE" Repeating="Yes">'
        '<ItemRef ItemOID="IT.AETERM" Mandatory="Yes"/></ItemGroupDef>'
        '<ItemDef OID="IT.AETERM" Name="AETERM" DataType="text" Length="200"/>'
    )
    result = diff(body)
    presence = [(c.kind, c.element, c.oid, c.parent) for c in result.changes]
    assert presence == [
        ("added", "StudyEventDef", "SE.EOS", "Protocol"),
        ("removed", "StudyEventDef", "SE.FU", "Protocol"),
        ("added", "FormDef", "F.AE", None),
        ("moved", "FormRef", "F.VS", "SE.EOS"),  # from the removed event to the added one
        ("added", "ItemGroupDef", "IG.AE", "F.AE"),
        ("added", "ItemDef", "IT.TEMP", "IG.VS"),
        ("added", "ItemDef", "IT.AETERM", "IG.AE"),
        ("removed", "ItemDef", "IT.HEIGHT", "IG.VS"),
    ]
    assert result.changes[5].message == "ItemDef IT.TEMP (TEMP) (in IG.VS) added"


def test_an_item_under_another_group_is_moved_and_a_new_order_is_a_move() -> None:
    body = edit(
        ('<ItemRef ItemOID="IT.BMI" Mandatory="No" OrderNumber="3" MethodOID="M.BMI"/>', ""),
        (
            '<ItemRef ItemOID="IT.HEIGHT" Mandatory="No" OrderNumber="2"/>',
            '<ItemRef ItemOID="IT.HEIGHT" Mandatory="No" OrderNumber="2"/>'
            '<ItemRef ItemOID="IT.BMI" Mandatory="No" OrderNumber="3" MethodOID="M.BMI"/>',
        ),
        (
            'ItemOID="IT.AGE" Mandatory="Yes" OrderNumber="1"',
            'ItemOID="IT.AGE" Mandatory="Yes" OrderNumber="3"',
        ),
    )
    result = diff(body)
    assert rows(result) == [
        ("moved", "ItemRef", "IT.BMI", "parent", "IG.DM", "IG.VS"),
        ("moved", "ItemRef", "IT.SEX", "position", "2", "1"),  # AGE now after it
        ("moved", "ItemRef", "IT.AGE", "OrderNumber", "1", "3"),
    ]
    assert result.changes[0].message == "ItemRef IT.BMI moved from IG.DM to IG.VS"


def test_a_renumbering_that_keeps_the_order_is_no_move() -> None:
    body = edit(
        (
            'OrderNumber="1"/>\n  <ItemRef ItemOID="IT.SEX" Mandatory="Yes" OrderNumber="2"',
            'OrderNumber="10"/>\n  <ItemRef ItemOID="IT.SEX" Mandatory="Yes" OrderNumber="20"',
        ),
        ('OrderNumber="3" MethodOID', 'OrderNumber="30" MethodOID'),
    )
    assert not diff(body)


def test_same_oid_with_a_new_name_or_question_is_a_renaming() -> None:
    result = diff(
        edit(
            ('Name="AGE" DataType', 'Name="AGEYRS" DataType'),
            (
                '<TranslatedText xml:lang="en">Age</TranslatedText>',
                '<TranslatedText xml:lang="en">Age in years</TranslatedText>',
            ),
            ('<FormDef OID="F.DM" Name="Demographics"', '<FormDef OID="F.DM" Name="Demography"'),
        )
    )
    assert rows(result) == [
        ("renamed", "FormDef", "F.DM", "Name", "Demographics", "Demography"),
        ("renamed", "ItemDef", "IT.AGE", "Name", "AGE", "AGEYRS"),
        ("renamed", "ItemDef", "IT.AGE", "Question [en]", "Age", "Age in years"),
    ]


def test_data_type_length_and_significant_digits() -> None:
    result = diff(
        edit(
            (
                '<ItemDef OID="IT.AGE" Name="AGE" DataType="integer" Length="3">',
                '<ItemDef OID="IT.AGE" Name="AGE" DataType="float" Length="4" '
                'SignificantDigits="1">',
            ),
            (
                'Name="BMI" DataType="float" Length="5" SignificantDigits="1"',
                'Name="BMI" DataType="float" Length="5" SignificantDigits="2"',
            ),
        )
    )
    assert rows(result) == [
        ("changed", "ItemDef", "IT.AGE", "DataType", "integer", "float"),
        ("changed", "ItemDef", "IT.AGE", "Length", "3", "4"),
        ("changed", "ItemDef", "IT.AGE", "SignificantDigits", None, "1"),
        ("changed", "ItemDef", "IT.BMI", "SignificantDigits", "1", "2"),
    ]
    assert result.changes[0].message == "ItemDef IT.AGE: DataType 'integer' -> 'float'"


def test_measurement_unit_refs_and_the_units_themselves() -> None:
    units = UNITS + '<MeasurementUnit OID="MU.LB" Name="lb"/>'
    result = diff(
        edit(
            (
                '<MeasurementUnitRef MeasurementUnitOID="MU.KG"/>',
                '<MeasurementUnitRef MeasurementUnitOID="MU.KG"/>'
                '<MeasurementUnitRef MeasurementUnitOID="MU.LB"/>',
            )
        ),
        new_units=units.replace('Name="kg"', 'Name="kilogram"'),
    )
    assert rows(result) == [
        ("changed", "ItemDef", "IT.WEIGHT", "MeasurementUnitRef", "MU.KG", "MU.KG MU.LB"),
        ("renamed", "MeasurementUnit", "MU.KG", "Name", "kg", "kilogram"),
        ("added", "MeasurementUnit", "MU.LB", None, None, None),
    ]


def test_codes_added_removed_and_decoded_differently() -> None:
    result = diff(
        edit(
            (
                f'<CodeListItem CodedValue="M">\n    <Decode>{tt("Male")}</Decode></CodeListItem>',
                f'<CodeListItem CodedValue="U"><Decode>{tt("Unknown")}</Decode></CodeListItem>',
            ),
            (">Female<", ">Woman<"),
        )
    )
    assert [
        (c.kind, c.element, c.oid, c.parent, c.attribute, c.old, c.new) for c in result.changes
    ] == [
        ("changed", "CodeListItem", "F", "CL.SEX", "Decode [en]", "Female", "Woman"),
        ("added", "CodeListItem", "U", "CL.SEX", "CodedValue", None, "U"),
        ("removed", "CodeListItem", "M", "CL.SEX", "CodedValue", "M", None),
    ]
    assert result.changes[1].message == "CodeListItem 'U' (Unknown) (in CL.SEX) added"
    assert result.changes[2].message == "CodeListItem 'M' (Male) (was in CL.SEX) removed"


def test_collection_exception_condition_and_condition_expression() -> None:
    result = diff(
        edit(
            (
                '<FormRef FormOID="F.VS" Mandatory="Yes" OrderNumber="2"/>',
                '<FormRef FormOID="F.VS" Mandatory="Yes" OrderNumber="2" '
                'CollectionExceptionConditionOID="C.ADULT"/>',
            ),
            ("[IT.AGE] &gt;= 18</FormalExpression>", "[IT.AGE] &gt;= 21</FormalExpression>"),
        )
    )
    assert rows(result) == [
        ("changed", "FormRef", "F.VS", "CollectionExceptionConditionOID", None, "C.ADULT"),
        (
            "changed",
            "ConditionDef",
            "C.ADULT",
            "FormalExpression OEL",
            "[IT.AGE] >= 18",
            "[IT.AGE] >= 21",
        ),
    ]
    assert result.changes[0].parent == "SE.SCREEN"


def test_range_checks_added_removed_changed_and_hard_to_soft() -> None:
    hard = '<RangeCheck Comparator="GE" SoftHard="Hard"><CheckValue>18</CheckValue>'
    soft = '<RangeCheck Comparator="GE" SoftHard="Soft"><CheckValue>18</CheckValue>'
    assert rows(diff(edit((hard, soft)))) == [
        ("changed", "RangeCheck", "IT.AGE", "SoftHard", "Hard", "Soft"),
    ]
    tighter = '<RangeCheck Comparator="GE" SoftHard="Hard"><CheckValue>21</CheckValue>'
    assert rows(diff(edit((hard, tighter)))) == [
        ("changed", "RangeCheck", "IT.AGE", "RangeCheck", "Hard GE 18", "Hard GE 21"),
    ]
    added = (
        '<RangeCheck Comparator="LT" SoftHard="Soft"><CheckValue>250</CheckValue></RangeCheck>'
        "</ItemDef>"
    )
    result = diff(
        edit(
            (
                '<MeasurementUnitRef MeasurementUnitOID="MU.KG"/>\n</ItemDef>',
                '<MeasurementUnitRef MeasurementUnitOID="MU.KG"/>' + added,
            )
        )
    )
    assert rows(result) == [("added", "RangeCheck", "IT.WEIGHT", "RangeCheck", None, "Soft LT 250")]
    start, end = BASE.index("<RangeCheck"), BASE.index("</RangeCheck>") + len("</RangeCheck>")
    assert rows(diff(BASE[:start] + BASE[end:])) == [
        ("removed", "RangeCheck", "IT.AGE", "RangeCheck", "Hard GE 18", None),
    ]


def test_method_expression_and_method_oid_on_an_item_ref() -> None:
    result = diff(
        edit(
            ("/ ([IT.HEIGHT] / 100) ^ 2", "/ (([IT.HEIGHT] / 100) * ([IT.HEIGHT] / 100))"),
            ('OrderNumber="3" MethodOID="M.BMI"/>', 'OrderNumber="3"/>'),
        )
    )
    assert [(c.kind, c.element, c.oid, c.attribute) for c in result.changes] == [
        ("changed", "ItemRef", "IT.BMI", "MethodOID"),
        ("changed", "MethodDef", "M.BMI", "FormalExpression OEL"),
    ]
    assert result.changes[0].old == "M.BMI" and result.changes[0].new is None


def test_translations_added_in_questions_and_decodes() -> None:
    result = diff(
        edit(
            (
                '<TranslatedText xml:lang="en">Sex</TranslatedText>',
                tt("Sex") + tt("Geschlecht", "de"),
            ),
            (
                '<TranslatedText xml:lang="en">Female</TranslatedText>',
                tt("Female") + tt("weiblich", "de"),
            ),
        )
    )
    assert [(c.kind, c.element, c.oid, c.parent, c.attribute, c.new) for c in result.changes] == [
        ("added", "Translation", "IT.SEX", None, "Question [de]", "Geschlecht"),
        ("added", "Translation", "F", "CL.SEX", "Decode [de]", "weiblich"),
    ]
    assert (
        result.changes[0].message == "ItemDef IT.SEX: Question [de] translation added: 'Geschlecht'"
    )


def test_sdtm_alias_changed_added_and_removed() -> None:
    result = diff(
        edit(
            ('<Alias Context="SDTM" Name="DM.AGE"/>', '<Alias Context="SDTM" Name="DM.AGEU"/>'),
            (
                '<CodeListRef CodeListOID="CL.SEX"/>',
                '<CodeListRef CodeListOID="CL.SEX"/><Alias Context="SDTM" Name="DM.SEX"/>',
            ),
        )
    )
    assert rows(result) == [
        ("changed", "Alias", "IT.AGE", "Alias SDTM", "DM.AGE", "DM.AGEU"),
        ("added", "Alias", "IT.SEX", "Alias SDTM", None, "DM.SEX"),
    ]
    without = BASE.replace('<Alias Context="SDTM" Name="DM.AGE"/>', "")
    assert rows(diff(without)) == [("removed", "Alias", "IT.AGE", "Alias SDTM", "DM.AGE", None)]
    assert rows(diff(BASE, old_body=without)) == [
        ("added", "Alias", "IT.AGE", "Alias SDTM", None, "DM.AGE")
    ]


def test_mandatory_changed_on_refs() -> None:
    result = diff(
        edit(
            (
                '<ItemRef ItemOID="IT.WEIGHT" Mandatory="No"',
                '<ItemRef ItemOID="IT.WEIGHT" Mandatory="Yes"',
            ),
            (
                '<StudyEventRef StudyEventOID="SE.FU" Mandatory="No"',
                '<StudyEventRef StudyEventOID="SE.FU" Mandatory="Yes"',
            ),
        )
    )
    assert [
        (c.kind, c.element, c.oid, c.parent, c.attribute, c.old, c.new) for c in result.changes
    ] == [
        ("changed", "StudyEventRef", "SE.FU", "Protocol", "Mandatory", "No", "Yes"),
        ("changed", "ItemRef", "IT.WEIGHT", "IG.VS", "Mandatory", "No", "Yes"),
    ]


def test_the_text_report_groups_by_element_with_counts_and_json_names_every_field() -> None:
    result = diff(
        edit(
            ('Name="AGE" DataType="integer"', 'Name="AGE" DataType="float"'),
            ('Name="SEX" DataType="text" Length="1"', 'Name="SEX" DataType="text" Length="2"'),
            (">Female<", ">Woman<"),
        )
    )
    assert result.as_text().splitlines() == [
        "3 change(s): 3 changed",
        "  ItemDef       2 changed",
        "  CodeListItem  1 changed",
        "",
        "ItemDef (2)",
        "  changed  ItemDef IT.AGE: DataType 'integer' -> 'float'",
        "  changed  ItemDef IT.SEX: Length '1' -> '2'",
        "CodeListItem (1)",
        "  changed  CodeListItem F in CL.SEX: Decode [en] 'Female' -> 'Woman'",
    ]
    assert result.changes[0].as_dict() == {
        "kind": "changed",
        "element": "ItemDef",
        "oid": "IT.AGE",
        "parent": None,
        "attribute": "DataType",
        "old": "integer",
        "new": "float",
        "message": "ItemDef IT.AGE: DataType 'integer' -> 'float'",
    }


def test_a_reference_added_to_or_removed_from_a_parent_both_versions_have() -> None:
    result = diff(
        edit(
            (
                '<ItemGroupRef ItemGroupOID="IG.DM" Mandatory="Yes"/>',
                '<ItemGroupRef ItemGroupOID="IG.DM" Mandatory="Yes"/>'
                '<ItemGroupRef ItemGroupOID="IG.VS" Mandatory="No"/>',
            ),
            ('<FormRef FormOID="F.VS" Mandatory="No"/>', ""),
        )
    )
    assert [(c.kind, c.element, c.oid, c.parent) for c in result.changes] == [
        ("removed", "FormRef", "F.VS", "SE.FU"),
        ("added", "ItemGroupRef", "IG.VS", "F.DM"),
    ]


def test_unit_symbol_translation_and_a_check_message_reworded() -> None:
    de = '<TranslatedText xml:lang="de">kg</TranslatedText>'
    units = UNITS.replace("</Symbol>", de + "</Symbol>")
    result = diff(edit((">At least 18.<", ">Must be 18 or older.<")), new_units=units)
    assert rows(result) == [
        (
            "changed",
            "RangeCheck",
            "IT.AGE",
            "ErrorMessage [en]",
            "At least 18.",
            "Must be 18 or older.",
        ),
        ("added", "Translation", "MU.KG", "Symbol [de]", None, "kg"),
    ]


# --- the text report as an amendment summary (issue 17) -----------------------------------

TRANSLATED = edit(
    (tt("Age"), tt("Age") + tt("Alter", "de") + tt("Edad", "es")),
    (tt("Sex"), tt("Sex") + tt("Geschlecht", "de") + tt("Sexo", "es")),
    (tt("Female"), tt("Female") + tt("weiblich", "de")),
    (tt("Male"), tt("Male") + tt("männlich", "de")),
    (tt("At least 18."), tt("At least 18.") + tt("Mindestens 18.", "de")),
    (tt("Weight"), tt("Body weight")),
    (
        '<CodeListRef CodeListOID="CL.SEX"/>',
        '<CodeListRef CodeListOID="CL.SEX"/>'
        '<Alias Context="CDASH" Name="SEX"/><Alias Context="SDTM" Name="DM.SEX"/>',
    ),
    (
        '<Alias Context="SDTM" Name="DM.AGE"/>',
        '<Alias Context="SDTM" Name="DM.AGEU"/><Alias Context="CDASH" Name="AGE"/>',
    ),
)
"""BASE with German in five texts, Spanish in two, one question reworded, three Aliases added
and one changed."""


def test_added_translations_and_aliases_are_counted_per_language_and_context() -> None:
    result = diff(TRANSLATED)
    assert result.as_text().splitlines() == [
        "12 change(s): 10 added, 1 changed, 1 renamed",
        "  ItemDef      1 renamed",
        "  Translation  7 added (de 5, es 2)",
        "  Alias        3 added, 1 changed",
        "",
        "ItemDef (1)",
        "  renamed  ItemDef IT.WEIGHT: Question [en] 'Weight' -> 'Body weight'",
        "Translation (7)",
        "  added    de: 5 text(s) added (Decode 2, Question 2, ErrorMessage 1)",
        "  added    es: 2 text(s) added (Question 2)",
        "Alias (4)",
        "  added    CDASH: 2 Alias(es) added",
        "  added    SDTM: 1 Alias(es) added",
        "  changed  ItemDef IT.AGE: Alias SDTM 'DM.AGE' -> 'DM.AGEU'",
    ]
    assert result.folded() == 7 + 3 and result.folded(("Translation",)) == 3
    listed = result.as_text(expand=("Translation",)).splitlines()
    assert "  added    ItemDef IT.SEX: Question [es] translation added: 'Sexo'" in listed
    assert len([line for line in listed if "translation added" in line]) == 7
    assert "  added    CDASH: 2 Alias(es) added" in listed


def test_a_translation_reworded_or_removed_stays_listed() -> None:
    old = edit((tt("Sex"), tt("Sex") + tt("Geschlecht", "de") + tt("Sexo", "es")))
    new = edit((tt("Sex"), tt("Sex") + tt("Geschlecht bei Geburt", "de")))
    lines = diff(new, old_body=old).as_text().splitlines()
    assert (
        "  renamed  ItemDef IT.SEX: Question [de] 'Geschlecht' -> 'Geschlecht bei Geburt'" in lines
    )
    assert "  removed  ItemDef IT.SEX: Question [es] translation removed (was 'Sexo')" in lines


def _cli(*args: str) -> tuple[int, str]:
    from click.testing import CliRunner

    from cli import main

    result = CliRunner().invoke(main, ["study", "diff", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def test_cli_folds_translations_lists_them_on_request_and_json_keeps_every_change(
    tmp_path: Path,
) -> None:
    old, new = tmp_path / "v1.xml", tmp_path / "v2.xml"
    old.write_bytes(odm(BASE, units=UNITS))
    new.write_bytes(odm(TRANSLATED, units=UNITS))
    code, out = _cli(str(old), str(new))
    assert code == 1 and "  added    de: 5 text(s) added" in out and "translation added" not in out
    hint = "(10 added translation(s) and Alias(es) counted, not listed: --translations or --all"
    assert hint in out
    code, out = _cli("--translations", str(old), str(new))
    assert code == 1 and out.count("translation added") == 7 and "de: 5 text(s)" not in out
    assert "CDASH: 2 Alias(es) added" in out and "(3 added" in out
    code, out = _cli("--all", str(old), str(new))
    assert code == 1 and "Alias(es) added" not in out and "counted" not in out
    assert "  added    ItemDef IT.SEX: Alias CDASH (none) -> 'SEX'" in out
    code, out = _cli("--format", "json", str(old), str(new))
    changes = json.loads(out)
    assert len(changes) == 12 and [c["element"] for c in changes].count("Translation") == 7
    assert changes == [c.as_dict() for c in diff(TRANSLATED).changes]


def test_the_real_amendment_reads_as_a_summary_under_400_lines() -> None:
    v1, v2 = (ROOT / "metadata" / name for name in ("bortezomib-retreatment.xml", V2_NAME))
    code, out = _cli("--format", "json", str(v1), str(v2))
    total = len(json.loads(out))  # every change, folded or not
    assert total > 2000
    code, out = _cli(str(v1), str(v2))
    lines = out.splitlines()
    assert code == 1 and len(lines) < 400, len(lines)
    assert lines[0].startswith(f"{total} change(s)"), lines[0]
    assert "  Translation      1802 added (de 290, es 378, fr 378, it 378, pl 378)" in lines
    assert any(line.startswith("  added    ItemDef IT.IE_FAIL (") for line in lines)
    assert "  added    ConditionDef C.NOT_ENROLLED (Not enrolled) added" in lines
    assert "  removed  ConditionDef C.NOT_ELIGIBLE (Not eligible) removed" in lines
    assert "  changed  ItemDef IT.ADR_GRADE: DataType 'integer' -> 'text'" in lines
    assert "translation added" not in out
