"""The mistakes a study designer makes, each with the exact finding `edc validate` gives.

Issue 21: what validated clean and then misled the investigator (a CodedValue longer than
its item's Length, a misspelt expression Context, ``xml:lang="ger"``), what went unreported,
and the schema and parser messages said in plain words.
"""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from cli import main
from odm_engine.findings import Finding
from odm_engine.validate import check
from tests.conftest import odm, one_item_study

Q = '<Question><TranslatedText xml:lang="en">A?</TranslatedText></Question>'


def found(xml: bytes, *codes: str) -> list[str]:
    """The formatted findings of ``xml`` whose code is one of ``codes``."""
    return [f.format() for f in check(xml, path="s.xml").findings if f.code in codes]


def all_found(xml: bytes) -> list[Finding]:
    return check(xml, path="s.xml").findings


def edc(*args: object) -> tuple[int, str]:
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result.exit_code, result.output


YES_NO = (
    '<CodeList OID="CL.YN" Name="YN" DataType="text">'
    '<CodeListItem CodedValue="Y"><Decode><TranslatedText xml:lang="en">Yes</TranslatedText>'
    '</Decode></CodeListItem><CodeListItem CodedValue="UNKNOWN"><Decode>'
    '<TranslatedText xml:lang="en">Unknown</TranslatedText></Decode></CodeListItem></CodeList>'
)

OEL_CONDITION = (
    '<ConditionDef OID="C.OK" Name="ok"><Description><TranslatedText xml:lang="en">ok'
    '</TranslatedText></Description><FormalExpression Context="OEL">IT.A = 1'
    "</FormalExpression></ConditionDef>"
)


def test_a_coded_value_longer_than_the_length_is_an_error_in_a_file_for_this_engine() -> None:
    item = f'<ItemDef OID="IT.A" Name="A" DataType="text" Length="1">{Q}'
    item += '<CodeListRef CodeListOID="CL.YN"/></ItemDef>'
    xml = odm(one_item_study(item, extra=YES_NO + OEL_CONDITION))
    assert found(xml, "ODM-CL-006") == [
        's.xml:9: ODM-CL-006 error: CodedValue "UNKNOWN" in CodeList CL.YN is longer than '
        'ItemDef IT.A allows (Length="1"), so it can never be entered. Set Length="7" on '
        "ItemDef IT.A or shorten the CodedValue."
    ]


def test_a_too_long_coded_value_in_a_file_for_another_system_is_a_warning() -> None:
    item = f'<ItemDef OID="IT.A" Name="A" DataType="text" Length="1">{Q}'
    item += '<CodeListRef CodeListOID="CL.YN"/></ItemDef>'
    xml = odm(one_item_study(item, extra=YES_NO))
    assert [(f.code, f.severity.value) for f in all_found(xml) if f.code == "ODM-CL-006"] == [
        ("ODM-CL-006", "warning")
    ]


def test_a_coded_value_within_the_length_is_clean() -> None:
    item = f'<ItemDef OID="IT.A" Name="A" DataType="text" Length="7">{Q}'
    item += '<CodeListRef CodeListOID="CL.YN"/></ItemDef>'
    assert found(odm(one_item_study(item, extra=YES_NO + OEL_CONDITION)), "ODM-CL-006") == []


def _context_study(context: str, *, with_oel: bool = False) -> bytes:
    attr = f' Context="{context}"' if context is not None else ""
    rc = (
        f'<RangeCheck SoftHard="Hard"><FormalExpression{attr}>IT.A &gt; 0</FormalExpression>'
        '<ErrorMessage><TranslatedText xml:lang="en">positive</TranslatedText></ErrorMessage>'
        "</RangeCheck>"
    )
    item = f'<ItemDef OID="IT.A" Name="A" DataType="integer">{Q}{rc}</ItemDef>'
    return odm(one_item_study(item, extra=OEL_CONDITION if with_oel else ""))


def test_a_misspelt_context_is_an_error_with_the_fix() -> None:
    assert found(_context_study("OLE"), "ODM-EXPR-001", "ODM-EXPR-002") == [
        's.xml:9: ODM-EXPR-002 error: RangeCheck IT.A#RC1: FormalExpression Context="OLE" is '
        'not a language this engine knows (did you mean "OEL"?), so the expression is never '
        'evaluated and the check never fires. Write Context="OEL".'
    ]


