"""Units of measure: the MeasurementUnitOID chosen with a value, and in its audit rows.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable columns: existing rows keep NULL (the item's only or first unit), and SQLite
    # adds them without rebuilding the tables (the audit trail's triggers stay as they are).
    op.add_column("item_data", sa.Column("unit", sa.String(length=100), nullable=True))
    op.add_column("audit_trail", sa.Column("old_unit", sa.String(length=100), nullable=True))
    op.add_column("audit_trail", sa.Column("new_unit", sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("audit_trail") as batch:
        batch.drop_column("new_unit")
        batch.drop_column("old_unit")
    with op.batch_alter_table("item_data") as batch:
        batch.drop_column("unit")
