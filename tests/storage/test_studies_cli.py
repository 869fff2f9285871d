"""The command line on a database holding two studies (issue 16): commands that act on one
study take --study, and without it say which studies there are (exit 2, no traceback)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine

from cli import main
from storage.engine import write_transaction
from storage.studies import load_study
from storage.subjects import create_subject
from storage.users import set_role
from storage.vocabulary import Role
from tests.conftest import odm
from tests.storage.conftest import ADMIN, MANAGER, STUDY_BODY, Db

NEEDS_STUDY = "this database holds studies S.1, S.2: pass --study"


@pytest.fixture
def two_studies(study: Engine) -> Engine:
    """The test study S.1 and a second one, S.2, with subject 001 in each."""
    admin = ADMIN.replace('"S.1"', '"S.2"').replace("SITE.", "OTHER.")
    with write_transaction(study) as conn:
        assert load_study(conn, odm(STUDY_BODY, admin=admin, study_oid="S.2")).status == "stored"
        set_role(conn, MANAGER, "S.2", Role.DATA_MANAGER)
        create_subject(
            conn,
            study="S.2",
            subject_key="001",
            site_oid="OTHER.1",
            user=MANAGER,
            role="data_manager",
        )
    return study


def edc(db: Db, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, [*args, "--db", db.url])
    assert "Traceback" not in result.output
    return result.exit_code, result.output


@pytest.mark.parametrize(
    "command",
    [
        ("audit", "001"),
        ("export", "csv", "-o", "{out}"),
        ("export", "odm", "-o", "{out}/odm.xml"),
        ("print", "casebook", "001", "-o", "{out}/cb.pdf"),
        ("print", "blank", "-o", "{out}/blank.pdf"),
        ("demo", "seed"),
    ],
    ids=" ".join,
)
def test_a_command_on_one_study_needs_study_when_there_are_two(
    db: Db, two_studies: Engine, tmp_path: Path, command: tuple[str, ...]
) -> None:
    args = [a.format(out=tmp_path) for a in command]
    code, out = edc(db, *args)
    assert code == 2 and NEEDS_STUDY in out, out


def test_study_names_the_study(db: Db, two_studies: Engine, tmp_path: Path) -> None:
    code, out = edc(db, "audit", "001", "--study", "S.2")
    assert code == 0, out
    code, out = edc(db, "export", "odm", "-o", str(tmp_path / "s2.xml"), "--study", "S.2")
    assert code == 0, out
    exported = (tmp_path / "s2.xml").read_text()
    assert 'FileOID="S.2.export' in exported
    code, out = edc(db, "site", "list", "--study", "S.2")
    assert code == 0 and "OTHER.1" in out and "SITE.1" not in out, out


def test_one_study_needs_no_study_option(db: Db, study: Engine, tmp_path: Path) -> None:
    code, out = edc(db, "audit", "001")
    assert code == 0, out
