"""The baseline of the web bench: a bare Flask app doing the same database writes as a form
save, and the same reads as a form page, with none of the application around them.

It works on a database made exactly as the app's (the same migrations, study, user and
subjects: ``bench_web._setup``), so a save writes the same rows into the same tables with
the same constraints and indexes: the form's version bumped, its 20 ``item_data`` rows
updated (or its event, form, item group and values inserted on the first save) and 20
full ``audit_trail`` rows, one transaction on SQLite WAL. What it leaves out is what the
bench measures: sessions, CSRF, metadata, type and edit checks, access checks, the
pre-lock validation and the page. Served by gunicorn as ``bench.web_bare:create()``.
"""

from __future__ import annotations

import os
import sqlite3
from datetime import UTC, datetime

from flask import Flask, Response, redirect, render_template_string, request

PAGE = """<!doctype html><form method="post">{% for k, v in values %}
<label>{{ k }} <input name="{{ k }}" value="{{ v }}"></label>{% endfor %}</form>"""
EVENT, FORM, GROUP, STUDY, USER = "SE.B", "F.B", "IG.B", "S.WEB", "bench"

SUBJECT = "SELECT id, site_id FROM subjects WHERE subject_key = ?"
FORM_ROW = (
    "SELECT f.id, f.version FROM forms f JOIN study_events e ON e.id = f.study_event_id "
    "WHERE e.subject_id = ? AND e.study_event_oid = ? AND e.repeat_key = '' "
    "AND f.form_oid = ? AND f.repeat_key = ''"
)
VALUES = (
    "SELECT d.item_oid, d.value FROM item_data d JOIN item_groups g ON g.id = d.item_group_id "
    "JOIN forms f ON f.id = g.form_id JOIN study_events e ON e.id = f.study_event_id "
    "WHERE e.subject_id = ? ORDER BY d.item_oid"
)
OLD = "SELECT id, item_oid, value FROM item_data WHERE item_group_id = ?"
AUDIT_COLUMNS = (
    "recorded_at, user_id, username, role, site_oid, study_oid, subject_id, subject_key, "
    "reason, source, form_version, study_event_oid, study_event_repeat_key, form_oid, "
    "form_repeat_key, item_group_oid, item_group_repeat_key, item_oid, transaction_type, "
    "old_value, new_value, old_is_null, new_is_null, old_unit, new_unit"
)
AUDIT = f"INSERT INTO audit_trail ({AUDIT_COLUMNS}) VALUES ({', '.join('?' * 25)})"


def _connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA busy_timeout = 10000")
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


def _first_save(conn: sqlite3.Connection, subject_id: int, now: str) -> tuple[int, int]:
    """Event, form and item group of a subject's first save: (item group id, form id)."""
    event = conn.execute(
        "INSERT INTO study_events (subject_id, study_event_oid, repeat_key) VALUES (?, ?, '')",
        (subject_id, EVENT),
    ).lastrowid
    form = conn.execute(
        "INSERT INTO forms (study_event_id, form_oid, repeat_key, status, version, updated_at, "
        "updated_by) VALUES (?, ?, '', 'in_progress', 1, ?, ?)",
        (event, FORM, now, USER),
    ).lastrowid
    group = conn.execute(
        "INSERT INTO item_groups (form_id, item_group_oid, repeat_key) VALUES (?, ?, '')",
        (form, GROUP),
    ).lastrowid
    assert group is not None and form is not None
    return group, form


def create() -> Flask:
    conn = _connect(os.environ["EDC_BENCH_BARE_DB"])
    user_id = conn.execute("SELECT id FROM users WHERE username = ?", (USER,)).fetchone()[0]
    app = Flask(__name__)

    @app.get("/subjects/<subject>")
    def page(subject: str) -> str:
        subject_id = conn.execute(SUBJECT, (subject,)).fetchone()[0]
        return render_template_string(PAGE, values=conn.execute(VALUES, (subject_id,)).fetchall())

    @app.post("/subjects/<subject>")
    def save(subject: str) -> Response:
        values = {k: v for k, v in request.form.items() if k.startswith("IT.")}
        reason = request.form.get("reason")
        now = datetime.now(UTC).replace(tzinfo=None).isoformat(" ")
        conn.execute("BEGIN IMMEDIATE")
        try:
            subject_id, _site = conn.execute(SUBJECT, (subject,)).fetchone()
            form = conn.execute(FORM_ROW, (subject_id, EVENT, FORM)).fetchone()
            if form is None:
                group_id, _form_id = _first_save(conn, subject_id, now)
                version = 1
            else:
                version = form[1] + 1
                conn.execute(
                    "UPDATE forms SET version = ?, updated_at = ?, updated_by = ? WHERE id = ?",
                    (version, now, USER, form[0]),
                )
                group_id = conn.execute(
                    "SELECT id FROM item_groups WHERE form_id = ?", (form[0],)
                ).fetchone()[0]
            old = {oid: (row_id, value) for row_id, oid, value in conn.execute(OLD, (group_id,))}
            conn.executemany(
                "UPDATE item_data SET value = ? WHERE id = ?",
                [(v, old[k][0]) for k, v in values.items() if k in old],
            )
            conn.executemany(
                "INSERT INTO item_data (item_group_id, item_oid, value) VALUES (?, ?, ?)",
                [(group_id, k, v) for k, v in values.items() if k not in old],
            )
            conn.executemany(
                AUDIT,
                [
                    (now, user_id, USER, "investigator", "LOC.B1", STUDY, subject_id, subject,
                     reason, "web", version, EVENT, "", FORM, "", GROUP, "", k,
                     "Update" if k in old else "Insert", old[k][1] if k in old else None, v,
                     None, None, None, None)
                    for k, v in values.items()
                ],
            )  # fmt: skip
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return redirect(f"/subjects/{subject}", 303)  # type: ignore[return-value]

    return app
