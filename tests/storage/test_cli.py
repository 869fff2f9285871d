"""The storage commands of `edc`: db upgrade, study load, site list, user ..., audit."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import Engine

from cli import main
from tests.storage.conftest import Db, study_xml
from tests.storage.helpers import save


def edc(db: Db, *args: str, input: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(main, [*args, "--db", db.url], input=input)
    return result.exit_code, result.output


def test_db_upgrade_is_idempotent(db: Db) -> None:
    assert edc(db, "db", "upgrade") == (0, "Database is up to date (revision 0009).\n")


def test_study_load_stores_then_says_unchanged_then_refuses_orphans(db: Db, tmp_path: Path) -> None:
    path = tmp_path / "study.xml"
    path.write_bytes(study_xml())
    code, out = edc(db, "study", "load", str(path))
    assert code == 0 and "stored metadata version 1 (MDV.1" in out
    assert "Sites added: SITE.1, SITE.2" in out
    code, out = edc(db, "study", "load", str(path))
    assert code == 0 and "metadata unchanged (version 1" in out
    assert edc(db, "study", "load", str(tmp_path / "missing.xml")) == (
        2,
        f"Error: {tmp_path / 'missing.xml'}: no such file\n",
    )


def test_users_roles_sites_and_audit_from_the_command_line(db: Db, study: Engine) -> None:
    typed = "Harbour-Lights-9\nHarbour-Lights-9\n"
    code, out = edc(db, "user", "add", "paula", "--full-name", "Paula P", input=typed)
    assert code == 0 and out.endswith("User paula added.\n")
    code, out = edc(db, "user", "set-role", "paula", "monitor", "--study", "S.1")
    assert (code, out) == (0, "paula is monitor in S.1 at every site.\n")
    code, out = edc(db, "user", "list")
    assert "paula                Paula P                        S.1/*:monitor" in out
    code, out = edc(db, "user", "log", "--user", "paula")
    assert code == 0 and [line.split()[1:] for line in out.splitlines()] == [
        ["cli", "role_granted", "paula", "S.1/*:monitor"],
        ["cli", "user_added", "paula", "-"],
    ]
    code, out = edc(db, "site", "list")
    assert "S.1              SITE.1                  1  Hamburg" in out
    save(study, {("IG.DM", "", "IT.AGE"): "42", ("IG.DM", "", "IT.SEX"): "F"})
    code, out = edc(db, "audit", "001", "--item", "IT.AGE")
    lines = out.splitlines()
    assert code == 0 and len(lines) == 2
    assert "ivy (investigator)" in lines[1] and "SE.SCREEN/F.DM/IG.DM/IT.AGE" in lines[1]
    assert " Insert " in lines[1] and " 42 " in lines[1] and lines[1].endswith("web")
    assert edc(db, "audit", "999")[0] == 2
