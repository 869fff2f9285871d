"""`edc study diff OLD NEW`: files and stored versions (STUDYOID@N), exit codes 0/1/2."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from cli import main
from storage.engine import write_transaction
from storage.studies import load_study
from tests.storage.conftest import STUDY_BODY, Db, study_xml

CHANGED = STUDY_BODY.replace(
    '<ItemDef OID="IT.INITIALS" Name="INITIALS" DataType="text" Length="3">',
    '<ItemDef OID="IT.INITIALS" Name="INITIALS" DataType="text" Length="4">',
).replace(
    '<RangeCheck Comparator="GE" SoftHard="Hard">', '<RangeCheck Comparator="GE" SoftHard="Soft">'
)


def edc(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["study", "diff", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def files(tmp_path: Path) -> tuple[str, str]:
    old, new = tmp_path / "v1.xml", tmp_path / "v2.xml"
    old.write_bytes(study_xml())
    new.write_bytes(study_xml(CHANGED, mdv_oid="MDV.2"))
    return str(old), str(new)


def test_identical_files_exit_0_and_say_so(tmp_path: Path) -> None:
    old, _new = files(tmp_path)
    assert edc(old, old) == (0, "No differences.\n")


def test_changed_files_exit_1_with_changes_grouped_by_element(tmp_path: Path) -> None:
    old, new = files(tmp_path)
    code, out = edc(old, new)
    assert code == 1
    assert out.splitlines() == [
        "3 change(s): 3 changed",
        "  MetaDataVersion  1 changed",
        "  ItemDef          1 changed",
        "  RangeCheck       1 changed",
        "",
        "MetaDataVersion (1)",
        "  changed  MetaDataVersion OID 'MDV.1' -> 'MDV.2'",
        "ItemDef (1)",
        "  changed  ItemDef IT.INITIALS: Length '3' -> '4'",
        "RangeCheck (1)",
        "  changed  ItemDef IT.AGE: RangeCheck Hard GE 18 is now Soft",
    ]


def test_json_is_a_list_of_change_objects(tmp_path: Path) -> None:
    old, new = files(tmp_path)
    code, out = edc(old, new, "--format", "json")
    changes = json.loads(out)
    assert code == 1 and len(changes) == 3
    assert changes[1] == {  # in document order: IT.AGE comes before IT.INITIALS
        "kind": "changed",
        "element": "RangeCheck",
        "oid": "IT.AGE",
        "parent": None,
        "attribute": "SoftHard",
        "old": "Hard",
        "new": "Soft",
        "message": "ItemDef IT.AGE: RangeCheck Hard GE 18 is now Soft",
    }
    assert edc(old, old, "--format", "json") == (0, "[]\n")


def test_unreadable_or_missing_input_exits_2_with_a_message(tmp_path: Path) -> None:
    old, _new = files(tmp_path)
    code, out = edc(old, str(tmp_path / "missing.xml"))
    assert code == 2 and "missing.xml: no such file" in out
    broken = tmp_path / "broken.xml"
    broken.write_text("<ODM><Study")
    code, out = edc(str(broken), old)
    assert code == 2 and "broken.xml: no ODM Study with metadata could be read" in out
    code, out = edc(old, "S.1@1", "--db", f"sqlite:///{tmp_path / 'none.sqlite3'}")
    assert code == 2 and "no study loaded" in out


def test_stored_versions_compare_like_their_files(db: Db, tmp_path: Path) -> None:
    old, new = files(tmp_path)
    with write_transaction(db.engine) as conn:
        assert load_study(conn, study_xml(), path="v1.xml").status == "stored"
        assert load_study(conn, study_xml(CHANGED, mdv_oid="MDV.2"), path="v2.xml").status
    assert edc("S.1@1", "S.1@2", "--db", db.url) == edc(old, new)
    assert edc("S.1@1", old, "--db", db.url) == (0, "No differences.\n")
    code, out = edc("S.1@1", "S.1@9", "--db", db.url)
    assert code == 2 and "Study S.1 has no metadata version 9" in out
    code, out = edc("S.9@1", new, "--db", db.url)
    assert code == 2 and "No study 'S.9'" in out