def test_an_unknown_context_in_a_file_that_uses_oel_is_an_error() -> None:
    assert found(_context_study("js", with_oel=True), "ODM-EXPR-001", "ODM-EXPR-002") == [
        's.xml:9: ODM-EXPR-002 error: RangeCheck IT.A#RC1: FormalExpression Context="js" is '
        "not a language this engine knows (the other expressions of this file are OEL), so "
        'the expression is never evaluated and the check never fires. Write Context="OEL".'
    ]


def test_a_missing_context_is_an_error() -> None:
    attrless = _context_study("").replace(b' Context=""', b"")
    assert found(attrless, "ODM-EXPR-001", "ODM-EXPR-002") == [
        "s.xml:9: ODM-EXPR-002 error: RangeCheck IT.A#RC1: FormalExpression has no Context "
        "(an expression without a Context is evaluated by no system), so the expression is "
        'never evaluated and the check never fires. Write Context="OEL".'
    ]


def test_a_foreign_context_in_a_foreign_file_stays_a_warning() -> None:
    assert [f.severity.value for f in all_found(_context_study("js")) if "EXPR" in f.code] == [
        "warning"
    ]


def test_edc_validate_exits_1_for_a_misspelt_context(tmp_path: Path) -> None:
    path = tmp_path / "s.xml"
    path.write_bytes(_context_study("OLE"))
    code, out = edc("validate", path)
    assert code == 1, out
    assert 'ODM-EXPR-002 error: RangeCheck IT.A#RC1: FormalExpression Context="OLE"' in out


def test_a_vendor_file_keeps_its_profile_handling_of_an_unknown_context(tmp_path: Path) -> None:
    path = tmp_path / "s.xml"
    path.write_bytes(_context_study("OLE").replace(b"<ODM ", b'<ODM SourceSystem="OpenEDC" ', 1))
    code, out = edc("validate", path)
    assert code == 0, out
    assert "ODM-PROF-002 warning: OpenEDC profile: an expression whose Context this engine" in out


def test_xml_lang_must_be_bcp_47() -> None:
    item = (
        '<ItemDef OID="IT.A" Name="A" DataType="integer"><Question>'
        '<TranslatedText xml:lang="ger">A?</TranslatedText>'
        '<TranslatedText xml:lang="english">A?</TranslatedText>'
        '<TranslatedText xml:lang="zz">A?</TranslatedText>'
        '<TranslatedText xml:lang="pt-BR">A?</TranslatedText>'
        "</Question></ItemDef>"
    )
    assert found(odm(one_item_study(item)), "ODM-LANG-001") == [
        's.xml:9: ODM-LANG-001 error: xml:lang="ger" on TranslatedText (ItemDef IT.A) is not a '
        'BCP 47 language tag: "ger" is an ISO 639-2 code and BCP 47 requires the two-letter '
        'code "de". Write xml:lang="de".',
        's.xml:9: ODM-LANG-001 error: xml:lang="english" on TranslatedText (ItemDef IT.A) is '
        "not a BCP 47 language tag: a tag is a language code optionally followed by -Script "
        'and -REGION. Write a tag such as xml:lang="en", "de" or "pt-BR".',
        's.xml:9: ODM-LANG-001 error: xml:lang="zz" on TranslatedText (ItemDef IT.A) is not a '
        'BCP 47 language tag: "zz" is not an ISO 639-1 language code. Write the language\'s '
        'ISO 639-1 code, such as xml:lang="en", "de" or "fr".',
    ]


def test_common_iso_639_2_codes_get_their_two_letter_tag() -> None:
    from odm_engine.language_tags import problem

    fixes = {code: problem(code) for code in ("fre", "spa", "ita", "pol", "dut", "cze", "ger-AT")}
    assert {code: fix[1] for code, fix in fixes.items() if fix} == {
        "fre": 'xml:lang="fr"',
        "spa": 'xml:lang="es"',
        "ita": 'xml:lang="it"',
        "pol": 'xml:lang="pl"',
        "dut": 'xml:lang="nl"',
        "cze": 'xml:lang="cs"',
        "ger-AT": 'xml:lang="de-AT"',
    }
    assert [problem(ok) for ok in ("de", "en-GB", "zh-Hant-TW", "gsw", "es-419")] == [None] * 5


