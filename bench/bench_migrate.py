"""Migration bench: moving 1,000 subjects to a version that retypes one of their items.

Each subject holds 10 values of IT.CODE (text, a repeating group), written ``"0" + digits``;
version 2 retypes IT.CODE to integer, so every value reads the same but is written without
its leading zero: 10,000 values rewritten, each with its audit row, 1,000 form versions
counted up and 1,000 history rows. Every 100th subject holds ``"n/a"`` in one row and stays
(10 subjects listed, 990 moved).

- ``migrate``: ``storage.versions.migrate_subjects`` (impact of the 1,000 subjects, the
  rewrites, audit and history rows), in one transaction;
- ``bare``: the floor, the same 9,900 value UPDATEs by primary key, executemany()d on the
  driver cursor with nothing checked and nothing audited.

Rows ``migrate.<db>.1000_subjects`` (seconds, ratio to the bare updates). Rows
``migrate.<db>.1000_subjects_derived``: the same, but version 2 also adds a derived item
(IT.NEXT = IT.CODE + 1, a MethodDef) in each row, so the migration also derives and inserts
9,900 values with their audit rows (``storage.version_derivations``); same baseline. No target
is set by the issue; the figure is the cost a data manager waits for. SQLite always; PostgreSQL with
EDC_BENCH_POSTGRES_URL or EDC_TEST_POSTGRES_URL set.
"""

from __future__ import annotations

import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.common import Row, postgres_url

SUBJECTS, ROWS = 1000, 10


def _odm(data_type: str, mdv: str, *, derived: bool = False) -> bytes:
    next_ref = '<ItemRef ItemOID="IT.NEXT" Mandatory="No" MethodOID="M.NEXT"/>' if derived else ""
    next_def = (
        '<ItemDef OID="IT.NEXT" Name="NEXT" DataType="integer" Length="8"/>'
        '<MethodDef OID="M.NEXT" Name="Next" Type="Computation">'
        '<Description><TranslatedText xml:lang="en">IT.CODE + 1</TranslatedText></Description>'
        '<FormalExpression Context="OEL">IT.CODE + 1</FormalExpression></MethodDef>'
        if derived
        else ""
    )
    body = (
        '<Protocol><StudyEventRef StudyEventOID="SE.V" Mandatory="Yes"/></Protocol>'
        '<StudyEventDef OID="SE.V" Name="Visit" Repeating="No" Type="Scheduled">'
        '<FormRef FormOID="F.LAB" Mandatory="No"/></StudyEventDef>'
        '<FormDef OID="F.LAB" Name="Lab" Repeating="No">'
        '<ItemGroupRef ItemGroupOID="IG.LAB" Mandatory="No"/></FormDef>'
        '<ItemGroupDef OID="IG.LAB" Name="Lab rows" Repeating="Yes">'
        f'<ItemRef ItemOID="IT.CODE" Mandatory="No"/>{next_ref}</ItemGroupDef>'
        f'<ItemDef OID="IT.CODE" Name="CODE" DataType="{data_type}" Length="8"/>{next_def}'
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<ODM xmlns="http://www.cdisc.org/ns/odm/v1.3" FileOID="F.M" FileType="Snapshot" '
        'ODMVersion="1.3.2" CreationDateTime="2026-01-01T00:00:00">'
        '<Study OID="S.M"><GlobalVariables><StudyName>Bench</StudyName>'
        "<StudyDescription>Bench</StudyDescription><ProtocolName>M</ProtocolName>"
        f'</GlobalVariables><MetaDataVersion OID="{mdv}" Name="{mdv}">{body}</MetaDataVersion>'
        '</Study><AdminData StudyOID="S.M"><Location OID="SITE.1" Name="Site 1">'
        f'<MetaDataVersionRef StudyOID="S.M" MetaDataVersionOID="{mdv}" '
        'EffectiveDate="2026-01-01"/></Location></AdminData></ODM>'
    ).encode()


