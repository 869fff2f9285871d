"""The audit trail is append-only in the database itself, and replays to the current data."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from odm_engine.entry_validation import IsNull
from storage.audit import replay
from storage.engine import write_transaction
from storage.grants import app_role_grants
from storage.migrate import downgrade, upgrade
from storage.models import Role
from storage.subjects import create_subject
from storage.writes import save_form
from tests.storage.conftest import MANAGER, Db
from tests.storage.helpers import DM, audit_of, count, dump, save, snapshot


def _one_save(engine: Engine) -> None:
    save(engine, {("IG.DM", "", "IT.AGE"): "42"})


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_trail SET new_value = '43'",
        "UPDATE audit_trail SET reason = 'forged' WHERE seq = 1",
        "DELETE FROM audit_trail",
        "DELETE FROM audit_trail WHERE seq = 1",
    ],
)
def test_update_and_delete_on_the_audit_trail_fail_in_the_database(
    study: Engine, statement: str
) -> None:
    """21 CFR 11.10(e): audit trails are not modifiable, even by raw SQL."""
    _one_save(study)
    before = dump(study)
    with pytest.raises(DBAPIError, match="audit_trail is append-only"):
        with study.begin() as conn:
            conn.exec_driver_sql(statement)
    assert dump(study) == before


def test_truncate_on_the_audit_trail_fails_on_postgresql(db: Db, study: Engine) -> None:
    if db.kind != "postgresql":
        pytest.skip("SQLite has no TRUNCATE (DELETE is refused by the trigger)")
    _one_save(study)
    with pytest.raises(DBAPIError, match="audit_trail is append-only: TRUNCATE refused"):
        with study.begin() as conn:
            conn.exec_driver_sql("TRUNCATE audit_trail CASCADE")


def test_application_role_holds_no_update_or_delete_grant_on_postgresql(
    db: Db, study: Engine
) -> None:
    """The documented grants (docs/deployment-postgresql.md) give the app role INSERT and
    SELECT on audit_trail only: UPDATE and DELETE fail on privileges, before any trigger."""
    if db.kind != "postgresql":
        pytest.skip("roles and grants are PostgreSQL's")
    _one_save(study)
    role = f"edc_app_{uuid.uuid4().hex[:8]}"
    with study.begin() as conn:
        schema = conn.exec_driver_sql("SELECT current_schema()").scalar_one()
        conn.exec_driver_sql(f"CREATE ROLE {role} NOLOGIN")
        for statement in app_role_grants(role, schema=schema):
            conn.exec_driver_sql(statement)
    try:
        for statement in ("UPDATE audit_trail SET reason = 'x'", "DELETE FROM audit_trail"):
            with pytest.raises(DBAPIError, match="permission denied for table audit_trail"):
                with study.begin() as conn:
                    conn.exec_driver_sql(f"SET LOCAL ROLE {role}")
                    conn.exec_driver_sql(statement)
        with study.begin() as conn:  # the role can still do its work
            conn.exec_driver_sql(f"SET LOCAL ROLE {role}")
            conn.exec_driver_sql("SELECT count(*) FROM audit_trail")
            conn.exec_driver_sql("UPDATE forms SET updated_by = updated_by")
    finally:
        with study.begin() as conn:
            conn.exec_driver_sql(f"DROP OWNED BY {role}")
            conn.exec_driver_sql(f"DROP ROLE {role}")
    assert count(study, "audit_trail") == 3  # the subject's creation, the value, the status


def test_history_of_one_item(study: Engine) -> None:
    _one_save(study)
    changes = {("IG.DM", "", "IT.AGE"): "43", ("IG.DM", "", "IT.SEX"): "M"}
    save(study, changes, version=1, reason="Typo")
    rows = audit_of(study, item_oid="IT.AGE")
    assert [(r.transaction_type, r.new_value, r.reason) for r in rows] == [
        ("Insert", "42", None),
        ("Update", "43", "Typo"),
    ]


ITEMS = ("IT.AGE", "IT.SEX", "IT.INITIALS")
VALUES = {
    "IT.AGE": st.sampled_from(["18", "42", "99"]),
    "IT.SEX": st.sampled_from(["F", "M"]),
    "IT.INITIALS": st.sampled_from(["AB", "XYZ"]),
}
edit = st.fixed_dictionaries(
    {},
    optional={item: st.one_of(VALUES[item], st.none(), st.just(IsNull("UNK"))) for item in ITEMS},
)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    edits=st.lists(edit, min_size=1, max_size=6),
    repeats=st.lists(st.sampled_from("12"), min_size=1, max_size=3),
)
def test_replaying_the_audit_rows_reproduces_the_current_data(
    study: Engine, edits: list[dict[str, object]], repeats: list[str]
) -> None:
    """Property: for any sequence of saves (inserts, updates, nulls, removals, repeating
    groups), replaying the subject's audit rows in order gives exactly its current data."""
    subject = f"P{uuid.uuid4().hex[:10]}"
    with write_transaction(study) as conn:
        create_subject(
            conn,
            study="S.1",
            subject_key=subject,
            site_oid="SITE.1",
            user=MANAGER,
            role=Role.DATA_MANAGER,
        )
    version = 0
    ae = DM.__class__("SE.FU", "1", "F.AE", "")
    for n, changes in enumerate(edits):
        values = {("IG.DM", "", item): value for item, value in changes.items()}
        with write_transaction(study) as conn:
            result = save_form(
                conn,
                study="S.1",
                subject_key=subject,
                form_key=DM,
                values=values,  # type: ignore[arg-type]
                user=MANAGER,
                role=Role.DATA_MANAGER,
                expected_version=version,
                reason=f"edit {n}",
            )
            save_form(
                conn,
                study="S.1",
                subject_key=subject,
                form_key=ae,
                values={("IG.AE", repeats[n % len(repeats)], "IT.AETERM"): f"AE {n}"},
                user=MANAGER,
                role=Role.DATA_MANAGER,
                expected_version=n,
                reason="ae",
            )
        assert result.saved
        version = result.form_version
    with study.connect() as conn:
        replayed = replay(conn, "S.1", subject)
    current = snapshot(study, subject)
    assert replayed.values == current.values
    assert replayed.null_reasons == current.null_reasons


