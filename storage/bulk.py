"""The bulk path for imports: the same rules and audit rows as ``save_form``, in batches.

Everything happens in the caller's ONE transaction: rows go out in executemany batches (COPY
on PostgreSQL), so a killed import leaves nothing behind once the database rolls back. Values
are checked as they arrive (type, length, code list, form membership) and each subject's forms
are run through the check plan; after the first problem nothing more is written, validation
goes on so the report lists every problem, and :meth:`BulkWriter.finish` raises
:class:`BulkRejectedError`: the caller rolls back.

Speed (a million values per import): what is known of an item key (its ItemDef check, form,
group) is worked out once per key, not per value; rows are buffered flat, one list of values
per table (no object per row for the cyclic GC to scan); on SQLite the audit row of each
newly inserted value is written by one ``INSERT ... SELECT`` per batch from the item rows just
inserted (the same columns a buffered row would carry: who, when, source, the full key,
``Insert``, the new value), so a million 23-column rows never pass through Python. Changes
to stored values (Update, Remove) and form status rows buffer their audit rows themselves.
Also on SQLite, each batch's rows go to the database in multi-row INSERTs (thousands of rows
per statement, of a few fixed sizes each prepared once; NULLs written in the statement, not
bound), written by a second thread while this one reads and checks the next batch:
SQLite works without holding Python's GIL, so the two overlap. The statements, their order
and the one transaction are those of writing in line: the thread writes one batch at a time,
and every other use of the connection, and the end of the transaction (commit or rollback),
waits for it.
"""

from __future__ import annotations

import functools
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, event, select

from odm_engine.clinical import FormKey, GroupKey, ItemKey
from odm_engine.entry_validation import (
    EnteredValue,
    FormValidator,
    MetadataValidator,
    ValueProblem,
    apply_changes,
    second_instance_problem,
)
from storage.audit import AUDIT_COLUMNS, ROW_COLUMNS, SUBJECT_LEVEL
from storage.errors import BulkRejectedError, ConflictError, FormNotEditableError
from storage.form_status import TRANSITIONS, next_status
from storage.models import Form, FormStatus, ItemGroup, Role, Site, StudyEvent, TransactionType
from storage.models import Subject as SubjectRow
from storage.queries import open_check_queries
from storage.studies import current_metadata, study_id_of
from storage.subjects import StoredItem, SubjectRef, snapshot_of, stored_items, stored_units
from storage.users import require_role

_FORM_COLUMNS = (
    "id",
    "study_event_id",
    "form_oid",
    "repeat_key",
    "status",
    "version",
    "updated_at",
    "updated_by",
)
_ITEM_COLUMNS = ("item_group_id", "item_oid", "value", "is_null")
SOURCE_AUDIT_COLUMNS = (
    "kind",
    "entity",
    "study_event_oid",
    "study_event_repeat_key",
    "form_oid",
    "form_repeat_key",
    "item_group_oid",
    "item_group_repeat_key",
    "item_oid",
    "transaction_type",
    "old_value",
    "new_value",
    "user_oid",
    "location_oid",
    "date_time_stamp",
    "reason",
    "source_id",
)
"""A source audit entry as :meth:`BulkWriter.add_subject` takes it (the writer adds the
subject and the import's source): see :class:`storage.models.SourceAuditRow`."""
_BATCHES: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "subjects": ("subjects", ("id", "study_id", "subject_key", "site_id", "created_at"), ()),
    "study_events": ("study_events", ("id", "subject_id", "study_event_oid", "repeat_key"), ()),
    "forms": ("forms", _FORM_COLUMNS, ()),
    "item_groups": ("item_groups", ("id", "form_id", "item_group_oid", "repeat_key"), ()),
    "item_data": ("item_data", _ITEM_COLUMNS, ()),
    "item_values": ("item_data", ("id", *_ITEM_COLUMNS[:3]), ("is_null",)),
    "item_units": ("item_data", ("id", *_ITEM_COLUMNS, "unit"), ()),
    "audit_trail": ("audit_trail", AUDIT_COLUMNS, ()),
    "audit_units": ("audit_trail", ROW_COLUMNS, ()),
    "source_audit": ("source_audit", ("subject_id", "import_source", *SOURCE_AUDIT_COLUMNS), ()),
}
"""The rows a batch buffers, written in this order: name -> (table, the columns each row
gives, the columns written NULL in every row). Rows are buffered flat, value after value in
one list per name (no tuple per row to make, to track for the cyclic GC, then to flatten
again for a multi-row INSERT). On SQLite item rows carry their id (their audit rows are read
back by id, see AUDIT_OF_INSERTED), and a value without IsNull (nearly all of them) goes to
``item_values``: a NULL bound as a parameter costs sqlite3 an adapter look-up, a NULL
written in the statement costs nothing. A value given with a MeasurementUnitRef (few) goes to
``item_units`` with its id on both databases, and an audit row that carries a unit to
``audit_units``."""
_DERIVED_ITEM_COLUMNS = ("id", *_ITEM_COLUMNS)
_Batch = tuple[str, tuple[str, ...], tuple[str, ...], list[Any]]
"""Rows to insert: (table, their columns, columns NULL in every row, the rows' values flat)."""


