"""Signatures, query messages and metadata versions are append-only in the database itself,
like the audit trail (migration 0008; issue 14, finding 14)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from odm_engine.clinical import ItemKey
from storage.engine import write_transaction
from storage.migrate import current_revision, downgrade, head_revision, upgrade
from storage.models import Role
from storage.queries import open_query, transition
from tests.storage.conftest import INVESTIGATOR, MONITOR, Db
from tests.storage.helpers import DM, save, sign

APPEND_ONLY = ("signatures", "query_messages", "metadata_versions")
KEPT = (*APPEND_ONLY, "audit_trail", "queries", "forms", "item_data")


def rows(engine: Engine, tables: tuple[str, ...] = KEPT) -> dict[str, list[tuple[object, ...]]]:
    with engine.connect() as conn:
        return {
            t: [tuple(r) for r in conn.execute(text(f"SELECT * FROM {t} ORDER BY 1"))]
            for t in tables
        }


@pytest.fixture
def signed(study: Engine) -> Engine:
    """A saved and signed form and a query answered on it: a row in each append-only table."""
    save(study, {("IG.DM", "", "IT.AGE"): "42"})
    sign(study, version=1)
    with write_transaction(study) as conn:
        query_id = open_query(
            conn,
            study="S.1",
            subject_key="001",
            key=ItemKey(*DM, "IG.DM", "", "IT.AGE"),
            message="Please confirm.",
            user=MONITOR,
            role=Role.MONITOR,
        )
        transition(
            conn, query_id, "answer", text="Confirmed.", user=INVESTIGATOR, role="investigator"
        )
    for table in APPEND_ONLY:
        assert rows(study, (table,))[table], table
    return study


STATEMENTS = [
    ("signatures", "UPDATE signatures SET meaning = 'forged'"),
    ("signatures", "UPDATE signatures SET username = 'mona' WHERE id = 1"),
    ("signatures", "DELETE FROM signatures"),
    ("query_messages", "UPDATE query_messages SET text = 'forged'"),
    ("query_messages", "DELETE FROM query_messages WHERE action = 'answer'"),
    ("metadata_versions", "UPDATE metadata_versions SET loaded_by = 'someone else'"),
    ("metadata_versions", "UPDATE metadata_versions SET odm_xml = NULL"),
    ("metadata_versions", "DELETE FROM metadata_versions"),
]


@pytest.mark.parametrize(("table", "statement"), STATEMENTS)
def test_update_and_delete_are_refused_by_the_database(
    signed: Engine, table: str, statement: str
) -> None:
    """21 CFR 11.10(e), 11.70: the signature, the query's history and the metadata a record
    was entered under cannot be changed or removed, even by raw SQL."""
    before = rows(signed)
    verb = statement.split(maxsplit=1)[0]
    with pytest.raises(DBAPIError, match=f"{table} is append-only: {verb} refused"):
        with signed.begin() as conn:
            conn.exec_driver_sql(statement)
    assert rows(signed) == before


@pytest.mark.parametrize("table", APPEND_ONLY)
def test_truncate_is_refused_on_postgresql(db: Db, signed: Engine, table: str) -> None:
    if db.kind != "postgresql":
        pytest.skip("SQLite has no TRUNCATE (DELETE is refused by the trigger)")
    before = rows(signed)
    with pytest.raises(DBAPIError, match=f"{table} is append-only: TRUNCATE refused"):
        with signed.begin() as conn:
            conn.exec_driver_sql(f"TRUNCATE {table} CASCADE")
    assert rows(signed) == before


def test_migration_0008_down_and_up_keeps_the_rows_and_the_triggers(db: Db, signed: Engine) -> None:
    before = rows(signed)
    downgrade(signed, "0007")
    assert current_revision(signed) == "0007"
    assert rows(signed) == before
    upgrade(signed)
    assert current_revision(signed) == head_revision()
    assert rows(signed) == before
    for table in APPEND_ONLY:
        with pytest.raises(DBAPIError, match=f"{table} is append-only: DELETE refused"):
            with signed.begin() as conn:
                conn.exec_driver_sql(f"DELETE FROM {table}")
    assert rows(signed) == before
    with write_transaction(signed) as conn:  # new rows still go in
        transition(conn, 1, "close", text="Closed.", user=MONITOR, role="monitor")
    assert len(rows(signed)["query_messages"]) == len(before["query_messages"]) + 1
