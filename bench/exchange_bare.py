"""The bare pipelines :mod:`bench.bench_exchange` measures the application against, on the
same file and the same tables: import is lxml iterparse (cleared per SubjectData) writing the
same rows, an audit row per value included, with sqlite3 ``executemany`` or psycopg ``COPY``;
export is one ordered SELECT (a server-side cursor on PostgreSQL) + lxml ``xmlfile``, a small
tree per subject.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from bench.exchange_data import NS, STUDY

_TABLES = {
    "subjects": ("id", "study_id", "subject_key", "site_id", "created_at", "metadata_version"),
    "study_events": ("id", "subject_id", "study_event_oid", "repeat_key"),
    "forms": (
        "id", "study_event_id", "form_oid", "repeat_key", "status", "version", "updated_at",
        "updated_by",
    ),
    "item_groups": ("id", "form_id", "item_group_oid", "repeat_key"),
    "item_data": ("item_group_id", "item_oid", "value", "is_null"),
    "audit_trail": (
        "recorded_at", "user_id", "username", "role", "site_oid", "study_oid", "subject_id",
        "subject_key", "reason", "source", "form_version", "study_event_oid",
        "study_event_repeat_key", "form_oid", "form_repeat_key", "item_group_oid",
        "item_group_repeat_key", "item_oid", "transaction_type", "old_value", "new_value",
        "old_is_null", "new_is_null",
    ),
}  # fmt: skip
"""The bare import's tables and columns, written in this order (parents first)."""

_SELECT = (
    "SELECT s.subject_key, e.study_event_oid, f.form_oid, g.item_group_oid, d.item_oid, "
    "d.value FROM subjects s JOIN study_events e ON e.subject_id = s.id "
    "JOIN forms f ON f.study_event_id = e.id JOIN item_groups g ON g.form_id = f.id "
    "JOIN item_data d ON d.item_group_id = g.id ORDER BY s.subject_key, e.study_event_oid, "
    "f.form_oid, g.item_group_oid, d.id"
)


def _subjects(path: str) -> Iterator[Any]:
    """Each SubjectData element of the file, cleared once the caller is done with it."""
    from lxml import etree

    from odm_engine.safexml import iterparse_options

    tag = f"{{{NS}}}SubjectData"
    for _event, el in etree.iterparse(path, events=("end",), tag=tag, **iterparse_options()):
        yield el
        el.clear(keep_tail=True)
        while el.getprevious() is not None:
            del el.getparent()[0]


def _read(
    path: str,
    head: tuple[int, int, int],
    now: object,
    flush: Callable[[dict[str, list[Any]]], None],
) -> int:
    """Parse the file into batches of rows, ``flush`` each batch; returns the values read."""
    ids = {"subjects": 0, "study_events": 0, "forms": 0, "item_groups": 0}
    rows: dict[str, list[tuple[object, ...]]] = {t: [] for t in _TABLES}
    items = 0
    for el in _subjects(path):
        items += _bare_subject(el, head, now, ids, rows)
        if len(rows["item_data"]) >= 20_000:
            flush(rows)
    flush(rows)
    return items


def _bare_subject(
    el: Any, head: tuple[int, int, int], now: object, ids: dict[str, int], rows: dict[str, Any]
) -> int:
    """One SubjectData's rows (subject, events, forms, groups, values, audit) appended to
    ``rows`` under the next ``ids``; ``head`` is (study id, user id, site id). Returns the
    number of values."""
    study_id, user_id, site_id = head
    items = 0
    ids["subjects"] += 1
    sid, skey = ids["subjects"], el.get("SubjectKey")
    rows["subjects"].append((sid, study_id, skey, site_id, now, 1))
    audit = rows["audit_trail"]
    audit.append(  # the subject's creation
        (now, user_id, "dm", "data_manager", "LOC.1", STUDY, sid, skey, None, "bare", 0,
         "", "", "", "", "", "", "", "Insert", None, skey, None, None)
    )  # fmt: skip
    for ev in el.iterchildren(f"{{{NS}}}StudyEventData"):
        ids["study_events"] += 1
        eid, eoid = ids["study_events"], ev.get("StudyEventOID")
        rows["study_events"].append((eid, sid, eoid, ""))
        for fd in ev:
            ids["forms"] += 1
            fid, foid = ids["forms"], fd.get("FormOID")
            rows["forms"].append((fid, eid, foid, "", "in_progress", 1, now, "dm"))
            for ig in fd:
                ids["item_groups"] += 1
                gid, goid = ids["item_groups"], ig.get("ItemGroupOID")
                rows["item_groups"].append((gid, fid, goid, ""))
                for it in ig:
                    ioid, value = it.get("ItemOID"), it.get("Value")
                    rows["item_data"].append((gid, ioid, value, None))
                    audit.append(
                        (now, user_id, "dm", "data_manager", "LOC.1", STUDY, sid, skey, None,
                         "bare", 1, eoid, "", foid, "", goid, "", ioid, "Insert", None, value,
                         None, None)
                    )  # fmt: skip
                    items += 1
    return items