def _setup(url: str, derived: bool = False) -> Any:
    from odm_engine.clinical import ItemKey
    from storage.bulk import BulkWriter
    from storage.engine import make_engine, write_transaction
    from storage.migrate import upgrade
    from storage.models import Role
    from storage.studies import load_study
    from storage.users import add_user, set_role

    engine = make_engine(url)
    upgrade(engine)
    with write_transaction(engine) as conn:
        assert load_study(conn, _odm("text", "MDV.1")).status == "stored"
        add_user(conn, "bench", "load-test-passphrase-1")
        set_role(conn, "bench", "S.M", Role.DATA_MANAGER)
        writer = BulkWriter(conn, study="S.M", user="bench", role=Role.DATA_MANAGER, source="b")
        for s in range(SUBJECTS):
            rows = [
                (
                    ItemKey("SE.V", "", "F.LAB", "", "IG.LAB", str(r + 1), "IT.CODE"),
                    "n/a" if s % 100 == 0 and r == 0 else f"0{(s * ROWS + r) % 1000}",
                )
                for r in range(ROWS)
            ]
            writer.add_subject(f"S{s:05d}", "SITE.1", rows)
        writer.finish()
        v2 = _odm("integer", "MDV.2", derived=derived)
        assert load_study(conn, v2, publish=True, reason="bench").status == "stored"
    return engine


def _migrate(engine: Any, derived: bool = False) -> float:
    from storage.engine import write_transaction
    from storage.versions import migrate_subjects

    start = time.perf_counter()
    with write_transaction(engine) as conn:
        report = migrate_subjects(conn, "S.M", 2, user="bench", reason="bench")
    took = time.perf_counter() - start
    assert len(report.moved) == SUBJECTS - SUBJECTS // 100, len(report.moved)
    assert len(report.rewritten) == (SUBJECTS - SUBJECTS // 100) * ROWS
    assert len(report.derived) == (SUBJECTS - SUBJECTS // 100) * ROWS * derived
    return took


def _bare(engine: Any) -> float:
    """The same rewrites as plain UPDATEs by id on the driver: nothing read, nothing audited."""
    from sqlalchemy import text

    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT id, value FROM item_data WHERE substr(value, 1, 1) = '0'")
        ).all()
    pg = engine.dialect.name == "postgresql"
    sql = f"UPDATE item_data SET value = {'%s' if pg else '?'} WHERE id = {'%s' if pg else '?'}"
    params = [(str(int(v)), i) for i, v in rows]
    start = time.perf_counter()
    with engine.begin() as conn:
        cur = conn.connection.dbapi_connection.cursor()
        cur.executemany(sql, params)
    return time.perf_counter() - start


def _measure(kind: str, url_of: Any, derived: bool = False) -> Row:
    """Migration on one fresh database, the bare updates on another (``url_of(name)``)."""
    tag = "d" if derived else ""
    engine = _setup(url_of(f"a{tag}"), derived)
    try:
        ours = _migrate(engine, derived)
    finally:
        engine.dispose()
    engine = _setup(url_of(f"b{tag}"))
    try:
        baseline = _bare(engine)
    finally:
        engine.dispose()
    if derived:
        return Row(f"migrate.{kind}.1000_subjects_derived", ours, baseline, "s", "-", None,
                   "9,900 values rewritten and 9,900 derived, all audited")  # fmt: skip
    return Row(f"migrate.{kind}.1000_subjects", ours, baseline, "s", "-", None,
               "9,900 values rewritten and audited, 10 subjects listed")  # fmt: skip


@contextmanager
def _schemas(base: str) -> Iterator[Any]:
    """Fresh PostgreSQL schemas by name (dropped afterwards): ``url_of(name)``."""
    from sqlalchemy import text

    from storage.engine import make_engine

    tag, made = uuid.uuid4().hex[:8], []
    admin = make_engine(base)

    def url_of(name: str) -> str:
        schema = f"bench_mig_{tag}_{name}"
        with admin.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        made.append(schema)
        return f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"

    try:
        yield url_of
    finally:
        with admin.begin() as conn:
            for schema in made:
                conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def run() -> list[Row]:
    with tempfile.TemporaryDirectory() as tmp:
        url_of = lambda name: f"sqlite:///{Path(tmp) / name}.sqlite3"  # noqa: E731
        rows = [_measure("sqlite", url_of, d) for d in (False, True)]
    base = postgres_url()
    if base:
        with _schemas(base) as url_of:
            rows += [_measure("postgresql", url_of, d) for d in (False, True)]
    return rows
