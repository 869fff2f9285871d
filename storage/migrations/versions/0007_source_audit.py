"""The source system's audit entries, kept with the data an import brought: append-only.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_TRIGGERS = (
    """CREATE TRIGGER source_audit_no_update BEFORE UPDATE ON source_audit
    BEGIN SELECT RAISE(ABORT, 'source_audit is append-only: UPDATE refused'); END""",
    """CREATE TRIGGER source_audit_no_delete BEFORE DELETE ON source_audit
    BEGIN SELECT RAISE(ABORT, 'source_audit is append-only: DELETE refused'); END""",
)

POSTGRES_TRIGGERS = (
    """CREATE FUNCTION source_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'source_audit is append-only: % refused', TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END $$""",
    """CREATE TRIGGER source_audit_no_update_delete BEFORE UPDATE OR DELETE ON source_audit
    FOR EACH ROW EXECUTE FUNCTION source_audit_append_only()""",
    """CREATE TRIGGER source_audit_no_truncate BEFORE TRUNCATE ON source_audit
    FOR EACH STATEMENT EXECUTE FUNCTION source_audit_append_only()""",
)


def upgrade() -> None:
    id_type = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    oid = sa.String(length=100)
    op.create_table(
        "source_audit",
        sa.Column("seq", id_type, nullable=False),
        sa.Column("subject_id", id_type, nullable=False),
        sa.Column("import_source", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("entity", sa.String(length=200), nullable=True),
        sa.Column("study_event_oid", oid, nullable=False),
        sa.Column("study_event_repeat_key", oid, nullable=False),
        sa.Column("form_oid", oid, nullable=False),
        sa.Column("form_repeat_key", oid, nullable=False),
        sa.Column("item_group_oid", oid, nullable=False),
        sa.Column("item_group_repeat_key", oid, nullable=False),
        sa.Column("item_oid", oid, nullable=False),
        sa.Column("transaction_type", sa.String(length=50), nullable=True),
        sa.Column("old_value", sa.Text(), nullable=True),
        sa.Column("new_value", sa.Text(), nullable=True),
        sa.Column("user_oid", sa.String(length=200), nullable=True),
        sa.Column("location_oid", sa.String(length=200), nullable=True),
        sa.Column("date_time_stamp", sa.String(length=50), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("source_id", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subjects.id"], name=op.f("fk_source_audit_subject_id_subjects")
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_source_audit")),
    )
    op.create_index(
        "ix_source_audit_subject_seq", "source_audit", ["subject_id", "seq"], unique=False
    )
    dialect = op.get_bind().dialect.name
    for statement in SQLITE_TRIGGERS if dialect == "sqlite" else POSTGRES_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER source_audit_no_truncate ON source_audit")
        op.execute("DROP TRIGGER source_audit_no_update_delete ON source_audit")
        op.execute("DROP FUNCTION source_audit_append_only()")
    op.drop_index("ix_source_audit_subject_seq", table_name="source_audit")
    op.drop_table("source_audit")