def _check_text(db: Db) -> str:
    with db.engine.connect() as conn:
        if db.kind == "sqlite":
            sql = "SELECT sql FROM sqlite_master WHERE name = 'audit_trail'"
        else:
            sql = (
                "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conname = 'ck_audit_trail_transaction_type' "
                "AND connamespace = to_regnamespace(current_schema())"  # other tests' schemas
            )
        text = str(conn.exec_driver_sql(sql).scalar_one())
    return text.replace("(transaction_type)::text", "transaction_type").replace("::text", "")


BOGUS_ROW = (
    "INSERT INTO audit_trail (recorded_at, user_id, username, role, study_oid, subject_id, "
    "subject_key, study_event_oid, study_event_repeat_key, form_oid, form_repeat_key, "
    "item_group_oid, item_group_repeat_key, item_oid, transaction_type, source, form_version) "
    "SELECT recorded_at, user_id, username, role, study_oid, subject_id, subject_key, "
    "study_event_oid, study_event_repeat_key, form_oid, form_repeat_key, item_group_oid, "
    "item_group_repeat_key, item_oid, '{kind}', source, form_version FROM audit_trail "
    "WHERE seq = (SELECT min(seq) FROM audit_trail)"
)


def test_migration_0005_rebuilds_the_transaction_type_check_and_keeps_the_trail(
    db: Db, study: Engine
) -> None:
    """0005 writes the CHECK as ORs (cheap on SQLite); down and up again keep every row, the
    index, the append-only triggers and the rule itself."""
    _one_save(study)
    before = dump(study)
    assert "transaction_type = 'Status'" in _check_text(db)
    downgrade(study, "0004")
    assert "transaction_type IN ('Insert'" in _check_text(db) or "ANY" in _check_text(db)
    # later revisions add columns elsewhere (0008: users); the trail itself is whole
    assert dump(study)["audit_trail"] == before["audit_trail"]
    upgrade(study)
    assert "transaction_type = 'Status'" in _check_text(db)
    assert dump(study) == before
    with pytest.raises(DBAPIError, match="audit_trail is append-only"):
        with study.begin() as conn:
            conn.exec_driver_sql("UPDATE audit_trail SET reason = 'forged'")
    with pytest.raises(DBAPIError, match=r"ck_audit_trail_transaction_type|CHECK constraint"):
        with study.begin() as conn:
            conn.exec_driver_sql(BOGUS_ROW.format(kind="Forged"))
    with study.begin() as conn:  # an allowed value goes in
        conn.exec_driver_sql(BOGUS_ROW.format(kind="Status"))
    with study.connect() as conn:
        indexes = (
            "SELECT count(*) FROM sqlite_master WHERE name = 'ix_audit_trail_subject_seq'"
            if db.kind == "sqlite"
            else "SELECT count(*) FROM pg_indexes WHERE indexname = 'ix_audit_trail_subject_seq'"
            " AND schemaname = current_schema()"  # not other tests' schemas
        )
        assert conn.exec_driver_sql(indexes).scalar_one() == 1
