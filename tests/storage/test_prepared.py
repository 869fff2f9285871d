"""Prepared statements on the driver write and read exactly what Connection.execute would
(``storage.prepared.Prepared`` against its plain version ``Reference``)."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import (
    Boolean,
    Column,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    insert,
    select,
    update,
)

from storage.engine import write_transaction
from storage.models import UTCDateTime
from storage.prepared import Prepared, Reference
from tests.storage.conftest import Db

EXAMPLES = int(os.environ.get("EDC_FUZZ_EXAMPLES", "300"))
META = MetaData()
T = Table(
    "prepared_probe",
    META,
    Column("id", Integer, primary_key=True),
    Column("at", UTCDateTime()),
    Column("name", String(20)),
    Column("note", String(20)),
)
COLUMNS = ("at", "name", "note", "id")
INSERT = Prepared(insert(T).values({c: bindparam(c) for c in COLUMNS}))
SELECT = Prepared(select(T.c.id, T.c.at, T.c.name, T.c.note).order_by(T.c.id))


def _rows(start: int) -> list[tuple[object, ...]]:
    at = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    return [
        (at + timedelta(hours=n % 2), f"n{n}", None if n % 3 else "x", start + n) for n in range(7)
    ]


def test_rows_dicts_and_execute_agree(db: Db) -> None:
    META.create_all(db.engine)
    with write_transaction(db.engine) as conn:
        INSERT.executemany_rows(conn, COLUMNS, _rows(0))
        INSERT.executemany(conn, [dict(zip(COLUMNS, r, strict=True)) for r in _rows(100)])
        shuffled = ("id", "note", "at", "name")
        INSERT.executemany_rows(
            conn, shuffled, [(r[3], r[2], r[0], r[1]) for r in _rows(200)]
        )  # fmt: skip
        conn.execute(insert(T), [dict(zip(COLUMNS, r, strict=True)) for r in _rows(300)])
    with db.engine.connect() as conn:
        expected = [tuple(r) for r in conn.execute(select(T).order_by(T.c.id))]
        assert SELECT.all(conn) == expected
    by_batch = {}
    for row_id, at, name, note in expected:
        by_batch.setdefault(row_id // 100, []).append((at, name, note, row_id % 100))
    assert len(by_batch) == 4
    assert all(rows == _rows(0) for rows in by_batch.values())
    assert all(at.tzinfo is not None for _, at, *_ in expected)


PROBE = Table(
    "prepared_property",
    META,
    Column("id", Integer, primary_key=True),
    Column("at", UTCDateTime()),
    Column("name", String(20)),
    Column("flag", Boolean),
    Column("note", String(20)),
)
P_COLUMNS = ("id", "at", "name", "flag", "note")
_INSERT = insert(PROBE).values({c: bindparam(c) for c in P_COLUMNS})
_SELECT = (
    select(PROBE.c.id, PROBE.c.at, PROBE.c.name, PROBE.c.flag, PROBE.c.note)
    .where(PROBE.c.id >= bindparam("low"), PROBE.c.id < bindparam("high"))
    .order_by(PROBE.c.id)
)
_UPDATE = (
    update(PROBE)
    .where(PROBE.c.id == bindparam("rid"))
    .values(at=bindparam("new_at"), note="changed")  # a literal: the statement's own value
)
ZONES = st.sampled_from(
    [UTC, timezone(timedelta(hours=2)), timezone(-timedelta(hours=5, minutes=30))]
)
TEXT = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=20
)
ROW = st.tuples(
    st.none() | st.datetimes(datetime(1900, 1, 1), datetime(2100, 1, 1), timezones=ZONES),
    TEXT,
    st.none() | st.booleans(),
    st.none() | TEXT,
)
OFFSET = 1000
"""Rows written by the reference have ids from here; the fast path's below."""


@settings(
    max_examples=max(10, EXAMPLES // 10),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(rows=st.lists(ROW, min_size=0, max_size=8), changed=st.data())
def test_prepared_equals_connection_execute(
    db: Db, rows: list[tuple[object, ...]], changed
) -> None:  # type: ignore[no-untyped-def]
    """Storage's fast path (``Prepared``, the driver cursor) writes, reads and counts what the
    reference (``Reference``, ``Connection.execute``) does, for generated rows, on SQLite and
    PostgreSQL: inserts by dicts and by tuples, a SELECT with parameters, an UPDATE with a
    literal value and its rowcount."""
    META.create_all(db.engine, tables=[PROBE])
    fast_rows = [(n, *r) for n, r in enumerate(rows)]
    ref_rows = [(OFFSET + n, *r) for n, r in enumerate(rows)]
    half = len(rows) // 2
    with write_transaction(db.engine) as conn:
        conn.execute(PROBE.delete())
        for impl, batch in ((Prepared(_INSERT), fast_rows), (Reference(_INSERT), ref_rows)):
            impl.executemany_rows(conn, P_COLUMNS, batch[:half])
            impl.executemany(conn, [dict(zip(P_COLUMNS, r, strict=True)) for r in batch[half:]])
    at = changed.draw(st.datetimes(timezones=ZONES, min_value=datetime(1900, 1, 1)))
    target = changed.draw(st.integers(0, len(rows)))  # len(rows): no such row
    with write_transaction(db.engine) as conn:
        fast = Prepared(_UPDATE).execute(conn, {"rid": target, "new_at": at}).rowcount
        ref = Reference(_UPDATE).execute(conn, {"rid": OFFSET + target, "new_at": at}).rowcount
        assert fast == ref == (1 if target < len(rows) else 0)
    with db.engine.connect() as conn:
        read = {
            (name, low): impl.all(conn, {"low": low, "high": low + OFFSET})
            for name, impl in (("fast", Prepared(_SELECT)), ("ref", Reference(_SELECT)))
            for low in (0, OFFSET)
        }
        first = Prepared(_SELECT).first(conn, {"low": OFFSET, "high": 2 * OFFSET})
        assert first == Reference(_SELECT).first(conn, {"low": OFFSET, "high": 2 * OFFSET})
    for low in (0, OFFSET):  # each implementation reads both halves alike
        assert read["fast", low] == read["ref", low]
    written_fast = [(n, *r) for n, *r in read["ref", 0]]
    written_ref = [(n - OFFSET, *r) for n, *r in read["ref", OFFSET]]
    assert written_fast == written_ref  # each implementation wrote and updated alike
    assert [r[0] for r in written_fast] == list(range(len(rows)))
    for n, ((_, at_read, name, flag, note), given_row) in enumerate(
        zip(written_fast, rows, strict=True)
    ):
        expected = (at, "changed") if n == target else (given_row[0], given_row[3])
        assert (at_read, name, flag, note) == (expected[0], *given_row[1:3], expected[1])
        assert at_read is None or at_read.tzinfo == UTC
