"""``edc check`` as a designer uses it (issue 21): an unknown ItemOID is reported with the
nearest one, missing mandatory forms and items are reported, a hidden value names the
ConditionDef that hides it, and ``--lang de`` translates the engine's own messages."""

from __future__ import annotations

import json
from datetime import date

from odm_engine.check_report import run_check
from tests.expressions.helpers import odm

METADATA = odm(
    """<Protocol><StudyEventRef StudyEventOID="SE.1" Mandatory="Yes"/></Protocol>
<StudyEventDef OID="SE.1" Name="V1" Repeating="No" Type="Scheduled">
<FormRef FormOID="F.VS" Mandatory="Yes"/><FormRef FormOID="F.LAB" Mandatory="Yes"/>
<FormRef FormOID="F.AE" Mandatory="No"/></StudyEventDef>
<FormDef OID="F.VS" Name="Vital signs" Repeating="No">
<ItemGroupRef ItemGroupOID="IG.VS" Mandatory="Yes"/>
<ItemGroupRef ItemGroupOID="IG.PREG" Mandatory="No" CollectionExceptionConditionOID="C.MALE"/>
</FormDef>
<FormDef OID="F.LAB" Name="Lab" Repeating="No"><ItemGroupRef ItemGroupOID="IG.LAB" Mandatory="Yes"/>
</FormDef>
<FormDef OID="F.AE" Name="AE" Repeating="No"><ItemGroupRef ItemGroupOID="IG.LAB" Mandatory="Yes"/>
</FormDef>
<ItemGroupDef OID="IG.VS" Name="VS" Repeating="No">
<ItemRef ItemOID="IT.VS_SYSBP" Mandatory="Yes"/><ItemRef ItemOID="IT.VS_DIABP" Mandatory="No"/>
<ItemRef ItemOID="IT.SEX" Mandatory="No"/></ItemGroupDef>
<ItemGroupDef OID="IG.PREG" Name="Pregnancy" Repeating="No">
<ItemRef ItemOID="IT.PREG" Mandatory="No"/></ItemGroupDef>
<ItemGroupDef OID="IG.LAB" Name="Lab" Repeating="No">
<ItemRef ItemOID="IT.HB" Mandatory="No"/></ItemGroupDef>
<ItemDef OID="IT.VS_SYSBP" Name="SYSBP" DataType="integer">
<Question><TranslatedText xml:lang="en">Systolic</TranslatedText>
<TranslatedText xml:lang="de">Systolisch</TranslatedText></Question></ItemDef>
<ItemDef OID="IT.VS_DIABP" Name="DIABP" DataType="integer">
<RangeCheck Comparator="LE" SoftHard="Soft"><CheckValue>120</CheckValue></RangeCheck></ItemDef>
<ItemDef OID="IT.SEX" Name="SEX" DataType="text" Length="1"/>
<ItemDef OID="IT.PREG" Name="PREG" DataType="text" Length="1"/>
<ItemDef OID="IT.HB" Name="HB" DataType="float"/>
<ConditionDef OID="C.MALE" Name="Male"><Description><TranslatedText>male</TranslatedText>
</Description><FormalExpression Context="OEL">IT.SEX = "M"</FormalExpression></ConditionDef>"""
)


def data(items: str, *, forms: str = "") -> bytes:
    return f"""<ODM xmlns="http://www.cdisc.org/ns/odm/v1.3" FileType="Snapshot" FileOID="D.1"
 CreationDateTime="2024-01-01T00:00:00" ODMVersion="1.3.2">
<ClinicalData StudyOID="S.1" MetaDataVersionOID="MDV.1"><SubjectData SubjectKey="001">
<StudyEventData StudyEventOID="SE.1"><FormData FormOID="F.VS">
{items}</FormData>{forms}</StudyEventData></SubjectData></ClinicalData></ODM>""".encode()


LAB = '<FormData FormOID="F.LAB"><ItemGroupData ItemGroupOID="IG.LAB">' + (
    '<ItemData ItemOID="IT.HB" Value="12.5"/></ItemGroupData></FormData>'
)


def check(data_xml: bytes, lang: str | None = None) -> tuple[int, list[dict[str, str]]]:
    code, lines, _ = run_check(
        METADATA, data_xml, data_path="d.xml", output="json", lang=lang, today=date(2024, 6, 1)
    )
    assert code in (0, 1), lines
    return code, json.loads(lines[0])


def vs(*items: str) -> str:
    return '<ItemGroupData ItemGroupOID="IG.VS">' + "".join(items) + "</ItemGroupData>"


def test_a_misspelt_item_oid_is_reported_with_the_nearest_and_its_line() -> None:
    code, rows = check(
        data(
            vs(
                '<ItemData ItemOID="IT.VS_SYSBP" Value="120"/>',
                '\n<ItemData ItemOID="IT.VS_SYSPB" Value="130"/>',
            ),
            forms=LAB,
        )
    )
    assert code == 1
    assert [(r["item_oid"], r["kind"], r["severity"], r["message"]) for r in rows] == [
        (
            "IT.VS_SYSPB",
            "metadata",
            "hard",
            "d.xml:5: SE.1/F.VS/IG.VS/IT.VS_SYSPB: FormDef F.VS has no ItemGroupRef IG.VS with "
            "an ItemRef to IT.VS_SYSPB (did you mean IT.VS_SYSBP?). The value is not checked.",
        )
    ]


