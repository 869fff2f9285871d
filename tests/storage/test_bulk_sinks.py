"""The bulk path's speed tricks held equal to their plain references (issue 15).

- Row sinks (``storage.bulk.sinks``): SQLite multi-row INSERTs (in line and in the writer
  thread) and PostgreSQL COPY store exactly the rows one plain executemany stores.
- Id allocation (``storage.bulk.ids``): the ids ``MaxIds`` hands out on SQLite are the ids the
  database gives rows inserted without one.
- A whole import through the default sink equals one through the reference sink.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, Engine, create_engine, text

from odm_engine.clinical import ItemKey
from odm_engine.entry_validation import EnteredValue, IsNull
from storage.audit import history
from storage.bulk import BulkWriter
from storage.bulk.ids import MaxIds
from storage.bulk.sinks import (
    Batch,
    PostgresSink,
    ReferenceSink,
    RowSink,
    SqliteSink,
    chunks,
    insert_rows,
)
from storage.errors import BulkRejectedError
from storage.models import Role
from storage.subjects import subject_snapshot
from tests.storage.conftest import MANAGER
from tests.storage.helpers import rolled_back

TEXT = st.one_of(st.none(), st.text(alphabet="abc xyz'\"%?", max_size=6))
ROWS = st.lists(st.tuples(st.integers(-5, 5), TEXT, TEXT), max_size=70)


def _table(conn: Connection) -> None:
    conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER, a TEXT, b TEXT)"))


def _batches(rows: list[tuple[Any, ...]], with_null: bool) -> list[Batch]:
    """``rows`` as two batches of one table: plain, then (``with_null``) with b written NULL."""
    half = len(rows) // 2
    flat = [v for r in rows[:half] for v in r]
    if not with_null:
        return [
            ("t", ("n", "a", "b"), (), flat),
            ("t", ("n", "a", "b"), (), [v for r in rows[half:] for v in r]),
        ]
    return [
        ("t", ("n", "a", "b"), (), flat),
        ("t", ("n", "a"), ("b",), [v for r in rows[half:] for v in r[:2]]),
    ]


def _stored(conn: Connection) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in conn.execute(text("SELECT id, n, a, b FROM t ORDER BY id"))]


def _through(make: Any, batches: list[Batch]) -> list[tuple[Any, ...]]:
    engine = create_engine("sqlite://", connect_args={"check_same_thread": False})
    with engine.begin() as conn:
        _table(conn)
        sink: RowSink = make(conn)
        sink.write([(t, c, n, list(v)) for t, c, n, v in batches], None)
        sink.wait()
        sink.close()
        return _stored(conn)


@settings(max_examples=60, deadline=None)
@given(rows=ROWS, with_null=st.booleans())
def test_sqlite_sinks_store_what_the_reference_sink_stores(
    rows: list[tuple[Any, ...]], with_null: bool
) -> None:
    """SQLite multi-row INSERTs, in line and in the writer thread: the reference's rows."""
    batches = _batches(rows, with_null)
    expected = _through(ReferenceSink, batches)
    assert _through(lambda c: SqliteSink(c, background=False), batches) == expected
    assert _through(SqliteSink, batches) == expected


@settings(max_examples=60, deadline=None)
@given(rows=ROWS, limit=st.integers(1, 40))
def test_multi_row_inserts_of_any_parameter_limit_keep_every_row_in_order(
    rows: list[tuple[Any, ...]], limit: int
) -> None:
    """However few parameters SQLite allows a statement, every row is written, in order."""
    engine = create_engine("sqlite://", connect_args={"check_same_thread": False})
    with engine.begin() as conn:
        _table(conn)
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        insert_rows(cursor, ("t", ("n", "a", "b"), (), [v for r in rows for v in r]), limit)
        assert [r[1:] for r in _stored(conn)] == rows


@given(count=st.integers(0, 20_000), most=st.integers(1, 5000))
def test_statement_sizes_add_up_and_come_from_few_shapes(count: int, most: int) -> None:
    sizes = list(chunks(count, most))
    assert sum(sizes) == count
    assert all(s == most or (s & (s - 1) == 0 and s < most) for s in sizes)


