"""Storage bench: bulk-writing N item values with audit rows vs a bare executemany.

Both runs write the same rows (subjects, events, forms, item groups, item data, audit rows)
into the same freshly migrated tables, in one transaction, in the same process kind; each run
is its own subprocess so its peak memory (ru_maxrss) is its own. The bulk path validates every
value (DataType, Length, CodeList, form membership) and builds the audit rows itself; the bare
run executemany()s pre-shaped tuples. The bench study has no RangeChecks or conditions, so the
check plan is not evaluated per form (a study with checks costs more; see the note).

N defaults to 1,000,000 items; EDC_BENCH_SCALE=50000 for a quick run. With
EDC_TEST_POSTGRES_URL set, the PostgreSQL figures (COPY path vs bare executemany) are added.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bench.common import Row

REPO = Path(__file__).resolve().parents[1]
FORMS, ITEMS = 5, 20  # 100 items per subject

DIGITS = ' SignificantDigits="1"'


def coded(item: int) -> bool:
    """Text items with a CodeList (Y/N)."""
    return item % 3 == 1 and item % 2 == 0


CODED = '<CodeListRef CodeListOID="CL.YN"/>'
ITEM_DEFS = "".join(
    f'<ItemDef OID="IT.{i}" Name="I{i}" DataType="{("integer", "text", "float")[i % 3]}" '
    f'Length="8"{DIGITS if i % 3 == 2 else ""}>{CODED if coded(i) else ""}</ItemDef>'
    for i in range(ITEMS)
)
BODY = (
    '<Protocol><StudyEventRef StudyEventOID="SE.V" Mandatory="Yes"/></Protocol>'
    '<StudyEventDef OID="SE.V" Name="Visit" Repeating="No" Type="Scheduled">'
    + "".join(f'<FormRef FormOID="F.{f}" Mandatory="No"/>' for f in range(FORMS))
    + "</StudyEventDef>"
    + "".join(
        f'<FormDef OID="F.{f}" Name="F{f}" Repeating="No">'
        f'<ItemGroupRef ItemGroupOID="IG.{f}" Mandatory="No"/></FormDef>'
        for f in range(FORMS)
    )
    + "".join(
        f'<ItemGroupDef OID="IG.{f}" Name="G{f}" Repeating="No">'
        + "".join(f'<ItemRef ItemOID="IT.{i}" Mandatory="No"/>' for i in range(ITEMS))
        + "</ItemGroupDef>"
        for f in range(FORMS)
    )
    + ITEM_DEFS
    + '<CodeList OID="CL.YN" Name="YN" DataType="text">'
    '<CodeListItem CodedValue="N"><Decode><TranslatedText>No</TranslatedText></Decode>'
    '</CodeListItem><CodeListItem CodedValue="Y"><Decode><TranslatedText>Yes</TranslatedText>'
    "</Decode></CodeListItem></CodeList>"
)
ADMIN = (
    '<AdminData StudyOID="S.B"><Location OID="SITE.1" Name="Site 1">'
    '<MetaDataVersionRef StudyOID="S.B" MetaDataVersionOID="MDV.1" EffectiveDate="2026-01-01"/>'
    "</Location></AdminData>"
)


def _odm() -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<ODM xmlns="http://www.cdisc.org/ns/odm/v1.3" FileOID="F.B" FileType="Snapshot" '
        'ODMVersion="1.3.2" CreationDateTime="2026-01-01T00:00:00">'
        '<Study OID="S.B"><GlobalVariables><StudyName>Bench</StudyName>'
        "<StudyDescription>Bench</StudyDescription><ProtocolName>B</ProtocolName>"
        f'</GlobalVariables><MetaDataVersion OID="MDV.1" Name="V1">{BODY}</MetaDataVersion>'
        f"</Study>{ADMIN}</ODM>"
    ).encode()


def value(subject: int, item: int) -> str:
    """Canonical values, so the validated rows equal the bare rows."""
    if coded(item):
        return "Y" if subject % 2 else "N"
    kind = item % 3
    if kind == 0:
        return str((subject * 7 + item) % 1000)
    if kind == 1:
        return f"T{(subject + item) % 997}"
    return f"{(subject + item) % 500}.5"


def _setup(url: str) -> Any:
    from storage.engine import make_engine, write_transaction
    from storage.migrate import upgrade
    from storage.models import Role
    from storage.studies import load_study
    from storage.users import add_user, set_role

    engine = make_engine(url)
    upgrade(engine)
    with write_transaction(engine) as conn:
        result = load_study(conn, _odm())
        assert result.status == "stored", [f.format() for f in result.findings]
        add_user(conn, "bench", "load-test-passphrase-1")
        set_role(conn, "bench", "S.B", Role.DATA_MANAGER)
    return engine


def _bulk(engine: Any, n_subjects: int) -> None:
    from odm_engine.clinical import ItemKey
    from storage.bulk import BulkWriter
    from storage.engine import write_transaction

    keys = [
        [ItemKey("SE.V", "", f"F.{f}", "", f"IG.{f}", "", f"IT.{i}") for i in range(ITEMS)]
        for f in range(FORMS)
    ]
    with write_transaction(engine) as conn:
        writer = BulkWriter(conn, study="S.B", user="bench", role="data_manager",
                            source="import:BENCH:0")  # fmt: skip
        for s in range(n_subjects):
            writer.add_subject(
                f"S{s:07d}", "SITE.1",
                [(k, value(s, i)) for form in keys for i, k in enumerate(form)],
            )  # fmt: skip
        writer.finish()


def _bare(engine: Any, n_subjects: int) -> None:
    """The same rows, shaped by hand and executemany()d in batches: the floor."""
    from datetime import UTC, datetime

    from storage.audit import AUDIT_COLUMNS
    from storage.bulk import _BATCHES

    # The plain shape of each table's rows as the bulk path writes them (its other batches,
    # item_values, item_units and audit_units, are variants of these for the same tables).
    _TABLES = {
        table: columns for name, (table, columns, _nulls) in _BATCHES.items() if name == table
    }
    pg = engine.dialect.name == "postgresql"
    now = datetime.now(UTC)
    stamp: Any = now if pg else now.strftime("%Y-%m-%d %H:%M:%S.%f")
    mark = "%s" if pg else "?"
    sql = {
        t: f"INSERT INTO {t} ({', '.join(c)}) VALUES ({', '.join([mark] * len(c))})"
        for t, c in _TABLES.items()
    }
    assert _TABLES["audit_trail"] == AUDIT_COLUMNS
    with engine.begin() as conn:
        cur = conn.connection.dbapi_connection.cursor()
        study_id, user_id, site_id = (
            conn.exec_driver_sql(q).scalar_one()
            for q in ("SELECT id FROM studies", "SELECT id FROM users", "SELECT id FROM sites")
        )
        rows: dict[str, list[tuple[Any, ...]]] = {t: [] for t in sql}
        pending = 0
        for s in range(n_subjects):
            sid = s + 1
            key = f"S{s:07d}"
            rows["subjects"].append((sid, study_id, key, site_id, stamp, 1))
            rows["study_events"].append((sid, sid, "SE.V", ""))
            who = (stamp, user_id, "bench", "data_manager", "SITE.1", "S.B", sid, key, None,
                   "import:BENCH:0", 1, "SE.V", "")  # fmt: skip
            rows["audit_trail"].append(  # the subject's creation
                (*who[:10], 0, "", "", "", "", "", "", "", "Insert", None, key, None, None)
            )
            for f in range(FORMS):
                fid = s * FORMS + f + 1
                rows["forms"].append((fid, sid, f"F.{f}", "", "in_progress", 1, stamp, "bench"))
                rows["item_groups"].append((fid, fid, f"IG.{f}", ""))
                rows["audit_trail"].append(
                    (*who, f"F.{f}", "", "", "", "", "Status", "not_started", "in_progress",
                     None, None)
                )  # fmt: skip
                for i in range(ITEMS):
                    v = value(s, i)
                    rows["item_data"].append((fid, f"IT.{i}", v, None))
                    rows["audit_trail"].append(
                        (*who, f"F.{f}", "", f"IG.{f}", "", f"IT.{i}", "Insert", None, v,
                         None, None)
                    )  # fmt: skip
            pending += FORMS * ITEMS * 2
            if pending >= 20_000 or s == n_subjects - 1:
                for t, batch in rows.items():
                    if batch:
                        cur.executemany(sql[t], batch)
                        batch.clear()
                pending = 0


def _child(kind: str, url: str, n_items: int) -> None:
    import resource
    import time

    engine = _setup(url)
    n_subjects = max(1, n_items // (FORMS * ITEMS))
    start = time.perf_counter()
    (_bulk if kind == "bulk" else _bare)(engine, n_subjects)
    seconds = time.perf_counter() - start
    with engine.connect() as conn:
        items = conn.exec_driver_sql("SELECT count(*) FROM item_data").scalar_one()
        audit = conn.exec_driver_sql("SELECT count(*) FROM audit_trail").scalar_one()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "items": items, "audit": audit, "peak_mb": peak_mb}))


def _run_child(kind: str, url: str, n_items: int) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, kind, url, str(n_items)], cwd=REPO, capture_output=True,
        text=True, check=True,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def _pg_schema(base: str, schema: str, create: bool) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(base.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}" if create else f"DROP SCHEMA {schema} CASCADE"))
    engine.dispose()


def run() -> list[Row]:
    from bench.common import Row  # here: the child processes run this file alone

    n = int(os.environ.get("EDC_BENCH_SCALE", "1000000"))
    with tempfile.TemporaryDirectory() as tmp:
        bulk = _run_child("bulk", f"sqlite:///{tmp}/bulk.sqlite3", n)
        bare = _run_child("bare", f"sqlite:///{tmp}/bare.sqlite3", n)
    items = bulk["items"]
    assert items == bare["items"] and bulk["audit"] == bare["audit"], (bulk, bare)
    bulk_rate, bare_rate = items / bulk["seconds"], items / bare["seconds"]
    rows = [
        Row("storage.sqlite.bulk_items", bulk_rate, bare_rate, "items/s", ">= 0.6x bare",
            bulk_rate >= 0.6 * bare_rate,
            f"{items} items + {bulk['audit']} audit rows, validated, one transaction, "
            f"{bulk['seconds']:.1f} s; bare executemany of the same rows "
            f"{bare['seconds']:.1f} s"),
        Row("storage.sqlite.bulk_peak", bulk["peak_mb"], bare["peak_mb"], "MB", "< 200 MB",
            bulk["peak_mb"] < 200, "ru_maxrss of the bulk and the bare run"),
    ]  # fmt: skip
    base = os.environ.get("EDC_TEST_POSTGRES_URL")
    if base:
        figures = {}
        for kind in ("bulk", "bare"):
            schema = f"bench_{uuid.uuid4().hex[:10]}"
            _pg_schema(base, schema, create=True)
            try:
                sep = "&" if "?" in base else "?"
                figures[kind] = _run_child(kind, f"{base}{sep}options=-csearch_path%3D{schema}", n)
            finally:
                _pg_schema(base, schema, create=False)
        pg_bulk = figures["bulk"]["items"] / figures["bulk"]["seconds"]
        pg_bare = figures["bare"]["items"] / figures["bare"]["seconds"]
        rows.append(
            Row("storage.postgresql.bulk_items", pg_bulk, pg_bare, "items/s", "-", None,
                f"COPY path with audit rows, {figures['bulk']['seconds']:.1f} s, peak "
                f"{figures['bulk']['peak_mb']:.0f} MB; bare executemany "
                f"{figures['bare']['seconds']:.1f} s")
        )  # fmt: skip
    return rows


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    if len(sys.argv) == 4:
        _child(sys.argv[1], sys.argv[2], int(sys.argv[3]))
    else:
        for row in run():
            print(row.format())