# -- warnings that were not reported -------------------------------------------------------


def test_an_item_on_a_form_without_a_question_is_a_warning() -> None:
    assert found(odm(one_item_study()), "ODM-ITEM-001") == [
        "s.xml:9: ODM-ITEM-001 warning: ItemDef IT.A is on FormDef F.1 but has no Question, "
        'so the form labels it with its Name "A". Add <Question><TranslatedText '
        'xml:lang="en">...</TranslatedText></Question> to the ItemDef.'
    ]


def test_an_item_on_no_form_needs_no_question() -> None:
    extra = '<ItemDef OID="IT.B" Name="B" DataType="integer"/>'
    item = f'<ItemDef OID="IT.A" Name="A" DataType="integer">{Q}</ItemDef>'
    assert found(odm(one_item_study(item, extra=extra)), "ODM-ITEM-001") == []


def _bilingual_item(oid: str, *langs: str) -> str:
    texts = "".join(f'<TranslatedText xml:lang="{lang}">{oid}?</TranslatedText>' for lang in langs)
    return (
        f'<ItemDef OID="{oid}" Name="{oid}" DataType="integer"><Question>{texts}</Question>'
        "</ItemDef>"
    )


def test_texts_missing_in_a_language_of_the_form_are_one_finding_per_language() -> None:
    refs = "".join(f'<ItemRef ItemOID="IT.{n}" Mandatory="No"/>' for n in range(1, 7))
    items = [_bilingual_item("IT.1", "en", "de")]
    items += [_bilingual_item(f"IT.{n}", "en") for n in range(2, 6)]
    items.append(_bilingual_item("IT.6", "de"))
    body = one_item_study(items[0], item_ref=refs, extra="\n".join(items[1:]))
    assert found(odm(body), "ODM-LANG-002") == [
        's.xml:10: ODM-LANG-002 warning: Forms with texts in "de" lack a translation in it '
        "for 4 of their 6 texts (ItemDef IT.2 Question, ItemDef IT.3 Question, ItemDef IT.4 "
        'Question, ...); a user reading "de" sees those in another language. Add a '
        'TranslatedText xml:lang="de" to each.',
        's.xml:14: ODM-LANG-002 warning: Forms with texts in "en" lack a translation in it '
        'for 1 of their 6 texts (ItemDef IT.6 Question); a user reading "en" sees those in '
        'another language. Add a TranslatedText xml:lang="en" to each.',
    ]


def test_a_form_written_in_one_language_only_is_not_reported() -> None:
    """A study may translate only some forms: a form with no German is wholly English."""
    other_form = (
        '<FormDef OID="F.2" Name="F2" Repeating="No"><ItemGroupRef ItemGroupOID="IG.2" '
        'Mandatory="Yes"/></FormDef><ItemGroupDef OID="IG.2" Name="G2" Repeating="No">'
        '<ItemRef ItemOID="IT.B" Mandatory="No"/></ItemGroupDef>' + _bilingual_item("IT.B", "de")
    )
    body = one_item_study(_bilingual_item("IT.A", "en"), extra=other_form)
    assert found(odm(body), "ODM-LANG-002") == []


def test_duplicate_sas_field_names_within_a_group() -> None:
    refs = '<ItemRef ItemOID="IT.A" Mandatory="No"/><ItemRef ItemOID="IT.B" Mandatory="No"/>'
    item = f'<ItemDef OID="IT.A" Name="A" DataType="integer" SASFieldName="VSORRES">{Q}</ItemDef>'
    other = f'<ItemDef OID="IT.B" Name="B" DataType="integer" SASFieldName="vsorres">{Q}</ItemDef>'
    assert found(odm(one_item_study(item, item_ref=refs, extra=other)), "ODM-SAS-001") == [
        's.xml:8: ODM-SAS-001 warning: ItemDef IT.B has SASFieldName="vsorres" like ItemDef '
        "IT.A in ItemGroupDef IG.1, so both would be one column of the group's dataset. Give "
        "each item of a group its own SASFieldName."
    ]