@settings(max_examples=40, deadline=None)
@given(kept=st.lists(st.booleans(), max_size=12), taken=st.integers(0, 6))
def test_max_ids_are_the_ids_sqlite_gives_rows_without_one(kept: list[bool], taken: int) -> None:
    """Rows inserted then some deleted (the last too): MaxIds hands out exactly the ids plain
    INSERTs without an id get (``INTEGER PRIMARY KEY``: max(rowid) + 1)."""
    engine = create_engine("sqlite://", connect_args={"check_same_thread": False})
    with engine.begin() as conn:
        _table(conn)
        for i, keep in enumerate(kept, start=1):
            conn.execute(text("INSERT INTO t (id, n) VALUES (:i, 0)"), {"i": i})
            if not keep:
                conn.execute(text("DELETE FROM t WHERE id = :i"), {"i": i})
        ids = MaxIds(conn, "t")
        handed = [ids.take() for _ in range(taken)]
        given_by_db = [
            conn.execute(text("INSERT INTO t (n) VALUES (1)")).lastrowid for _ in range(taken)
        ]
        assert handed == given_by_db


def test_postgres_copy_stores_what_the_reference_sink_stores(engine: Engine) -> None:
    """COPY of the two large tables and executemany of the rest, against the reference."""
    if engine.dialect.name != "postgresql":
        pytest.skip("COPY is the PostgreSQL sink")
    rows = [(i, f"v{i}" if i % 3 else None, "x'y%z?") for i in range(50)]
    stored = []
    for make in (ReferenceSink, PostgresSink):
        with engine.connect() as conn:
            undo = conn.begin()
            conn.execute(text("CREATE TEMP TABLE t (id SERIAL PRIMARY KEY, n INT, a TEXT, b TEXT)"))
            conn.execute(text("CREATE TEMP TABLE item_data (n INT, a TEXT, b TEXT)"))
            sink = make(conn)
            batches = [("item_data", ("n", "a", "b"), (), [v for r in rows for v in r])]
            sink.write([*batches, *_batches(rows, with_null=True)], None)
            stored.append(
                (
                    [tuple(r) for r in conn.execute(text("SELECT n, a, b FROM item_data"))],
                    [tuple(r) for r in conn.execute(text("SELECT n, a, b FROM t ORDER BY id"))],
                )
            )
            undo.rollback()
    assert stored[0] == stored[1]


AGE = st.sampled_from(["42", "042", "17", "abc", None, ""])
SEX = st.sampled_from(["F", "M", "X", IsNull("NASK")])
TERM = st.sampled_from(["Headache", "Nausea", None, IsNull("UNK")])
SUBJECT = st.tuples(
    st.sampled_from(["001", "002", "003"]),
    st.dictionaries(st.sampled_from(["IT.AGE", "IT.SEX", "IT.INITIALS"]), AGE | SEX, max_size=3),
    st.lists(TERM, max_size=3),
    st.sampled_from([None, "150", "250"]),
)


def _items(subject: tuple[Any, ...]) -> list[tuple[ItemKey, EnteredValue]]:
    _key, dm, terms, weight = subject
    items = [(ItemKey("SE.SCREEN", "", "F.DM", "", "IG.DM", "", oid), v) for oid, v in dm.items()]
    items += [
        (ItemKey("SE.FU", "1", "F.AE", "", "IG.AE", str(n), "IT.AETERM"), term)
        for n, term in enumerate(terms, start=1)
    ]
    if weight is not None:
        items.append((ItemKey("SE.SCREEN", "", "F.DM", "", "IG.DM", "", "IT.WEIGHT"), weight))
    return items


def _import(conn: Connection, subjects: list[tuple[Any, ...]], sink: Any) -> object:
    """What an import leaves behind (each subject's data and audit trail), or its problems."""
    writer = BulkWriter(
        conn,
        study="S.1",
        user=MANAGER,
        role=Role.DATA_MANAGER,
        source="import:test",
        reason="bulk",
        batch_size=5,
        **({"sink": sink} if sink else {}),
    )
    for subject in subjects:
        writer.add_subject(subject[0], "SITE.1", _items(subject))
    try:
        result = writer.finish()
    except BulkRejectedError as refused:
        return refused.problems
    epoch = datetime(2000, 1, 1, tzinfo=UTC)
    keys = sorted({s[0] for s in subjects})
    return (
        result,
        [subject_snapshot(conn, "S.1", k) for k in keys],
        [[replace(e, seq=0, recorded_at=epoch) for e in history(conn, "S.1", k)] for k in keys],
    )


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(subjects=st.lists(SUBJECT, min_size=1, max_size=4))
def test_an_import_through_the_default_sink_equals_one_through_the_reference_sink(
    study: Engine, subjects: list[tuple[Any, ...]]
) -> None:
    """Same rows, same audit trail, same problems: the sink changes only the speed."""
    default, reference = (
        rolled_back(study, _import, subjects, sink) for sink in (None, ReferenceSink)
    )
    assert default == reference