UPDATE_FORM = (
    "UPDATE forms SET version = ?, status = ?, updated_by = ?, updated_at = ? "
    "WHERE id = ? AND version = ?"
)
UPDATE_ITEM = "UPDATE item_data SET value = ?, is_null = ? WHERE id = ?"
UPDATE_ITEM_UNIT = "UPDATE item_data SET value = ?, is_null = ?, unit = ? WHERE id = ?"
DELETE_ITEM = "DELETE FROM item_data WHERE id = ?"
AUDIT_OF_INSERTED = (
    f"INSERT INTO audit_trail ({', '.join(ROW_COLUMNS)}) "  # noqa: S608 (module constants)
    "SELECT ?, ?, ?, ?, site.oid, ?, s.id, s.subject_key, ?, ?, f.version, "
    "e.study_event_oid, e.repeat_key, f.form_oid, f.repeat_key, g.item_group_oid, "
    "g.repeat_key, d.item_oid, 'Insert', NULL, d.value, NULL, d.is_null, NULL, d.unit "
    "FROM item_data d JOIN item_groups g ON g.id = d.item_group_id "
    "JOIN forms f ON f.id = g.form_id JOIN study_events e ON e.id = f.study_event_id "
    "JOIN subjects s ON s.id = e.subject_id LEFT JOIN sites site ON site.id = s.site_id "
    "WHERE d.id BETWEEN ? AND ? ORDER BY d.id"
)
"""The audit rows of the item rows a batch inserted (ids ``first`` to ``last``), in order:
the columns of :data:`storage.audit.AUDIT_COLUMNS`, as ``_write`` would build them."""
_INSERT = TransactionType.INSERT.value
_UPDATE = TransactionType.UPDATE.value
_REMOVE = TransactionType.REMOVE.value
_ROWS_PER_STATEMENT = 5000
"""SQLite: rows per multi-row INSERT (a statement is compiled once per distinct size)."""
_MAX_KEYS = 200_000
"""Item keys whose facts are remembered (a study has thousands; forgotten all at once)."""


def _param(statement: str, mark: str) -> str:
    """``?`` placeholders (sqlite3) or ``%s`` (psycopg)."""
    return statement.replace("?", mark)


def _variable_limit(dbapi: Any) -> int:
    """SQLite's SQLITE_LIMIT_VARIABLE_NUMBER for this connection (999 before 3.32)."""
    getlimit = getattr(dbapi, "getlimit", None)
    return int(getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)) if getlimit else 999


@functools.lru_cache(maxsize=256)
def _values_insert(table: str, columns: tuple[str, ...], nulls: tuple[str, ...], rows: int) -> str:
    """SQLite: an INSERT of ``rows`` rows in one statement (one step, many parameters)."""
    row = f"({', '.join(['?'] * len(columns) + ['NULL'] * len(nulls))})"
    names = ", ".join((*columns, *nulls))
    return f"INSERT INTO {table} ({names}) VALUES {', '.join([row] * rows)}"  # noqa: S608 (module constants)


