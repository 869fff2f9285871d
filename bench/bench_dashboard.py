"""Dashboard bench (issue 18): every figure of the dashboard over 10,000 subjects and
1,000,000 values, against a bare ``COUNT(*)`` over ``item_data`` in the same run.

The data is bench_storage's bare load (10,000 subjects x 5 forms x 20 items, with their
audit rows), then the subjects' creation spread over 24 months, a fifth of the forms complete
and a fifth verified, and 30,000 queries (two thirds from 12 soft checks, opened over 60
days, a third closed). Measured: ``services.dashboard.dashboard_tables`` for the whole study
and for one site (four GROUP BY statements, SDV summed from the status groups, and the
shaping of their results; median of 5) and, apart, drawing the five SVG charts with pygal
(not part of the target: each chart is its own request). Target: < 300 ms for the whole
study. With EDC_BENCH_POSTGRES_URL (else EDC_TEST_POSTGRES_URL) set, the same on PostgreSQL
in a throw-away schema.
EDC_BENCH_SCALE=0.1 runs a tenth of the data.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.common import Row, median_of, scale

SUBJECTS = 10_000
QUERIES = 30_000
TARGET_MS = 300.0


def _fill(engine: Any, n_subjects: int) -> None:
    """The bare load, then months, statuses and queries (plain SQL, one transaction)."""
    from bench.bench_storage import FORMS, _bare

    _bare(engine, n_subjects)
    pg = engine.dialect.name == "postgresql"
    now = datetime.now(UTC)

    def stamp(days: float) -> Any:
        moment = now - timedelta(days=days)
        return moment if pg else moment.strftime("%Y-%m-%d %H:%M:%S.%f")

    mark = "%s" if pg else "?"
    with engine.begin() as conn:
        cur = conn.connection.dbapi_connection.cursor()
        cur.executemany(
            f"UPDATE subjects SET created_at = {mark} WHERE id = {mark}",
            [(stamp(730 * s / n_subjects), s + 1) for s in range(n_subjects)],
        )
        for status, rest in (("complete", 1), ("verified", 2)):
            cur.execute(f"UPDATE forms SET status = '{status}' WHERE mod(id, 5) = {rest}")
        n_queries = max(1, int(QUERIES * n_subjects / SUBJECTS))
        rows = []
        for q in range(n_queries):
            subject, form = q % n_subjects + 1, q % FORMS
            check = f"RC.{q % 12}" if q % 3 else None
            status = ("open", "answered", "closed")[q % 3 if q % 7 else 2]
            rows.append((q + 1, subject, "SE.V", "", f"F.{form}", "", f"IG.{form}", "",
                         f"IT.{q % 20}", status, "check" if check else "person", check,
                         "Check", "bench", stamp(q % 60), stamp(q % 60)))  # fmt: skip
        cur.executemany(
            "INSERT INTO queries (id, subject_id, study_event_oid, study_event_repeat_key, "
            "form_oid, form_repeat_key, item_group_oid, item_group_repeat_key, item_oid, "
            "status, origin, check_id, message, opened_by, opened_at, updated_at) VALUES ("
            + ", ".join([mark] * 16)
            + ")",
            rows,
        )
        cur.execute("ANALYZE")


def _measure(url: str, n_subjects: int) -> dict[str, float]:
    from bench.bench_storage import _setup
    from services.dashboard import dashboard_tables, table_svg

    engine = _setup(url)
    try:
        _fill(engine, n_subjects)
        with engine.connect() as conn:
            values = conn.exec_driver_sql("SELECT count(*) FROM item_data").scalar_one()

            def tables(sites: list[str] | None) -> Any:
                return dashboard_tables(
                    conn, "S.B", sites, words=lambda k: k, form_name=lambda f: f
                )

            def bare() -> object:
                return conn.exec_driver_sql("SELECT count(*) FROM item_data").scalar_one()

            drawn = tables(None)
            assert sum(int(r[-1]) for r in drawn[1].rows) == n_subjects * 5
            return {
                "values": float(values),
                "study": median_of(lambda: tables(None)) * 1000,
                "site": median_of(lambda: tables(["SITE.1"])) * 1000,
                "bare": median_of(bare) * 1000,
                "svg": median_of(lambda: [table_svg(t) for t in drawn], 3) * 1000,
            }
    finally:
        engine.dispose()


def _rows(db: str, f: dict[str, float], n: int) -> list[Row]:
    what = f"{n} subjects, {int(f['values'])} values"
    return [
        Row(f"dashboard.{db}.whole_study", f["study"], f["bare"], "ms", f"< {TARGET_MS:.0f} ms",
            f["study"] < TARGET_MS,
            f"{what}; four GROUP BY + shaping; baseline: bare COUNT(*) over item_data"),
        Row(f"dashboard.{db}.one_site", f["site"], f["bare"], "ms", f"< {TARGET_MS:.0f} ms",
            f["site"] < TARGET_MS, "the same with ?site= (every subject is at that site)"),
        Row(f"dashboard.{db}.five_svg_charts", f["svg"], None, "ms", "-", None,
            "pygal drawing the five charts (one per request on the page)"),
    ]  # fmt: skip


def _pg_schema(base: str, schema: str, create: bool) -> None:
    from sqlalchemy import text

    from storage.engine import make_engine

    engine = make_engine(base)
    with engine.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}" if create else f"DROP SCHEMA {schema} CASCADE"))
    engine.dispose()


def run() -> list[Row]:
    n = max(10, int(SUBJECTS * scale()))
    with tempfile.TemporaryDirectory() as tmp:
        rows = _rows("sqlite", _measure(f"sqlite:///{tmp}/dash.sqlite3", n), n)
    base = os.environ.get("EDC_BENCH_POSTGRES_URL") or os.environ.get("EDC_TEST_POSTGRES_URL")
    if base:
        schema = f"bench_{uuid.uuid4().hex[:10]}"
        _pg_schema(base, schema, create=True)
        try:
            sep = "&" if "?" in base else "?"
            url = f"{base}{sep}options=-csearch_path%3D{schema}"
            rows += _rows("postgresql", _measure(url, n), n)
        finally:
            _pg_schema(base, schema, create=False)
    return rows
