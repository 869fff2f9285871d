"""Planner statistics brought up to date after a bulk write, so the next query is planned on
the tables' real sizes (issue 20: right after a 40,000-subject import, PostgreSQL planned the
export on empty tables and took 228 s, 67 s once analysed).

:func:`refresh_statistics` runs in its own short transaction once the import has committed:
``ANALYZE`` of the tables an import writes on PostgreSQL; on SQLite the same tables are
analysed with ``PRAGMA analysis_limit`` (what ``PRAGMA optimize`` does, which before SQLite
3.46 only looks at the tables its own connection has queried: none, on a new connection).
"""

from __future__ import annotations

from sqlalchemy import Engine, text

from storage.engine import write_transaction
from storage.models import (
    AuditRow,
    Form,
    ItemData,
    ItemGroup,
    Query,
    QueryMessage,
    Signature,
    SourceAuditRow,
    StudyEvent,
    Subject,
)

IMPORTED_TABLES = tuple(
    model.__tablename__
    for model in (
        Subject,
        StudyEvent,
        Form,
        ItemGroup,
        ItemData,
        AuditRow,
        SourceAuditRow,
        Query,
        QueryMessage,
        Signature,
    )
)
"""The tables a bulk import (plain or with history) writes rows to."""

ANALYSIS_LIMIT = 1000
"""SQLite: rows of each index ANALYZE looks at (0: all; the SQLite docs advise 100 to 1000)."""


def refresh_statistics(engine: Engine, tables: tuple[str, ...] = IMPORTED_TABLES) -> None:
    """Bring the planner's statistics of ``tables`` up to date (a fraction of a second: both
    databases sample)."""
    with write_transaction(engine) as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"ANALYZE {', '.join(tables)}"))
            return
        conn.exec_driver_sql(f"PRAGMA analysis_limit = {ANALYSIS_LIMIT}")
        for table in tables:
            conn.exec_driver_sql(f"ANALYZE {table}")
