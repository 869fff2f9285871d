"""Row sinks: how a batch of buffered rows gets into the database (issue 15).

The writer (``storage.bulk.writer``) buffers each table's rows flat, one list of values per
name of :data:`BATCHES`, and hands a batch to a sink. Every sink writes the same rows in the
same order, inside the caller's one transaction:

- :class:`ReferenceSink`: one plain ``executemany`` INSERT per table, in line. The other two
  must store exactly what it stores (``tests/storage/test_bulk_sinks.py``, a Hypothesis
  property test on SQLite, and on PostgreSQL when ``EDC_TEST_POSTGRES_URL`` is set).
- :class:`SqliteSink`: multi-row INSERTs (thousands of rows per statement, of a few fixed
  sizes each prepared once; NULLs written in the statement, not bound), written by a second
  thread while the importing thread reads and checks the next batch: SQLite works without
  holding Python's GIL, so the two overlap. The thread writes one batch at a time, and every
  other use of the connection, and the end of the transaction (commit or rollback), waits for
  it (:meth:`SqliteSink.wait`, and listeners on the connection's commit and rollback).
  Bench ``python -m bench sinks`` (whole imports, same run, alternating order, best of 3; a
  shared 2-core machine at load 4-7): the multi-row INSERTs in line against
  :class:`ReferenceSink`: item-heavy 2,000 x 20 x 30 (1.2 M values) CPU 11.41 vs 12.52 s
  (1.10x), wall 12.8 vs 16.1 s (1.26x); subject-heavy 40,000 x 1 x 4 CPU 4.97 vs 5.59 s
  (1.13x), wall 5.10 vs 6.25 s (1.23x); at 1/4 and 1/2 of those sizes CPU 1.10-1.23x, wall
  1.11-1.68x. The writer thread against the same INSERTs in line: its gain can only be wall
  time on an idle second core, at most the in-line write it hides (5.21 of 12.82 s
  item-heavy, 1.27 of 5.10 s subject-heavy). With one (load 0.5-1.0): item-heavy wall 7.66
  vs 11.29 s (1.47x), subject-heavy 4.28 vs 5.00 s (1.17x); CPU 0.95-0.98x (the multi-row
  INSERTs in that run: CPU 11.04 vs 12.45 s, 1.13x, item-heavy; 4.93 vs 5.64 s, 1.15x,
  subject-heavy). With none (load 4-7) it bought nothing or cost: wall 1.03x
  (item-heavy, 12.42 vs 12.82 s), 0.83x (subject-heavy, 6.15 vs 5.10 s), 0.69-0.92x at 1/4
  and 1/2 size, CPU 0.90-0.96x.
  Also ``python -m bench storage`` row ``storage.sqlite.bulk_items`` and the ``import`` rows
  of ``python -m bench exchange`` (target >= 0.6x / 0.5x a bare executemany).
- :class:`PostgresSink`: COPY for the two large tables (item_data, audit_trail), executemany
  for the rest. Bench ``python -m bench sinks`` (as above; 1/4 of item-heavy, 300,000 values,
  and 1/2 of subject-heavy, 80,000) against :class:`ReferenceSink`: wall 11.9 vs 35.6 s
  (2.99x), client CPU 3.3 vs 11.4 s on item-heavy; wall 17.2 vs 31.0 s (1.80x), client CPU
  4.0 vs 6.9 s on subject-heavy; the full subject-heavy (40,000) wall 13.7 vs 21.3 s (1.55x),
  client CPU 6.7 vs 12.7 s; the full item-heavy (1.2 M values) 38.6 vs 84.6 s (2.19x),
  client CPU 14.5 vs 50.4 s. Also ``storage.postgresql.bulk_items``.

On SQLite the audit rows of newly inserted values are not buffered: :data:`AUDIT_OF_INSERTED`
makes them in the database from the item rows just inserted (:class:`Inserted`), so a million
23-column rows never pass through Python; every sink runs it after the batch's rows.
"""

from __future__ import annotations

import functools
import sqlite3
import threading
from collections.abc import Iterator
from typing import Any, NamedTuple, Protocol

from sqlalchemy import Connection, event

from storage.audit import AUDIT_COLUMNS, KEY_COLUMNS, ROW_COLUMNS

