"""ODM <-> sheets (issue 21): the round trip is lossless for the shipped study and the CDISC
CDASH library, what has no column is kept in odm_extra and reported, and a broken cell gets
a finding that names it."""

from __future__ import annotations

from pathlib import Path

import pytest

from odm_engine.design_sheets import from_sheets, to_sheets
from tests.conftest import REPO, odm, one_item_study
from tests.design.compare import canonical, model_differences

BORTEZOMIB = REPO / "metadata" / "bortezomib-retreatment.xml"
CDASH = "cdisc_odm13/cdisc-cdash-odm-1_3_1.xml"


def round_trip(xml: bytes) -> bytes:
    exported = to_sheets(xml)
    assert exported.sheets is not None and exported.ok, exported.findings
    back = from_sheets(exported.sheets)
    assert back.xml is not None, [f.format() for f in back.findings]
    return back.xml


def test_bortezomib_round_trip_is_lossless() -> None:
    xml = BORTEZOMIB.read_bytes()
    back = round_trip(xml)
    assert model_differences(xml, back) == []
    assert canonical(back) == canonical(xml)


def test_cdash_round_trip_is_lossless(corpus: Path) -> None:
    xml = (corpus / CDASH).read_bytes()
    back = round_trip(xml)
    assert model_differences(xml, back) == []
    assert canonical(back) == canonical(xml)


def test_the_comparison_sees_a_lost_question() -> None:
    """The round-trip tests can fail: clearing one Question cell is a difference."""
    xml = BORTEZOMIB.read_bytes()
    sheets = to_sheets(xml).sheets
    assert sheets is not None
    items = sheets["items"]
    column = items[0].index("Question[de]")
    row = next(r for r in items[1:] if r[column])
    row[column] = ""
    back = from_sheets(sheets).xml
    assert back is not None
    differences = model_differences(xml, back)
    assert len(differences) == 1 and ".question.translations" in differences[0]


def test_the_sheets_hold_the_study() -> None:
    sheets = to_sheets(BORTEZOMIB.read_bytes()).sheets
    assert sheets is not None
    items = sheets["items"]
    header = items[0]
    assert header[:6] == [
        "ItemGroupOID",
        "ItemOID",
        "Name",
        "Question[en]",
        "Question[de]",
        "DataType",
    ]
    assert {"Check1", "Check1Comparator", "Check1Values", "Check1Message[en]", "SDTM"} <= set(
        header
    )
    assert len(items) - 1 == 116  # one row per ItemRef
    assert dict(sheets["study"][1:])["MetaDataVersionOID"]
    assert sheets["conditions"][0][:2] == ["ConditionOID", "Name"]


VENDOR = (
    '<Protocol><StudyEventRef StudyEventOID="SE.1" Mandatory="Yes"/></Protocol>\n'
    '<StudyEventDef OID="SE.1" Name="Visit" Repeating="No" Type="Scheduled">'
    '<FormRef FormOID="F.1" Mandatory="Yes"/></StudyEventDef>\n'
    '<FormDef OID="F.1" Name="Form" Repeating="No">'
    '<ItemGroupRef ItemGroupOID="IG.1" Mandatory="Yes"/></FormDef>\n'
    '<ItemGroupDef OID="IG.1" Name="Group" Repeating="No">'
    '<ItemRef ItemOID="IT.A" Mandatory="No"/></ItemGroupDef>\n'
    '<ItemDef OID="IT.A" Name="A" DataType="integer" v:width="3">'
    "<Question><TranslatedText>Age</TranslatedText></Question>"
    '<v:Hint xmlns:v="urn:vendor">years</v:Hint></ItemDef>\n'
    '<Presentation OID="P.1" xml:lang="en">&lt;b&gt;x&lt;/b&gt;</Presentation>'
)


