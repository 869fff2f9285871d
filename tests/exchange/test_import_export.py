"""edc import / edc export through storage: all or nothing, re-import no-op, round trips."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from lxml import etree

from odm_engine.exchange import read_clinical_data
from odm_engine.safexml import make_parser
from odm_engine.xsd import schema
from tests.exchange.helpers import edc as _edc
from tests.exchange.helpers import vs_database, vs_study

SUBJECTS = """
<SubjectData SubjectKey="001"><SiteRef LocationOID="LOC.1"/>
 <StudyEventData StudyEventOID="SE.BASE">
  <FormData FormOID="F.DM"><ItemGroupData ItemGroupOID="IG.DM">
   <ItemData ItemOID="IT.SEX" Value="F"/><ItemData ItemOID="IT.BRTHDAT" Value="1970-05-01"/>
   <ItemData ItemOID="IT.HEIGHT" Value="172.5"/><ItemData ItemOID="IT.WEIGHT" IsNull="Yes"/>
  </ItemGroupData></FormData>
  <FormData FormOID="F.VS">
   <ItemGroupData ItemGroupOID="IG.VS" ItemGroupRepeatKey="1">
    <ItemData ItemOID="IT.VSTESTCD" Value="SYSBP"/><ItemData ItemOID="IT.VSORRES" Value="120"/>
    <ItemData ItemOID="IT.VSORRESU_BP" Value="mmHg"/></ItemGroupData>
   <ItemGroupData ItemGroupOID="IG.VS" ItemGroupRepeatKey="2">
    <ItemData ItemOID="IT.VSTESTCD" Value="HEIGHT"/><ItemData ItemOID="IT.VSORRES" Value="172"/>
    <ItemData ItemOID="IT.VSORRESU_HT" Value="cm"/></ItemGroupData>
  </FormData></StudyEventData>
 <StudyEventData StudyEventOID="SE.FU" StudyEventRepeatKey="1"><FormData FormOID="F.VS">
   <ItemGroupData ItemGroupOID="IG.VS" ItemGroupRepeatKey="1">
    <ItemData ItemOID="IT.VSTESTCD" Value="DIABP"/><ItemData ItemOID="IT.VSORRES" Value="80"/>
   </ItemGroupData></FormData></StudyEventData>
</SubjectData>
<SubjectData SubjectKey="002"><SiteRef LocationOID="LOC.2"/>
 <StudyEventData StudyEventOID="SE.BASE"><FormData FormOID="F.DM">
  <ItemGroupData ItemGroupOID="IG.DM"><ItemData ItemOID="IT.SEX" Value="{sex}"/>
  </ItemGroupData></FormData></StudyEventData>
</SubjectData>
"""


def _data_file(tmp: Path, name: str = "data.xml", sex: str = "M") -> Path:
    clinical = (
        '<ClinicalData StudyOID="S.1" MetaDataVersionOID="MDV.1">'
        + SUBJECTS.replace("{sex}", sex)
        + "</ClinicalData>"
    )
    path = tmp / name
    path.write_bytes(vs_study(clinical))
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database with the VS study and a data manager (SQLite file or PG schema)."""
    with vs_database(request.param, tmp_path, "x") as url:
        yield url


def _count(url: str, table: str) -> int:
    from sqlalchemy import text

    from storage.engine import make_engine

    engine = make_engine(url)
    with engine.connect() as conn:
        count = int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
    engine.dispose()
    return count


def _values(data: bytes) -> list[tuple[str, object, str | None]]:
    return sorted(
        (s.subject_key, i.key, i.value) for s in read_clinical_data(data) for i in s.items()
    )


def test_import_then_snapshot_export_keeps_every_value_and_key(db: str, tmp_path: Path) -> None:
    """Acceptance: import, export as XSD-valid ODM 1.3.2 with every value and its key."""
    source = _data_file(tmp_path)
    result = _edc("import", str(source), "--user", "dm", db=db)
    assert result.exit_code == 0, result.output
    assert "imported (ODM 1.3.2): 2 subjects, 13 items read; wrote 13 values" in result.output
    out = tmp_path / "export.xml"
    result = _edc("export", "odm", "-o", str(out), "--metadata", "--admin", db=db)
    assert result.exit_code == 0, result.output
    root = etree.fromstring(out.read_bytes(), make_parser())
    assert schema().validate(root), schema().error_log
    assert _values(out.read_bytes()) == _values(source.read_bytes())


