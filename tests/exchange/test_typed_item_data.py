"""Typed ItemData elements are checked against the ItemDef's DataType (ODM 1.3.2 §3.1.6.6)."""

from __future__ import annotations

from odm_engine.exchange import read_clinical_data
from tests.conftest import ODM_NS
from tests.expressions.helpers import item, load, one_form, refs

ITEMS = ("IT.AGE", "IT.NAME", "IT.WT", "IT.ANY")
METADATA = one_form(
    refs(*ITEMS),
    item("IT.AGE", "text") + item("IT.NAME", "text") + item("IT.WT", "float")
    + item("IT.ANY", "date"),
)  # fmt: skip
ITEM_DATA = (
    '<ItemDataInteger ItemOID="IT.AGE">42</ItemDataInteger>'
    '<ItemDataString ItemOID="IT.NAME">Ann</ItemDataString>'
    '<ItemDataFloat ItemOID="IT.WT">70.5</ItemDataFloat>'
    '<ItemDataAny ItemOID="IT.ANY">2019-03</ItemDataAny>'
)


def clinical(study: str = "") -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<ODM xmlns="{ODM_NS}" FileOID="F.1" '
        'FileType="Snapshot" ODMVersion="1.3.2" CreationDateTime="2026-01-01T00:00:00">\n'
        f'{study}<ClinicalData StudyOID="S.1" MetaDataVersionOID="MDV.1">\n'
        '<SubjectData SubjectKey="001"><StudyEventData StudyEventOID="SE.1">'
        '<FormData FormOID="F.1"><ItemGroupData ItemGroupOID="IG.1">\n'
        f"{ITEM_DATA}\n</ItemGroupData></FormData></StudyEventData></SubjectData>"
        "</ClinicalData></ODM>\n"
    ).encode()


def test_a_typed_element_that_does_not_suit_the_item_def_is_a_located_warning() -> None:
    mdv, _ = load(METADATA)
    reader = read_clinical_data(clinical(), path="in.xml", metadata_version=mdv)
    (subject,) = list(reader)
    found = [f.format() for f in reader.findings if f.code == "ODM-IMP-012"]
    assert found == [
        'in.xml:5: ODM-IMP-012 warning: ItemDataInteger ItemOID="IT.AGE" is typed integer, '
        'but ItemDef IT.AGE has DataType="text"; the value is read as text. Write it as '
        "ItemDataString or as plain ItemData."
    ]
    assert [i.value for i in subject.items()] == ["42", "Ann", "70.5", "2019-03"]


def test_the_files_own_metadata_is_used_when_none_is_given() -> None:
    study = (
        '<Study OID="S.1"><GlobalVariables><StudyName>T</StudyName><StudyDescription>T'
        "</StudyDescription><ProtocolName>T</ProtocolName></GlobalVariables>"
        f'<MetaDataVersion OID="MDV.1" Name="v1">{METADATA}</MetaDataVersion></Study>\n'
    )
    reader = read_clinical_data(clinical(study), path="in.xml")
    list(reader)
    assert [f.line for f in reader.findings if f.code == "ODM-IMP-012"] == [12]


def test_without_metadata_nothing_is_checked() -> None:
    reader = read_clinical_data(clinical(), path="in.xml")
    list(reader)
    assert "ODM-IMP-012" not in [f.code for f in reader.findings]
