"""Metadata versions, sites, users and roles, signatures, engine set-up and migrations."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, select
from sqlalchemy.exc import DBAPIError

from storage.engine import database_url, make_engine, write_transaction
from storage.errors import AccessDeniedError, ConflictError
from storage.migrate import current_revision, downgrade, head_revision, upgrade
from storage.models import Base, FormStatus, Role, User
from storage.signatures import form_content_hash, sign_form, signatures_of
from storage.studies import (
    current_metadata,
    list_sites,
    load_study,
    metadata_xml,
    publish_version,
)
from storage.users import access_log, add_user, authenticate, get_user, list_users, set_role
from tests.storage.conftest import INVESTIGATOR, IVY_PASSWORD, STUDY_BODY, Db, study_xml
from tests.storage.helpers import DM, audit_of, count, save, sign, state_of


def test_schema_from_migrations_matches_the_models(db: Db) -> None:
    """Alembic migrations and SQLAlchemy models describe the same schema."""
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
    assert current_revision(db.engine) == head_revision()


def test_sqlite_runs_in_wal_mode_with_foreign_keys_and_a_busy_timeout(db: Db) -> None:
    if db.kind != "sqlite":
        pytest.skip("SQLite pragmas")
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10_000


def test_database_url_comes_from_the_option_then_the_environment_then_the_default() -> None:
    assert (
        database_url("sqlite:///a.db", {"EDC_DATABASE_URL": "sqlite:///b.db"}) == "sqlite:///a.db"
    )
    assert database_url(None, {"EDC_DATABASE_URL": "sqlite:///b.db"}) == "sqlite:///b.db"
    assert database_url(None, {}) == "sqlite:///edc.sqlite3"
    assert make_engine("postgresql://u@h/d").dialect.driver == "psycopg"


def test_load_is_a_no_op_when_unchanged_and_stores_a_new_version_when_changed(
    study: Engine,
) -> None:
    with write_transaction(study) as conn:
        again = load_study(conn, study_xml(), path="study.xml")
    assert again.status == "unchanged" and again.version_number == 1
    assert again.message.startswith("Study S.1: metadata unchanged (version 1, sha256 ")
    body = STUDY_BODY.replace('Name="Demographics" Repeating', 'Name="DM" Repeating')
    changed = study_xml(body, mdv_oid="MDV.2")
    with write_transaction(study) as conn:
        stored = load_study(conn, changed, path="v2.xml")
        assert stored.status == "stored" and stored.version_number == 2
        assert not stored.published and "as a draft; version 1 stays current" in stored.message
        assert metadata_xml(conn, "S.1") == study_xml()  # the current version: 1
        assert metadata_xml(conn, "S.1", 2) == changed
        assert current_metadata(conn, "S.1").mdv.form_defs["F.DM"].name == "Demographics"
        publish_version(conn, "S.1", 2, user="desi", reason="Amendment 1")
        assert metadata_xml(conn, "S.1") == changed
        assert current_metadata(conn, "S.1").mdv.form_defs["F.DM"].name == "DM"


def test_sites_come_from_admindata_locations(study: Engine) -> None:
    with study.connect() as conn:
        sites = list_sites(conn, "S.1")
    assert [(s.oid, s.name, s.location_type, s.subjects) for s in sites] == [
        ("SITE.1", "Hamburg", "Site", 1),
        ("SITE.2", "Lyon", "Site", 0),
    ]


def test_a_version_without_an_item_that_holds_data_is_stored_as_a_draft_keeping_the_data(
    study: Engine,
) -> None:
    """Removing an item is an impact, not a refusal (issue 16): the draft is stored, the
    current version stays, and the item's stored value is untouched."""
    save(study, {("IG.DM", "", "IT.INITIALS"): "AB"})
    before = count(study, "item_data")
    body = STUDY_BODY.replace('<ItemRef ItemOID="IT.INITIALS" Mandatory="No" OrderNumber="3"/>', "")
    with write_transaction(study) as conn:
        result = load_study(conn, study_xml(body, mdv_oid="MDV.2"), path="v2.xml")
        assert result.status == "stored" and result.version_number == 2 and not result.published
        assert current_metadata(conn, "S.1").number == 1
    assert count(study, "metadata_versions") == 2
    assert count(study, "item_data") == before


def test_metadata_with_error_findings_is_refused(engine: Engine) -> None:
    bad = study_xml(STUDY_BODY.replace('CodeListOID="CL.SEX"/>', 'CodeListOID="CL.NOPE"/>'))
    with write_transaction(engine) as conn:
        result = load_study(conn, bad, path="bad.xml")
    assert result.status == "refused"
    assert any("CL.NOPE" in f.message for f in result.findings)
    assert count(engine, "studies") == 0