_FORM_COLUMNS = (
    "id",
    "study_event_id",
    "form_oid",
    "repeat_key",
    "status",
    "version",
    "updated_at",
    "updated_by",
)
_ITEM_COLUMNS = ("item_group_id", "item_oid", "value", "is_null")
SOURCE_AUDIT_COLUMNS = (
    "kind",
    "entity",
    *KEY_COLUMNS,
    "transaction_type",
    "old_value",
    "new_value",
    "user_oid",
    "location_oid",
    "date_time_stamp",
    "reason",
    "source_id",
)
"""A source audit entry as :meth:`BulkWriter.add_subject` takes it (the writer adds the
subject and the import's source): see :class:`storage.models.SourceAuditRow`."""
BATCHES: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "subjects": (
        "subjects",
        ("id", "study_id", "subject_key", "site_id", "created_at", "metadata_version"),
        (),
    ),
    "study_events": ("study_events", ("id", "subject_id", "study_event_oid", "repeat_key"), ()),
    "forms": ("forms", _FORM_COLUMNS, ()),
    "item_groups": ("item_groups", ("id", "form_id", "item_group_oid", "repeat_key"), ()),
    "item_data": ("item_data", _ITEM_COLUMNS, ()),
    "item_values": ("item_data", ("id", *_ITEM_COLUMNS[:3]), ("is_null",)),
    "item_units": ("item_data", ("id", *_ITEM_COLUMNS, "unit"), ()),
    "audit_trail": ("audit_trail", AUDIT_COLUMNS, ()),
    "audit_units": ("audit_trail", ROW_COLUMNS, ()),
    "source_audit": ("source_audit", ("subject_id", "import_source", *SOURCE_AUDIT_COLUMNS), ()),
}
"""The rows a batch buffers, written in this order: name -> (table, the columns each row
gives, the columns written NULL in every row). Rows are buffered flat, value after value in
one list per name (no tuple per row to make, to track for the cyclic GC, then to flatten
again for a multi-row INSERT). On SQLite item rows carry their id (their audit rows are read
back by id, see AUDIT_OF_INSERTED), and a value without IsNull (nearly all of them) goes to
``item_values``: a NULL bound as a parameter costs sqlite3 an adapter look-up, a NULL
written in the statement costs nothing. A value given with a MeasurementUnitRef (few) goes to
``item_units`` with its id on both databases, and an audit row that carries a unit to
``audit_units``."""
DERIVED_ITEM_COLUMNS = ("id", *_ITEM_COLUMNS)
"""The columns of ``item_data`` rows on SQLite (with their id: see AUDIT_OF_INSERTED)."""
Batch = tuple[str, tuple[str, ...], tuple[str, ...], list[Any]]
"""Rows to insert: (table, their columns, columns NULL in every row, the rows' values flat)."""

UPDATE_FORM = (
    "UPDATE forms SET version = ?, status = ?, updated_by = ?, updated_at = ? "
    "WHERE id = ? AND version = ?"
)
UPDATE_ITEM = "UPDATE item_data SET value = ?, is_null = ? WHERE id = ?"
UPDATE_ITEM_UNIT = "UPDATE item_data SET value = ?, is_null = ?, unit = ? WHERE id = ?"
DELETE_ITEM = "DELETE FROM item_data WHERE id = ?"
AUDIT_OF_INSERTED = (
    f"INSERT INTO audit_trail ({', '.join(ROW_COLUMNS)}) "  # noqa: S608 (module constants)
    "SELECT ?, ?, ?, ?, site.oid, ?, s.id, s.subject_key, ?, ?, f.version, "
    "e.study_event_oid, e.repeat_key, f.form_oid, f.repeat_key, g.item_group_oid, "
    "g.repeat_key, d.item_oid, 'Insert', NULL, d.value, NULL, d.is_null, NULL, d.unit "
    "FROM item_data d JOIN item_groups g ON g.id = d.item_group_id "
    "JOIN forms f ON f.id = g.form_id JOIN study_events e ON e.id = f.study_event_id "
    "JOIN subjects s ON s.id = e.subject_id LEFT JOIN sites site ON site.id = s.site_id "
    "WHERE d.id BETWEEN ? AND ? ORDER BY d.id"
)
"""The audit rows of the item rows a batch inserted (ids ``first`` to ``last``), in order:
the columns of :data:`storage.audit.AUDIT_COLUMNS`, as the writer would build them."""
_ROWS_PER_STATEMENT = 5000
"""SQLite: rows per multi-row INSERT (a statement is compiled once per distinct size)."""


