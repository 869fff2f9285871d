"""Metadata loads store all or nothing, a file of another study adds that study (issue 16),
and the sites of a refused version are not added (issue 14, findings 2 and 9)."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import Engine, inspect, text

from cli import main
from odm_engine.findings import Severity
from storage.engine import write_transaction
from storage.studies import NEW_STUDY_CODE, OTHER_STUDY_CODE, list_sites, load_study
from storage.users import access_log
from tests.conftest import odm
from tests.storage.conftest import ADMIN, STUDY_BODY, Db, study_xml
from tests.storage.helpers import save

NEW_SITE = """<Location OID="SITE.3" Name="Graz" LocationType="Site">
  <MetaDataVersionRef StudyOID="S.1" MetaDataVersionOID="MDV.1" EffectiveDate="2026-01-01"/>
</Location>
</AdminData>"""
WITH_NEW_SITE = ADMIN.replace("</AdminData>", NEW_SITE)


def every_row(engine: Engine) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table of the schema (access log and sessions included)."""
    with engine.connect() as conn:
        tables = sorted(inspect(conn).get_table_names())
        return {
            t: sorted((tuple(r) for r in conn.execute(text(f"SELECT * FROM {t}"))), key=repr)
            for t in tables
        }


def other_study() -> bytes:
    admin = ADMIN.replace('"S.1"', '"S.2"').replace("SITE.", "OTHER.")
    return odm(STUDY_BODY, admin=admin, study_oid="S.2")


def test_a_second_study_is_added_beside_the_first(study: Engine) -> None:
    """Issue 16: one database holds many studies; a file of another study adds it."""
    with write_transaction(study) as conn:
        result = load_study(conn, other_study(), path="other.xml", loaded_by="desi")
    assert result.status == "stored" and result.study_oid == "S.2", result.message
    assert set(result.sites_added) == {"OTHER.1", "OTHER.2"}
    with study.connect() as conn:
        assert [s.oid for s in list_sites(conn, "S.1")] == ["SITE.1", "SITE.2"]
        assert [s.oid for s in list_sites(conn, "S.2")] == ["OTHER.1", "OTHER.2"]


def test_the_served_study_is_the_only_one_a_load_may_name(engine: Engine) -> None:
    """Given the study this server serves, a file of another study is refused even on an
    empty database."""
    with write_transaction(engine) as conn:
        result = load_study(conn, other_study(), path="other.xml", study_oid="S.1")
    assert result.status == "refused"
    assert result.message == (
        "other.xml holds study S.2, but this page is for study S.1; nothing was stored. "
        "Load it on the design page of study S.2, or as a new study."
    )
    errors = [f for f in result.findings if f.severity is Severity.ERROR]
    assert [(f.code, f.path, f.oid) for f in errors] == [(OTHER_STUDY_CODE, "other.xml", "S.2")]
    assert every_row(engine)["studies"] == []


def test_a_new_study_must_be_new(study: Engine) -> None:
    """``new_study`` (the web's "new study" upload): a file of a stored study is refused."""
    before = every_row(study)
    with write_transaction(study) as conn:
        again = load_study(conn, study_xml(), path="s1.xml", new_study=True)
    assert again.status == "refused"
    assert [f.code for f in again.findings if f.severity is Severity.ERROR] == [NEW_STUDY_CODE]
    assert every_row(study) == before
    with write_transaction(study) as conn:
        result = load_study(conn, other_study(), path="other.xml", new_study=True)
    assert result.status == "stored" and result.study_oid == "S.2"


def _save_initials(engine: Engine) -> None:
    save(engine, {("IG.DM", "", "IT.INITIALS"): "AB"})


def test_a_version_refused_for_a_reused_oid_adds_none_of_its_sites(study: Engine) -> None:
    """Different content under the stored MetaDataVersion OID MDV.1: EDC-STORE-003, located
    at the MetaDataVersion, and nothing written."""
    _save_initials(study)
    before = every_row(study)
    body = STUDY_BODY.replace('<ItemRef ItemOID="IT.INITIALS" Mandatory="No" OrderNumber="3"/>', "")
    with write_transaction(study) as conn:
        result = load_study(
            conn, study_xml(body, admin=WITH_NEW_SITE), path="v2.xml", loaded_by="desi"
        )
    assert result.status == "refused" and result.sites_added == ()
    reused = [f for f in result.findings if f.code == "EDC-STORE-003"]
    assert len(reused) == 1 and reused[0].oid == "MDV.1" and reused[0].path == "v2.xml"
    assert reused[0].line and "rename the MetaDataVersion OID" in reused[0].message
    assert every_row(study) == before


def test_a_version_refused_for_error_findings_adds_none_of_its_sites(study: Engine) -> None:
    before = every_row(study)
    bad = STUDY_BODY.replace('CodeListOID="CL.SEX"/>', 'CodeListOID="CL.NOPE"/>')
    with write_transaction(study) as conn:
        result = load_study(conn, study_xml(bad, admin=WITH_NEW_SITE), loaded_by="desi")
    assert result.status == "refused"
    assert every_row(study) == before


def test_a_stored_version_adds_its_new_sites_to_the_access_log(study: Engine) -> None:
    changed = STUDY_BODY.replace('Name="Demographics" Repeating', 'Name="DM" Repeating')
    with write_transaction(study) as conn:
        result = load_study(
            conn, study_xml(changed, admin=WITH_NEW_SITE, mdv_oid="MDV.2"), loaded_by="desi"
        )
    assert result.status == "stored" and result.sites_added == ("SITE.3",)
    with study.connect() as conn:
        assert [s.oid for s in list_sites(conn, "S.1")] == ["SITE.1", "SITE.2", "SITE.3"]
        log = access_log(conn, username="desi")
    assert [(e.actor, e.event.value, e.study_oid, e.site_oid, e.role) for e in log] == [
        ("desi", "site_added", "S.1", "SITE.3", None)
    ]


def test_the_first_load_logs_each_site_added_by_the_command_line(engine: Engine) -> None:
    with write_transaction(engine) as conn:
        load_study(conn, study_xml())
        log = access_log(conn)
    assert [(e.actor, e.event.value, e.site_oid) for e in log] == [
        ("cli", "site_added", "SITE.2"),
        ("cli", "site_added", "SITE.1"),
    ]


def edc(db: Db, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, [*args, "--db", db.url])
    return result.exit_code, result.output


def test_edc_study_load_adds_a_second_study(db: Db, study: Engine, tmp_path: Path) -> None:
    """--another-study is still accepted (no effect): scripts written for it keep working."""
    path = tmp_path / "other.xml"
    path.write_bytes(other_study())
    code, out = edc(db, "study", "load", str(path))
    assert code == 0 and "Study S.2: stored metadata version 1" in out, out
    code, out = edc(db, "study", "load", str(path), "--another-study")
    assert code == 0 and "Study S.2: metadata unchanged" in out, out
    code, out = edc(db, "user", "log", "--limit", "1")
    assert out.split()[1:] == ["cli", "site_added", "cli", "S.2/OTHER.2"]