def test_what_has_no_column_is_kept_and_reported() -> None:
    xml = odm(VENDOR, extra_ns=' xmlns:v="urn:vendor"')
    exported = to_sheets(xml)
    assert exported.sheets is not None
    extra = exported.sheets["odm_extra"]
    owners = {(row[0], row[2]) for row in extra[1:]}
    assert owners == {
        ("ItemDef IT.A", "{urn:vendor}width"),
        ("ItemDef IT.A", "Hint"),
        ("MetaDataVersion", "Presentation"),
    }
    [report] = [f for f in exported.findings if f.code == "DSN-010"]
    assert "3 part(s)" in report.message and "Presentation" in report.message
    back = from_sheets(exported.sheets).xml
    assert back is not None
    assert canonical(back) == canonical(xml)


def test_a_deleted_owner_is_reported_not_dropped_silently() -> None:
    sheets = to_sheets(odm(VENDOR, extra_ns=' xmlns:v="urn:vendor"')).sheets
    assert sheets is not None
    sheets["items"] = sheets["items"][:1]
    result = from_sheets(sheets)
    lost = [f for f in result.findings if f.code == "DSN-008"]
    assert len(lost) == 2
    assert lost[0].path == "odm_extra!A2"
    assert "ItemDef IT.A: no such element in the sheets any more" in lost[0].message


def _bortezomib_sheets() -> dict[str, list[list[str]]]:
    sheets = to_sheets(BORTEZOMIB.read_bytes()).sheets
    assert sheets is not None
    return sheets


def test_an_unknown_data_type_is_located_at_its_cell() -> None:
    sheets = _bortezomib_sheets()
    items = sheets["items"]
    assert items[0][5] == "DataType" and items[11][5]  # row 12 carries an ItemDef
    items[11][5] = "intger"
    result = from_sheets(sheets)
    assert result.xml is None and not result.ok
    [error] = [f for f in result.findings if f.severity.value == "error"]
    assert error.format() == (
        'items!F12: DSN-003 error: DataType "intger" is not an ODM DataType (did you mean '
        "integer?). Write one of: " + error.message.split("Write one of: ")[1]
    )
    assert "partialDate" in error.message


@pytest.mark.parametrize(
    ("column", "value", "expected"),
    [
        ("Mandatory", "yes", 'Mandatory "yes" is not Yes or No (did you mean Yes?)'),
        ("Length", "8.5", 'Length "8.5" is not a whole number.'),
        ("Check1Comparator", "GREATER", 'Check1Comparator "GREATER" is not a comparator'),
    ],
)
def test_bad_cells_are_located(column: str, value: str, expected: str) -> None:
    sheets = _bortezomib_sheets()
    items = sheets["items"]
    c = items[0].index(column)
    n = next(i for i, row in enumerate(items) if i and row[c])
    items[n][c] = value
    result = from_sheets(sheets)
    assert result.xml is None
    [error] = [f for f in result.findings if f.severity.value == "error"]
    assert error.path is not None and error.path.endswith(f"{n + 1}")
    assert expected in error.message


def test_an_item_defined_twice_differently_names_both_rows() -> None:
    xml = odm(
        one_item_study(
            item='<ItemDef OID="IT.A" Name="A" DataType="integer"/>',
            item_ref='<ItemRef ItemOID="IT.A"/><ItemRef ItemOID="IT.A"/>',
        )
    )
    sheets = to_sheets(xml).sheets
    assert sheets is not None
    items = sheets["items"]
    items[2][items[0].index("DataType")] = "text"
    result = from_sheets(sheets)
    [error] = [f for f in result.findings if f.code == "DSN-005"]
    assert error.path == "items!D3"  # no texts: no Question column
    assert 'row 2 has "integer"' in error.message


def test_a_missing_sheet_is_an_error() -> None:
    sheets = _bortezomib_sheets()
    del sheets["study"]
    result = from_sheets(sheets)
    assert result.xml is None
    assert any(f.code == "DSN-001" and f.path == "study" for f in result.findings)