def test_own_export_round_trips_identically_through_a_second_database(
    db: str, tmp_path: Path
) -> None:
    """Export -> import into a fresh database -> export: identical apart from timestamps."""
    assert _edc("import", str(_data_file(tmp_path)), "--user", "dm", db=db).exit_code == 0
    first = tmp_path / "first.xml"
    assert _edc("export", "odm", "-o", str(first), "--metadata", "--admin", db=db).exit_code == 0
    second_db = f"sqlite:///{tmp_path / 'second.db'}"
    for args in (
        ("db", "upgrade"),
        ("study", "load", str(first)),
        ("user", "add", "dm", "--password", "import-manager-pw"),
        ("user", "set-role", "dm", "data_manager", "--study", "S.1"),
        ("import", str(first), "--user", "dm"),
    ):
        result = _edc(*args, db=second_db)
        assert result.exit_code == 0, result.output
    second = tmp_path / "second.xml"
    result = _edc("export", "odm", "-o", str(second), "--metadata", "--admin", db=second_db)
    assert result.exit_code == 0

    def normalise(data: bytes) -> str:
        text = data.decode()
        return re.sub(r'(CreationDateTime|FileOID)="[^"]*"', r'\1=""', text)

    assert normalise(first.read_bytes()) == normalise(second.read_bytes())


def test_one_bad_value_rejects_the_file_and_reports_its_full_key(db: str, tmp_path: Path) -> None:
    source = _data_file(tmp_path, sex="X")
    result = _edc("import", str(source), "--user", "dm", "--format", "json", db=db)
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert report["status"] == "rejected"
    problems = [f for f in report["findings"] if f["code"] == "ODM-IMP-020"]
    assert len(problems) == 1
    assert problems[0]["message"].startswith('Subject 002: SE.BASE/F.DM/IG.DM/IT.SEX: value "X": ')
    assert _count(db, "item_data") == 0
    assert _count(db, "subjects") == 0
    assert _count(db, "audit_trail") == 0


def test_reimporting_the_same_file_changes_nothing_and_says_so(db: str, tmp_path: Path) -> None:
    source = _data_file(tmp_path)
    assert _edc("import", str(source), "--user", "dm", db=db).exit_code == 0
    rows = _count(db, "audit_trail")
    result = _edc("import", str(source), "--user", "dm", db=db)
    assert result.exit_code == 0
    assert (
        "ODM-IMP-021" in result.output and "already imported; nothing was written" in result.output
    )
    assert _count(db, "audit_trail") == rows


def test_dry_run_reports_and_writes_nothing(db: str, tmp_path: Path) -> None:
    result = _edc("import", str(_data_file(tmp_path)), "--user", "dm", "--dry-run", db=db)
    assert result.exit_code == 0, result.output
    assert "dry run" in result.output and "nothing was written" in result.output
    assert _count(db, "item_data") == 0 and _count(db, "audit_trail") == 0


def test_transactional_audit_export_lists_every_change(db: str, tmp_path: Path) -> None:
    assert _edc("import", str(_data_file(tmp_path)), "--user", "dm", db=db).exit_code == 0
    update = _data_file(tmp_path, "update.xml", sex="F")
    result = _edc("import", str(update), "--user", "dm", "--reason", "corrected", db=db)
    assert result.exit_code == 0, result.output
    out = tmp_path / "audit.xml"
    result = _edc("export", "odm", "-o", str(out), "--transactional", "--audit", db=db)
    assert result.exit_code == 0, result.output
    root = etree.fromstring(out.read_bytes(), make_parser())
    assert schema().validate(root), schema().error_log
    ns = {"odm": "http://www.cdisc.org/ns/odm/v1.3"}
    changes = root.xpath(
        "//odm:SubjectData[@SubjectKey='002']//odm:ItemData[@ItemOID='IT.SEX']", namespaces=ns
    )
    assert [(c.get("TransactionType"), c.get("Value")) for c in changes] == [
        ("Insert", "M"),
        ("Update", "F"),
    ]
    reason = changes[1].find("odm:AuditRecord/odm:ReasonForChange", ns)
    assert reason is not None and reason.text == "corrected"
    source = changes[1].find("odm:AuditRecord/odm:SourceID", ns)
    assert source is not None and source.text.startswith("import:F.1:")


def test_site_and_subject_filters(db: str, tmp_path: Path) -> None:
    assert _edc("import", str(_data_file(tmp_path)), "--user", "dm", db=db).exit_code == 0
    out = tmp_path / "site.xml"
    assert _edc("export", "odm", "-o", str(out), "--site", "LOC.2", db=db).exit_code == 0
    assert {k for k, _, _ in _values(out.read_bytes())} == {"002"}
    assert _edc("export", "odm", "-o", str(out), "--subject", "001", db=db).exit_code == 0
    assert {k for k, _, _ in _values(out.read_bytes())} == {"001"}


