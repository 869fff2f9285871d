"""``edc design export`` / ``import`` through a real .xlsx file (issue 21)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from click.testing import CliRunner

from cli import main
from renderers.xlsx import read_workbook, write_workbook
from tests.conftest import REPO, odm, one_item_study
from tests.design.compare import canonical, model_differences

BORTEZOMIB = REPO / "metadata" / "bortezomib-retreatment.xml"


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_export_then_import_gives_the_study_back(tmp_path: Path) -> None:
    book, back = tmp_path / "study.xlsx", tmp_path / "back.xml"
    code, out = _run("design", "export", str(BORTEZOMIB), "-o", str(book))
    assert code == 0, out
    assert "DSN-010" in out and "AdminData" in out  # what has no column is reported
    sheets = read_workbook(book)
    assert list(sheets)[:5] == ["study", "events", "forms", "groups", "items"]
    code, out = _run("design", "import", str(book), "-o", str(back))
    assert code == 0, out
    xml = BORTEZOMIB.read_bytes()
    assert model_differences(xml, back.read_bytes()) == []
    assert canonical(back.read_bytes()) == canonical(xml)
    code, out = _run("validate", str(back))
    assert code == 0, out


def test_a_broken_cell_is_named_and_nothing_is_written(tmp_path: Path) -> None:
    book, back = tmp_path / "study.xlsx", tmp_path / "back.xml"
    assert _run("design", "export", str(BORTEZOMIB), "-o", str(book))[0] == 0
    sheets = read_workbook(book)
    sheets["items"][11][5] = "intger"
    write_workbook(sheets, book)
    code, out = _run("design", "import", str(book), "-o", str(back))
    assert code == 1
    assert 'items!F12: DSN-003 error: DataType "intger" is not an ODM DataType' in out
    assert not back.exists()


def test_cells_that_look_like_numbers_or_formulas_stay_text(tmp_path: Path) -> None:
    item = (
        '<ItemDef OID="IT.A" Name="=A1+1" DataType="text" Length="007">'
        "<Question><TranslatedText>=SUM(1)</TranslatedText></Question></ItemDef>"
    )
    xml = odm(one_item_study(item=item))
    study, book, back = tmp_path / "s.xml", tmp_path / "s.xlsx", tmp_path / "b.xml"
    study.write_bytes(xml)
    assert _run("design", "export", str(study), "-o", str(book))[0] == 0
    assert _run("design", "import", str(book), "-o", str(back))[0] == 0
    assert canonical(back.read_bytes()) == canonical(xml)


def test_unreadable_input_exits_2(tmp_path: Path) -> None:
    not_xml = tmp_path / "notes.xml"
    not_xml.write_text("hello")
    code, out = _run("design", "export", str(not_xml), "-o", str(tmp_path / "x.xlsx"))
    assert code == 2 and "ODM-XML-001" in out
    code, out = _run("design", "import", str(not_xml), "-o", str(tmp_path / "x.xml"))
    assert code == 2 and "not a readable .xlsx workbook" in out
    fake = tmp_path / "fake.xlsx"
    fake.write_bytes(b"PK\x03\x04garbage")
    code, out = _run("design", "import", str(fake), "-o", str(tmp_path / "x.xml"))
    assert code == 2 and "Traceback" not in out


def test_an_unwritable_output_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    out_path = tmp_path / "missing" / "study.xlsx"
    code, out = _run("design", "export", str(BORTEZOMIB), "-o", str(out_path))
    assert code == 2 and "cannot write" in out and "Traceback" not in out
    assert not out_path.parent.exists()


def test_a_workbook_with_a_damaged_sheet_exits_2(tmp_path: Path) -> None:
    """openpyxl's read-only mode parses a sheet only while streaming it: a sheet cut short
    is refused as unreadable then, not shown as a traceback."""
    sound = io.BytesIO()
    write_workbook({"A": [["x", "y"], ["1", "2"]]}, sound)
    damaged = tmp_path / "damaged.xlsx"
    with zipfile.ZipFile(sound) as zin, zipfile.ZipFile(damaged, "w") as zout:
        for name in zin.namelist():
            data = zin.read(name)
            zout.writestr(name, data[: len(data) // 2] if "worksheets/sheet" in name else data)
    code, out = _run("design", "import", str(damaged), "-o", str(tmp_path / "x.xml"))
    assert code == 2 and "not a readable .xlsx workbook" in out
    assert not (tmp_path / "x.xml").exists()