def _insert(table: str) -> str:
    columns = _TABLES[table]
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({','.join('?' * len(columns))})"


def bare_import_sqlite(db: str, path: str) -> int:
    """iterparse + executemany into the same tables, audit rows included."""
    import sqlite3

    conn = sqlite3.connect(db, isolation_level=None)
    # The connection settings of storage.engine, as the import runs under: the same tables
    # with their foreign keys enforced, WAL with synchronous=NORMAL.
    for pragma in ("busy_timeout = 10000", "foreign_keys = ON", "synchronous = NORMAL"):
        conn.execute(f"PRAGMA {pragma}")
    conn.execute("BEGIN IMMEDIATE")
    study_id, user_id = conn.execute("SELECT s.id, u.id FROM studies s, users u").fetchone()
    site_id = conn.execute("SELECT id FROM sites").fetchone()[0]
    inserts = {table: _insert(table) for table in _TABLES}

    def flush(rows: dict[str, list[Any]]) -> None:
        for table, sql in inserts.items():
            conn.executemany(sql, rows[table])
            rows[table].clear()

    items = _read(path, (study_id, user_id, site_id), "2026-01-01 00:00:00.000000", flush)
    conn.execute("COMMIT")
    return items


def _psycopg_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def bare_import_postgres(url: str, path: str) -> int:
    """iterparse + COPY into the same tables, audit rows included, in one transaction."""
    import psycopg

    with psycopg.connect(_psycopg_url(url)) as conn, conn.cursor() as cur:
        cur.execute("SELECT s.id, u.id FROM studies s, users u")
        study_id, user_id = cur.fetchone()  # type: ignore[misc]
        cur.execute("SELECT id FROM sites")
        site_id = cur.fetchone()[0]  # type: ignore[index]
        copies = {t: f"COPY {t} ({', '.join(c)}) FROM STDIN" for t, c in _TABLES.items()}

        def flush(rows: dict[str, list[Any]]) -> None:
            for table, sql in copies.items():
                with cur.copy(sql) as copy:
                    for row in rows[table]:
                        copy.write_row(row)
                rows[table].clear()

        now = datetime(2026, 1, 1, tzinfo=UTC)
        return _read(path, (study_id, user_id, site_id), now, flush)


def _write(rows: Any, path: str) -> int:
    """The ordered (SubjectKey, event, form, group, ItemOID, value) rows as an ODM file."""
    from lxml import etree

    p = f"{{{NS}}}"
    items = 0
    with open(path, "wb") as out, etree.xmlfile(out, encoding="UTF-8") as xf:
        xf.write_declaration()
        with xf.element(f"{p}ODM", nsmap={None: NS}), xf.element(f"{p}ClinicalData"):
            subject = event = form = group = None
            current = None
            for skey, eoid, foid, goid, ioid, value in rows:
                if skey != current:
                    if subject is not None:
                        xf.write(subject)
                    subject = etree.Element(f"{p}SubjectData", SubjectKey=skey, nsmap={None: NS})
                    current, event, form, group = skey, None, None, None
                if event is None or event.get("StudyEventOID") != eoid:
                    event = etree.SubElement(subject, f"{p}StudyEventData", StudyEventOID=eoid)
                    form = group = None
                if form is None or form.get("FormOID") != foid:
                    form = etree.SubElement(event, f"{p}FormData", FormOID=foid)
                    group = None
                if group is None or group.get("ItemGroupOID") != goid:
                    group = etree.SubElement(form, f"{p}ItemGroupData", ItemGroupOID=goid)
                etree.SubElement(group, f"{p}ItemData", ItemOID=ioid, Value=value)
                items += 1
            if subject is not None:
                xf.write(subject)
    return items


def bare_export_sqlite(db: str, path: str) -> int:
    """One SELECT over the same tables + xmlfile."""
    import sqlite3

    return _write(sqlite3.connect(db).execute(_SELECT), path)


def bare_export_postgres(url: str, path: str) -> int:
    """One SELECT through a server-side cursor (10,000 rows a fetch) + xmlfile."""
    import psycopg

    with psycopg.connect(_psycopg_url(url)) as conn, conn.cursor(name="bare") as cur:
        cur.itersize = 10_000
        cur.execute(_SELECT)
        return _write(cur, path)
