"""The bulk path for imports: the same rules and audit rows as ``save_form``, in batches.

Everything happens in the caller's ONE transaction: rows go out in executemany batches (COPY
on PostgreSQL), so a killed import leaves nothing behind once the database rolls back. Values
are checked as they arrive (type, length, code list, form membership) and each subject's forms
are run through the check plan; after the first problem nothing more is written, validation
goes on so the report lists every problem, and :meth:`BulkWriter.finish` raises
:class:`BulkRejectedError`: the caller rolls back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select

from odm_engine.clinical import FormKey, ItemKey
from storage.audit import AUDIT_COLUMNS
from storage.errors import BulkRejectedError, ConflictError
from storage.models import Form, FormStatus, ItemGroup, Role, Site, StudyEvent, TransactionType
from storage.models import Subject as SubjectRow
from storage.queries import open_check_queries
from storage.studies import current_metadata, study_id_of
from storage.subjects import SubjectRef, snapshot_of, stored_items
from storage.users import IMPORT_ROLES, require_role
from storage.validation import (
    EnteredValue,
    FormValidator,
    MetadataValidator,
    ValueProblem,
    apply_changes,
)
from storage.writes import ABSENT, RESET_ON_CHANGE, as_stored, transaction_type

_TABLES = {
    "subjects": ("id", "study_id", "subject_key", "site_id", "created_at"),
    "study_events": ("id", "subject_id", "study_event_oid", "repeat_key"),
    "forms": (
        "id",
        "study_event_id",
        "form_oid",
        "repeat_key",
        "status",
        "version",
        "updated_at",
        "updated_by",
    ),
    "item_groups": ("id", "form_id", "item_group_oid", "repeat_key"),
    "item_data": ("item_group_id", "item_oid", "value", "is_null"),
    "audit_trail": AUDIT_COLUMNS,
}


UPDATE_FORM = (
    "UPDATE forms SET version = ?, status = ?, updated_by = ?, updated_at = ? "
    "WHERE id = ? AND version = ?"
)
UPDATE_ITEM = "UPDATE item_data SET value = ?, is_null = ? WHERE id = ?"
DELETE_ITEM = "DELETE FROM item_data WHERE id = ?"


def _param(statement: str, mark: str) -> str:
    """``?`` placeholders (sqlite3) or ``%s`` (psycopg)."""
    return statement.replace("?", mark)


@dataclass(frozen=True, slots=True)
class BulkProblem:
    subject_key: str
    check_id: str
    kind: str
    item_key: ItemKey | None
    severity: str
    message: str


@dataclass(frozen=True, slots=True)
class BulkResult:
    subjects_created: int
    items_written: int
    audit_rows: int
    queries_opened: int


class _Ids:
    """Primary keys handed out in advance, so child rows can be batched with their parents."""

    def __init__(self, conn: Connection, table: str) -> None:
        self._conn, self._table = conn, table
        self._pg = conn.dialect.name == "postgresql"
        self._next: list[int] = []
        self._last = (
            0
            if self._pg
            else int(conn.exec_driver_sql(f"SELECT max(id) FROM {table}").scalar_one() or 0)  # noqa: S608 (table: a module constant)
        )

    def take(self) -> int:
        if not self._pg:
            self._last += 1
            return self._last
        if not self._next:
            rows = self._conn.exec_driver_sql(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, 1000)",
                (self._table,),
            )
            self._next = [r[0] for r in rows][::-1]
        return self._next.pop()


class BulkWriter:
    """Writes whole subjects' data with audit rows. Use one per import, then :meth:`finish`."""

    def __init__(
        self,
        conn: Connection,
        *,
        study: str,
        user: str,
        role: Role | str,
        source: str,
        reason: str | None = None,
        validator: FormValidator | None = None,
        batch_size: int = 20_000,
        on_flush: Callable[[int], None] | None = None,
    ) -> None:
        self.conn, self.study, self.source, self.reason = conn, study, source, reason
        self.user, self.role = user, str(Role(role))
        self.study_id = study_id_of(conn, study)
        self.user_id = require_role(
            conn,
            user,
            role,
            study_id=self.study_id,
            site_id=None,
            allowed=IMPORT_ROLES,
            action="import data",
        )
        self.validator = validator or MetadataValidator.for_odm(
            current_metadata(conn, study).odm, study
        )
        self.batch_size, self.on_flush = batch_size, on_flush
        self.now = datetime.now(UTC)
        self._pg = conn.dialect.name == "postgresql"
        self._stamp: Any = self.now if self._pg else self.now.strftime("%Y-%m-%d %H:%M:%S.%f")
        self._sites = dict(
            conn.execute(select(Site.oid, Site.id).where(Site.study_id == self.study_id)).all()
        )
        self._site_oids = {v: k for k, v in self._sites.items()}
        self._subjects = {
            key: (sid, site)
            for key, sid, site in conn.execute(
                select(SubjectRow.subject_key, SubjectRow.id, SubjectRow.site_id).where(
                    SubjectRow.study_id == self.study_id
                )
            )
        }
        self._ids = {t: _Ids(conn, t) for t in ("subjects", "study_events", "forms", "item_groups")}
        self._rows: dict[str, list[tuple[Any, ...]]] = {t: [] for t in _TABLES}
        self._form_updates: list[tuple[Any, ...]] = []
        self._item_updates: list[tuple[Any, ...]] = []
        self._item_deletes: list[tuple[Any, ...]] = []
        self._touched: set[int] = set()
        self.problems: list[BulkProblem] = []
        self._created = self._items = self._audit = self._queries = 0

    def _problem(self, subject_key: str, p: Any) -> None:
        self.problems.append(
            BulkProblem(subject_key, p.check_id, p.kind, p.item_key, p.severity, p.message)
        )

    def add_subject(
        self,
        subject_key: str,
        site_oid: str | None,
        items: Iterable[tuple[ItemKey, EnteredValue]],
    ) -> None:
        """Import one subject's values; None or "" removes a value, IsNull records a null."""
        canonical = self.validator.canonical
        wanted: dict[ItemKey, EnteredValue] = {}
        for key, value in items:
            checked = canonical(key, value)
            if type(checked) is ValueProblem:
                self._problem(subject_key, checked)
            else:
                wanted[key] = checked  # type: ignore[assignment]
        site_id = self._sites.get(site_oid) if site_oid else None
        if site_oid and site_id is None:
            self.problems.append(
                BulkProblem(
                    subject_key,
                    "SiteRef",
                    "metadata",
                    None,
                    "hard",
                    f'Subject {subject_key}: SiteRef LocationOID="{site_oid}" names no '
                    "site of this study. Add the Location to AdminData and load it.",
                )
            )
        existing = self._subjects.get(subject_key)
        if existing is None:
            subject_id = self._ids["subjects"].take()
            self._rows["subjects"].append(
                (subject_id, self.study_id, subject_key, site_id, self._stamp)
            )
            self._subjects[subject_key] = (subject_id, site_id)
            self._created += 1
            stored: dict[ItemKey, tuple[int, str | None, str | None]] = {}
            tree = _Tree({}, {}, {})
        else:
            subject_id, site_id = existing
            if subject_id in self._touched:
                self._flush()
            stored = stored_items(self.conn, subject_id)
            tree = _Tree.load(self.conn, subject_id)
        self._touched.add(subject_id)
        ref = SubjectRef(
            subject_id,
            self.study_id,
            self.study,
            subject_key,
            site_id,
            self._site_oids.get(site_id) if site_id else None,
        )
        self._check_forms(ref, stored, wanted)
        if not self.problems:
            self._write(ref, stored, tree, wanted)
            if len(self._rows["item_data"]) + len(self._rows["audit_trail"]) >= self.batch_size:
                self._flush()

    def _check_forms(
        self,
        ref: SubjectRef,
        stored: dict[ItemKey, tuple[int, str | None, str | None]],
        wanted: dict[ItemKey, EnteredValue],
    ) -> None:
        forms = {k.form_key for k in wanted if self.validator.form_has_checks(k.form_oid)}
        if not forms:
            return
        snapshot = apply_changes(snapshot_of(ref, stored), wanted)  # the subject after import
        for form in sorted(forms):
            changes = {k: v for k, v in wanted.items() if k.form_key == form}
            result = self.validator.validate(snapshot, form, changes)
            if result.refusal:
                self.problems.append(
                    BulkProblem(
                        ref.subject_key,
                        "CollectionException",
                        "condition",
                        None,
                        "hard",
                        result.refusal,
                    )
                )
            for r in result.hard:
                self._problem(ref.subject_key, r)
            wanted.update({k: v for k, v in result.derived.items() if k.form_key == form})
            soft = [r for r in result.soft if r.kind != "mandatory"]
            if soft and not self.problems:
                self._flush()
                self._queries += len(
                    open_check_queries(
                        self.conn,
                        ref.id,
                        results=soft,
                        user=self.user,
                        role=self.role,
                        now=self.now,
                    )
                )

    def _write(
        self,
        ref: SubjectRef,
        stored: dict[ItemKey, tuple[int, str | None, str | None]],
        tree: _Tree,
        wanted: dict[ItemKey, EnteredValue],
    ) -> None:
        rows, stamp = self._rows, self._stamp
        who = (
            stamp,
            self.user_id,
            self.user,
            self.role,
            ref.site_oid,
            self.study,
            ref.id,
            ref.subject_key,
            self.reason,
            self.source,
        )
        prefixes: dict[FormKey, tuple[Any, ...]] = {}
        for key, value in wanted.items():
            old_row = stored.get(key)
            old = (old_row[1], old_row[2]) if old_row else ABSENT
            new = as_stored(value)
            kind = transaction_type(old, new)
            if kind is None:
                continue
            form = key.form_key
            prefix = prefixes.get(form)
            if prefix is None:
                version = self._claim_form(ref, tree, form)
                prefix = prefixes[form] = (
                    *who,
                    version,
                    form.study_event_oid,
                    form.study_event_repeat_key,
                    form.form_oid,
                    form.form_repeat_key,
                )
            if old_row is None:
                gid = self._group_id(tree, key)
                rows["item_data"].append((gid, key.item_oid, new[0], new[1]))
            elif new == ABSENT:
                self._item_deletes.append((old_row[0],))
            else:
                self._item_updates.append((new[0], new[1], old_row[0]))
            rows["audit_trail"].append(
                (
                    *prefix,
                    key.item_group_oid,
                    key.item_group_repeat_key,
                    key.item_oid,
                    kind.value,
                    old[0],
                    new[0],
                    old[1],
                    new[1],
                )
            )
            self._items += 1

    def _claim_form(self, ref: SubjectRef, tree: _Tree, form: FormKey) -> int:
        """The next version of ``form``, creating its event and form rows when new."""
        found = tree.forms.get(form)
        if found is not None:
            form_id, status, version = found
            if status == FormStatus.LOCKED.value:
                self.problems.append(
                    BulkProblem(
                        ref.subject_key,
                        "locked",
                        "status",
                        None,
                        "hard",
                        f"Form {form.form_oid} of subject {ref.subject_key} is locked.",
                    )
                )
            if version > 0 and not self.reason:
                self.problems.append(
                    BulkProblem(
                        ref.subject_key,
                        "reason",
                        "reason",
                        None,
                        "hard",
                        f"Form {form.form_oid} of subject {ref.subject_key} holds data "
                        "already: give a reason for change (--reason).",
                    )
                )
            new_status = FormStatus.IN_PROGRESS.value if status in RESET_ON_CHANGE else status
            self._form_updates.append(
                (version + 1, new_status, self.user, self._stamp, form_id, version)
            )
            tree.forms[form] = (form_id, new_status, version + 1)
            self._status_row(ref, form, status, new_status, version + 1)
            return version + 1
        event = (form.study_event_oid, form.study_event_repeat_key)
        event_id = tree.events.get(event)
        if event_id is None:
            event_id = tree.events[event] = self._ids["study_events"].take()
            self._rows["study_events"].append((event_id, ref.id, *event))
        form_id = self._ids["forms"].take()
        self._rows["forms"].append(
            (
                form_id,
                event_id,
                form.form_oid,
                form.form_repeat_key,
                FormStatus.IN_PROGRESS.value,
                1,
                self._stamp,
                self.user,
            )
        )
        tree.forms[form] = (form_id, FormStatus.IN_PROGRESS.value, 1)
        self._status_row(ref, form, FormStatus.NOT_STARTED.value, FormStatus.IN_PROGRESS.value, 1)
        return 1

    def _status_row(self, ref: SubjectRef, form: FormKey, old: str, new: str, version: int) -> None:
        """A form-level audit row for a status change, as ``save_form`` writes it."""
        if old != new:
            self._rows["audit_trail"].append(
                (
                    self._stamp,
                    self.user_id,
                    self.user,
                    self.role,
                    ref.site_oid,
                    self.study,
                    ref.id,
                    ref.subject_key,
                    self.reason,
                    self.source,
                    version,
                    form.study_event_oid,
                    form.study_event_repeat_key,
                    form.form_oid,
                    form.form_repeat_key,
                    "",
                    "",
                    "",
                    TransactionType.STATUS.value,
                    old,
                    new,
                    None,
                    None,
                )
            )

    def _group_id(self, tree: _Tree, key: ItemKey) -> int:
        gkey = key.group_key
        gid = tree.groups.get(gkey)
        if gid is None:
            gid = tree.groups[gkey] = self._ids["item_groups"].take()
            form_id = tree.forms[key.form_key][0]
            self._rows["item_groups"].append(
                (gid, form_id, key.item_group_oid, key.item_group_repeat_key)
            )
        return gid

    def _flush(self) -> None:
        if self.problems:
            return
        cursor = self.conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        mark = "%s" if self._pg else "?"
        try:
            for table, columns in _TABLES.items():
                batch = self._rows[table]
                if not batch:
                    continue
                if self._pg and table in ("item_data", "audit_trail"):
                    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                        for row in batch:
                            copy.write_row(row)
                else:
                    cursor.executemany(
                        f"INSERT INTO {table} ({', '.join(columns)}) "  # noqa: S608 (names are module constants)
                        f"VALUES ({', '.join([mark] * len(columns))})",
                        batch,
                    )
                if table == "audit_trail":
                    self._audit += len(batch)
                batch.clear()
            self._apply_updates(cursor, mark)
        finally:
            cursor.close()
        self._touched.clear()
        if self.on_flush is not None:
            self.on_flush(self._items)

    def _apply_updates(self, cursor: Any, mark: str) -> None:
        if self._form_updates:
            cursor.executemany(_param(UPDATE_FORM, mark), self._form_updates)
            if cursor.rowcount not in (-1, len(self._form_updates)):
                raise ConflictError("(import)", 0, 0, [])
            self._form_updates.clear()
        if self._item_updates:
            cursor.executemany(_param(UPDATE_ITEM, mark), self._item_updates)
            self._item_updates.clear()
        if self._item_deletes:
            cursor.executemany(_param(DELETE_ITEM, mark), self._item_deletes)
            self._item_deletes.clear()

    def finish(self) -> BulkResult:
        """Write what is buffered; raise BulkRejectedError (roll back!) if anything failed."""
        self._flush()
        if self.problems:
            raise BulkRejectedError(self.problems)
        return BulkResult(self._created, self._items, self._audit, self._queries)


