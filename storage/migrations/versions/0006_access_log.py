"""The access log: who added users and granted or revoked roles, append-only.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EVENTS = ("user_added", "role_granted", "role_revoked")

SQLITE_TRIGGERS = (
    """CREATE TRIGGER access_log_no_update BEFORE UPDATE ON access_log
    BEGIN SELECT RAISE(ABORT, 'access_log is append-only: UPDATE refused'); END""",
    """CREATE TRIGGER access_log_no_delete BEFORE DELETE ON access_log
    BEGIN SELECT RAISE(ABORT, 'access_log is append-only: DELETE refused'); END""",
)

POSTGRES_TRIGGERS = (
    # the function of revision 0002 names its table in the message: one of its own
    """CREATE FUNCTION access_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'access_log is append-only: % refused', TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END $$""",
    """CREATE TRIGGER access_log_no_update_delete BEFORE UPDATE OR DELETE ON access_log
    FOR EACH ROW EXECUTE FUNCTION access_log_append_only()""",
    """CREATE TRIGGER access_log_no_truncate BEFORE TRUNCATE ON access_log
    FOR EACH STATEMENT EXECUTE FUNCTION access_log_append_only()""",
)


def upgrade() -> None:
    id_type = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.create_table(
        "access_log",
        sa.Column("seq", id_type, nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("event", sa.String(length=20), nullable=False),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("study_oid", sa.String(length=100), nullable=True),
        sa.Column("site_oid", sa.String(length=100), nullable=True),
        sa.Column("role", sa.String(length=20), nullable=True),
        sa.CheckConstraint(
            "event IN (" + ", ".join(repr(e) for e in EVENTS) + ")",
            name=op.f("ck_access_log_event"),
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_access_log")),
    )
    dialect = op.get_bind().dialect.name
    for statement in SQLITE_TRIGGERS if dialect == "sqlite" else POSTGRES_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER access_log_no_truncate ON access_log")
        op.execute("DROP TRIGGER access_log_no_update_delete ON access_log")
        op.execute("DROP FUNCTION access_log_append_only()")
    op.drop_table("access_log")