def test_a_range_check_that_never_mentions_its_item() -> None:
    rc = (
        '<RangeCheck SoftHard="Hard"><FormalExpression Context="OEL">IT.B &gt; 0'
        "</FormalExpression></RangeCheck>"
    )
    refs = '<ItemRef ItemOID="IT.A" Mandatory="No"/><ItemRef ItemOID="IT.B" Mandatory="No"/>'
    item = f'<ItemDef OID="IT.A" Name="A" DataType="integer">{Q}{rc}</ItemDef>'
    other = f'<ItemDef OID="IT.B" Name="B" DataType="integer">{Q}</ItemDef>'
    xml = odm(one_item_study(item, item_ref=refs, extra=other))
    assert found(xml, "ODM-RC-004") == [
        "s.xml:9: ODM-RC-004 warning: RangeCheck on IT.A: its expression never mentions IT.A, "
        "so what is entered in IT.A does not change whether it fires. Mention IT.A in the "
        "expression (it states what a valid value is), or move the check to the item it tests."
    ]
    mentioned = xml.replace(b"IT.B &gt; 0", b"IT.A &gt; IT.B")
    assert found(mentioned, "ODM-RC-004") == []


# -- schema and parser messages in plain words ----------------------------------------------

DESCRIPTION = '<Description><TranslatedText xml:lang="en">c</TranslatedText></Description>'


def xsd_found(body: str) -> list[tuple[int | None, str | None, str, str | None]]:
    return [
        (f.line, f.oid, f.message, f.raw)
        for f in check(odm(body), path="s.xml").findings
        if f.code in ("ODM-XSD-001", "ODM-XML-001")
    ]


def test_a_formal_expression_before_the_description() -> None:
    cond = (
        '<ConditionDef OID="C.1" Name="c"><FormalExpression Context="OEL">IT.A = 1'
        f"</FormalExpression>{DESCRIPTION}</ConditionDef>"
    )
    assert xsd_found(one_item_study(extra=cond)) == [
        (
            10,
            "C.1",
            "Schema: ConditionDef C.1: FormalExpression must come after Description (order in "
            "ConditionDef: Description, FormalExpression, Alias). Move the Description above "
            "it.",
            "Element 'FormalExpression': This element is not expected. Expected is "
            "( Description ).",
        )
    ]


def test_a_code_list_ref_before_the_range_check() -> None:
    item = (
        f'<ItemDef OID="IT.MH_ANY" Name="A" DataType="integer">{Q}'
        '<CodeListRef CodeListOID="CL.A"/><RangeCheck Comparator="GT" SoftHard="Hard">'
        "<CheckValue>0</CheckValue></RangeCheck></ItemDef>"
    )
    code_list = (
        '<CodeList OID="CL.A" Name="A" DataType="integer"><CodeListItem CodedValue="1">'
        "<Decode><TranslatedText>a</TranslatedText></Decode></CodeListItem></CodeList>"
    )
    ref = '<ItemRef ItemOID="IT.MH_ANY" Mandatory="No"/>'
    assert xsd_found(one_item_study(item, item_ref=ref, extra=code_list)) == [
        (
            9,
            "IT.MH_ANY",
            "Schema: ItemDef IT.MH_ANY: CodeListRef must come after RangeCheck (order in "
            "ItemDef: Description, Question, ExternalQuestion, MeasurementUnitRef, RangeCheck, "
            "CodeListRef, Role, Alias). Move the CodeListRef below the RangeCheck.",
            "Element 'RangeCheck': This element is not expected. Expected is one of "
            "( Role, Alias ).",
        )
    ]


def test_an_item_ref_listed_twice_in_a_group() -> None:
    refs = '<ItemRef ItemOID="IT.A" Mandatory="No"/>\n<ItemRef ItemOID="IT.A" Mandatory="No"/>'
    assert xsd_found(one_item_study(item_ref=refs)) == [
        (
            9,
            "IT.A",
            'Schema: ItemRef ItemOID="IT.A" is used twice in ItemGroupDef IG.1. Give each '
            "ItemRef there its own ItemOID.",
            "Element 'ItemRef': Duplicate key-sequence ['IT.A'] in unique identity-constraint "
            "'UC-IGD-1'.",
        )
    ]


