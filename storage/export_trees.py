"""Where a snapshot export's values belong: each subject's item groups with their form and
event keys, read beside the stream of values (:func:`storage.export_records.iter_snapshot`).

Two readers behind one narrow interface, a :data:`TreeReader` (subject id -> its
:data:`Tree`): :func:`per_subject_trees`, the reference, one SELECT per subject; and
:class:`BatchedTrees`, the one the export uses, which reads the trees of the next subjects in
key order (the order the values come in) in one ordered range scan per batch of about 20,000
item groups. Both answer every subject alike (``tests/exchange/test_export_trees.py`` holds
them equal, and an export through each byte for byte). The batches buy the subject-heavy
rows of ``python -m bench exchange`` (40,000 subjects x 1 form x 4 items): 40,008 queries of
one row each became about ten. In-process A/B on SQLite: 4.3 s vs 7.8 s wall (3.1 vs 6.3 s
CPU); the export went from 0.13x (the issue's figure) to 0.50-0.61x the bare SELECT +
xmlfile. On PostgreSQL, where each query was a round trip, from 228 s (67 s analysed) to
4.0-6.8 s, 0.42-0.57x the bare export (same-run ratios, best of 3, loaded machine).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, bindparam, select

from storage.export_history import up_to_subject
from storage.models import Form, ItemGroup, Site, StudyEvent, Subject

Tree = tuple[dict[int, tuple[Any, ...]], tuple[str, str | None]]
"""Of one subject: item group id -> (event OID, event repeat key, form id, form OID, form
repeat key, group OID, group repeat key), and its (SubjectKey, site OID). A subject that no
longer exists: ``({}, ("", None))``."""

TreeReader = Callable[[int], Tree]
"""Answers :data:`Tree` for a subject id; asked in the export's subject order."""

_COLUMNS = (
    ItemGroup.id,
    StudyEvent.study_event_oid,
    StudyEvent.repeat_key,
    Form.id,
    Form.form_oid,
    Form.repeat_key,
    ItemGroup.item_group_oid,
    ItemGroup.repeat_key,
    Subject.subject_key,
    Site.oid,
)
_NONE: Tree = ({}, ("", None))

_ONE_SUBJECT = up_to_subject(select(*_COLUMNS).join(Form, Form.id == ItemGroup.form_id)).where(
    Subject.id == bindparam("subject_id")
)


def per_subject_trees(conn: Connection) -> TreeReader:
    """The reference reader: one SELECT of a subject's item groups per subject asked."""

    def tree(subject_id: int) -> Tree:
        groups: dict[int, tuple[Any, ...]] = {}
        head: tuple[str, str | None] = ("", None)
        for row in conn.execute(_ONE_SUBJECT, {"subject_id": subject_id}):
            groups[row[0]], head = tuple(row[1:8]), (row[8], row[9])
        return groups, head

    return tree


class BatchedTrees:
    """The trees of the exported subjects read in ordered batches: asked for a subject it has
    not read, it reads that subject and the next ones in SubjectKey order among ``subjects``
    (a SELECT of subject ids of one study: the export's filter), as many as make about
    :attr:`ROWS` item groups, in one range scan. A subject the batch does not hold (gone
    since the values were read) has no tree, as with the reference."""

    ROWS = 20_000
    """Item groups a batch aims at: a few MB of tuples, and few queries for any shape."""

    def __init__(self, conn: Connection, subjects: Any) -> None:
        start = select(Subject.subject_key).where(Subject.id == bindparam("subject_id"))
        batch = (
            subjects.where(Subject.subject_key >= start.scalar_subquery())
            .order_by(Subject.subject_key)
            .limit(bindparam("subjects"))
        )
        self._query = up_to_subject(
            select(Subject.id, *_COLUMNS).join(Form, Form.id == ItemGroup.form_id)
        ).where(Subject.id.in_(batch.scalar_subquery()))
        self._conn = conn
        self._held: dict[int, Tree] = {}
        # Subjects in the first batch (66 of 20,000 rows: 300 groups a subject, at most);
        # then sized on the groups seen.
        self._size = max(1, self.ROWS // 300)

    def __call__(self, subject_id: int) -> Tree:
        found = self._held.get(subject_id)
        if found is None:
            self._read(subject_id)
            found = self._held.get(subject_id, _NONE)
        return found

    def _read(self, subject_id: int) -> None:
        held: dict[int, Tree] = {}
        count = 0
        params = {"subject_id": subject_id, "subjects": self._size}
        result = self._conn.execute(self._query, params)
        # SQLite: the driver's cursor, as it comes (integers and text need no processing, and
        # SQLAlchemy fetched nothing before it is asked to).
        rows = result.cursor if self._conn.dialect.name == "sqlite" else result
        for sid, gid, *info, subject_key, site_oid in rows:
            tree = held.get(sid)
            if tree is None:
                tree = held[sid] = ({}, (subject_key, site_oid))
            tree[0][gid] = tuple(info)
            count += 1
        self._held = held
        per_subject = count / len(held) if held else 1
        self._size = max(1, min(4096, round(self.ROWS / max(per_subject, 1))))
