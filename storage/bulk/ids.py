"""Primary keys handed out in advance, so child rows can be batched with their parents.

An import buffers a subject, its events, forms, item groups and values before any of them is
written, so each row needs its id before the INSERT. Two allocators, one per database:

- :class:`MaxIds` (SQLite): ``SELECT max(id)`` once per table, then count up in Python. Sound
  because the import runs in one transaction that holds SQLite's single write lock from its
  first write (nobody else inserts meanwhile), and SQLite gives a row without an explicit id
  ``max(rowid) + 1``, the same number: ``tests/storage/test_bulk_sinks.py`` holds the ids it
  hands out equal to those the database assigns (Hypothesis). Bench ``python -m bench
  sinks`` row ``maxids`` (same run, alternating, best of 3, machine at load 4-5): the parent
  rows (subject, event, form, item group) inserted batched with these ids against one INSERT
  per row and its ``lastrowid`` (the plain way to learn an id): CPU 0.368 vs 0.411 s for
  84,000 rows (item-heavy, 1.2 M values, 1.12x), 0.593 vs 0.664 s for 160,000 (subject-heavy,
  40,000 subjects, 1.12x); but that is 0.4% and 1.4% of the whole import's CPU: as a speed
  trick it buys little. What it is for is the writer's shape: child rows batched with their
  parents, the audit rows of inserted values made by the database from an id range
  (``sinks.AUDIT_OF_INSERTED``).
- :class:`SequenceIds` (PostgreSQL): ``nextval`` of the table's sequence, 1000 at a time
  (concurrent inserts stay safe: a sequence never hands a number out twice).
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import Connection


class IdAllocator(Protocol):
    def take(self) -> int:
        """The id of the next row of the table."""


class MaxIds:
    """SQLite: ids counted up from the table's ``max(id)`` (see the module docstring)."""

    def __init__(self, conn: Connection, table: str) -> None:
        self.last = int(
            conn.exec_driver_sql(f"SELECT max(id) FROM {table}").scalar_one() or 0  # noqa: S608 (table: a module constant)
        )
        """The last id handed out; the one-pass path of the writer counts it up in line."""

    def take(self) -> int:
        self.last += 1
        return self.last


class SequenceIds:
    """PostgreSQL: ids from the table's sequence, 1000 at a time."""

    def __init__(self, conn: Connection, table: str) -> None:
        self._conn, self._table = conn, table
        self._next: list[int] = []

    def take(self) -> int:
        if not self._next:
            rows = self._conn.exec_driver_sql(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, 1000)",
                (self._table,),
            )
            self._next = [r[0] for r in rows][::-1]
        return self._next.pop()


def id_allocator(conn: Connection, table: str) -> MaxIds | SequenceIds:
    """The allocator of ``table``'s ids on ``conn``'s database."""
    if conn.dialect.name == "postgresql":
        return SequenceIds(conn, table)
    return MaxIds(conn, table)
