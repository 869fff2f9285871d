"""Checks of database consistency after a fault, and the gunicorn worker processes."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, text

from storage.engine import write_transaction
from storage.subjects import create_subject
from tests.webapp.conftest import SITE_A, STUDY

ORPHANS = """
SELECT count(*) FROM item_data d
JOIN item_groups g ON g.id = d.item_group_id
JOIN forms f ON f.id = g.form_id
JOIN study_events e ON e.id = f.study_event_id
JOIN subjects s ON s.id = e.subject_id
WHERE NOT EXISTS (
  SELECT 1 FROM audit_trail a
  WHERE a.subject_id = s.id AND a.study_event_oid = e.study_event_oid
    AND a.form_oid = f.form_oid AND a.item_group_oid = g.item_group_oid
    AND a.item_group_repeat_key = g.repeat_key AND a.item_oid = d.item_oid
)
"""


def values_without_audit(engine: Engine) -> int:
    """ItemData rows with no audit row for their item: must always be 0."""
    with engine.connect() as conn:
        return int(conn.execute(text(ORPHANS)).scalar_one())


def add_subjects(engine: Engine, count: int, first: int = 100) -> list[str]:
    keys = [f"DE01-{n:03d}" for n in range(first, first + count)]
    with write_transaction(engine) as conn:
        for key in keys:
            create_subject(
                conn, study=STUDY, subject_key=key, site_oid=SITE_A, user="dm", role="data_manager"
            )
    return keys


def children(pid: int) -> list[int]:
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        raw = (task / "children").read_text().split()
        out += [int(c) for c in raw]
    return out


def master_on_port(port: int) -> int:
    """The `edc serve` process listening on ``port`` (the gunicorn master)."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"serve" in cmd and str(port).encode() in cmd:
            return int(proc.name)
    raise LookupError(f"no edc serve on port {port}")