def test_a_raw_less_than_in_an_expression() -> None:
    cond = (
        f'<ConditionDef OID="C.1" Name="c">{DESCRIPTION}<FormalExpression Context="OEL">'
        "IT.A <5</FormalExpression></ConditionDef>"
    )
    assert xsd_found(one_item_study(extra=cond)) == [
        (
            10,
            None,
            'The file is not well-formed XML: a "<" that starts no element (in ConditionDef '
            'C.1): write "<" as "&lt;" inside XML, e.g. IT.AGE &lt; 18 in an expression. Fix '
            "the XML syntax.",
            "StartTag: invalid element name",
        )
    ]


def test_a_double_ampersand_in_an_expression() -> None:
    cond = (
        f'<ConditionDef OID="C.1" Name="c">{DESCRIPTION}<FormalExpression Context="OEL">'
        "IT.A = 1 && IT.A = 2</FormalExpression></ConditionDef>"
    )
    assert xsd_found(one_item_study(extra=cond)) == [
        (
            10,
            None,
            'The file is not well-formed XML: a "&" that starts no entity (in ConditionDef '
            'C.1): write "&" as "&amp;" inside XML; in an expression write "and" instead of '
            '"&&". Fix the XML syntax.',
            "xmlParseEntityRef: no name",
        )
    ]


def test_a_missing_attribute_and_a_value_outside_the_set() -> None:
    item = '<ItemDef OID="IT.A" DataType="integer"/>'
    ref = '<ItemRef ItemOID="IT.A" Mandatory="Maybe"/>'
    assert [m for _l, _o, m, _r in xsd_found(one_item_study(item, item_ref=ref))] == [
        'Schema: ItemRef IT.A in ItemGroupDef IG.1: Mandatory="Maybe" is not one of Yes, No.',
        'Schema: ItemDef IT.A: the attribute Name is required and missing. Add Name="...".',
    ]


def test_an_unknown_schema_message_is_shown_as_libxml2_gives_it() -> None:
    from odm_engine.plain_messages import plain_schema

    assert plain_schema("Element 'ODM': something else entirely.", None) is None


def test_edc_validate_verbose_prints_the_raw_message(tmp_path: Path) -> None:
    path = tmp_path / "s.xml"
    refs = '<ItemRef ItemOID="IT.A" Mandatory="No"/>\n<ItemRef ItemOID="IT.A" Mandatory="No"/>'
    path.write_bytes(
        odm(
            one_item_study(
                f'<ItemDef OID="IT.A" Name="A" DataType="integer">{Q}</ItemDef>', item_ref=refs
            )
        )
    )
    code, plain = edc("validate", path)
    assert code == 1 and "raw:" not in plain and "UC-IGD-1" not in plain
    code, verbose = edc("validate", "--verbose", path)
    assert code == 1
    assert (
        "    raw: Element 'ItemRef': Duplicate key-sequence ['IT.A'] in unique "
        "identity-constraint 'UC-IGD-1'." in verbose.splitlines()
    )


# -- one root cause, one finding ----------------------------------------------------------


def test_one_duplicate_oid_is_one_finding() -> None:
    twice = f'<ItemDef OID="IT.A" Name="A2" DataType="integer">{Q}</ItemDef>'
    item = f'<ItemDef OID="IT.A" Name="A" DataType="integer">{Q}</ItemDef>'
    assert [f.format() for f in all_found(odm(one_item_study(item, extra=twice)))] == [
        's.xml:10: ODM-OID-001 error: Duplicate ItemDef OID="IT.A" (first defined on line 9). '
        "Give each ItemDef its own OID."
    ]


def test_a_misspelt_data_type_is_one_finding_with_the_right_spelling() -> None:
    item = (
        '<ItemDef OID="IT.BRTHDAT" Name="Birth date" DataType="partialdate">'
        f'{Q}<RangeCheck Comparator="LT" SoftHard="Hard"><CheckValue>2020</CheckValue>'
        "</RangeCheck></ItemDef>"
    )
    conditions = "".join(
        f'<ConditionDef OID="C.{n}" Name="c">{DESCRIPTION}<FormalExpression Context="OEL">'
        f"IT.BRTHDAT &lt; @2020-01-0{n}</FormalExpression></ConditionDef>"
        for n in (1, 2)
    )
    ref = (
        '<ItemRef ItemOID="IT.BRTHDAT" Mandatory="No" CollectionExceptionConditionOID="C.1"/>'
        '<ItemRef ItemOID="IT.X" Mandatory="No" CollectionExceptionConditionOID="C.2"/>'
    )
    other = f'<ItemDef OID="IT.X" Name="X" DataType="integer">{Q}</ItemDef>'
    body = one_item_study(item, item_ref=ref, extra=other + conditions)
    assert [f.format() for f in all_found(odm(body)) if f.severity.value == "error"] == [
        's.xml:9: ODM-DT-001 error: ItemDef IT.BRTHDAT: DataType="partialdate" is not an ODM '
        '1.3.2 DataType; did you mean partialDate? Write DataType="partialDate". 2 finding(s) '
        "that follow from it are not shown; they go once the DataType is right."
    ]