def test_csv_and_dataset_json_match_the_define(db: str, tmp_path: Path) -> None:
    assert _edc("import", str(_data_file(tmp_path)), "--user", "dm", db=db).exit_code == 0
    assert _edc("export", "csv", "-o", str(tmp_path / "csv"), db=db).exit_code == 0
    assert _edc("export", "dataset-json", "-o", str(tmp_path / "dj"), db=db).exit_code == 0
    assert _edc("export", "define", "-o", str(tmp_path / "define.xml"), db=db).exit_code == 0
    vs_csv = (tmp_path / "csv" / "vs.csv").read_text().splitlines()
    assert vs_csv[0] == "STUDYID,USUBJID,SITEID,SUBJID,VISITOID,VISITRK,FORMOID,FORMRK,IGRK," + (
        "VSTESTCD,VSORRES,VSORRESU,VSORRES2"
    )
    # STUDYID: the protocol name; SITEID: the site number of LOC.1; USUBJID: study-site-subject
    assert vs_csv[1:] == [
        "T-1,T-1-1-001,1,001,SE.BASE,1,F.VS,1,1,SYSBP,120,mmHg,",
        "T-1,T-1-1-001,1,001,SE.BASE,1,F.VS,1,2,HEIGHT,172,,cm",
        "T-1,T-1-1-001,1,001,SE.FU,1,F.VS,1,1,DIABP,80,,",
    ]
    header = (tmp_path / "csv" / "header.csv").read_text()
    assert "VS,vs.csv,10,VSTESTCD,Test,text,IT.VSTESTCD" in header
    dataset = json.loads((tmp_path / "dj" / "vs.json").read_text())
    assert dataset["datasetJSONVersion"] == "1.1.0" and dataset["records"] == 3
    define = etree.fromstring((tmp_path / "define.xml").read_bytes(), make_parser())
    ns = {"odm": "http://www.cdisc.org/ns/odm/v1.3", "def": "http://www.cdisc.org/ns/def/v2.1"}
    refs = define.xpath("//odm:ItemGroupDef[@OID='IG.VS']/odm:ItemRef/@ItemOID", namespaces=ns)
    assert [c["itemOID"] for c in dataset["columns"]] == refs
    names = [define.xpath(f"//odm:ItemDef[@OID='{oid}']/@Name", namespaces=ns)[0] for oid in refs]
    assert [c["name"] for c in dataset["columns"]] == names
    assert dataset["rows"][0][:4] == ["T-1", "T-1-1-001", "1", "001"]
    # key lengths from the data: the Define and the Dataset-JSON agree
    lengths = {c["name"]: c.get("length") for c in dataset["columns"]}
    assert (lengths["STUDYID"], lengths["SITEID"], lengths["SUBJID"]) == (3, 1, 3)
    assert lengths["USUBJID"] == 3 + 1 + 1 + 1 + 3
    for name in ("STUDYID", "USUBJID", "SITEID", "SUBJID", "VISITRK", "IGRK"):
        defined = define.xpath(f"//odm:ItemDef[@Name='{name}']/@Length", namespaces=ns)
        assert defined == [str(lengths[name])], name
    leaf = define.xpath(
        "//odm:ItemGroupDef[@OID='IG.VS']/def:leaf/@xlink:href",
        namespaces={**ns, "xlink": "http://www.w3.org/1999/xlink"},
    )
    assert leaf == ["vs.json"]


def test_corpus_files_import_and_export_with_every_value(corpus: Path, tmp_path: Path) -> None:
    """OpenEDC and odmlib files whose metadata storage accepts: import, export, compare."""
    pairs = [
        ("openedc/openedc-example-metadata.xml", "openedc/openedc-example-clinicaldata.xml"),
        ("odmlib/odmlib-odm-data-snapshot.xml", "odmlib/odmlib-odm-data-snapshot.xml"),
    ]
    for n, (metadata, data) in enumerate(pairs):
        url = f"sqlite:///{tmp_path / f'c{n}.db'}"
        study_oid = read_clinical_data((corpus / data).read_bytes())
        first = next(iter(study_oid))
        for args in (
            ("db", "upgrade"),
            ("study", "load", str(corpus / metadata)),
            ("user", "add", "dm", "--password", "import-manager-pw"),
            ("user", "set-role", "dm", "data_manager", "--study", first.study_oid),
            ("import", str(corpus / data), "--user", "dm"),
        ):
            result = _edc(*args, db=url)
            assert result.exit_code == 0, result.output
        out = tmp_path / f"c{n}.xml"
        assert _edc("export", "odm", "-o", str(out), db=url).exit_code == 0
        root = etree.fromstring(out.read_bytes(), make_parser())
        assert schema().validate(root), schema().error_log
        from odm_engine.loader import load_path

        mdv = load_path(str(corpus / metadata)).metadata_version
        assert mdv is not None
        derived = {
            r.item_oid for g in mdv.item_group_defs.values() for r in g.item_refs if r.method_oid
        }
        source = {
            (s, k): v
            for s, k, v in _values((corpus / data).read_bytes())
            if k.item_oid not in derived  # recomputed by the study's MethodDefs on import
        }
        exported = {(s, k): v for s, k, v in _values(out.read_bytes())}
        # later saves of the same key win (OpenEDC writes one FormData per save)
        missing = [k for k, v in source.items() if v not in (None, "") and k not in exported]
        assert not missing, f"{data}: {missing[:3]}"


