"""The bulk import's speed tricks against their plain versions, in the same run (issue 15).

Tricks (``storage/bulk/sinks.py``) and what each is held against:

- ``thread``: SQLite multi-row INSERTs written by a second thread (``SqliteSink()``) against
  the same INSERTs in line (``SqliteSink(background=False)``): what the writer thread buys.
  Its gain is wall time, and only when a second core is idle; CPU time can only grow.
- ``multirow``: those in-line multi-row INSERTs against ``ReferenceSink`` (one plain
  ``executemany`` per table): what the multi-row INSERTs buy.
- ``copy``: PostgreSQL ``PostgresSink`` (COPY for item_data and audit_trail) against
  ``ReferenceSink``. CPU is this process's (the client's); the server's work shows in wall.
- ``maxids`` (SQLite): the parent rows of the generated subjects (subject, event, form, item
  group) inserted batched with ids handed out by ``MaxIds``, against the plain way to learn
  a row's id, one INSERT per parent row and its ``lastrowid``. The values are not written: they
  are batched either way; the import without ``MaxIds`` would need the per-row path.

Each import runs the whole application path (``storage.exchange.import_subjects``, reading,
checks, audit rows) in its own child process on a fresh copy of the same prepared database,
the variants of a round in alternating order (round r starts with variant r mod n), best of
``--repeat`` (default 3) for wall and CPU separately. The machine is shared: each row names
the load average. Shapes and generators are :mod:`bench.exchange_data`'s; ``--scale`` (or
EDC_BENCH_SCALE) sizes them::

    python -m bench sinks --shape subject-heavy --db both --scale 0.25 --repeat 3

A row is MET when the trick buys more than 10% on the figure it serves: wall for the thread
and COPY, CPU for the multi-row INSERTs, and for MaxIds the CPU its parent rows save as a
share of the whole import's CPU (the path it serves). Each import row also names the time the
importing thread spent in the sink's ``write`` and ``wait``: in line, the whole write, which
is the most a writer thread could hide given an idle core.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.bench_exchange import _Database
from bench.common import Row, scale
from bench.exchange_data import SHAPES, STUDY, Shape, engine_url, generate

VARIANTS = {"sqlite": ("thread", "inline", "reference"), "postgres": ("copy", "reference")}
TRICKS = {
    # name -> (db, trick variant, plain variant, the figure it serves)
    "thread": ("sqlite", "thread", "inline", "wall"),
    "multirow": ("sqlite", "inline", "reference", "cpu"),
    "copy": ("postgres", "copy", "reference", "wall"),
}


def _sink(variant: str) -> object:
    from storage.bulk.sinks import PostgresSink, ReferenceSink, SqliteSink

    return {
        "thread": SqliteSink,
        "inline": functools.partial(SqliteSink, background=False),
        "reference": ReferenceSink,
        "copy": PostgresSink,
    }[variant]


def job_import(variant: str, db: str, path: str) -> dict[str, float]:
    """Import ``path`` into ``db`` through ``variant``'s sink; wall and CPU of the import."""
    from odm_engine.exchange import read_clinical_data
    from storage.engine import make_engine, write_transaction
    from storage.exchange import import_subjects

    made: list[_Timed] = []
    engine = make_engine(engine_url(db))
    with engine.connect():
        pass  # the connection pool warm, as in a running application
    start, cpu = time.perf_counter(), time.process_time()
    with write_transaction(engine) as conn:
        outcome = import_subjects(
            conn,
            STUDY,
            read_clinical_data(path),
            user="dm",
            source="import:bench",
            sink=functools.partial(_Timed.around, _sink(variant), made),
        )
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    assert outcome.result is not None and not outcome.problems
    spent = sum(sink.seconds for sink in made)
    return {"seconds": seconds, "cpu": cpu, "count": outcome.result.items_written, "sink": spent}


class _Timed:
    """A sink that counts the time the importing thread spends in its ``write`` and ``wait``
    (in line: the whole write; with the writer thread: the part not overlapped)."""

    def __init__(self, sink: Any) -> None:
        self.sink, self.seconds = sink, 0.0

    @classmethod
    def around(cls, make: Any, made: list[_Timed], conn: Any) -> _Timed:
        made.append(cls(make(conn)))
        return made[-1]

    @property
    def audit_rows(self) -> int:
        return int(self.sink.audit_rows)

    def write(self, batches: Any, inserted: Any) -> None:
        start = time.perf_counter()
        self.sink.write(batches, inserted)
        self.seconds += time.perf_counter() - start

    def wait(self) -> None:
        start = time.perf_counter()
        self.sink.wait()
        self.seconds += time.perf_counter() - start

    def close(self) -> None:
        self.sink.close()