def test_a_check_reaching_the_misspelt_item_by_path_is_a_follow_on_too() -> None:
    """Another item's RangeCheck naming the item by its path (``[SE.1/F.1/IT.BRTHDAT]``, as
    the bortezomib study's date-order checks do) is counted on the DataType finding, not
    reported as "a text" (found writing a study with a misspelt partialDate)."""
    item = f'<ItemDef OID="IT.BRTHDAT" Name="Birth date" DataType="partialdate">{Q}</ItemDef>'
    other = (
        f'<ItemDef OID="IT.X" Name="X" DataType="date">{Q}<RangeCheck SoftHard="Hard">'
        '<FormalExpression Context="OEL">IT.X &gt; [SE.1/F.1/IT.BRTHDAT]</FormalExpression>'
        "</RangeCheck></ItemDef>"
    )
    ref = '<ItemRef ItemOID="IT.BRTHDAT" Mandatory="No"/><ItemRef ItemOID="IT.X" Mandatory="No"/>'
    body = one_item_study(item, item_ref=ref, extra=other)
    errors = [f.format() for f in all_found(odm(body)) if f.severity.value == "error"]
    assert len(errors) == 1, errors
    assert "ODM-DT-001" in errors[0] and "1 finding(s) that follow from it" in errors[0]


def test_findings_are_sorted_by_line() -> None:
    """The pipeline finds the schema error (line 10) before the dangling reference (rules,
    line 8); the report reads top to bottom."""
    cond = '<ConditionDef OID="C.1" Name="c"/>'
    ref = '<ItemRef ItemOID="IT.A" Mandatory="No" CollectionExceptionConditionOID="C.2"/>'
    item = f'<ItemDef OID="IT.A" Name="A" DataType="integer">{Q}</ItemDef>'
    assert [
        (f.line, f.code) for f in all_found(odm(one_item_study(item, item_ref=ref, extra=cond)))
    ] == [
        (8, "ODM-REF-001"),
        (10, "ODM-XSD-001"),
        (10, "ODM-UNUSED-001"),
    ]


def test_an_unknown_oid_suggests_the_nearest_one() -> None:
    ref = '<ItemRef ItemOID="IT.VS_SYSPB" Mandatory="No"/>'
    item = f'<ItemDef OID="IT.VS_SYSBP" Name="SBP" DataType="integer">{Q}</ItemDef>'
    # one finding: not also "ItemDef IT.VS_SYSBP is never referenced", which follows from it
    assert [f.format() for f in all_found(odm(one_item_study(item, item_ref=ref)))] == [
        's.xml:8: ODM-REF-001 error: ItemRef ItemOID="IT.VS_SYSPB" names no ItemDef in '
        'MetaDataVersion "MDV.1" (did you mean "IT.VS_SYSBP"?). Add the ItemDef or correct '
        "the OID."
    ]


def test_an_unknown_oid_in_an_expression_suggests_the_nearest_one() -> None:
    rc = (
        '<RangeCheck SoftHard="Soft"><FormalExpression Context="OEL">IT.VS_SYSBP &gt; '
        "IT.VS_DIAPB</FormalExpression></RangeCheck>"
    )
    refs = (
        '<ItemRef ItemOID="IT.VS_SYSBP" Mandatory="No"/>'
        '<ItemRef ItemOID="IT.VS_DIABP" Mandatory="No"/>'
    )
    item = f'<ItemDef OID="IT.VS_SYSBP" Name="SBP" DataType="integer">{Q}{rc}</ItemDef>'
    other = f'<ItemDef OID="IT.VS_DIABP" Name="DBP" DataType="integer">{Q}</ItemDef>'
    assert found(odm(one_item_study(item, item_ref=refs, extra=other)), "ODM-EXPR-102") == [
        "s.xml:9: ODM-EXPR-102 error: RANGECHECK IT.VS_SYSBP#RC1: 'IT.VS_DIAPB' names no "
        "ItemDef (did you mean IT.VS_DIABP?); add the ItemDef or correct the OID."
    ]