def test_the_unit_given_with_a_value_is_imported_and_exported(db: str, tmp_path: Path) -> None:
    """ItemData's MeasurementUnitRef is kept (it was dropped on import before) and an
    ItemDef's unit it does not have refuses the file, naming the value."""
    source = _data_file(tmp_path)
    text = source.read_text(encoding="utf-8")
    height = '<ItemData ItemOID="IT.HEIGHT" Value="172.5"/>'
    assert height in text
    with_unit = height.replace("/>", '><MeasurementUnitRef MeasurementUnitOID="MU.{}"/></ItemData>')
    wrong = tmp_path / "wrong-unit.xml"
    wrong.write_text(text.replace(height, with_unit.format("KG")), encoding="utf-8")
    result = _edc("import", str(wrong), "--user", "dm", db=db)
    assert result.exit_code != 0 and "'MU.KG' is not a unit of IT.HEIGHT (MU.CM)" in result.output
    assert _count(db, "item_data") == 0
    source.write_text(text.replace(height, with_unit.format("CM")), encoding="utf-8")
    assert _edc("import", str(source), "--user", "dm", db=db).exit_code == 0
    for mode in (("--snapshot",), ("--transactional", "--audit")):
        out = tmp_path / f"{mode[-1][2:]}.xml"
        result = _edc("export", "odm", *mode, "-o", str(out), db=db)
        assert result.exit_code == 0, result.output
        root = etree.fromstring(out.read_bytes(), make_parser())
        ns = {"odm": "http://www.cdisc.org/ns/odm/v1.3"}
        units = {
            (i.get("ItemOID"), r.get("MeasurementUnitOID"))
            for i in root.iterfind(".//odm:ItemData", ns)
            for r in i.iterfind("odm:MeasurementUnitRef", ns)
        }
        assert units == {("IT.HEIGHT", "MU.CM")}, mode


AUDIT_RECORD = (
    '<AuditRecord><UserRef UserOID="jdoe"/><LocationRef LocationOID="LOC.1"/>'
    "<DateTimeStamp>2019-03-02T10:15:00Z</DateTimeStamp>"
    "<ReasonForChange>Corrected from chart</ReasonForChange><SourceID>EDC-X</SourceID>"
    "</AuditRecord>"
)


def test_the_source_audit_records_are_kept_beside_the_imported_data(
    db: str, tmp_path: Path
) -> None:
    """Who changed a value in the system it came from, when and why, stays readable after
    the import (edc audit --source), append-only; the import's own rows stay as they were."""
    source = _data_file(tmp_path)
    text = source.read_text(encoding="utf-8")
    sex = '<ItemData ItemOID="IT.SEX" Value="F"/>'
    subject = '<SubjectData SubjectKey="001">'
    assert sex in text and subject in text
    text = text.replace(sex, sex[:-2] + ">" + AUDIT_RECORD + "</ItemData>")
    text = text.replace(subject, subject + AUDIT_RECORD.replace("jdoe", "admin7"))
    source.write_text(text, encoding="utf-8")
    result = _edc("import", str(source), "--user", "dm", db=db)
    assert result.exit_code == 0, result.output
    assert "2 AuditRecord(s)" in result.output and "kept beside the imported data" in result.output
    result = _edc("audit", "001", "--source", db=db)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()[1:]
    assert len(lines) == 2
    assert lines[0].split()[1:4] == ["2019-03-02T10:15:00Z", "admin7", "LOC.1"]
    assert "SubjectData" in lines[0]
    item = lines[1].split()
    assert item[1:5] == ["2019-03-02T10:15:00Z", "jdoe", "LOC.1", "SE.BASE/F.DM/IG.DM/IT.SEX"]
    assert "F" in item and "Corrected from chart" in lines[1]
    assert lines[1].endswith(item[-1]) and item[-1].startswith("import:")
    result = _edc("audit", "001", "--source", "--item", "IT.HEIGHT", db=db)
    assert result.output.splitlines()[1:] == []
    assert _count(db, "source_audit") == 2
    from sqlalchemy import text as sql
    from sqlalchemy.exc import DBAPIError

    from storage.engine import make_engine

    engine = make_engine(db)
    try:
        for statement in ("UPDATE source_audit SET user_oid = 'x'", "DELETE FROM source_audit"):
            with pytest.raises(DBAPIError, match="source_audit is append-only"):
                with engine.begin() as conn:
                    conn.execute(sql(statement))
    finally:
        engine.dispose()