def _child_import(variant: str, db: str, path: str) -> dict[str, float]:
    repo = Path(__file__).resolve().parents[1]
    out = subprocess.run(
        [sys.executable, "-m", "bench.bench_sinks", variant, db, path],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"bench sinks {variant} failed:\n{out.stderr[-3000:]}")
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def _load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def _best(runs: list[dict[str, float]]) -> dict[str, float]:
    return {
        "seconds": min(r["seconds"] for r in runs),
        "cpu": min(r["cpu"] for r in runs),
        "count": runs[0]["count"],
        "sink": min(r.get("sink", 0.0) for r in runs),
    }


def measure_sinks(shape: Shape, kind: str, repeat: int) -> dict[str, dict[str, float]]:
    """Best wall and CPU of each sink variant of ``kind`` importing ``shape``."""
    variants = VARIANTS[kind]
    runs: dict[str, list[dict[str, float]]] = {v: [] for v in variants}
    with tempfile.TemporaryDirectory(prefix="edc-bench-sinks-") as tmp:
        work = Path(tmp)
        odm_file = work / "data.xml"
        generate(odm_file, shape)
        db = _Database(kind, work)
        try:
            db.prepare(odm_file)
            for r in range(repeat):
                order = variants[r % len(variants) :] + variants[: r % len(variants)]
                for variant in order:
                    runs[variant].append(_child_import(variant, db.fresh("import"), str(odm_file)))
        finally:
            db.close()
    counts = {runs[v][0]["count"] for v in variants}
    if len(counts) != 1:
        raise RuntimeError(f"the sinks wrote different numbers of values: {counts}")
    return {v: _best(runs[v]) for v in variants}


def trick_row(
    trick: str, label: str, best: dict[str, dict[str, float]], repeat: int, load: str
) -> Row:
    """One trick's row: its wall time against its plain version's, both ratios in the note."""
    _db, ours, plain, serves = TRICKS[trick]
    a, b = best[ours], best[plain]
    wall, cpu = b["seconds"] / a["seconds"], b["cpu"] / a["cpu"]
    gain = wall if serves == "wall" else cpu
    return Row(
        f"{trick} ({ours} vs {plain}) {label}",
        a["seconds"],
        b["seconds"],
        "s",
        f">10% on {serves}",
        met=gain > 1.10,
        note=f"best of {repeat}; wall {wall:.2f}x, cpu {a['cpu']:.2f} vs {b['cpu']:.2f} s "
        f"({cpu:.2f}x); importing thread in the sink {a['sink']:.2f} vs {b['sink']:.2f} s; "
        f"load {load}",
    )


# -- MaxIds: parent rows batched with ids handed out, against one INSERT per row -----------

_PARENTS = (
    ("subjects", "(id, study_id, subject_key, site_id, created_at, metadata_version)"),
    ("study_events", "(id, subject_id, study_event_oid, repeat_key)"),
    ("forms", "(id, study_event_id, form_oid, repeat_key, status, version, updated_at)"),
    ("item_groups", "(id, form_id, item_group_oid, repeat_key)"),
)


def _parent_rows(shape: Shape, study_id: int, site_id: int) -> list[tuple[object, ...]]:
    """One (table, values without id, parent index) chain per generated subject, flat."""
    stamp = "2026-01-01 00:00:00.000000"
    out: list[tuple[object, ...]] = []
    for s in range(shape.subjects):
        out.append(("subjects", (study_id, f"M{s:07d}", site_id, stamp, 1), None))
        subject = len(out) - 1
        for e in range(1, shape.events + 1):
            out.append(("study_events", (f"SE.V{e}", ""), subject))
            event = len(out) - 1
            for f in range(shape.forms):
                out.append(("forms", (f"F.{f}", "", "in_progress", 1, stamp), event))
                out.append(("item_groups", (f"IG.{f}", ""), len(out) - 1))
    return out


def _insert(table: str, columns: str, with_id: bool) -> str:
    names = columns if with_id else "(" + columns[len("(id, ") :]
    marks = ", ".join("?" * names.count(",")) + ", ?"
    return f"INSERT INTO {table} {names} VALUES ({marks})"


def _ids_by_rowid(conn: sqlite3.Connection, rows: list[tuple[object, ...]]) -> None:
    """The plain way: each parent row inserted alone, its children take its ``lastrowid``."""
    sql = {t: _insert(t, c, with_id=False) for t, c in _PARENTS}
    ids: list[int] = []
    cursor = conn.cursor()
    for table, values, parent in rows:
        head = () if parent is None else (ids[parent],)  # type: ignore[index]
        cursor.execute(sql[table], (*head, *values))  # type: ignore[arg-type]
        ids.append(int(cursor.lastrowid or 0))


