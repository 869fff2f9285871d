"""The baseline of the web bench: a bare Flask app doing the same database work as a form
save (read the old values, write 20 values, 20 audit rows, bump a version, one transaction on
SQLite WAL) and a form page (read 20 values, render them), with no checks, sessions or
metadata. Served by gunicorn as ``bench.web_bare:create()``."""

from __future__ import annotations

import os
import sqlite3
from datetime import UTC, datetime

from flask import Flask, Response, redirect, render_template_string, request

PAGE = """<!doctype html><form method="post">{% for k, v in values %}
<label>{{ k }} <input name="{{ k }}" value="{{ v }}"></label>{% endfor %}</form>"""
SCHEMA = """
CREATE TABLE IF NOT EXISTS forms (subject TEXT PRIMARY KEY, version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS item_data (subject TEXT, item TEXT, value TEXT,
    PRIMARY KEY (subject, item));
CREATE TABLE IF NOT EXISTS audit (seq INTEGER PRIMARY KEY, subject TEXT, item TEXT,
    old TEXT, new TEXT, username TEXT, reason TEXT, at TEXT, version INTEGER);
"""


def _connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA busy_timeout = 10000")
    return conn


def create() -> Flask:
    path = os.environ["EDC_BENCH_BARE_DB"]
    conn = _connect(path)
    conn.executescript(SCHEMA)
    app = Flask(__name__)

    @app.get("/subjects/<subject>")
    def page(subject: str) -> str:
        rows = conn.execute(
            "SELECT item, value FROM item_data WHERE subject = ? ORDER BY item", (subject,)
        ).fetchall()
        return render_template_string(PAGE, values=rows)

    @app.post("/subjects/<subject>")
    def save(subject: str) -> Response:
        values = {k: v for k, v in request.form.items() if k.startswith("IT.")}
        now = datetime.now(UTC).isoformat()
        conn.execute("BEGIN IMMEDIATE")
        try:
            old = dict(
                conn.execute(
                    "SELECT item, value FROM item_data WHERE subject = ?", (subject,)
                ).fetchall()
            )
            version = conn.execute(
                "SELECT version FROM forms WHERE subject = ?", (subject,)
            ).fetchone()
            new_version = (version[0] if version else 0) + 1
            conn.execute(
                "INSERT INTO forms VALUES (?, ?) ON CONFLICT (subject) DO UPDATE SET version = ?",
                (subject, new_version, new_version),
            )
            conn.executemany(
                "INSERT INTO item_data VALUES (?, ?, ?) ON CONFLICT (subject, item) "
                "DO UPDATE SET value = excluded.value",
                [(subject, k, v) for k, v in values.items()],
            )
            conn.executemany(
                "INSERT INTO audit (subject, item, old, new, username, reason, at, version) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        subject,
                        k,
                        old.get(k),
                        v,
                        "bench",
                        request.form.get("reason"),
                        now,
                        new_version,
                    )
                    for k, v in values.items()
                ],
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return redirect(f"/subjects/{subject}", 303)  # type: ignore[return-value]

    return app