def test_a_control_character_or_bad_name_is_a_finding_not_a_crash() -> None:
    sheets = _bortezomib_sheets()
    items = sheets["items"]
    items[3][2] = "Age\x01"
    result = from_sheets(sheets)
    assert result.xml is None
    [error] = [f for f in result.findings if f.code == "DSN-012"]
    assert error.path == "items!C4" and "control character" in error.message
    sheets = _bortezomib_sheets()
    sheets["study"].append(["xmlns:1bad", "urn:x"])
    result = from_sheets(sheets)
    assert result.xml is None
    assert any(f.code == "DSN-012" and "XML cannot carry" in f.message for f in result.findings)


def test_a_designer_adds_an_item_and_a_code_in_the_sheets() -> None:
    """The designer's edit: a new row on items (with a new code list) reaches the ODM."""
    from odm_engine.loader import load_odm

    sheets = _bortezomib_sheets()
    items, codes = sheets["items"], sheets["codelists"]
    header = items[0]
    group = items[1][header.index("ItemGroupOID")]
    row = [""] * len(header)
    for column, value in {
        "ItemGroupOID": group,
        "ItemOID": "IT.NEW",
        "Name": "NEWQ",
        "Question[en]": "New question",
        "Question[de]": "Neue Frage",
        "DataType": "integer",
        "Length": "1",
        "CodeListOID": "CL.NEW",
        "Mandatory": "No",
        "SDTM": "SUPPDM.QVAL",
    }.items():
        row[header.index(column)] = value
    items.append(row)
    for n, (value, decode) in enumerate((("1", "Ja"), ("2", "Nein"))):
        code = [""] * len(codes[0])
        code[codes[0].index("CodeListOID")] = "CL.NEW"
        if n == 0:
            code[codes[0].index("Name")] = "New list"
            code[codes[0].index("DataType")] = "integer"
        code[codes[0].index("CodedValue")] = value
        code[codes[0].index("Decode[de]")] = decode
        codes.append(code)
    xml = from_sheets(sheets).xml
    assert xml is not None
    study = load_odm(xml).study
    assert study is not None
    mdv = study.metadata_version()
    assert mdv is not None
    item = mdv.item_defs["IT.NEW"]
    assert item.question.get("de") == "Neue Frage" and item.code_list_oid == "CL.NEW"
    assert [(a.context, a.name) for a in item.aliases] == [("SDTM", "SUPPDM.QVAL")]
    assert mdv.code_lists["CL.NEW"].coded_values == ("1", "2")
    assert mdv.item_group_defs[group].item_refs[-1].item_oid == "IT.NEW"


def _corpus_odm13(corpus: Path) -> list[tuple[str, bytes]]:
    import csv

    out = []
    with (corpus / "MANIFEST.tsv").open(encoding="utf-8") as manifest:
        for row in csv.DictReader(manifest, delimiter="\t"):
            data = (corpus / row["path"]).read_bytes()
            head = data[:3000]
            if b"http://www.cdisc.org/ns/odm/v1.3" in head and b"<ODM" in head:
                out.append((row["path"], data))
    return out


def test_every_corpus_odm_file_round_trips_or_names_its_cells(corpus: Path) -> None:
    """Each ODM 1.3 file of the corpus comes back equal (model and canonical XML); a file
    the schema refuses (broken_tricky/) may instead be refused, with findings at cells."""
    lossless = 0
    for path, data in _corpus_odm13(corpus):
        exported = to_sheets(data)
        assert exported.sheets is not None, path
        back = from_sheets(exported.sheets)
        if back.xml is None:
            assert path.startswith("broken_tricky/"), (path, back.findings)
            errors = [f for f in back.findings if f.severity.value == "error"]
            assert errors and all(f.path and "!" in f.path for f in errors), path
            continue
        assert model_differences(data, back.xml) == [], path
        assert canonical(back.xml) == canonical(data), path
        lossless += 1
    assert lossless >= 25