@dataclass(slots=True)
class _Tree:
    """Ids of a subject's events, forms (with status, version) and item groups."""

    events: dict[tuple[str, str], int]
    forms: dict[FormKey, tuple[int, str, int]]
    groups: dict[Any, int]

    @classmethod
    def load(cls, conn: Connection, subject_id: int) -> _Tree:
        tree = cls({}, {}, {})
        for eid, eoid, erk in conn.execute(
            select(StudyEvent.id, StudyEvent.study_event_oid, StudyEvent.repeat_key).where(
                StudyEvent.subject_id == subject_id
            )
        ):
            tree.events[(eoid, erk)] = eid
        for eoid, erk, fid, foid, frk, status, version in conn.execute(
            select(
                StudyEvent.study_event_oid,
                StudyEvent.repeat_key,
                Form.id,
                Form.form_oid,
                Form.repeat_key,
                Form.status,
                Form.version,
            )
            .join(StudyEvent, StudyEvent.id == Form.study_event_id)
            .where(StudyEvent.subject_id == subject_id)
        ):
            tree.forms[FormKey(eoid, erk, foid, frk)] = (fid, status, version)
        for eoid, erk, foid, frk, gid, goid, grk in conn.execute(
            select(
                StudyEvent.study_event_oid,
                StudyEvent.repeat_key,
                Form.form_oid,
                Form.repeat_key,
                ItemGroup.id,
                ItemGroup.item_group_oid,
                ItemGroup.repeat_key,
            )
            .join(Form, Form.id == ItemGroup.form_id)
            .join(StudyEvent, StudyEvent.id == Form.study_event_id)
            .where(StudyEvent.subject_id == subject_id)
        ):
            tree.groups[ItemKey(eoid, erk, foid, frk, goid, grk, "").group_key] = gid
        return tree
