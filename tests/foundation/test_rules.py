"""What the XSD cannot see: each rule's exact finding for a small faulty study."""

from __future__ import annotations

from odm_engine.findings import Finding
from odm_engine.loader import load_odm
from odm_engine.rules import iter_rule_findings
from tests.conftest import odm, one_item_study


def rule_findings(xml: bytes, *, questions: bool = False) -> list[Finding]:
    """The rule findings of ``xml``; the items of these small studies have no Question, so
    ODM-ITEM-001 is left out unless ``questions`` (it has its own tests in
    test_validate_mistakes)."""
    result = load_odm(xml, path="s.xml")
    assert result.odm is not None
    found = iter_rule_findings(result.odm, path="s.xml", data_refs=result.data_refs)
    return [f for f in found if questions or f.code != "ODM-ITEM-001"]


def lines(findings: list[Finding]) -> list[str]:
    return [f.format() for f in findings]


def test_a_clean_study_has_no_findings() -> None:
    item = (
        '<ItemDef OID="IT.A" Name="A" DataType="integer"><Question>'
        '<TranslatedText xml:lang="en">A?</TranslatedText></Question></ItemDef>'
    )
    assert rule_findings(odm(one_item_study(item)), questions=True) == []


def test_unresolved_item_ref() -> None:
    """ODM 1.3.2 §3.1.6.1 ItemRef/@ItemOID must name an ItemDef."""
    body = one_item_study(item_ref='<ItemRef ItemOID="IT.B" Mandatory="No"/>')
    assert lines(rule_findings(odm(body))) == [
        's.xml:8: ODM-REF-001 error: ItemRef ItemOID="IT.B" names no ItemDef in '
        'MetaDataVersion "MDV.1" (did you mean "IT.A"?). Add the ItemDef or correct the OID.',
        "s.xml:9: ODM-UNUSED-001 warning: ItemDef IT.A is never referenced. Reference it or "
        "remove it.",
    ]


def test_unresolved_condition_method_codelist_and_unit() -> None:
    body = one_item_study(
        '<ItemDef OID="IT.A" Name="A" DataType="float"><CodeListRef CodeListOID="CL.X"/>'
        '<MeasurementUnitRef MeasurementUnitOID="MU.KG"/></ItemDef>',
        item_ref='<ItemRef ItemOID="IT.A" Mandatory="No" MethodOID="M.X" '
        'CollectionExceptionConditionOID="C.X"/>',
    )
    found = rule_findings(odm(body))
    assert [(f.code, f.oid, f.line) for f in found] == [
        ("ODM-REF-001", "M.X", 8),
        ("ODM-REF-001", "C.X", 8),
        ("ODM-REF-001", "CL.X", 9),
        ("ODM-REF-001", "MU.KG", 9),
    ]
    assert found[3].message == (
        'MeasurementUnitRef MeasurementUnitOID="MU.KG" names no MeasurementUnit in Study '
        '"S.1" BasicDefinitions. Add the MeasurementUnit or correct the OID.'
    )


def test_code_list_type_must_fit_the_item_and_values_must_parse() -> None:
    body = one_item_study(
        '<ItemDef OID="IT.A" Name="A" DataType="integer"><CodeListRef CodeListOID="CL.A"/>'
        "</ItemDef>",
        extra='<CodeList OID="CL.A" Name="A" DataType="text">'
        '<CodeListItem CodedValue="A"><Decode><TranslatedText>one</TranslatedText></Decode>'
        "</CodeListItem></CodeList>\n"
        '<CodeList OID="CL.B" Name="B" DataType="integer">'
        '<CodeListItem CodedValue="x"><Decode><TranslatedText>x</TranslatedText></Decode>'
        '</CodeListItem><CodeListItem CodedValue="x"><Decode><TranslatedText>y'
        "</TranslatedText></Decode></CodeListItem></CodeList>",
    )
    found = rule_findings(odm(body))
    codes = [(f.code, f.oid) for f in found]
    assert ("ODM-CL-001", "IT.A") in codes
    assert ("ODM-CL-002", "CL.B") in codes
    assert ("ODM-CL-003", "CL.B") in codes
    cl001 = next(f for f in found if f.code == "ODM-CL-001")
    assert cl001.message == (
        'CodeList CL.A has DataType="text" but ItemDef IT.A has DataType="integer". Make the '
        "two DataTypes agree."
    )


def test_range_check_values_and_comparator_arity() -> None:
    """ODM 1.3.2 §3.1.9.4 RangeCheck: IN/NOTIN take several values, others one."""
    body = one_item_study(
        '<ItemDef OID="IT.A" Name="A" DataType="integer">'
        '<RangeCheck Comparator="GE" SoftHard="Hard"><CheckValue>1</CheckValue>'
        "<CheckValue>2</CheckValue></RangeCheck>"
        '<RangeCheck Comparator="LE" SoftHard="Soft"><CheckValue>ten</CheckValue></RangeCheck>'
        '<RangeCheck Comparator="IN" SoftHard="Soft"></RangeCheck>'
        "</ItemDef>"
    )
    found = rule_findings(odm(body))
    assert [f.code for f in found] == ["ODM-RC-002", "ODM-RC-001", "ODM-RC-002"]
    assert found[0].message == (
        "RangeCheck on IT.A: Comparator GE takes exactly one CheckValue, found 2. Use IN or "
        "NOTIN to compare with several values."
    )
    assert found[1].message.startswith(
        'RangeCheck on IT.A: CheckValue "ten" is not a valid integer: '
    )


