"""Small readers for storage tests: row counts and whole-table dumps."""

from __future__ import annotations

from sqlalchemy import Engine, text

from odm_engine.clinical import FormKey, SubjectSnapshot
from storage.audit import AuditEntry, history
from storage.queries import QueryInfo, list_queries
from storage.subjects import FormState, form_state, subject_snapshot

TABLES = (
    "studies",
    "metadata_versions",
    "sites",
    "users",
    "role_assignments",
    "subjects",
    "study_events",
    "forms",
    "item_groups",
    "item_data",
    "audit_trail",
    "queries",
    "query_messages",
    "signatures",
)

DM = FormKey("SE.SCREEN", "", "F.DM", "")
ELIG = FormKey("SE.SCREEN", "", "F.ELIG", "")


def count(engine: Engine, table: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def dump(engine: Engine) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table, in key order: equal dumps mean an unchanged database."""
    out = {}
    with engine.connect() as conn:
        for table in TABLES:
            rows = conn.execute(text(f"SELECT * FROM {table} ORDER BY 1")).all()
            out[table] = [tuple(r) for r in rows]
    return out


def audit_of(engine: Engine, subject: str = "001", item_oid: str | None = None) -> list[AuditEntry]:
    with engine.connect() as conn:
        return history(conn, "S.1", subject, item_oid=item_oid)


def snapshot(engine: Engine, subject: str = "001") -> SubjectSnapshot:
    with engine.connect() as conn:
        return subject_snapshot(conn, "S.1", subject)


def queries_of(engine: Engine, subject: str = "001") -> list[QueryInfo]:
    with engine.connect() as conn:
        return list_queries(conn, "S.1", subject)


def state_of(engine: Engine, form: FormKey, subject: str = "001") -> FormState:
    with engine.connect() as conn:
        return form_state(conn, "S.1", subject, form)