class Inserted(NamedTuple):
    """Item rows a batch inserts (ids ``first`` to ``last``) whose audit rows the database
    makes (AUDIT_OF_INSERTED), and what those rows share: (recorded_at, user_id, username,
    role, study_oid, reason, source)."""

    first: int
    last: int
    shared: tuple[Any, ...]


class RowSink(Protocol):
    """Writes batches of rows in the caller's transaction (see the module docstring)."""

    audit_rows: int
    """Audit rows the database made by AUDIT_OF_INSERTED so far."""

    def write(self, batches: list[Batch], inserted: Inserted | None) -> None:
        """Write ``batches`` in order, then the audit rows of ``inserted``."""

    def wait(self) -> None:
        """Return once every batch handed over is written; raise what went wrong."""

    def close(self) -> None:
        """The import is done with the sink (after :meth:`wait`)."""


def mark_of(conn: Connection) -> str:
    """The driver's parameter mark: ``%s`` (psycopg) or ``?`` (sqlite3)."""
    return "%s" if conn.dialect.name == "postgresql" else "?"


def rows_of(batch: Batch) -> Iterator[tuple[Any, ...]]:
    """The rows of a batch, as tuples."""
    values = iter(batch[3])
    return zip(*[values] * len(batch[1]), strict=True)


def audit_inserted(cursor: Any, mark: str, inserted: Inserted) -> int:
    """One audit row per item row ``inserted`` (AUDIT_OF_INSERTED); their number."""
    first, last = inserted.first, inserted.last
    cursor.execute(AUDIT_OF_INSERTED.replace("?", mark), (*inserted.shared, first, last))
    if cursor.rowcount != last - first + 1:  # every value has its audit row, or none is kept
        raise RuntimeError(
            f"import: {cursor.rowcount} audit rows written for {last - first + 1} values"
        )
    return int(cursor.rowcount)


def apply_updates(conn: Connection, updates: dict[str, list[tuple[Any, ...]]]) -> int:
    """Run the batch's UPDATEs and DELETEs (before its audit rows), emptying ``updates``
    (statement -> parameter rows). Returns the rows UPDATE_FORM matched (-1: not known)."""
    mark = mark_of(conn)
    matched = -1
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        for statement in (UPDATE_FORM, UPDATE_ITEM, UPDATE_ITEM_UNIT, DELETE_ITEM):
            rows = updates.get(statement)
            if rows:
                cursor.executemany(statement.replace("?", mark), rows)
                if statement is UPDATE_FORM:
                    matched = cursor.rowcount
                rows.clear()
    finally:
        cursor.close()
    return matched


class ReferenceSink:
    """The plain sink: one ``executemany`` INSERT per batch, in line. Slow and obvious: the
    one the fast sinks are held equal to."""

    def __init__(self, conn: Connection) -> None:
        self._conn, self._mark = conn, mark_of(conn)
        self.audit_rows = 0

    def write(self, batches: list[Batch], inserted: Inserted | None) -> None:
        cursor = self._conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            for batch in batches:
                table, columns, nulls, _values = batch
                names = ", ".join((*columns, *nulls))
                marks = ", ".join([self._mark] * len(columns) + ["NULL"] * len(nulls))
                sql = f"INSERT INTO {table} ({names}) VALUES ({marks})"  # noqa: S608 (names are module constants)
                cursor.executemany(sql, list(rows_of(batch)))
            if inserted is not None:
                self.audit_rows += audit_inserted(cursor, self._mark, inserted)
        finally:
            cursor.close()

    def wait(self) -> None:
        return None

    def close(self) -> None:
        return None


class PostgresSink(ReferenceSink):
    """COPY for the two large tables (their batches with no NULL columns), executemany for
    the rest. ``python -m bench sinks``: 2.19-2.99x (item-heavy) and 1.55-1.80x
    (subject-heavy) the wall time of :class:`ReferenceSink` (module docstring)."""

    def write(self, batches: list[Batch], inserted: Inserted | None) -> None:
        plain = []
        cursor = self._conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            for batch in batches:
                table, columns, nulls, _values = batch
                if table not in ("item_data", "audit_trail") or nulls:
                    plain.append(batch)
                    continue
                if plain:  # keep the order of the batches
                    super().write(plain, None)
                    plain = []
                names = ", ".join(columns)
                with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                    for row in rows_of(batch):
                        copy.write_row(row)
        finally:
            cursor.close()
        super().write(plain, inserted)