# -- docs/odm-authoring.md: "The ten most common mistakes" is real output ----------------

_D = '<Description><TranslatedText xml:lang="en">c</TranslatedText></Description>'
_NY = (
    '<CodeList OID="CL.NY" Name="NY" DataType="text"><CodeListItem CodedValue="Y"><Decode>'
    '<TranslatedText xml:lang="en">Yes</TranslatedText></Decode></CodeListItem>'
    '<CodeListItem CodedValue="UNK"><Decode><TranslatedText xml:lang="en">Unknown'
    "</TranslatedText></Decode></CodeListItem></CodeList>"
)


def _item(oid: str, data_type: str, inner: str = Q, extra: str = "") -> str:
    return f'<ItemDef OID="{oid}" Name="A" DataType="{data_type}"{extra}>{inner}</ItemDef>'


def _ref(oid: str) -> str:
    return f'<ItemRef ItemOID="{oid}" Mandatory="No"/>'


def _condition(text: str, *, description_first: bool = True) -> str:
    fe = f'<FormalExpression Context="OEL">{text}</FormalExpression>'
    inner = _D + fe if description_first else fe + _D
    return f'<ConditionDef OID="C.X" Name="x">{inner}</ConditionDef>'


TEN_MISTAKES = [
    one_item_study(
        _item(
            "IT.MH_ANY",
            "text",
            f'{Q}<CodeListRef CodeListOID="CL.NY"/><RangeCheck Comparator="NE" '
            'SoftHard="Hard"><CheckValue>UNK</CheckValue></RangeCheck>',
            ' Length="3"',
        ),
        item_ref=_ref("IT.MH_ANY"),
        extra=_NY,
    ),
    one_item_study(_item("IT.A", "integer"), extra=_condition("IT.A = 1", description_first=False)),
    one_item_study(_item("IT.A", "integer"), extra=_condition("IT.A < 18")),
    one_item_study(_item("IT.A", "integer"), extra=_condition("IT.A = 1 && IT.A = 2")),
    one_item_study(
        _item(
            "IT.A",
            "integer",
            f'{Q}<RangeCheck SoftHard="Hard"><FormalExpression Context="OLE">IT.A &gt; 0'
            "</FormalExpression></RangeCheck>",
        )
    ),
    one_item_study(
        _item("IT.A", "text", f'{Q}<CodeListRef CodeListOID="CL.NY"/>', ' Length="1"'),
        extra=_NY + OEL_CONDITION,
    ),
    one_item_study(
        _item("IT.BRTHDAT", "partialdate"),
        item_ref=_ref("IT.BRTHDAT"),
        extra=_condition("IT.BRTHDAT &lt; @2000"),
    ),
    one_item_study(_item("IT.VS_SYSBP", "integer"), item_ref=_ref("IT.VS_SYSPB")),
    one_item_study(
        _item(
            "IT.A",
            "integer",
            '<Question><TranslatedText xml:lang="ger">Q?</TranslatedText></Question>',
        )
    ),
    one_item_study(_item("IT.A", "integer"), extra=_item("IT.A", "integer")),
]


def test_the_ten_most_common_mistakes_in_the_guide_are_the_real_output() -> None:
    guide = (Path(__file__).parents[2] / "docs" / "odm-authoring.md").read_text(encoding="utf-8")
    table = guide.split("## The ten most common mistakes", 1)[1].split("\n\n")[2]
    documented = [row.split(" | ")[1].strip("`") for row in table.splitlines()[2:]]
    actual = []
    for body in TEN_MISTAKES:
        first = next(
            f for f in check(odm(body), path="study.xml").findings if f.severity.value == "error"
        )
        actual.append(first.format())
    assert len(documented) == 10
    assert documented == actual
