"""What `edc` says to a newcomer whose database is missing, empty or holds no study, and to
an `edc audit` of an item or subject the study does not have (README: exit codes)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine

from cli import main
from tests.postgres import fresh_schema
from tests.storage.conftest import Db

NO_STUDY = (
    "Error: no study loaded in {url} — run `edc db upgrade` and `edc study load`, or pass --db\n"
)
READS = [
    ["audit", "001"],
    ["site", "list"],
    ["user", "list"],
    ["user", "log"],
    ["export", "odm", "-o", "{out}"],
    ["print", "casebook", "001", "-o", "{out}"],
]


def edc(url: str | None, *args: str, out: Path | None = None) -> tuple[int, str]:
    argv = [a.replace("{out}", str(out)) for a in args]
    if url is not None:
        argv += ["--db", url]
    result = CliRunner().invoke(main, argv, env={"EDC_DATABASE_URL": None})
    assert "Traceback" not in result.output
    return result.exit_code, result.output


@pytest.mark.parametrize("args", READS, ids=lambda a: " ".join(a[:2]))
def test_a_missing_sqlite_file_is_named_and_not_created(tmp_path: Path, args: list[str]) -> None:
    path = tmp_path / "nothing-here.sqlite3"
    url = f"sqlite:///{path}"
    assert edc(url, *args, out=tmp_path / "out") == (2, NO_STUDY.format(url=url))
    assert not path.exists()
    assert not (tmp_path / "out").exists()


def test_the_default_database_is_named_as_the_newcomer_would_type_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert edc(None, "audit", "001") == (2, NO_STUDY.format(url="sqlite:///edc.sqlite3"))
    assert not (tmp_path / "edc.sqlite3").exists()


@pytest.fixture(params=["sqlite", "postgresql"])
def bare(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database that exists but holds no tables (never upgraded)."""
    if request.param == "sqlite":
        path = tmp_path / "empty.sqlite3"
        sqlite3.connect(path).execute("CREATE TABLE t (x)").execute(
            "DROP TABLE t"
        ).connection.close()
        yield f"sqlite:///{path}"
        return
    with fresh_schema("t") as url:
        yield url


@pytest.mark.parametrize("args", READS, ids=lambda a: " ".join(a[:2]))
def test_a_database_without_tables_says_no_study_is_loaded(
    bare: str, tmp_path: Path, args: list[str]
) -> None:
    code, output = edc(bare, *args, out=tmp_path / "out")
    assert (code, output) == (2, NO_STUDY.format(url=_shown(bare)))
    assert "refused the work" not in output


def _shown(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@pytest.mark.parametrize(
    "args",
    [
        ["audit", "001"],
        ["export", "odm", "-o", "{out}"],
        ["print", "casebook", "001", "-o", "{out}"],
    ],
    ids=lambda a: " ".join(a[:2]),
)
def test_an_upgraded_database_without_a_study_says_so(
    db: Db, tmp_path: Path, args: list[str]
) -> None:
    assert edc(db.url, *args, out=tmp_path / "out") == (2, NO_STUDY.format(url=_shown(db.url)))


def test_site_list_of_a_database_without_a_study_says_so(db: Db) -> None:
    assert edc(db.url, "site", "list") == (2, NO_STUDY.format(url=_shown(db.url)))


def test_audit_of_an_unknown_item_names_the_nearest(db: Db, study: Engine) -> None:
    assert edc(db.url, "audit", "001", "--item", "IT.AGEE") == (
        2,
        "Error: IT.AGEE is not an item of study S.1; did you mean IT.AGE?\n",
    )
    assert edc(db.url, "audit", "001", "--item", "IT.NOPE") == (
        2,
        "Error: IT.NOPE is not an item of study S.1; `edc info` lists its items.\n",
    )
    code, output = edc(db.url, "audit", "001", "--item", "IT.AGE")
    assert code == 0 and output.startswith("   SEQ  WHEN (UTC)")


def test_audit_of_an_unknown_subject_names_the_nearest(db: Db, study: Engine) -> None:
    assert edc(db.url, "audit", "01") == (
        2,
        "Error: No subject '01' in study S.1; did you mean 001?\n",
    )
    assert edc(db.url, "audit", "XYZ") == (2, "Error: No subject 'XYZ' in study S.1.\n")


def test_a_value_the_database_refuses_is_an_input_problem_not_a_database_one(
    db: Db, study: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A DataError (a value too long for its column, a character the database cannot store)
    comes from the input, not from a broken database: exit 2 and "correct the input", never
    "fix the database (space, permissions, server)"."""
    from sqlalchemy.exc import DataError

    import storage.users

    def refuse(_conn: object) -> None:
        raise DataError(
            "INSERT ...", {}, Exception("value too long for type character varying(100)")
        )

    monkeypatch.setattr(storage.users, "list_users", refuse)
    code, output = edc(db.url, "user", "list")
    assert code == 2
    assert output == (
        "Error: The database refused a value (value too long for type character varying(100)); "
        "nothing was written. A text, key or OID of the input is longer than the database keeps "
        "or holds a character it cannot store: correct the input and run the command again.\n"
    )