def _chunks(count: int, most: int) -> Iterator[int]:
    """Sizes of the statements that insert ``count`` rows, ``most`` at the most each: full
    ones, then the rest in powers of two, so a connection prepares each size once (a batch
    of any size reuses them) instead of a new statement of thousands of rows per batch."""
    for _ in range(count // most):
        yield most
    rest = count % most
    while rest:
        size = 1 << (rest.bit_length() - 1)
        yield size
        rest -= size


def _insert_rows(cursor: Any, batch: _Batch, limit: int) -> None:
    """Insert a batch's rows with as few statements as SQLite's parameter ``limit`` allows."""
    table, columns, nulls, values = batch
    width = len(columns)
    start = 0
    for size in _chunks(len(values) // width, max(1, min(limit // width, _ROWS_PER_STATEMENT))):
        end = start + size * width
        cursor.execute(_values_insert(table, columns, nulls, size), values[start:end])
        start = end


def _rows_of(batch: _Batch) -> Iterator[tuple[Any, ...]]:
    """The rows of a batch, as tuples."""
    values = iter(batch[3])
    return zip(*[values] * len(batch[1]), strict=True)


_KeyInfo = tuple[
    ItemKey,
    ItemKey,
    "Callable[[str], Any] | None",
    FormKey,
    GroupKey,
    bool,
    str,
    tuple[str, str, str],
]
"""What the bulk path knows of one ItemKey object: the key, its interned equal, the value
check of its ItemDef (None: ask ``canonical``), its form and group keys (interned), whether its
form has checks, its ItemOID, and (ItemGroupOID, ItemGroupRepeatKey, ItemOID)."""


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
        batch_size: int = 50_000,
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
            allowed=TRANSITIONS["import"].roles,
            action=TRANSITIONS["import"].action,
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
        self._derive = not self._pg
        """SQLite: audit rows of inserted values by AUDIT_OF_INSERTED (PostgreSQL: COPY)."""
        self._background = self._derive
        """SQLite: batches are written by a second thread (see the module docstring)."""
        self._job: threading.Thread | None = None
        self._job_error: BaseException | None = None
        self._job_audit = 0
        self._listeners = (("commit", self._before_commit), ("rollback", self._before_rollback))
        if self._background:
            for name, listener in self._listeners:
                event.listen(conn, name, listener)
        self._ids = {
            t: _Ids(conn, t)
            for t in ("subjects", "study_events", "forms", "item_groups", "item_data")
        }
        self._rows: dict[str, list[Any]] = {t: [] for t in _BATCHES}
        """Rows to write, flat (see _BATCHES), by batch name."""
        self._widths = {
            name: len(_DERIVED_ITEM_COLUMNS if name == "item_data" and self._derive else columns)
            for name, (_table, columns, _nulls) in _BATCHES.items()
        }
        self._form_updates: list[tuple[Any, ...]] = []
        self._item_updates: list[tuple[Any, ...]] = []
        self._unit_updates: list[tuple[Any, ...]] = []
        self._item_deletes: list[tuple[Any, ...]] = []
        self._touched: set[int] = set()
        self._infos: dict[int, _KeyInfo] = {}
        """id(ItemKey) -> facts of that key; the key itself is the first of them, so the id
        stays its own while remembered."""
        self._interned: dict[Any, Any] = {}
        """One ItemKey / FormKey / GroupKey object per value: equal keys share facts."""
        self._value_checker: Callable[[ItemKey], Any] | None = getattr(
            self.validator, "value_checker", None
        )
        self._single_groups: frozenset[str] = getattr(self.validator, "single_groups", frozenset())
        """Non-repeating ItemGroupOIDs: a second instance in a form is a problem."""
        self.problems: list[BulkProblem] = []
        self._created = self._items = self._audit = self._queries = 0
        self._one_pass_misses = 0
        """New subjects the one-pass path handed back (checks to run): past half, stop trying."""

    def _problem(self, subject_key: str, p: Any) -> None:
        self.problems.append(
            BulkProblem(subject_key, p.check_id, p.kind, p.item_key, p.severity, p.message)
        )

    def add_subject(
        self,
        subject_key: str,
        site_oid: str | None,
        items: Iterable[tuple[ItemKey, EnteredValue]],
        units: Mapping[ItemKey, str] | None = None,
        source_audit: Iterable[tuple[Any, ...]] = (),
    ) -> None:
        """Import one subject's values; None or "" removes a value, IsNull records a null.

        ``units``: the MeasurementUnitOID given with a value (one of its ItemDef's
        MeasurementUnitRefs, else a problem); a value given without one keeps the unit stored
        with it, as in ``save_form``. ``source_audit``: the source system's audit entries
        for this subject (tuples of :data:`SOURCE_AUDIT_COLUMNS`), kept as given."""
        if len(self._infos) > _MAX_KEYS:
            self._infos.clear()
            self._interned.clear()
        site_id = self._sites.get(site_oid) if site_oid else None
        bad_site = bool(site_oid) and site_id is None
        existing = self._subjects.get(subject_key)
        new_subject: SubjectRef | None = None
        if existing is None:
            new_subject = self._new_subject(subject_key, site_id)
        owner = new_subject.id if new_subject is not None else self._subjects[subject_key][0]
        kept = self._rows["source_audit"]
        for entry in source_audit:
            kept += (owner, self.source, *entry)
        if new_subject is not None:
            one_pass = not units and self._one_pass_misses <= max(20, self._created // 2)
            if self._derive and one_pass:
                items = items if isinstance(items, list | tuple) else list(items)
                if self._add_new(new_subject, items, bad_site):
                    if bad_site:
                        self._site_problem(subject_key, site_oid)
                    self._after_subject()
                    return
        canonical = self.validator.canonical
        infos = self._infos
        wanted: dict[int, tuple[_KeyInfo, EnteredValue]] = {}
        checks = False
        for key, value in items:
            info = infos.get(id(key))
            if info is None or info[0] is not key:
                info = self._key_info(key)
            check = info[2]  # gives canonical text, or anything else: ask canonical()
            if (
                check is None
                or value.__class__ is not str
                or (checked := check(value)).__class__ is not str  # type: ignore[arg-type]
            ):
                checked = canonical(key, value)
            if checked.__class__ is ValueProblem:
                self._problem(subject_key, checked)
                continue
            wanted[id(info[1])] = (info, checked)  # type: ignore[assignment]
            checks = checks or info[5]
        if bad_site:
            self._site_problem(subject_key, site_oid)
        units = self._checked_units(subject_key, units)
        if new_subject is not None:
            ref = new_subject
            stored: dict[ItemKey, StoredItem] = {}
            tree = _Tree({}, {}, {})
        else:
            assert existing is not None
            subject_id, site_id = existing
            if subject_id in self._touched:
                self._flush()
            self._wait()
            stored = stored_items(self.conn, subject_id)
            tree = _Tree.load(self.conn, subject_id)
            self._touched.add(subject_id)
            ref = self._ref(subject_id, subject_key, site_id)
        if checks:
            keyed = {info[1]: value for info, value in wanted.values()}
            self._check_forms(ref, stored, keyed, units)
            wanted = {}
            for key, value in keyed.items():
                info = infos.get(id(key))
                if info is None or info[0] is not key:
                    info = self._key_info(key)
                wanted[id(info[1])] = (info, value)
        if not self.problems:
            self._touched.add(ref.id)  # again: a soft check's query flushed the batch
            self._write(ref, stored, tree, wanted, units)
        self._after_subject()

    def _checked_units(
        self, subject_key: str, units: Mapping[ItemKey, str] | None
    ) -> Mapping[ItemKey, str]:
        """``units`` without those the item does not have (each one a problem)."""
        if not units:
            return {}
        kept = {}
        for key, unit in units.items():
            problem = self.validator.unit_problem(key, unit)
            if problem is None:
                kept[key] = unit
            else:
                self._problem(subject_key, problem)
        return kept

    def _after_subject(self) -> None:
        """Flush a full batch: ``batch_size`` rows, counting each value's audit row."""
        items, audit = (
            self._count("item_data") + self._count("item_values") + self._count("item_units"),
            self._count("audit_trail") + self._count("audit_units") + self._count("source_audit"),
        )
        if (items * 2 if self._derive else items) + audit >= self.batch_size:
            self._flush()

    def _count(self, name: str) -> int:
        """Rows buffered under ``name``."""
        return len(self._rows[name]) // self._widths[name]

    def _ref(self, subject_id: int, subject_key: str, site_id: int | None) -> SubjectRef:
        site_oid = self._site_oids.get(site_id) if site_id else None
        return SubjectRef(subject_id, self.study_id, self.study, subject_key, site_id, site_oid)

    def _new_subject(self, subject_key: str, site_id: int | None) -> SubjectRef:
        subject_id = self._ids["subjects"].take()
        self._rows["subjects"] += (subject_id, self.study_id, subject_key, site_id, self._stamp)
        self._subjects[subject_key] = (subject_id, site_id)
        self._created += 1
        self._touched.add(subject_id)
        ref = self._ref(subject_id, subject_key, site_id)
        # Its creation, audited as create_subject does: a subject-level Insert row.
        self._rows["audit_trail"] += (
            *self._who(ref),
            0,
            *SUBJECT_LEVEL,
            _INSERT,
            None,
            subject_key,
            None,
            None,
        )
        return ref

    def _site_problem(self, subject_key: str, site_oid: str | None) -> None:
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

    def _add_new(
        self,
        ref: SubjectRef,
        items: list[tuple[ItemKey, EnteredValue]] | tuple[Any, ...],
        bad_site: bool,
    ) -> bool:
        """A new subject on SQLite, the common case: check and write each value in one pass
        (its audit row comes from AUDIT_OF_INSERTED). False, with nothing kept, when a form
        with checks or a repeated key needs the general path of :meth:`add_subject`."""
        rows, ids = self._rows, self._ids
        item_rows, value_rows = rows["item_data"], rows["item_values"]
        item_ids = ids["item_data"]
        marks = (
            {table: len(batch) for table, batch in rows.items()},
            {table: counter._last for table, counter in ids.items()},
            len(self.problems),
            self._items,
        )
        infos, canonical = self._infos, self.validator.canonical
        subject_key = ref.subject_key
        writing = not self.problems and not bad_site
        seen: set[int] = set()
        see = seen.add
        refused = 0
        tree = _Tree({}, {}, {})
        last_form: FormKey | None = None
        last_group: GroupKey | None = None
        gid = 0
        first_id = next_id = item_ids._last
        for key, value in items:
            info = infos.get(id(key))
            if info is None or info[0] is not key:
                info = self._key_info(key)
            check = info[2]  # gives canonical text, or anything else: ask canonical()
            if (
                check is None
                or value.__class__ is not str
                or (checked := check(value)).__class__ is not str  # type: ignore[arg-type]
            ):
                checked = canonical(key, value)
                if checked.__class__ is ValueProblem:
                    self._problem(subject_key, checked)
                    writing = False
                    refused += 1
                    continue
            if info[5]:  # the form has checks to run
                break
            see(id(info[1]))
            if not writing or checked is None:
                continue  # nothing to remove from a new subject
            form = info[3]
            if form is not last_form:
                last_form, last_group = form, None
                if form not in tree.forms:
                    self._claim_form(ref, tree, form)
            group = info[4]
            if group is not last_group:
                gid, last_group = self._group_id(tree, group, info, ref.subject_key), group
            next_id += 1
            if checked.__class__ is str:
                value_rows += (next_id, gid, info[6], checked)
            else:
                item_rows += (next_id, gid, info[6], None, checked.reason)  # type: ignore[union-attr]
        else:
            if len(seen) == len(items) - refused:  # no key given twice
                item_ids._last = next_id
                self._items += next_id - first_id
                if not writing:  # a problem: this subject's rows are not written (nor later)
                    self._restore((marks[0], marks[1], len(self.problems), marks[3]))
                return True
        self._restore(marks)  # checks to run, or a key given twice: the general path
        self._one_pass_misses += 1
        return False

    def _restore(self, marks: tuple[dict[str, int], dict[str, int], int, int]) -> None:
        """Undo what :meth:`_add_new` buffered for a subject (rows, ids, problems, count)."""
        lengths, counters, problems, items = marks
        for table, length in lengths.items():
            del self._rows[table][length:]
        for table, last in counters.items():
            self._ids[table]._last = last
        del self.problems[problems:]
        self._items = items

    def _key_info(self, key: ItemKey) -> _KeyInfo:
        """What is known of ``key`` (see :data:`_KeyInfo`), worked out once and remembered."""
        interned = self._interned
        canon = interned.setdefault(key, key)
        form = interned.setdefault(canon.form_key, canon.form_key)
        group = interned.setdefault(canon.group_key, canon.group_key)
        check = self._value_checker(canon) if self._value_checker is not None else None
        info: _KeyInfo = (
            key,
            canon,
            check if check.__class__ is not ValueProblem else None,  # type: ignore[misc]
            form,  # type: ignore[arg-type]
            group,  # type: ignore[arg-type]
            self.validator.form_has_checks(key.form_oid),
            key.item_oid,
            (key.item_group_oid, key.item_group_repeat_key, key.item_oid),
        )
        self._infos[id(key)] = info
        return info

    def _check_forms(
        self,
        ref: SubjectRef,
        stored: dict[ItemKey, StoredItem],
        wanted: dict[ItemKey, EnteredValue],
        units: Mapping[ItemKey, str],
    ) -> None:
        forms = {k.form_key for k in wanted if self.validator.form_has_checks(k.form_oid)}
        if not forms:
            return
        snapshot = apply_changes(snapshot_of(ref, stored), wanted)  # the subject after import
        entered = {**stored_units(stored), **units} if units or stored else None
        for form in sorted(forms):
            changes = {k: v for k, v in wanted.items() if k.form_key == form}
            result = self.validator.validate(snapshot, form, changes, units=entered)
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
                self._wait()
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
        stored: dict[ItemKey, StoredItem],
        tree: _Tree,
        wanted: dict[int, tuple[_KeyInfo, EnteredValue]],
        units: Mapping[ItemKey, str],
    ) -> None:
        item_rows, audit_rows = self._rows["item_data"], self._rows["audit_trail"]
        value_rows = self._rows["item_values"]
        derive = self._derive
        take_item = self._ids["item_data"].take
        who = self._who(ref)
        prefixes: dict[FormKey, tuple[Any, ...]] = {}
        last_form: FormKey | None = None
        last_group: GroupKey | None = None
        prefix: tuple[Any, ...] = ()
        gid = 0
        for info, value in wanted.values():
            if value.__class__ is str:
                new_value, new_null = value, None
            elif value is None:
                new_value = new_null = None
            else:
                new_value, new_null = None, value.reason  # type: ignore[union-attr]
            old_row = stored.get(info[1]) if stored else None
            old_unit = old_row[3] if old_row is not None else None
            new_unit = None  # a value given without a unit keeps the one stored with it
            if new_value is not None:
                new_unit = units.get(info[1], old_unit) if units else old_unit
            if old_row is None:
                if new_value is None and new_null is None:
                    continue  # removing what is not there
                old_value = old_null = None
                kind = _INSERT
            else:
                old_value, old_null = old_row[1], old_row[2]
                if old_value == new_value and old_null == new_null and old_unit == new_unit:
                    continue
                if old_value is None and old_null is None:
                    kind = _INSERT
                elif new_value is None and new_null is None:
                    kind = _REMOVE
                else:
                    kind = _UPDATE
            form = info[3]
            if form is not last_form:
                last_form, last_group = form, None
                found = prefixes.get(form)
                if found is None:
                    version = self._claim_form(ref, tree, form)
                    found = prefixes[form] = (
                        *who,
                        version,
                        form.study_event_oid,
                        form.study_event_repeat_key,
                        form.form_oid,
                        form.form_repeat_key,
                    )
                prefix = found
            self._items += 1
            if old_unit is not None or new_unit is not None:
                change = (kind, old_value, new_value, old_null, new_null, old_unit, new_unit)
                self._write_with_unit(
                    info, prefix, tree, old_row, change, subject_key=ref.subject_key
                )
                continue
            if old_row is None:
                group = info[4]
                if group is not last_group:
                    gid, last_group = self._group_id(tree, group, info, ref.subject_key), group
                if derive:  # its audit row: AUDIT_OF_INSERTED at the flush
                    if new_null is None:
                        value_rows += (take_item(), gid, info[6], new_value)
                    else:
                        item_rows += (take_item(), gid, info[6], new_value, new_null)
                    continue
                item_rows += (gid, info[6], new_value, new_null)
            elif kind == _REMOVE:
                self._item_deletes.append((old_row[0],))
            else:
                self._item_updates.append((new_value, new_null, old_row[0]))
            audit_rows += (*prefix, *info[7], kind, old_value, new_value, old_null, new_null)

    def _write_with_unit(
        self,
        info: _KeyInfo,
        prefix: tuple[Any, ...],
        tree: _Tree,
        old_row: StoredItem | None,
        change: tuple[Any, ...],
        *,
        subject_key: str,
    ) -> None:
        """A value written with, or replacing one with, a MeasurementUnitRef: its item row
        and its audit row carry the units (rows of ``item_units`` and ``audit_units``).
        ``change``: the transaction type, then the last six columns of ROW_COLUMNS."""
        kind, _old_value, new_value, _old_null, new_null, _old_unit, new_unit = change
        if old_row is None:
            item_id = self._ids["item_data"].take()
            gid = self._group_id(tree, info[4], info, subject_key)
            self._rows["item_units"] += (item_id, gid, info[6], new_value, new_null, new_unit)
            if self._derive:
                return  # its audit row, unit included: AUDIT_OF_INSERTED at the flush
        elif kind == _REMOVE:
            self._item_deletes.append((old_row[0],))
        else:
            self._unit_updates.append((new_value, new_null, new_unit, old_row[0]))
        self._rows["audit_units"] += (*prefix, *info[7], *change)

    def _claim_form(self, ref: SubjectRef, tree: _Tree, form: FormKey) -> int:
        """The next version of ``form``, creating its event and form rows when new."""
        found = tree.forms.get(form)
        if found is not None:
            form_id, status, version = found
            path = f"{form.study_event_oid}/{form.form_oid} of subject {ref.subject_key}"
            try:  # the one table of status moves (storage.form_status)
                new_status = next_status(FormStatus(status), "import", changed=True, form=path)
            except FormNotEditableError as refused:
                new_status = FormStatus(status)
                self.problems.append(
                    BulkProblem(ref.subject_key, "locked", "status", None, "hard", str(refused))
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
            self._form_updates.append(
                (version + 1, new_status.value, self.user, self._stamp, form_id, version)
            )
            tree.forms[form] = (form_id, new_status.value, version + 1)
            self._status_row(ref, form, status, new_status.value, version + 1)
            return version + 1
        event = (form.study_event_oid, form.study_event_repeat_key)
        event_id = tree.events.get(event)
        if event_id is None:
            event_id = tree.events[event] = self._ids["study_events"].take()
            self._rows["study_events"] += (event_id, ref.id, *event)
        form_id = self._ids["forms"].take()
        self._rows["forms"] += (
            form_id,
            event_id,
            form.form_oid,
            form.form_repeat_key,
            FormStatus.IN_PROGRESS.value,
            1,
            self._stamp,
            self.user,
        )
        tree.forms[form] = (form_id, FormStatus.IN_PROGRESS.value, 1)
        self._status_row(ref, form, FormStatus.NOT_STARTED.value, FormStatus.IN_PROGRESS.value, 1)
        return 1

    def _who(self, ref: SubjectRef) -> tuple[Any, ...]:
        """The first columns of an audit row (AUDIT_COLUMNS): when, who, where, why, source."""
        return (
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
        )

    def _status_row(self, ref: SubjectRef, form: FormKey, old: str, new: str, version: int) -> None:
        """A form-level audit row for a status change, as ``save_form`` writes it."""
        if old != new:
            self._rows["audit_trail"] += (
                *self._who(ref),
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

    def _group_id(self, tree: _Tree, group: GroupKey, info: _KeyInfo, subject_key: str) -> int:
        gid = tree.groups.get(group)
        if gid is None:
            if info[7][0] in self._single_groups:  # a second instance? (issue 14)
                other = GroupKey(*group[:-1], "1" if group[-1] == "" else "")
                if other in tree.groups:
                    self._problem(subject_key, second_instance_problem(info[1], other[-1]))
            gid = tree.groups[group] = self._ids["item_groups"].take()
            form_id = tree.forms[info[3]][0]
            self._rows["item_groups"] += (gid, form_id, info[7][0], info[7][1])
        return gid

    def _flush(self) -> None:
        if self.problems:
            return
        self._wait()
        first_last = self._inserted_ids()
        batches = self._take_batches()
        cursor = self.conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            self._apply_updates(cursor, "%s" if self._pg else "?")  # before the audit rows
            if self._background:
                self._start_job(batches, first_last)
            else:
                self._write_batch(cursor, batches, first_last)
        finally:
            cursor.close()
        self._touched.clear()
        if self.on_flush is not None:
            self.on_flush(self._items)

    def _inserted_ids(self) -> tuple[int, int] | None:
        """SQLite: the first and last id of the item rows this batch inserts (their audit
        rows are written by AUDIT_OF_INSERTED); None on PostgreSQL or when there are none."""
        if not self._derive:
            return None
        ends = []
        for name in ("item_data", "item_values", "item_units"):
            values = self._rows[name]
            if values:
                ends += (values[0], values[-self._widths[name]])
        return (min(ends), max(ends)) if ends else None

    def _take_batches(self) -> list[_Batch]:
        """This batch's rows, table by table in the order of _BATCHES; the buffers start anew."""
        batches: list[_Batch] = []
        for name, (table, columns, nulls) in _BATCHES.items():
            rows = self._rows[name]
            if rows:
                derived = name == "item_data" and self._derive
                batches.append((table, _DERIVED_ITEM_COLUMNS if derived else columns, nulls, rows))
                self._rows[name] = []
        self._audit += sum(len(b[3]) // len(b[1]) for b in batches if b[0] == "audit_trail")
        return batches

    def _write_batch(
        self, cursor: Any, batches: list[_Batch], first_last: tuple[int, int] | None
    ) -> None:
        """Write the batch in line: COPY on PostgreSQL for the two large tables."""
        mark = "%s" if self._pg else "?"
        for batch in batches:
            table, columns, nulls, _values = batch
            names = ", ".join((*columns, *nulls))
            if self._pg and table in ("item_data", "audit_trail") and not nulls:
                with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                    for row in _rows_of(batch):
                        copy.write_row(row)
            else:
                marks = ", ".join([mark] * len(columns) + ["NULL"] * len(nulls))
                sql = f"INSERT INTO {table} ({names}) VALUES ({marks})"  # noqa: S608 (names are module constants)
                cursor.executemany(sql, list(_rows_of(batch)))
        if first_last is not None:
            self._job_audit += self._audit_inserted(cursor, *first_last)

    def _start_job(self, batches: list[_Batch], first_last: tuple[int, int] | None) -> None:
        """Hand this batch's rows to the writing thread."""
        dbapi = self.conn.connection.dbapi_connection
        self._job = threading.Thread(
            target=self._run_job, args=(dbapi, batches, first_last), daemon=True
        )
        self._job.start()

    def _run_job(
        self, dbapi: Any, batches: list[_Batch], first_last: tuple[int, int] | None
    ) -> None:
        try:
            limit = _variable_limit(dbapi)
            cursor = dbapi.cursor()
            try:
                for batch in batches:
                    _insert_rows(cursor, batch, limit)
                if first_last is not None:
                    self._job_audit += self._audit_inserted(cursor, *first_last)
            finally:
                cursor.close()
        except BaseException as error:  # handed to the importing thread by _wait
            self._job_error = error

    def _wait(self) -> None:
        """Let the batch being written finish; raise what went wrong writing it."""
        job, self._job = self._job, None
        if job is not None:
            job.join()
        error, self._job_error = self._job_error, None
        if error is not None:
            raise error  # as writing in line would have; the caller rolls back

    def _before_commit(self, _conn: Connection) -> None:
        """The import's transaction commits: never before its last batch is written."""
        self._wait()

    def _before_rollback(self, _conn: Connection) -> None:
        """The import's transaction rolls back (something failed): the thread ends first."""
        job, self._job = self._job, None
        if job is not None:
            job.join()

    def _audit_inserted(self, cursor: Any, first: int, last: int) -> int:
        """One audit row per item row inserted by this batch (ids ``first`` to ``last``)."""
        cursor.execute(
            AUDIT_OF_INSERTED,
            (
                self._stamp,
                self.user_id,
                self.user,
                self.role,
                self.study,
                self.reason,
                self.source,
                first,
                last,
            ),
        )
        if cursor.rowcount != last - first + 1:  # every value has its audit row, or none is kept
            raise RuntimeError(
                f"import: {cursor.rowcount} audit rows written for {last - first + 1} values"
            )
        return int(cursor.rowcount)

    def _apply_updates(self, cursor: Any, mark: str) -> None:
        if self._form_updates:
            cursor.executemany(_param(UPDATE_FORM, mark), self._form_updates)
            if cursor.rowcount not in (-1, len(self._form_updates)):
                raise ConflictError("(import)", 0, 0, [])
            self._form_updates.clear()
        if self._item_updates:
            cursor.executemany(_param(UPDATE_ITEM, mark), self._item_updates)
            self._item_updates.clear()
        if self._unit_updates:
            cursor.executemany(_param(UPDATE_ITEM_UNIT, mark), self._unit_updates)
            self._unit_updates.clear()
        if self._item_deletes:
            cursor.executemany(_param(DELETE_ITEM, mark), self._item_deletes)
            self._item_deletes.clear()

    def finish(self) -> BulkResult:
        """Write what is buffered; raise BulkRejectedError (roll back!) if anything failed."""
        self._flush()
        self._wait()
        if self._background:
            for name, listener in self._listeners:
                event.remove(self.conn, name, listener)
        if self.problems:
            raise BulkRejectedError(self.problems)
        audit = self._audit + self._job_audit
        return BulkResult(self._created, self._items, audit, self._queries)


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