def _variable_limit(dbapi: Any) -> int:
    """SQLite's SQLITE_LIMIT_VARIABLE_NUMBER for this connection (999 before 3.32)."""
    getlimit = getattr(dbapi, "getlimit", None)
    return int(getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)) if getlimit else 999


@functools.lru_cache(maxsize=256)
def _values_insert(table: str, columns: tuple[str, ...], nulls: tuple[str, ...], rows: int) -> str:
    """SQLite: an INSERT of ``rows`` rows in one statement (one step, many parameters)."""
    row = f"({', '.join(['?'] * len(columns) + ['NULL'] * len(nulls))})"
    names = ", ".join((*columns, *nulls))
    return f"INSERT INTO {table} ({names}) VALUES {', '.join([row] * rows)}"  # noqa: S608 (module constants)


def chunks(count: int, most: int) -> Iterator[int]:
    """Sizes of the statements that insert ``count`` rows, ``most`` at the most each: full
    ones, then the rest in powers of two, so a connection prepares each size once (a batch
    of any size reuses them) instead of a new statement of thousands of rows per batch."""
    for _ in range(count // most):
        yield most
    rest = count % most
    while rest:
        size = 1 << (rest.bit_length() - 1)
        yield size
        rest -= size


def insert_rows(cursor: Any, batch: Batch, limit: int) -> None:
    """Insert a batch's rows with as few statements as SQLite's parameter ``limit`` allows."""
    table, columns, nulls, values = batch
    width = len(columns)
    start = 0
    for size in chunks(len(values) // width, max(1, min(limit // width, _ROWS_PER_STATEMENT))):
        end = start + size * width
        cursor.execute(_values_insert(table, columns, nulls, size), values[start:end])
        start = end


class SqliteSink:
    """Multi-row INSERTs, written by a second thread (``background``, the default) or in
    line. ``python -m bench sinks`` (module docstring): the INSERTs 1.10-1.23x the CPU of
    :class:`ReferenceSink`; the thread 1.47x (item-heavy) and 1.17x (subject-heavy) the wall
    time of in line given an idle core (at most the hidden write, 25-41% of an import's wall
    time), 0.69-1.03x on a loaded 2-core machine."""

    def __init__(self, conn: Connection, *, background: bool = True) -> None:
        self._conn, self._background = conn, background
        self.audit_rows = 0
        self._job: threading.Thread | None = None
        self._error: BaseException | None = None
        self._listeners = (("commit", self._before_commit), ("rollback", self._before_rollback))
        if background:
            for name, listener in self._listeners:
                event.listen(conn, name, listener)

    def write(self, batches: list[Batch], inserted: Inserted | None) -> None:
        dbapi = self._conn.connection.dbapi_connection
        if not self._background:
            self._run(dbapi, batches, inserted)
            self.wait()
            return
        self._job = threading.Thread(target=self._run, args=(dbapi, batches, inserted), daemon=True)
        self._job.start()

    def _run(self, dbapi: Any, batches: list[Batch], inserted: Inserted | None) -> None:
        try:
            limit = _variable_limit(dbapi)
            cursor = dbapi.cursor()
            try:
                for batch in batches:
                    insert_rows(cursor, batch, limit)
                if inserted is not None:
                    self.audit_rows += audit_inserted(cursor, "?", inserted)
            finally:
                cursor.close()
        except BaseException as error:  # handed to the importing thread by wait()
            self._error = error

    def wait(self) -> None:
        job, self._job = self._job, None
        if job is not None:
            job.join()
        error, self._error = self._error, None
        if error is not None:
            raise error  # as writing in line would have; the caller rolls back

    def close(self) -> None:
        if self._background:
            for name, listener in self._listeners:
                event.remove(self._conn, name, listener)

    def _before_commit(self, _conn: Connection) -> None:
        """The import's transaction commits: never before its last batch is written."""
        self.wait()

    def _before_rollback(self, _conn: Connection) -> None:
        """The import's transaction rolls back (something failed): the thread ends first."""
        job, self._job = self._job, None
        if job is not None:
            job.join()


def default_sink(conn: Connection) -> RowSink:
    """The sink an import uses on ``conn``'s database."""
    if conn.dialect.name == "postgresql":
        return PostgresSink(conn)
    return SqliteSink(conn)
