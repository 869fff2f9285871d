"""Access can be taken away, and more of the record is append-only.

- ``users.must_change_password``: set by an administrator's password reset (the one-time
  password works once, for the change); ``users.password_changed_at``.
- ``access_log``: new events (deactivating and reactivating a user, password change and
  reset, sites added by a metadata load, failed sign-ins and failed e-signature passwords)
  and the ``client`` address of the request that caused the row (NULL from the CLI).
  SQLite cannot change a CHECK in place, so the small table is rebuilt (rows copied in
  ``seq`` order, its append-only triggers created again); PostgreSQL replaces the constraint.
- ``signatures``, ``query_messages`` and ``metadata_versions`` become append-only like
  ``audit_trail`` (0002) and ``access_log`` (0006): triggers refuse UPDATE, DELETE and, on
  PostgreSQL, TRUNCATE.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_EVENTS = ("user_added", "role_granted", "role_revoked")
NEW_EVENTS = (
    *OLD_EVENTS,
    "user_deactivated",
    "user_activated",
    "password_changed",
    "password_reset",
    "site_added",
    "sign_in_failed",
    "signature_failed",
)
APPEND_ONLY = ("signatures", "query_messages", "metadata_versions")
ACCESS_LOG_TRIGGERS = (
    """CREATE TRIGGER access_log_no_update BEFORE UPDATE ON access_log
    BEGIN SELECT RAISE(ABORT, 'access_log is append-only: UPDATE refused'); END""",
    """CREATE TRIGGER access_log_no_delete BEFORE DELETE ON access_log
    BEGIN SELECT RAISE(ABORT, 'access_log is append-only: DELETE refused'); END""",
)


def _check(events: Sequence[str]) -> str:
    return " OR ".join(f"event = '{e}'" for e in events)


def _access_log_sqlite(events: Sequence[str], *, with_client: bool) -> None:
    """Rebuild ``access_log`` with the CHECK over ``events`` (and the ``client`` column)."""
    columns = "seq, recorded_at, actor, event, username, study_oid, site_oid, role"
    op.execute(
        f"""CREATE TABLE access_log_new (
        seq INTEGER NOT NULL,
        recorded_at DATETIME NOT NULL,
        actor VARCHAR(100) NOT NULL,
        event VARCHAR(20) NOT NULL,
        username VARCHAR(100) NOT NULL,
        study_oid VARCHAR(100),
        site_oid VARCHAR(100),
        role VARCHAR(20),
        {"client VARCHAR(64)," if with_client else ""}
        CONSTRAINT ck_access_log_event CHECK ({_check(events)}),
        CONSTRAINT pk_access_log PRIMARY KEY (seq))"""
    )
    keep = "" if with_client else f" WHERE {_check(events)}"
    op.execute(
        f"INSERT INTO access_log_new ({columns}) SELECT {columns} FROM access_log{keep} "
        "ORDER BY seq"
    )
    op.execute("DROP TABLE access_log")
    op.execute("ALTER TABLE access_log_new RENAME TO access_log")
    for statement in ACCESS_LOG_TRIGGERS:
        op.execute(statement)


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


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    # plain ALTER TABLE on both: a batch rebuild of ``users`` would trip the foreign keys
    # that every audit row holds to it
    op.add_column(
        "users",
        sa.Column("must_change_password", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column("users", sa.Column("password_changed_at", sa.DateTime(timezone=True)))
    if sqlite:
        _access_log_sqlite(NEW_EVENTS, with_client=True)
    else:
        op.add_column("access_log", sa.Column("client", sa.String(length=64), nullable=True))
        op.execute("ALTER TABLE access_log DROP CONSTRAINT ck_access_log_event")
        op.execute(
            f"ALTER TABLE access_log ADD CONSTRAINT ck_access_log_event CHECK ({_check(NEW_EVENTS)})"
        )
    for table in APPEND_ONLY:
        for statement in _append_only_sqlite(table) if sqlite else _append_only_postgres(table):
            op.execute(statement)


def downgrade() -> None:
    """Rows of the new events have no place in 0007's log and are dropped with the column."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table in APPEND_ONLY:
        if sqlite:
            op.execute(f"DROP TRIGGER {table}_no_update")
            op.execute(f"DROP TRIGGER {table}_no_delete")
        else:
            op.execute(f"DROP TRIGGER {table}_no_truncate ON {table}")
            op.execute(f"DROP TRIGGER {table}_no_update_delete ON {table}")
            op.execute(f"DROP FUNCTION {table}_append_only()")
    if sqlite:
        _access_log_sqlite(OLD_EVENTS, with_client=False)
    else:
        # the triggers refuse DELETE: lift them for the downgrade, as 0006's downgrade drops them
        op.execute("ALTER TABLE access_log DISABLE TRIGGER access_log_no_update_delete")
        op.execute(f"DELETE FROM access_log WHERE NOT ({_check(OLD_EVENTS)})")
        op.execute("ALTER TABLE access_log ENABLE TRIGGER access_log_no_update_delete")
        op.execute("ALTER TABLE access_log DROP CONSTRAINT ck_access_log_event")
        op.execute(
            f"ALTER TABLE access_log ADD CONSTRAINT ck_access_log_event CHECK ({_check(OLD_EVENTS)})"
        )
        op.drop_column("access_log", "client")
    for column in ("password_changed_at", "must_change_password"):  # SQLite >= 3.35 drops too
        op.execute(f"ALTER TABLE users DROP COLUMN {column}")
