"""Subject matrix bench: one site of 10,000 subjects x the shipped study's 12 forms, the
matrix page served by gunicorn (``edc serve``, 2 sync workers), 16 concurrent clients.

Figure: the p99 latency of ``/sites/LOC.DE01/matrix`` (target < 100 ms), on SQLite and, when
EDC_BENCH_POSTGRES_URL or EDC_TEST_POSTGRES_URL is set, on PostgreSQL (a fresh schema). The
clients walk pages spread over the whole site (``?page=1..200``) in four kinds of request:
by subject key, by open queries descending, filtered to a status, and a subject-key
search, so neither the page memo nor one index path serves them all.

Baseline, same run, same database: the bare SQL of the page, i.e.
:func:`storage.readers.matrix.subject_matrix` (its two statements and the rows turned into
snapshots) called in-process, one after another, with the same arguments: its p99 says how
much of the page's time is the database's. The same page asked for by one client alone is
reported too: with 2 sync workers on this 2-core machine (shared with the clients), 16
clients queue about 8 deep, so the p99 at 16 clients is about 8x the one-client time.
Data: each subject has all 12 forms stored, in a mix of the six statuses, and every third
subject an open query. EDC_BENCH_MATRIX_SUBJECTS (default 10000) and EDC_BENCH_WEB_SECONDS
(default 8) size the run.

Measured 2026-12-07 on the 2-core machine shared with other jobs (load 2-4): SQLite p99
168 ms (p50 111 ms, 143 pages/s) at 16 clients, one client alone p50 14 ms, the bare SQL p50
7 ms / p99 17 ms; PostgreSQL p99 532 ms (p50 394 ms, 42 pages/s), one client alone p50 29 ms,
the bare SQL p50 18 ms / p99 95 ms. The target (p99 < 100 ms at 16 clients) is MISSED on
both: a page costs 12-14 ms of server time on SQLite, so 16 clients on 2 workers wait about 8
pages each. On PostgreSQL the status filter is the slow kind (p50 60 ms of SQL): the planner
evaluates the EXISTS for every subject and sorts, instead of walking the subject-key index.
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.bench_web import REPO, _free_port, _Session, _start
from bench.common import Row

CLIENTS = 16
SITE = "LOC.DE01"
STUDY = "ST.BTZ_RETREAT"
PASSWORD = "load-test-passphrase-1"
STATUSES = ("not_started", "in_progress", "complete", "verified", "signed", "locked")


def _requests(pages: int) -> list[str]:
    """The request mix: four kinds over every page of the site."""
    out = []
    for n in range(1, pages + 1):
        out += [
            f"/sites/{SITE}/matrix?page={n}",
            f"/sites/{SITE}/matrix?sort=-queries&page={n}",
            f"/sites/{SITE}/matrix?status=in_progress&page={max(1, n // 6)}",
            f"/sites/{SITE}/matrix?q=DE01-{n % 100:02d}",
        ]
    random.Random(7).shuffle(out)
    return out


def _setup(url: str, subjects: int) -> None:
    """The shipped study, a user, ``subjects`` subjects with 12 forms each and some queries,
    written with plain INSERTs (a setup, not what is measured)."""
    from sqlalchemy import insert, select, text

    from storage.engine import make_engine, write_transaction
    from storage.migrate import upgrade
    from storage.models import Form, Query, Site, Study, StudyEvent, Subject
    from storage.studies import load_study
    from storage.users import add_user, set_role

    engine = make_engine(url)
    upgrade(engine)
    xml = (REPO / "metadata" / "bortezomib-retreatment.xml").read_bytes()
    with write_transaction(engine) as conn:
        assert load_study(conn, xml).status == "stored"
        add_user(conn, "bench", PASSWORD)
        set_role(conn, "bench", STUDY, "investigator", site_oid=SITE)
        study_id = conn.scalar(select(Study.id).where(Study.oid == STUDY))
        site_id = conn.scalar(select(Site.id).where(Site.oid == SITE))
        columns = _columns()
        start = datetime(2026, 1, 1, tzinfo=UTC)
        conn.execute(insert(Subject), [
            {"id": i, "study_id": study_id, "subject_key": f"DE01-{i:05d}", "site_id": site_id,
             "created_at": start + timedelta(minutes=i), "metadata_version": 1}
            for i in range(1, subjects + 1)
        ])  # fmt: skip
        events = sorted({e for e, _ in columns})
        conn.execute(insert(StudyEvent), [
            {"id": i * 10 + k, "subject_id": i, "study_event_oid": e, "repeat_key": ""}
            for i in range(1, subjects + 1) for k, e in enumerate(events)
        ])  # fmt: skip
        conn.execute(insert(Form), [
            {"study_event_id": i * 10 + events.index(e), "form_oid": f, "repeat_key": "",
             "status": STATUSES[(i + c) % 6], "version": 1}
            for i in range(1, subjects + 1) for c, (e, f) in enumerate(columns)
        ])  # fmt: skip
        conn.execute(insert(Query), [
            {"subject_id": i, "study_event_oid": "SE.ELIG", "study_event_repeat_key": "",
             "form_oid": "F.IE", "form_repeat_key": "", "item_group_oid": "IG.IE_IN",
             "item_group_repeat_key": "", "item_oid": "IT.IE_IN01", "status": "open",
             "origin": "person", "check_id": None, "message": "Check", "opened_by": "bench",
             "opened_at": start, "updated_at": start}
            for i in range(1, subjects + 1, 3)
        ])  # fmt: skip
    if engine.dialect.name == "postgresql":
        # the planner's statistics, as autovacuum would gather them a minute after such a
        # load: without them PostgreSQL picked nested loops that took seconds per page
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
    engine.dispose()


def _columns() -> list[tuple[str, str]]:
    from odm_engine.loader import load_path

    odm = load_path(REPO / "metadata" / "bortezomib-retreatment.xml").odm
    assert odm is not None
    version = odm.studies[0].metadata_versions[0]
    return [(e.oid, r.form_oid) for e in version.study_events_in_order() for r in e.form_refs]


def _bare(url: str, requests: list[str]) -> dict[str, float]:
    """The page's SQL alone: subject_matrix with each request's arguments, in turn."""
    from urllib.parse import parse_qs, urlsplit

    from storage.engine import make_engine
    from storage.readers.matrix import MatrixFilter, subject_matrix
    from storage.vocabulary import FormStatus

    columns = tuple(_columns())
    engine = make_engine(url)
    times = []
    with engine.connect() as conn:
        for path in requests[:400]:
            args = {k: v[0] for k, v in parse_qs(urlsplit(path).query).items()}
            want = MatrixFilter(
                STUDY, (SITE,), False, columns, args.get("q", ""),
                FormStatus(args["status"]) if "status" in args else None,
                args.get("sort", "key"), 50, (int(args.get("page", "1")) - 1) * 50,
            )  # fmt: skip
            begin = time.perf_counter()
            subject_matrix(conn, want)
            conn.rollback()
            times.append((time.perf_counter() - begin) * 1000)
    engine.dispose()
    return _figures(times, 1.0)


def _figures(latencies: list[float], seconds: float) -> dict[str, float]:
    ordered = sorted(latencies)
    return {
        "p99": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))],
        "p50": statistics.median(ordered),
        "n": len(ordered),
        "rate": len(ordered) / seconds,
    }


def _load(
    port: int, requests: list[str], seconds: float, clients: int = CLIENTS
) -> dict[str, float]:
    """``clients`` clients, each signed in once, asking for the mix in turn for ``seconds``."""
    outs: list[list[float]] = [[] for _ in range(clients)]
    errors: list[int] = []
    sessions = []
    for _ in range(clients):
        session = _Session(port)
        session.sign_in(f"/sites/{SITE}/subjects")
        sessions.append(session)
    stop = time.time() + seconds

    def client(k: int) -> None:
        n = k * 37
        while time.time() < stop:
            path = requests[n % len(requests)]
            n += 1
            begin = time.perf_counter()
            try:
                status, _ = sessions[k].call("GET", path)
            except OSError:  # a timeout counts as an error, with its time
                status = 0
            outs[k].append((time.perf_counter() - begin) * 1000)
            if status != 200:
                errors.append(status)

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    found = _figures([x for out in outs for x in out], seconds)
    found["errors"] = len(errors)
    return found


def _measure(url: str, subjects: int, seconds: float) -> tuple[dict[str, float], ...]:
    requests = _requests(max(1, subjects // 50))
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDC_")}
    edc = str(Path(sys.executable).with_name("edc"))
    port = _free_port()
    server = _start([edc, "serve", "--port", str(port), "--workers", "2", "--db", url], env, port)
    try:
        _load(port, requests, min(2.0, seconds))  # warm-up: workers, templates, caches
        page = _load(port, requests, seconds)
        alone = _load(port, requests, min(4.0, seconds), clients=1)
    finally:
        server.terminate()
        server.wait(15)
    return page, _bare(url, requests), alone


def _pg_schema(base: str, schema: str, create: bool) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(base.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}" if create else f"DROP SCHEMA {schema} CASCADE"))
    engine.dispose()


def _row(
    name: str, page: dict[str, float], bare: dict[str, float], alone: dict[str, float],
    subjects: int,
) -> Row:  # fmt: skip
    return Row(
        name, page["p99"], bare["p99"], "ms", "< 100 ms", page["p99"] < 100,
        f"p50 {page['p50']:.1f} ms, {page['n']:.0f} req ({page['rate']:.0f}/s), "
        f"{page['errors']:.0f} errors, {CLIENTS} clients; {subjects} subjects x 12 forms; "
        f"baseline: the page's bare SQL in-process, p50 {bare['p50']:.1f} ms; one client "
        f"alone: p50 {alone['p50']:.1f} ms, p99 {alone['p99']:.1f} ms",
    )  # fmt: skip


def run() -> list[Row]:
    subjects = int(os.environ.get("EDC_BENCH_MATRIX_SUBJECTS", "10000"))
    seconds = float(os.environ.get("EDC_BENCH_WEB_SECONDS", "8"))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/matrix.sqlite3"
        _setup(url, subjects)
        rows.append(_row("web.matrix_page_p99.sqlite", *_measure(url, subjects, seconds), subjects))
    base = os.environ.get("EDC_BENCH_POSTGRES_URL") or os.environ.get("EDC_TEST_POSTGRES_URL")
    if base:
        schema = f"bench_{uuid.uuid4().hex[:10]}"
        _pg_schema(base, schema, create=True)
        try:
            sep = "&" if "?" in base else "?"
            url = f"{base}{sep}options=-csearch_path%3D{schema}"
            _setup(url, subjects)
            rows.append(
                _row("web.matrix_page_p99.postgresql", *_measure(url, subjects, seconds), subjects)
            )
        finally:
            _pg_schema(base, schema, create=False)
    return rows


if __name__ == "__main__":
    for found in run():
        print(found.format())
