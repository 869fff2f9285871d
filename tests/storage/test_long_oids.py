"""An OID the store keeps in a column of 100 characters (a study, a MetaDataVersion, a site,
a StudyEventDef, FormDef, ItemGroupDef, ItemDef, MeasurementUnit, SignatureDef) is refused at
the metadata load with a located error finding, EDC-STORE-005 (issue 14, finding 12: on
PostgreSQL a 120-character Location OID was "the database refused the work ... fix the
database", and a long FormOID loaded, then made every save of that form fail). SQLite and
PostgreSQL; nothing is stored."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine

from cli import main
from storage.engine import write_transaction
from storage.oid_limits import LONG_OID_CODE
from storage.studies import load_study
from tests.storage.conftest import ADMIN, Db, study_xml
from tests.storage.helpers import dump

LONG = "X" * 101


def _with(kind: str, oid: str) -> bytes:
    """The test study with one OID of ``kind`` replaced by ``oid`` (and its references)."""
    old = {"site": "SITE.2", "form": "F.AE", "item": "IT.AETERM", "group": "IG.AE"}[kind]
    admin = ADMIN.replace(f'"{old}"', f'"{oid}"')
    return study_xml(admin=admin).replace(f'"{old}"'.encode(), f'"{oid}"'.encode())


@pytest.mark.parametrize("kind", ["site", "form", "item", "group"])
def test_an_oid_over_the_column_is_a_located_error_and_nothing_is_stored(
    engine: Engine, kind: str
) -> None:
    before = dump(engine)
    with write_transaction(engine) as conn:
        result = load_study(conn, _with(kind, f"{kind.upper()}.{LONG}"), path="long.xml")
    assert result.status == "refused"
    [finding] = [f for f in result.findings if f.code == LONG_OID_CODE]
    assert finding.severity.value == "error" and finding.oid == f"{kind.upper()}.{LONG}"
    assert finding.line and finding.path == "long.xml"
    assert "at most 100" in finding.message
    assert dump(engine) == before


def test_an_oid_of_100_characters_loads(engine: Engine) -> None:
    with write_transaction(engine) as conn:
        result = load_study(conn, _with("form", "F." + "A" * 98), path="ok.xml")
    assert result.status == "stored", [f.format() for f in result.findings]


def test_edc_study_load_names_the_oid_and_exits_1(db: Db, tmp_path: Path) -> None:
    (tmp_path / "long.xml").write_bytes(_with("site", f"SITE.{LONG}"))
    done = CliRunner().invoke(main, ["study", "load", str(tmp_path / "long.xml"), "--db", db.url])
    assert done.exit_code == 1, done.output
    assert f"{LONG_OID_CODE} error" in done.output and "refused the work" not in done.output


@pytest.mark.parametrize("where", ["StudyName", "Location Name"])
def test_a_name_over_its_column_is_a_located_error_and_nothing_is_stored(
    engine: Engine, where: str
) -> None:
    """The StudyName and each Location's Name are kept in columns of 200 characters (on
    PostgreSQL a 250-character one was "the database refused the work")."""
    long = "N" * 201
    if where == "StudyName":
        xml = study_xml().replace(b"<StudyName>Test<", f"<StudyName>{long}<".encode())
    else:
        xml = study_xml(admin=ADMIN.replace('Name="Lyon"', f'Name="{long}"'))
    before = dump(engine)
    with write_transaction(engine) as conn:
        result = load_study(conn, xml, path="long.xml")
    assert result.status == "refused"
    [finding] = [f for f in result.findings if f.code == LONG_OID_CODE]
    assert f"{where} " in finding.message and "at most 200" in finding.message and finding.line
    assert dump(engine) == before
