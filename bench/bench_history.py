"""A study moved with its history (issue 19): ``edc import --with-history`` of an audit export
against the plain import of the same file, into the same empty database.

The synthetic study of :mod:`bench.bench_exchange` (20 forms x 30 items), 200 subjects at
scale 1 (120,000 values): the old database gets them by a plain import, then
``export odm --transactional --audit --admin`` writes its history (each value with its
AuditRecord, each form's first save and status). Each import then runs on a fresh copy of an
empty database with the study loaded, best of EDC_BENCH_REPEAT (3), in this process. The
baseline is the plain import of the same file (bulk path: values validated, checks run,
audit rows written as the importer); the history replay writes the same values and audit
rows as they were, with users, form versions and statuses.

Target: the replay keeps >= 0.25x the plain import's value rate (it reads every AuditRecord
and writes the rows in the file's order, which the bulk path need not).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

from bench.bench_exchange import generate, job_import, prepare_db
from bench.common import Row, scale


def _export(db: Path, out: Path) -> None:
    from click.testing import CliRunner

    from cli import main

    args = ["export", "odm", "--transactional", "--audit", "--admin", "-o", str(out)]
    result = CliRunner().invoke(main, args, env={"EDC_DATABASE_URL": f"sqlite:///{db}"})
    assert result.exit_code == 0, result.output


def _history(db: Path, path: Path) -> int:
    from services.imports import import_clinical_data
    from storage.engine import make_engine

    report = import_clinical_data(
        make_engine(f"sqlite:///{db}"), str(path), user="dm", with_history=True
    )
    assert report.status == "imported", report.findings
    return report.items_written


def _best(empty: Path, work: Path, job: object, path: Path, repeat: int) -> tuple[float, int]:
    best, written = float("inf"), 0
    for n in range(repeat):
        db = work / f"{getattr(job, '__name__', 'job')}-{n}.db"  # a new file: no pooled handle
        shutil.copy(empty, db)
        start = time.perf_counter()
        written = job(db, path)  # type: ignore[operator]
        best = min(best, time.perf_counter() - start)
    return best, written


def run() -> list[Row]:
    subjects = max(10, int(200 * scale()))
    repeat = int(os.environ.get("EDC_BENCH_REPEAT", "3"))
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        source = work / "source.xml"
        generate(source, subjects)
        empty = work / "empty.db"
        prepare_db(empty, source)
        old = work / "old.db"
        shutil.copy(empty, old)
        job_import(str(old), str(source))
        history = work / "history.xml"
        _export(old, history)
        plain, n_plain = _best(
            empty, work, lambda d, p: job_import(str(d), str(p)), history, repeat
        )
        replay, n_replay = _best(empty, work, _history, history, repeat)
    assert n_plain == n_replay, (n_plain, n_replay)
    ratio = (n_replay / replay) / (n_plain / plain)
    return [
        Row(
            f"history import, {n_replay:,} values",
            n_replay / replay,
            n_plain / plain,
            "values/s",
            ">= 0.25x plain import",
            ratio >= 0.25,
        )
    ]
