"""Impact bench: what retyping an item (text -> integer) does to 1,000,000 stored values.

The study holds one repeating group of one text item, IT.SCORE, stored 200 times for each of
5,000 subjects (1,000,000 values, about 5,000 distinct; every 1,000th is "n/a"). The new version
retypes IT.SCORE to integer, so 1,000 values would become invalid. Each figure comes from its
own subprocess on the same database, so its peak memory (peak RSS, ``VmHWM`` of
/proc/self/status, the whole process: interpreter, SQLAlchemy and the engine included) is its
own:

- ``impact``: ``storage.impact.impact`` of the new version, every problem kept (the seconds of
  the call itself; parsing the new file is not counted);
- ``bare``: the floor, a bare ``SELECT COUNT(*) FROM item_data`` plus a bare streamed SELECT of
  every stored value into Python (what any check of the values has to read at least once).

Targets (issue 16): < 10 s and < 200 MB peak, on SQLite and, with EDC_BENCH_POSTGRES_URL or
EDC_TEST_POSTGRES_URL set, on PostgreSQL. Rows ``impact.<db>.retyped_1m`` (seconds, ratio to
the bare read) and ``impact.<db>.peak`` (MB). The data are written by SQL (recursive CTE /
generate_series) before the children run; that setup is not timed. EDC_BENCH_SCALE=100000
for a quick run (values).
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
ROWS = 200
"""Group rows (values of IT.SCORE) per subject."""
TARGET_SECONDS, TARGET_MB = 10.0, 200.0


def _odm(score_type: str, mdv: str) -> bytes:
    body = (
        '<Protocol><StudyEventRef StudyEventOID="SE.V" Mandatory="Yes"/></Protocol>'
        '<StudyEventDef OID="SE.V" Name="Visit" Repeating="No" Type="Scheduled">'
        '<FormRef FormOID="F.LAB" Mandatory="No"/></StudyEventDef>'
        '<FormDef OID="F.LAB" Name="Lab" Repeating="No">'
        '<ItemGroupRef ItemGroupOID="IG.LAB" Mandatory="No"/></FormDef>'
        '<ItemGroupDef OID="IG.LAB" Name="Lab rows" Repeating="Yes">'
        '<ItemRef ItemOID="IT.SCORE" Mandatory="No"/></ItemGroupDef>'
        f'<ItemDef OID="IT.SCORE" Name="SCORE" DataType="{score_type}" Length="8"/>'
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<ODM xmlns="http://www.cdisc.org/ns/odm/v1.3" FileOID="F.B" FileType="Snapshot" '
        'ODMVersion="1.3.2" CreationDateTime="2026-01-01T00:00:00">'
        '<Study OID="S.B"><GlobalVariables><StudyName>Bench</StudyName>'
        "<StudyDescription>Bench</StudyDescription><ProtocolName>B</ProtocolName>"
        f'</GlobalVariables><MetaDataVersion OID="{mdv}" Name="{mdv}">{body}</MetaDataVersion>'
        '</Study><AdminData StudyOID="S.B"><Location OID="SITE.1" Name="Site 1">'
        f'<MetaDataVersionRef StudyOID="S.B" MetaDataVersionOID="{mdv}" '
        'EffectiveDate="2026-01-01"/></Location></AdminData></ODM>'
    ).encode()


def _series(dialect: str, n: int) -> str:
    """A subquery of the integers 1..n as column ``i``."""
    if dialect == "postgresql":
        return f"(SELECT i FROM generate_series(1, {n}) AS g(i)) AS s"
    return (
        f"(WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < {n}) "
        "SELECT i FROM c) AS s"
    )


def _setup(url: str, n_values: int) -> int:
    """Migrate, load the text version and write the values by SQL; returns the values."""
    from sqlalchemy import text

    from storage.engine import make_engine, write_transaction
    from storage.migrate import upgrade
    from storage.models import Subject
    from storage.studies import load_study

    engine = make_engine(url)
    upgrade(engine)
    subjects = max(1, n_values // ROWS)
    with write_transaction(engine) as conn:
        assert load_study(conn, _odm("text", "MDV.1")).status == "stored"
        dialect = conn.dialect.name

        def run(sql: str) -> None:
            conn.execute(text(sql))

        # the version a subject is on (issue 16, item 5), where the schema has it
        on = (
            ("", "")
            if "metadata_version" not in Subject.__table__.c
            else (", metadata_version", ", 1")
        )
        run(
            f"INSERT INTO subjects (id, study_id, subject_key, site_id, created_at{on[0]}) "
            f"SELECT i, (SELECT id FROM studies), 'S' || CAST(i AS TEXT), "
            f"(SELECT id FROM sites), '2026-01-01 00:00:00'{on[1]} "
            f"FROM {_series(dialect, subjects)}"
        )
        run(
            "INSERT INTO study_events (id, subject_id, study_event_oid, repeat_key) "
            f"SELECT i, i, 'SE.V', '' FROM {_series(dialect, subjects)}"
        )
        run(
            "INSERT INTO forms (id, study_event_id, form_oid, repeat_key, status, version) "
            f"SELECT i, i, 'F.LAB', '', 'complete', 1 FROM {_series(dialect, subjects)}"
        )
        n = subjects * ROWS
        run(
            "INSERT INTO item_groups (id, form_id, item_group_oid, repeat_key) "
            f"SELECT i, (i - 1) / {ROWS} + 1, 'IG.LAB', CAST((i - 1) % {ROWS} + 1 AS TEXT) "
            f"FROM {_series(dialect, n)}"
        )
        run(
            "INSERT INTO item_data (id, item_group_id, item_oid, value) "
            "SELECT i, i, 'IT.SCORE', "
            "CASE WHEN i % 1000 = 0 THEN 'n/a' ELSE CAST(i % 5000 AS TEXT) END "
            f"FROM {_series(dialect, n)}"
        )
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:  # what autovacuum does after a bulk load
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
    engine.dispose()
    return n


def _impact(url: str) -> dict[str, Any]:
    from odm_engine.loader import load_odm
    from odm_engine.profiles import normalise
    from storage.engine import make_engine
    from storage.impact import impact

    odm = load_odm(_odm("integer", "MDV.2")).odm
    assert odm is not None and odm.study is not None
    odm = normalise(odm)
    study = odm.study
    assert study is not None
    mdv = study.metadata_version()
    assert mdv is not None
    engine = make_engine(url)
    with engine.connect() as conn:
        start = _now()
        report = impact(conn, "S.B", mdv, study=study)
        seconds = _now() - start
    return {"seconds": seconds, "problems": report.total, "kinds": dict(report.by_kind)}


def _bare(url: str) -> dict[str, Any]:
    from storage.engine import make_engine

    engine = make_engine(url)
    with engine.connect() as conn:
        start = _now()
        count = conn.exec_driver_sql("SELECT COUNT(*) FROM item_data").scalar_one()
        streamed = conn.execution_options(stream_results=True, yield_per=2000)
        read = sum(1 for _ in streamed.exec_driver_sql("SELECT value FROM item_data"))
        seconds = _now() - start
    assert read == count
    return {"seconds": seconds, "values": count}


def _now() -> float:
    import time

    return time.perf_counter()


def _peak_mb() -> float:
    """This process's peak resident memory: VmHWM of /proc/self/status (ru_maxrss on Linux
    keeps the high-water mark of the process that forked it across execve)."""
    import resource

    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child(kind: str, url: str, n: int) -> None:
    if kind == "setup":
        figures: dict[str, Any] = {"values": _setup(url, n)}
    else:
        figures = (_impact if kind == "impact" else _bare)(url)
    figures["peak_mb"] = _peak_mb()
    print(json.dumps(figures))


def _run_child(kind: str, url: str, n: int = 0) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, kind, url, str(n)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def _pg_schema(base: str, schema: str, create: bool) -> None:
    from sqlalchemy import text

    from storage.engine import make_engine

    engine = make_engine(base)
    with engine.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}" if create else f"DROP SCHEMA {schema} CASCADE"))
    engine.dispose()


def _rows(db: str, url: str, n: int) -> list[Row]:
    from bench.common import Row

    values = _run_child("setup", url, n)["values"]
    bare = _run_child("bare", url)
    ours = _run_child("impact", url)
    assert ours["problems"] == values // 1000, ours
    return [
        Row(f"impact.{db}.retyped_1m", ours["seconds"], bare["seconds"], "s",
            f"< {TARGET_SECONDS:g} s", ours["seconds"] < TARGET_SECONDS,
            f"{values} stored values of IT.SCORE text -> integer, {ours['problems']} invalid; "
            "baseline: bare COUNT(*) + streamed SELECT of every value"),
        Row(f"impact.{db}.peak", ours["peak_mb"], bare["peak_mb"], "MB", f"< {TARGET_MB:g} MB",
            ours["peak_mb"] < TARGET_MB,
            "peak RSS (VmHWM) of the impact process, interpreter and imports included; "
            "baseline: of the bare read"),
    ]  # fmt: skip


def run() -> list[Row]:
    n = int(os.environ.get("EDC_BENCH_SCALE", "1000000"))
    with tempfile.TemporaryDirectory() as tmp:
        rows = _rows("sqlite", f"sqlite:///{tmp}/impact.sqlite3", n)
    base = os.environ.get("EDC_BENCH_POSTGRES_URL") or os.environ.get("EDC_TEST_POSTGRES_URL")
    if base:
        schema = f"bench_{uuid.uuid4().hex[:10]}"
        _pg_schema(base, schema, create=True)
        try:
            sep = "&" if "?" in base else "?"
            rows += _rows("postgresql", f"{base}{sep}options=-csearch_path%3D{schema}", n)
        finally:
            _pg_schema(base, schema, create=False)
    return rows


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    if len(sys.argv) == 4:
        _child(sys.argv[1], sys.argv[2], int(sys.argv[3]))
    else:
        for row in run():
            print(row.format())
