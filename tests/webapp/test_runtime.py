"""The request's connections: one read transaction per request that ends at each write, and
the write gate that hands SQLite's single write lock from one web worker to the next."""

from __future__ import annotations

import threading
from pathlib import Path

from flask import g
from sqlalchemy import select, update

from storage.engine import make_engine
from storage.migrate import upgrade
from storage.models import Subject
from storage.write_gate import SUFFIX, WriteGate
from webapp.app import create_app, warm_up
from webapp.runtime import READ_CONNECTION, reading, writing
from webapp.settings import Settings

from .conftest import STUDY, SUBJECT_A, Web


def test_reads_of_a_request_share_one_connection_and_see_its_writes(web: Web) -> None:
    def key_of_subject_1() -> str | None:
        with reading() as conn:
            return conn.scalar(select(Subject.subject_key).where(Subject.id == 1))

    with web.app.test_request_context("/"):
        with reading() as first, reading() as second:
            assert first is second
        before = key_of_subject_1()
        assert before == SUBJECT_A
        with writing() as conn:
            conn.execute(update(Subject).where(Subject.id == 1).values(subject_key="DE01-999"))
        assert key_of_subject_1() == "DE01-999"  # the read snapshot ended at the write
        with writing() as conn:
            conn.execute(update(Subject).where(Subject.id == 1).values(subject_key=before))
    with web.app.test_request_context("/"):
        with reading():
            pass
        assert g.get(READ_CONNECTION) is not None
        web.app.do_teardown_request()
        assert g.get(READ_CONNECTION) is None


def test_the_write_gate_lets_one_writer_in_at_a_time(tmp_path: Path) -> None:
    gate = WriteGate(make_engine(f"sqlite:///{tmp_path}/gate.sqlite3"))
    inside, release, entered = threading.Event(), threading.Event(), threading.Event()

    def first() -> None:
        with gate.held():
            inside.set()
            release.wait(5)

    def second() -> None:
        with gate.held():
            entered.set()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    threads[0].start()
    assert inside.wait(5)
    threads[1].start()
    assert not entered.wait(0.2)  # the second writer waits for the first
    release.set()
    assert entered.wait(5)
    for t in threads:
        t.join(5)
    assert (tmp_path / f"gate.sqlite3{SUFFIX}").exists()


def test_an_in_memory_database_needs_no_lock_file() -> None:
    with WriteGate(make_engine("sqlite://")).held():
        pass


def test_warm_up_builds_the_served_study_before_the_first_request(web: Web) -> None:
    from webapp import studyview

    studyview.STUDIES.clear()
    warm_up(web.app)
    assert [c.oid for c in studyview.STUDIES.values()] == [STUDY]


def test_warm_up_without_a_study_loaded_leaves_the_app_serving(tmp_path: Path) -> None:
    """Schema made, no study yet: warming builds nothing and the sign-in page is served."""
    url = f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    app = create_app(Settings.load(environ={}, overrides={"database_url": url}))
    warm_up(app)
    assert app.test_client().get("/login").status_code == 200
