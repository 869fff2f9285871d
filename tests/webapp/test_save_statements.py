"""A guard on the cost of the web save (issue 20, ``python -m bench web``): the bench's
20-item form saved through the app runs a fixed set of SQL statements. A change that adds a
query to every save fails here and has to say why (and raise the figure).

Statements are counted by the SQLite driver (``set_trace_callback``), so those run through
``storage.prepared.Prepared`` on the driver's cursor count as well as ``Connection.execute``
ones (SQLAlchemy's statement events see only the latter)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import event, func, select

from bench import bench_web
from storage.models import AuditRow
from tests.webapp.conftest import Client
from webapp import Settings, create_app, sessions

FORM = "/subjects/B1-000/SE.B/F.B"
SELECTS_PER_SAVE = 9
"""Read transaction: served study, session, subject, data mark, stored values; write
transaction: user and role, form row, data mark, open check queries."""


@pytest.fixture
def bench_app(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Client, list[str], object]]:
    # a save more than TOUCH_EVERY after the sign-in would also write the session's
    # last_seen_at (BEGIN, UPDATE, COMMIT): on a slow machine the count would vary
    monkeypatch.setattr(sessions, "TOUCH_EVERY", timedelta(days=1))
    url = f"sqlite:///{tmp_path}/web.sqlite3"
    bench_web._setup(url)
    app = create_app(Settings.load(environ={}, overrides={"database_url": url}))
    engine = app.extensions["edc"].engine
    statements: list[str] = []

    @event.listens_for(engine, "checkout")
    def _trace(dbapi_connection, _record, _proxy) -> None:  # type: ignore[no-untyped-def]
        dbapi_connection.set_trace_callback(statements.append)

    client = Client(app.test_client(), {})
    client.get("/login")
    client.post("/login", {"username": "bench", "password": bench_web.PASSWORD})
    client.get(FORM)
    yield client, statements, engine
    engine.dispose()


def _save(client: Client, statements: list[str], version: int) -> list[str]:
    form = {**bench_web._values(version + 1), "expected_version": str(version)}
    if version:
        form["reason"] = "bench"
    statements.clear()
    response = client.post(FORM, form)
    assert response.status_code == 303, response.text
    return [s.split(None, 1)[0].upper() for s in statements]


def test_a_20_item_save_runs_its_fixed_statements(bench_app) -> None:  # type: ignore[no-untyped-def]
    client, statements, engine = bench_app
    _save(client, statements, 0)  # the first save creates the event, form and group rows
    kinds = _save(client, statements, 1)
    assert kinds.count("SELECT") == SELECTS_PER_SAVE, statements
    assert kinds.count("UPDATE") == 21  # the form's version and status, then 20 values
    assert kinds.count("INSERT") == 20  # one audit row per changed value
    assert kinds.count("BEGIN") == 2 and kinds.count("COMMIT") == 1
    assert len(kinds) == SELECTS_PER_SAVE + 21 + 20 + 2 + 1 + 1  # + the read's ROLLBACK
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(AuditRow).where(
            AuditRow.subject_key == "B1-000", AuditRow.reason == "bench")) == 20  # fmt: skip
