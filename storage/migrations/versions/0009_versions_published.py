"""Metadata versions are drafts until published; subjects record the version they are on.

- ``metadata_publications``: one row per published version (study, number, when, by whom,
  why). The current version is the highest published number. Every version stored before
  this revision was current in its time (the old rule: the newest load was current), so each
  gets a publication row stamped with its load.
- ``subjects.metadata_version``: the number of the version a subject's data are collected
  under; existing subjects take their study's highest version (the one they were entered
  under by the old rule).
- ``subject_versions``: each move of a subject from one version to another.

Both new tables are append-only like ``metadata_versions`` (0008): triggers refuse UPDATE,
DELETE and, on PostgreSQL, TRUNCATE.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY = ("metadata_publications", "subject_versions")
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _append_only_sqlite(table: str) -> tuple[str, ...]:
    return tuple(
        f"""CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table}
        BEGIN SELECT RAISE(ABORT, '{table} is append-only: {verb} refused'); END"""
        for verb in ("UPDATE", "DELETE")
    )


def _append_only_postgres(table: str) -> tuple[str, ...]:
    return (
        f"""CREATE FUNCTION {table}_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION '{table} is append-only: % refused', TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END $$""",
        f"""CREATE TRIGGER {table}_no_update_delete BEFORE UPDATE OR DELETE ON {table}
        FOR EACH ROW EXECUTE FUNCTION {table}_append_only()""",
        f"""CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
        FOR EACH STATEMENT EXECUTE FUNCTION {table}_append_only()""",
    )


def _tables() -> None:
    op.create_table(
        "metadata_publications",
        sa.Column("id", ID, nullable=False),
        sa.Column("study_id", ID, nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_by", sa.String(length=100), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["study_id"], ["studies.id"], name="fk_metadata_publications_study_id_studies"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_metadata_publications"),
        sa.UniqueConstraint("study_id", "number", name="uq_metadata_publications_study_id_number"),
    )
    op.create_index(
        "ix_metadata_publications_study_id", "metadata_publications", ["study_id"], unique=False
    )
    op.create_table(
        "subject_versions",
        sa.Column("id", ID, nullable=False),
        sa.Column("subject_id", ID, nullable=False),
        sa.Column("from_number", sa.Integer(), nullable=False),
        sa.Column("to_number", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subjects.id"], name="fk_subject_versions_subject_id_subjects"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_subject_versions"),
    )
    op.create_index(
        "ix_subject_versions_subject_id", "subject_versions", ["subject_id"], unique=False
    )


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    _tables()
    op.execute(
        "INSERT INTO metadata_publications (study_id, number, published_at, published_by, reason) "
        "SELECT study_id, number, loaded_at, loaded_by, "
        "'Current when loaded (stored before versions were published: migration 0009)' "
        "FROM metadata_versions ORDER BY study_id, number"
    )
    # plain ALTER TABLE on both (a batch rebuild of ``subjects`` would trip the foreign keys
    # every clinical row holds to it): NOT NULL with a default, then the real numbers
    op.add_column(
        "subjects",
        sa.Column("metadata_version", sa.Integer(), nullable=False, server_default="1"),
    )
    op.execute(
        "UPDATE subjects SET metadata_version = (SELECT max(mv.number) FROM metadata_versions mv "
        "WHERE mv.study_id = subjects.study_id) "
        "WHERE EXISTS (SELECT 1 FROM metadata_versions mv WHERE mv.study_id = subjects.study_id)"
    )
    if not sqlite:  # SQLite cannot drop a column default in place; inserts always name it
        op.alter_column("subjects", "metadata_version", server_default=None)
    for table in APPEND_ONLY:
        for statement in _append_only_sqlite(table) if sqlite else _append_only_postgres(table):
            op.execute(statement)


def downgrade() -> None:
    """The publications and the subjects' versions go with their tables and column."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table in APPEND_ONLY:
        if sqlite:
            op.execute(f"DROP TRIGGER {table}_no_update")
            op.execute(f"DROP TRIGGER {table}_no_delete")
        else:
            op.execute(f"DROP TRIGGER {table}_no_truncate ON {table}")
            op.execute(f"DROP TRIGGER {table}_no_update_delete ON {table}")
            op.execute(f"DROP FUNCTION {table}_append_only()")
    op.execute("ALTER TABLE subjects DROP COLUMN metadata_version")  # SQLite >= 3.35
    op.drop_index("ix_subject_versions_subject_id", table_name="subject_versions")
    op.drop_table("subject_versions")
    op.drop_index("ix_metadata_publications_study_id", table_name="metadata_publications")
    op.drop_table("metadata_publications")
