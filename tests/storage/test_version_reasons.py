"""The reasons of publishing a metadata version and of migrating subjects reach the database
(metadata_publications, subject_versions, the migration's audit rows) and the exports, so they
are checked at the door like every other text (issue 14, finding 1): a character XML 1.0
cannot carry, or a reason over its limit, is refused with the field named and nothing is
stored. SQLite and PostgreSQL; the CLI answers exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine

from cli import main
from odm_engine.free_text import LIMITS, REASON, USERNAME, TextRefusedError
from storage.engine import write_transaction
from storage.studies import load_study, publish_version
from storage.versions import migrate_subjects
from tests.storage.conftest import MANAGER, Db
from tests.storage.helpers import dump
from tests.storage.test_versions import changed_name

BAD = ["ok\x01then", "nul\x00here", "x" * (LIMITS[REASON] + 1)]


def _draft(engine: Engine) -> None:
    with write_transaction(engine) as conn:
        assert load_study(conn, changed_name(), path="v2.xml").status == "stored"


@pytest.mark.parametrize("reason", BAD, ids=["control", "nul", "too-long"])
def test_a_publication_reason_that_cannot_be_stored_is_refused(study: Engine, reason: str) -> None:
    _draft(study)
    before = dump(study)
    with write_transaction(study) as conn, pytest.raises(TextRefusedError, match="Reason"):
        publish_version(conn, "S.1", 2, user=MANAGER, reason=reason)
    assert dump(study) == before


@pytest.mark.parametrize("reason", BAD, ids=["control", "nul", "too-long"])
def test_a_migration_reason_that_cannot_be_stored_is_refused(study: Engine, reason: str) -> None:
    _draft(study)
    with write_transaction(study) as conn:
        publish_version(conn, "S.1", 2, user=MANAGER, reason="Amendment 1")
    before = dump(study)
    with write_transaction(study) as conn, pytest.raises(TextRefusedError, match="Reason"):
        migrate_subjects(conn, "S.1", 2, user=MANAGER, reason=reason)
    assert dump(study) == before


def test_the_cli_refuses_them_with_exit_2(db: Db, study: Engine) -> None:
    _draft(study)

    def edc(*args: str) -> tuple[int, str]:
        done = CliRunner().invoke(main, [*args, "--db", db.url])
        assert "Traceback" not in done.output
        return done.exit_code, done.output

    code, out = edc("study", "publish", "2", "--study", "S.1", "--user", MANAGER, "--reason",
                    "why\x01")  # fmt: skip
    assert code == 2 and "U+0001 at position 4" in out, out
    assert edc("study", "publish", "2", "--study", "S.1", "--user", MANAGER, "--reason",
               "Amendment 1")[0] == 0  # fmt: skip
    code, out = edc("study", "migrate", "--study", "S.1", "--to", "2", "--user", MANAGER,
                    "--reason", "why\x02")  # fmt: skip
    assert code == 2 and "U+0002 at position 4" in out, out


def test_a_publisher_name_that_cannot_be_stored_is_refused(db: Db, study: Engine) -> None:
    """`edc study publish --user` names the publisher the operator gives: the name is stored
    with the publication, so it is checked like a user name (and the command exits 2)."""
    _draft(study)
    before = dump(study)
    for name in ("ghost\x01", "n" * (LIMITS[USERNAME] + 1)):
        with write_transaction(study) as conn, pytest.raises(TextRefusedError, match="User"):
            publish_version(conn, "S.1", 2, user=name, reason="Amendment 1")
    done = CliRunner().invoke(
        main, ["study", "publish", "2", "--user", "ghost\x01", "--reason", "R", "--db", db.url]
    )
    assert done.exit_code == 2 and "U+0001 at position 6" in done.output, done.output
    assert dump(study) == before


def test_a_loader_name_that_cannot_be_stored_is_refused(
    db: Db, study: Engine, tmp_path: Path
) -> None:
    """`edc study load --user` is kept with the version and names the access-log rows of its
    sites: checked like a user name before anything is read or stored."""
    before = dump(study)
    for name in ("lo\x01der", "n" * (LIMITS[USERNAME] + 1)):
        with write_transaction(study) as conn, pytest.raises(TextRefusedError, match="User"):
            load_study(conn, changed_name(), path="v2.xml", loaded_by=name)
    assert dump(study) == before
    (tmp_path / "v2.xml").write_bytes(changed_name())
    done = CliRunner().invoke(
        main, ["study", "load", str(tmp_path / "v2.xml"), "--user", "lo\x01der", "--db", db.url]
    )
    assert done.exit_code == 2 and "U+0001 at position 3" in done.output, done.output
    assert dump(study) == before