def _ids_by_maxids(conn: sqlite3.Connection, rows: list[tuple[object, ...]]) -> None:
    """The trick: ids counted up from ``max(id)`` (as ``MaxIds`` does), one executemany per
    table."""
    last = {t: conn.execute(f"SELECT max(id) FROM {t}").fetchone()[0] or 0 for t, _ in _PARENTS}
    batches: dict[str, list[tuple[object, ...]]] = {t: [] for t, _ in _PARENTS}
    ids: list[int] = []
    for table, values, parent in rows:
        last[table] += 1  # type: ignore[index]
        head = () if parent is None else (ids[parent],)  # type: ignore[index]
        batches[table].append((last[table], *head, *values))  # type: ignore[index,misc]
        ids.append(last[table])  # type: ignore[index]
    for table, columns in _PARENTS:
        conn.executemany(_insert(table, columns, with_id=True), batches[table])


def measure_ids(shape: Shape, repeat: int) -> dict[str, dict[str, float]]:
    """Best wall and CPU of both ways of inserting the parent rows of ``shape`` (SQLite)."""
    from storage.engine import make_engine, write_transaction

    runs: dict[str, list[dict[str, float]]] = {"maxids": [], "rowid": []}
    with tempfile.TemporaryDirectory(prefix="edc-bench-ids-") as tmp:
        work = Path(tmp)
        odm_file = work / "data.xml"
        generate(odm_file, shape.scaled(10 / shape.subjects))  # the study; no values needed
        db = _Database("sqlite", work)
        db.prepare(odm_file)
        for r in range(repeat):
            for way in ("maxids", "rowid") if r % 2 == 0 else ("rowid", "maxids"):
                engine = make_engine(engine_url(db.fresh("import")))
                with write_transaction(engine) as conn:
                    study_id = conn.exec_driver_sql(
                        "SELECT id FROM studies WHERE oid = ?", (STUDY,)
                    ).scalar_one()
                    site_id = conn.exec_driver_sql("SELECT min(id) FROM sites").scalar_one()
                    rows = _parent_rows(shape, study_id, site_id)
                    dbapi = conn.connection.dbapi_connection
                    start, cpu = time.perf_counter(), time.process_time()
                    (_ids_by_maxids if way == "maxids" else _ids_by_rowid)(dbapi, rows)  # type: ignore[arg-type]
                    runs[way].append(
                        {
                            "seconds": time.perf_counter() - start,
                            "cpu": time.process_time() - cpu,
                            "count": len(rows),
                        }
                    )
                engine.dispose()
    return {way: _best(r) for way, r in runs.items()}


def ids_row(
    label: str, best: dict[str, dict[str, float]], repeat: int, load: str, whole: float
) -> Row:
    """MaxIds' row; ``whole``: the CPU time of the import (default sink), of which the
    parent rows' INSERTs are a part."""
    a, b = best["maxids"], best["rowid"]
    wall, cpu = b["seconds"] / a["seconds"], b["cpu"] / a["cpu"]
    share = 100 * (b["cpu"] - a["cpu"]) / whole
    return Row(
        f"maxids (batched vs lastrowid per row) {label} {int(a['count'])} parent rows",
        a["seconds"],
        b["seconds"],
        "s",
        ">10% of import CPU",
        met=share > 10,
        note=f"best of {repeat}; wall {wall:.2f}x, cpu {a['cpu']:.3f} vs {b['cpu']:.3f} s "
        f"({cpu:.2f}x); saves {share:.1f}% of the import's {whole:.2f} s CPU; load {load}",
    )


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench sinks")
    parser.add_argument(
        "--shape",
        action="append",
        choices=("item-heavy", "subject-heavy"),
        help="a shape (repeat for several; default: item-heavy and subject-heavy)",
    )
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument(
        "--scale", type=float, help="size of the shapes (default EDC_BENCH_SCALE or 1)"
    )
    parser.add_argument("--repeat", type=int, default=3, help="rounds; the best counts")
    return parser.parse_args(argv)


def run(argv: list[str] | None = None) -> list[Row]:
    args = parse_args(argv or [])
    kinds = ("sqlite", "postgres") if args.db == "both" else (args.db,)
    factor = args.scale if args.scale is not None else scale()
    repeat = max(1, args.repeat)
    rows: list[Row] = []
    for name in args.shape or ["item-heavy", "subject-heavy"]:
        shape = SHAPES[name].scaled(factor)
        label = f"{name} {shape.subjects} subj {shape.values / 1e6:.2f} M values"
        for kind in kinds:
            load = _load()
            best = measure_sinks(shape, kind, repeat)
            load = f"{load} -> {_load()}"
            made = [
                trick_row(t, f"{kind} {label}", best, repeat, load)
                for t, (db, *_rest) in TRICKS.items()
                if db == kind
            ]
            if kind == "sqlite":
                load = _load()
                best_ids = measure_ids(shape, repeat)
                made.append(
                    ids_row(
                        f"sqlite {label}",
                        best_ids,
                        repeat,
                        f"{load} -> {_load()}",
                        best["thread"]["cpu"],
                    )
                )
            for row in made:
                print(row.format(), file=sys.stderr, flush=True)  # as they come
            rows += made
    return rows


if __name__ == "__main__":
    print(json.dumps(job_import(sys.argv[1], sys.argv[2], sys.argv[3])))
