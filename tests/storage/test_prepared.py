"""Prepared statements on the driver write and read exactly what Connection.execute would."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Column, Integer, MetaData, String, Table, bindparam, insert, select

from storage.engine import write_transaction
from storage.models import UTCDateTime
from storage.prepared import Prepared
from tests.storage.conftest import Db

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
