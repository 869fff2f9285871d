# ruff: noqa: F811 - the db fixture (SQLite and PostgreSQL) is test_import_export's
"""Issue 19, defects 7, 8 and 9: what the CSV and Dataset-JSON exports hold, read back from
the files ``edc export`` writes (VS study of tests.exchange.helpers, on SQLite and PG)."""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path

import pytest
from lxml import etree

from odm_engine.safexml import make_parser
from tests.exchange.test_import_export import _data_file, _edc, db  # noqa: F401

NS = {"odm": "http://www.cdisc.org/ns/odm/v1.3", "def": "http://www.cdisc.org/ns/def/v2.1"}


def _exports(db: str, out: Path) -> tuple[Path, Path, etree._Element]:
    for fmt, target in (("csv", out / "csv"), ("dataset-json", out / "dj")):
        result = _edc("export", fmt, "-o", str(target), db=db)
        assert result.exit_code == 0, result.output
    assert _edc("export", "define", "-o", str(out / "define.xml"), db=db).exit_code == 0
    define = etree.fromstring((out / "define.xml").read_bytes(), make_parser())
    return out / "csv", out / "dj", define


def _last_audit(db: str) -> str:
    from sqlalchemy import text

    from storage.engine import make_engine

    engine = make_engine(db)
    with engine.connect() as conn:
        last = conn.execute(text("SELECT max(recorded_at) FROM audit_trail")).scalar_one()
    engine.dispose()
    if isinstance(last, str):  # SQLite returns the stored text
        from datetime import datetime

        last = datetime.fromisoformat(last)
    return str(last.strftime("%Y-%m-%dT%H:%M:%S"))


def test_db_last_modified_is_the_last_audited_change_not_the_export_time(
    db: str, tmp_path: Path
) -> None:
    assert _edc("import", str(_data_file(tmp_path)), "--user", "dm", db=db).exit_code == 0
    _csv, first, _ = _exports(db, tmp_path / "a")
    time.sleep(1.1)
    _csv, second, _ = _exports(db, tmp_path / "b")
    stamp = json.loads((first / "dm.json").read_text())["dbLastModifiedDateTime"]
    assert json.loads((second / "dm.json").read_text())["dbLastModifiedDateTime"] == stamp
    assert stamp == _last_audit(db)
    time.sleep(1.1)
    changed = _data_file(tmp_path, "changed.xml", sex="F")
    result = _edc("import", str(changed), "--user", "dm", "--reason", "corrected", db=db)
    assert result.exit_code == 0, result.output
    _csv, third, _ = _exports(db, tmp_path / "c")
    moved = json.loads((third / "vs.json").read_text())["dbLastModifiedDateTime"]
    assert moved == _last_audit(db) and moved > stamp


def test_every_mandatory_and_key_column_is_filled_in_every_row(db: str, tmp_path: Path) -> None:
    assert _edc("import", str(_data_file(tmp_path)), "--user", "dm", db=db).exit_code == 0
    csv_dir, dj_dir, define = _exports(db, tmp_path)
    checked = 0
    for group in define.iterfind(".//odm:ItemGroupDef", NS):
        names = {
            ref.get("ItemOID"): define.xpath(
                f"//odm:ItemDef[@OID='{ref.get('ItemOID')}']/@Name", namespaces=NS
            )[0]
            for ref in group.iterfind("odm:ItemRef", NS)
        }
        required = {
            names[ref.get("ItemOID")]
            for ref in group.iterfind("odm:ItemRef", NS)
            if ref.get("Mandatory") == "Yes" or ref.get("KeySequence")
        }
        assert {"VISITRK", "FORMRK"} <= required or not required & {"VISITRK", "FORMRK"}
        stem = group.get("Name").lower()
        dataset = json.loads((dj_dir / f"{stem}.json").read_text())
        keys = {c["name"] for c in dataset["columns"] if c.get("keySequence")}
        assert keys <= required
        columns = [c["name"] for c in dataset["columns"]]
        with (csv_dir / f"{stem}.csv").open(newline="", encoding="utf-8") as fh:
            csv_rows = list(csv.DictReader(fh))
        assert csv_rows and dataset["rows"]
        for row in dataset["rows"]:
            for name in required:
                assert row[columns.index(name)] not in (None, ""), (stem, name, row)
                checked += 1
        for csv_row in csv_rows:
            for name in required:
                assert csv_row[name] != "", (stem, name, csv_row)
    assert checked


def test_the_unit_chosen_with_a_value_is_a_column_of_csv_and_dataset_json(
    db: str, tmp_path: Path
) -> None:
    source = _data_file(tmp_path)
    text = source.read_text(encoding="utf-8")
    height = '<ItemData ItemOID="IT.HEIGHT" Value="172.5"/>'
    with_unit = '<ItemData ItemOID="IT.HEIGHT" Value="172.5"><MeasurementUnitRef '
    with_unit += 'MeasurementUnitOID="MU.CM"/></ItemData>'
    source.write_text(text.replace(height, with_unit), encoding="utf-8")
    assert _edc("import", str(source), "--user", "dm", db=db).exit_code == 0
    csv_dir, dj_dir, define = _exports(db, tmp_path)
    with (csv_dir / "dm.csv").open(newline="", encoding="utf-8") as fh:
        rows = {r["SUBJID"]: r for r in csv.DictReader(fh)}
    assert rows["001"]["HEIGHT"] == "172.5" and rows["001"]["HEIGHTU"] == "cm"
    assert rows["001"]["WEIGHTU"] == "" and rows["002"]["HEIGHTU"] == ""
    dataset = json.loads((dj_dir / "dm.json").read_text())
    names = [c["name"] for c in dataset["columns"]]
    assert names.index("HEIGHTU") == names.index("HEIGHT") + 1
    by_subject = {r[names.index("SUBJID")]: r for r in dataset["rows"]}
    assert by_subject["001"][names.index("HEIGHTU")] == "cm"
    refs = define.xpath("//odm:ItemGroupDef[@OID='IG.DM']/odm:ItemRef/@ItemOID", namespaces=NS)
    assert [c["itemOID"] for c in dataset["columns"]] == refs
    unit_oid = dataset["columns"][names.index("HEIGHTU")]["itemOID"]
    assert define.xpath(f"//odm:ItemDef[@OID='{unit_oid}']/@Name", namespaces=NS) == ["HEIGHTU"]


def test_an_independent_dataset_json_reader_validates_and_reads_every_file(
    db: str, tmp_path: Path
) -> None:
    """dsjframe (PyPI; Dataset-JSON 1.1 schema and Arrow conversion) validates each file
    offline and reads the rows and columns we wrote."""
    dsjframe = pytest.importorskip("dsjframe", reason="pip install dsjframe (a test dependency)")
    assert _edc("import", str(_data_file(tmp_path)), "--user", "dm", db=db).exit_code == 0
    _csv, dj_dir, _define = _exports(db, tmp_path)
    files = sorted(dj_dir.glob("*.json"))
    assert [f.name for f in files] == ["dm.json", "vs.json"]
    for path in files:
        report = dsjframe.validate_dataset(path)
        assert report["ok"], (path.name, report)
        ours = json.loads(path.read_text(encoding="utf-8"))
        table = dsjframe.read_dataset(path)
        assert table.column_names == [c["name"] for c in ours["columns"]]
        assert table.num_rows == ours["records"] == len(ours["rows"])