def test_an_audit_export_imported_elsewhere_keeps_who_changed_what_when(
    db: str, tmp_path: Path
) -> None:
    """Moving a study between two databases: the second keeps the first one's audit trail
    as source entries (user, time, reason of every change)."""
    assert _edc("import", str(_data_file(tmp_path)), "--user", "dm", db=db).exit_code == 0
    changed = _data_file(tmp_path, "changed.xml", sex="F")
    result = _edc("import", str(changed), "--user", "dm", "--reason", "Chart review", db=db)
    assert result.exit_code == 0, result.output
    trail = tmp_path / "trail.xml"
    assert (
        _edc("export", "odm", "--transactional", "--audit", "-o", str(trail), db=db).exit_code == 0
    )
    second = f"sqlite:///{tmp_path / 'second.db'}"
    study = tmp_path / "study.xml"
    for args in (
        ("db", "upgrade"),
        ("study", "load", str(study)),
        ("user", "add", "dm2", "--password", "import-manager-pw"),
        ("user", "set-role", "dm2", "data_manager", "--study", "S.1"),
        ("import", str(trail), "--user", "dm2", "--reason", "Migration"),
    ):
        result = _edc(*args, db=second)
        assert result.exit_code == 0, result.output
    from storage.audit import source_history
    from storage.engine import make_engine

    engine = make_engine(second)
    with engine.connect() as conn:
        kept = source_history(conn, "S.1", "002", item_oid="IT.SEX")
    engine.dispose()
    assert [(e.transaction_type, e.new_value, e.user_oid, e.reason) for e in kept] == [
        ("Insert", "M", "dm", None),
        ("Update", "F", "dm", "Chart review"),
    ]
    assert all(e.date_time_stamp and e.date_time_stamp.endswith("Z") for e in kept)
    assert kept[0].source_id and kept[0].source_id.startswith("import:")  # the first import


def test_a_repeat_key_on_a_non_repeating_item_group_is_a_located_finding(
    db: str, tmp_path: Path
) -> None:
    """Issue 14: ItemGroupRepeatKey="5" on IG.DM (Repeating="No") stored and exported a
    second row. It is refused, named by its full key; "1" (as OpenClinica and REDCap number
    every group) is taken as the one instance."""

    def data(repeat_key: str) -> Path:
        path = tmp_path / f"rk{repeat_key}.xml"
        path.write_bytes(
            vs_study(
                '<ClinicalData StudyOID="S.1" MetaDataVersionOID="MDV.1">'
                '<SubjectData SubjectKey="001"><SiteRef LocationOID="LOC.1"/>'
                '<StudyEventData StudyEventOID="SE.BASE"><FormData FormOID="F.DM">'
                f'<ItemGroupData ItemGroupOID="IG.DM" ItemGroupRepeatKey="{repeat_key}">'
                '<ItemData ItemOID="IT.SEX" Value="F"/></ItemGroupData>'
                "</FormData></StudyEventData></SubjectData></ClinicalData>"
            )
        )
        return path

    result = _edc("import", str(data("5")), "--user", "dm", "--format", "json", db=db)
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert report["status"] == "rejected"
    assert [f["message"] for f in report["findings"] if f["code"] == "ODM-IMP-020"] == [
        'Subject 001: SE.BASE/F.DM/IG.DM[5]/IT.SEX: value "F": ItemGroupDef IG.DM does not '
        'repeat (Repeating="No"): it takes no ItemGroupRepeatKey ("5" given). Give its values '
        "without one."
    ]
    assert _count(db, "item_data") == 0
    result = _edc("import", str(data("1")), "--user", "dm", db=db)
    assert result.exit_code == 0, result.output
    assert _count(db, "item_groups") == 1