def test_users_roles_and_password_hashes(study: Engine) -> None:
    with write_transaction(study) as conn:
        assert authenticate(conn, INVESTIGATOR, IVY_PASSWORD) is not None
        assert authenticate(conn, INVESTIGATOR, "wrong") is None
        stored = conn.scalar(select(User.password_hash).where(User.username == INVESTIGATOR))
        assert IVY_PASSWORD not in stored and stored.startswith(("scrypt:", "pbkdf2:"))
        set_role(conn, INVESTIGATOR, "S.1", Role.MONITOR, site_oid="SITE.1")
        roles = get_user(conn, INVESTIGATOR).roles
        assert [(r.study_oid, r.site_oid, r.role) for r in roles] == [
            ("S.1", "SITE.1", Role.MONITOR)
        ]
        assert [u.username for u in list_users(conn)] == ["dan", "ivy", "mona"]
        with pytest.raises(ValueError, match="'nurse' is not a valid Role"):
            set_role(conn, INVESTIGATOR, "S.1", "nurse")


def test_signing_records_who_when_meaning_and_the_hash_of_what_was_signed(
    study: Engine,
) -> None:
    """21 CFR 11.50: signed records show the signer, date and time, and meaning."""
    save(study, {("IG.DM", "", "IT.AGE"): "42"})
    with write_transaction(study) as conn, pytest.raises(AccessDeniedError):
        sign_form(
            conn,
            study="S.1",
            subject_key="001",
            form=DM,
            user=INVESTIGATOR,
            password="no",
            signature_def_oid="SD.PI",
            meaning="Approved",
            expected_version=1,
        )
    with write_transaction(study) as conn, pytest.raises(ConflictError):
        sign_form(
            conn,
            study="S.1",
            subject_key="001",
            form=DM,
            user=INVESTIGATOR,
            password=IVY_PASSWORD,
            signature_def_oid="SD.PI",
            meaning="Approved",
            expected_version=0,
        )
    with study.connect() as conn:
        digest = form_content_hash(conn, "S.1", "001", DM)
    sig = sign(study, version=1)
    assert (sig.username, sig.content_sha256, sig.form_version) == (INVESTIGATOR, digest, 2)
    assert state_of(study, DM).status is FormStatus.SIGNED
    assert audit_of(study)[-1].reason == "Signed (SD.PI): I approve the data of this form"
    save(study, {("IG.DM", "", "IT.AGE"): "43"}, version=2, reason="Correction")
    with study.connect() as conn:
        assert form_content_hash(conn, "S.1", "001", DM) != digest
        assert len(signatures_of(conn, "S.1", "001", DM)) == 1
    assert state_of(study, DM).status is FormStatus.IN_PROGRESS


def test_every_user_and_role_change_is_in_the_append_only_access_log(study: Engine) -> None:
    """Who gave or took which access, when: 21 CFR 11.10(d)/(g) ask for it to be known."""
    with write_transaction(study) as conn:
        add_user(conn, "nora", "Silver-Harbour-78", by="admin1")
        set_role(conn, "nora", "S.1", Role.INVESTIGATOR, site_oid="SITE.1", by="admin1")
        set_role(conn, "nora", "S.1", Role.INVESTIGATOR, site_oid="SITE.1", by="admin1")  # as is
        set_role(conn, "nora", "S.1", Role.MONITOR, site_oid="SITE.1", by="admin2")
        log = access_log(conn, username="nora")
    assert [(e.actor, e.event.value, e.study_oid, e.site_oid, e.role) for e in log] == [
        ("admin2", "role_granted", "S.1", "SITE.1", "monitor"),
        ("admin2", "role_revoked", "S.1", "SITE.1", "investigator"),
        ("admin1", "role_granted", "S.1", "SITE.1", "investigator"),
        ("admin1", "user_added", None, None, None),
    ]
    assert log[0].recorded_at.tzinfo is not None
    for statement in ("UPDATE access_log SET actor = 'x'", "DELETE FROM access_log"):
        with pytest.raises(DBAPIError, match="access_log is append-only"):
            with study.begin() as conn:
                conn.exec_driver_sql(statement)
    with study.connect() as conn:
        assert len(access_log(conn, username="nora")) == 4


def test_migration_0006_adds_and_removes_the_access_log(study: Engine) -> None:
    with write_transaction(study) as conn:
        add_user(conn, "olga", "Silver-Harbour-78", by="cli")
    downgrade(study, "0005")
    with study.connect() as conn:
        assert current_revision(conn) == "0005"
    upgrade(study)
    with study.connect() as conn:
        assert current_revision(conn) == head_revision()
        assert access_log(conn) == []  # a new, empty log: the old rows went with the table
    with write_transaction(study) as conn:
        add_user(conn, "petra", "Silver-Harbour-78", by="cli")
    with pytest.raises(DBAPIError, match="access_log is append-only"), study.begin() as conn:
        conn.exec_driver_sql("DELETE FROM access_log")