def test_missing_mandatory_forms_and_items_are_reported() -> None:
    code, rows = check(data(vs('<ItemData ItemOID="IT.VS_DIABP" Value="80"/>')))
    assert code == 1
    assert [(r["form_oid"], r["check"], r["message"]) for r in rows] == [
        (
            "F.LAB",
            "F.LAB#Mandatory",
            "Form F.LAB (Lab) is mandatory in study event SE.1, which has data, but has no "
            "data. Enter the form or give the reason it is missing.",
        ),
        (
            "F.VS",
            "IT.VS_SYSBP#Mandatory",
            "IT.VS_SYSBP (Systolic) is required. Enter a value or give the reason it is missing.",
        ),
    ]


def test_a_value_hidden_by_a_group_condition_names_the_condition() -> None:
    preg = (
        '<ItemGroupData ItemGroupOID="IG.PREG">'
        '<ItemData ItemOID="IT.PREG" Value="N"/></ItemGroupData>'
    )
    items = vs(
        '<ItemData ItemOID="IT.VS_SYSBP" Value="120"/>', '<ItemData ItemOID="IT.SEX" Value="M"/>'
    )
    code, rows = check(data(items + preg, forms=LAB))
    assert code == 1
    assert [(r["check"], r["message"]) for r in rows] == [
        (
            "C.MALE",
            "IT.PREG is not collected here (C.MALE is true) but has a value. Clear the value "
            "or correct the data it depends on.",
        )
    ]


def test_lang_de_translates_the_engines_own_messages() -> None:
    items = vs('<ItemData ItemOID="IT.VS_DIABP" Value="130"/>')
    code, rows = check(data(items), lang="de")
    assert code == 1
    assert [r["message"] for r in rows] == [
        "Das Formular F.LAB (Lab) ist im Studienereignis SE.1, das Daten hat, Pflicht, hat "
        "aber keine Daten. Erfassen Sie das Formular oder den Grund, warum es fehlt.",
        "IT.VS_SYSBP (Systolisch) ist ein Pflichtfeld. Geben Sie einen Wert ein oder den "
        "Grund, warum er fehlt.",
        "IT.VS_DIABP muss höchstens 120 sein; 130 ist es nicht. Korrigieren oder bestätigen "
        "Sie den Wert.",
    ]


def test_a_mandatory_form_its_condition_hides_is_not_missing() -> None:
    """F.AE is Mandatory but hidden for men (C.MALE true): required for women only."""
    metadata = METADATA.replace(
        b'<FormRef FormOID="F.AE" Mandatory="No"/>',
        b'<FormRef FormOID="F.AE" Mandatory="Yes" CollectionExceptionConditionOID="C.MALE"/>',
    )
    for sex, missing in (("M", []), ("F", ["F.AE#Mandatory"])):
        items = vs(
            '<ItemData ItemOID="IT.VS_SYSBP" Value="120"/>',
            f'<ItemData ItemOID="IT.SEX" Value="{sex}"/>',
        )
        _, lines, _ = run_check(metadata, data(items, forms=LAB), output="json")
        assert [r["check"] for r in json.loads(lines[0])] == missing


def test_a_mandatory_repeating_group_with_no_row_is_reported_unless_hidden() -> None:
    metadata = METADATA.replace(
        b'<ItemGroupRef ItemGroupOID="IG.PREG" Mandatory="No"',
        b'<ItemGroupRef ItemGroupOID="IG.PREG" Mandatory="Yes"',
    ).replace(
        b'<ItemGroupDef OID="IG.PREG" Name="Pregnancy" Repeating="No">',
        b'<ItemGroupDef OID="IG.PREG" Name="Pregnancy" Repeating="Yes">',
    )
    found = {}
    for sex in ("M", "F"):
        items = vs(
            '<ItemData ItemOID="IT.VS_SYSBP" Value="120"/>',
            f'<ItemData ItemOID="IT.SEX" Value="{sex}"/>',
        )
        _, lines, _ = run_check(metadata, data(items, forms=LAB), output="json")
        found[sex] = [(r["check"], r["message"]) for r in json.loads(lines[0])]
    assert found == {
        "M": [],
        "F": [
            (
                "IG.PREG#Mandatory",
                "Item group IG.PREG (Pregnancy) is mandatory on form F.VS, which has data, but "
                "has no rows. Enter at least one row or give the reason it is missing.",
            )
        ],
    }


def test_lang_de_translates_the_unknown_item_too() -> None:
    code, rows = check(data(vs('<ItemData ItemOID="IT.VS_SYSPB" Value="130"/>')), lang="de")
    assert code == 1
    assert rows[0]["message"] == (
        "d.xml:5: SE.1/F.VS/IG.VS/IT.VS_SYSPB: Das Formular F.VS hat keine ItemGroupRef IG.VS "
        "mit einer ItemRef auf IT.VS_SYSPB (meinten Sie IT.VS_SYSBP?). Der Wert wird nicht "
        "geprüft."
    )


def test_lang_de_translates_a_data_type_problem_too() -> None:
    items = vs('<ItemData ItemOID="IT.VS_SYSBP" Value="12,5"/>')
    code, rows = check(data(items, forms=LAB), lang="de")
    assert code == 1
    assert [r["message"] for r in rows] == [
        "IT.VS_SYSBP (Systolisch): '12,5' ist kein gültiger Wert (erwartet: eine ganze Zahl). "
        "Schreiben Sie Ziffern mit optionalem Vorzeichen, z. B. 42 oder -7."
    ]
    code, rows = check(data(items, forms=LAB))
    assert [r["message"] for r in rows] == [
        "IT.VS_SYSBP (Systolic): '12,5' is not an integer. Write digits with an optional "
        "sign, e.g. 42 or -7."
    ]
