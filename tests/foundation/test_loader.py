"""The loader builds the model from ODM 1.3.2 XML, keeping lines and vendor extensions."""

from __future__ import annotations

from odm_engine.loader import load_odm
from tests.conftest import odm, one_item_study

REDCAP = "https://projectredcap.org"


def test_model_carries_every_level_with_lines() -> None:
    """ODM 1.3.2 §3.1: Protocol, StudyEventDef, FormDef, ItemGroupDef, ItemDef, CodeList."""
    body = one_item_study(
        '<ItemDef OID="IT.A" Name="A" DataType="text" Length="2" SASFieldName="A">'
        '<Question><TranslatedText xml:lang="en">Sex?</TranslatedText>'
        '<TranslatedText xml:lang="de">Geschlecht?</TranslatedText></Question>'
        '<CodeListRef CodeListOID="CL.SEX"/><Alias Context="SDTM" Name="DM.SEX"/></ItemDef>',
        extra='<CodeList OID="CL.SEX" Name="Sex" DataType="text">'
        '<CodeListItem CodedValue="F" OrderNumber="1"><Decode>'
        '<TranslatedText xml:lang="en">Female</TranslatedText></Decode></CodeListItem>'
        "</CodeList>",
    )
    result = load_odm(odm(body), path="s.xml")
    assert result.findings == []
    mdv = result.metadata_version
    assert mdv is not None
    assert [e.oid for e in mdv.study_events_in_order()] == ["SE.1"]
    item = mdv.item_defs["IT.A"]
    assert item.line == 9
    assert item.question.get("de") == "Geschlecht?"
    assert item.question.get("fr") == "Sex?"
    assert item.length == 2
    assert item.aliases[0].name == "DM.SEX"
    code_list = mdv.item_code_list(item)
    assert code_list is not None
    assert code_list.coded_values == ("F",)
    assert code_list.items[0].decode.get("en") == "Female"
    assert mdv.form_defs["F.1"].item_group_refs[0].mandatory is True


def test_vendor_extensions_are_kept_with_their_namespace() -> None:
    body = one_item_study(
        '<ItemDef OID="IT.A" Name="A" DataType="integer" redcap:Variable="a">'
        "<redcap:FieldNote>kept</redcap:FieldNote></ItemDef>",
    )
    result = load_odm(odm(body, extra_ns=f' xmlns:redcap="{REDCAP}"'))
    item = result.metadata_version.item_defs["IT.A"]  # type: ignore[union-attr]
    assert item.ext_attribute(REDCAP, "Variable") == "a"
    assert item.extensions[0].namespace == REDCAP
    assert b"kept" in item.extensions[0].xml
    codes = [f.code for f in result.findings]
    assert codes == ["ODM-EXT-001"]
    assert result.findings[0].message == (
        f"Vendor extension namespace {REDCAP} (REDCap): 2 elements and attributes kept and "
        "set aside before XSD validation."
    )


def test_include_merges_definitions_from_the_parent_version() -> None:
    """ODM 1.3.2 §3.1.2.1 Include: the child version sees the parent's definitions."""
    xml = odm(one_item_study()).replace(
        b"</Study>",
        b'</Study><Study OID="S.2"><GlobalVariables><StudyName>x</StudyName>'
        b"<StudyDescription>x</StudyDescription><ProtocolName>x</ProtocolName>"
        b'</GlobalVariables><MetaDataVersion OID="MDV.2" Name="v2">'
        b'<Include StudyOID="S.1" MetaDataVersionOID="MDV.1"/></MetaDataVersion></Study>',
    )
    result = load_odm(xml)
    assert result.odm is not None
    child = result.odm.studies[1].metadata_versions[0]
    assert "IT.A" in child.item_defs
    assert child.protocol is not None


def test_duplicate_oid_keeps_the_first_and_reports_the_second() -> None:
    body = one_item_study(
        '<ItemDef OID="IT.A" Name="first" DataType="integer"/>\n'
        '<ItemDef OID="IT.A" Name="second" DataType="text"/>'
    )
    result = load_odm(odm(body), path="s.xml")
    assert result.metadata_version.item_defs["IT.A"].name == "first"  # type: ignore[union-attr]
    [dup] = result.findings
    assert dup.format() == (
        's.xml:10: ODM-OID-001 error: Duplicate ItemDef OID="IT.A" (first defined on line 9). '
        "Give each ItemDef its own OID."
    )


def test_namespace_less_file_is_read_with_a_warning() -> None:
    xml = odm(one_item_study()).replace(
        f' xmlns="{"http://www.cdisc.org/ns/odm/v1.3"}"'.encode(), b""
    )
    result = load_odm(xml)
    assert result.metadata_version is not None
    assert "IT.A" in result.metadata_version.item_defs
    assert result.findings[0].code == "ODM-NS-001"


def test_odm2_is_answered_with_one_finding() -> None:
    xml = b'<ODM xmlns="http://www.cdisc.org/ns/odm/v2.0" FileOID="x"/>'
    result = load_odm(xml)
    assert result.odm is None
    [only] = result.findings
    assert only.code == "ODM-VER-002"
    assert "ODM 2.0 is not supported yet" in only.message