def test_length_and_significant_digits() -> None:
    body = one_item_study(
        '<ItemDef OID="IT.A" Name="A" DataType="float" Length="3" SignificantDigits="5"/>'
    )
    [f] = rule_findings(odm(body))
    assert f.message == (
        'ItemDef IT.A: SignificantDigits="5" exceeds Length="3". Make Length at least the '
        "number of digits after the decimal point."
    )


def test_order_numbers_are_unique_within_a_parent() -> None:
    body = one_item_study(
        '<ItemDef OID="IT.A" Name="A" DataType="integer"/>'
        '<ItemDef OID="IT.B" Name="B" DataType="integer"/>',
        item_ref='<ItemRef ItemOID="IT.A" Mandatory="No" OrderNumber="1"/>'
        '<ItemRef ItemOID="IT.B" Mandatory="No" OrderNumber="1"/>',
    )
    [f] = rule_findings(odm(body))
    assert f.format() == (
        's.xml:8: ODM-ORD-001 error: ItemRef OrderNumber="1" is used twice in ItemGroupDef '
        "IG.1 (also on line 8). Give each child its own OrderNumber."
    )


def test_mandatory_with_condition_is_a_warning() -> None:
    body = one_item_study(
        item_ref='<ItemRef ItemOID="IT.A" Mandatory="Yes" CollectionExceptionConditionOID="C.1"/>',
        extra='<ConditionDef OID="C.1" Name="never"><FormalExpression Context="OEL">false'
        "</FormalExpression></ConditionDef>",
    )
    [f] = rule_findings(odm(body))
    assert f.code == "ODM-MAN-001"
    assert f.severity.value == "warning"


def test_clinical_data_refs_resolve_against_metadata_in_the_same_file() -> None:
    clinical = (
        '<ClinicalData StudyOID="S.1" MetaDataVersionOID="MDV.1"><SubjectData SubjectKey="1">'
        '<StudyEventData StudyEventOID="SE.1"><FormData FormOID="F.1">'
        '<ItemGroupData ItemGroupOID="IG.1"><ItemData ItemOID="IT.NOPE" Value="1"/>'
        "</ItemGroupData></FormData></StudyEventData></SubjectData></ClinicalData>\n"
    )
    [f] = rule_findings(odm(one_item_study(), clinical=clinical))
    assert f.format() == (
        's.xml:13: ODM-DATA-001 error: ItemData ItemOID="IT.NOPE" in ClinicalData names no '
        "ItemDef in the metadata. Correct the OID or add the definition."
    )


def test_code_list_type_mismatch_whose_values_fit_is_a_warning() -> None:
    """OpenClinica writes text code lists of integer codes for integer items."""
    body = one_item_study(
        '<ItemDef OID="IT.A" Name="A" DataType="integer"><CodeListRef CodeListOID="CL.A"/>'
        "</ItemDef>",
        extra='<CodeList OID="CL.A" Name="A" DataType="text">'
        '<CodeListItem CodedValue="1"><Decode><TranslatedText>one</TranslatedText></Decode>'
        "</CodeListItem></CodeList>",
    )
    [f] = rule_findings(odm(body))
    assert (f.code, f.severity.value) == ("ODM-CL-005", "warning")
    assert f.message == (
        'CodeList CL.A has DataType="text" but ItemDef IT.A has DataType="integer"; every '
        "CodedValue is a valid integer, so entries still work. Make the two DataTypes agree."
    )


def test_streaming_schema_validation_of_a_large_file() -> None:
    """lxml iterparse(schema=...) validates ClinicalData without building the whole tree."""
    import io

    from odm_engine.xsd import iter_xsd_findings_streaming

    subjects = "".join(
        f'<SubjectData SubjectKey="{n}"><StudyEventData StudyEventOID="SE.1">'
        '<FormData FormOID="F.1"><ItemGroupData ItemGroupOID="IG.1">'
        f'<ItemData ItemOID="IT.A" Value="{n}"/></ItemGroupData></FormData>'
        "</StudyEventData></SubjectData>"
        for n in range(2000)
    )
    clinical = f'<ClinicalData StudyOID="S.1" MetaDataVersionOID="MDV.1">{subjects}</ClinicalData>'
    good = odm(one_item_study(), clinical=clinical)
    assert list(iter_xsd_findings_streaming(io.BytesIO(good), path="big.xml")) == []
    bad = good.replace(b'<SubjectData SubjectKey="1500">', b'<SubjectData Key="1500">')
    [f] = iter_xsd_findings_streaming(io.BytesIO(bad), path="big.xml")
    assert f.code == "ODM-XSD-001"
    assert f.line is not None
    assert f.line <= good[: good.index(b'SubjectKey="1500"')].count(b"\n") + 1
    assert "at or after line" in f.message
    assert "attribute 'Key' is not allowed" in f.message
