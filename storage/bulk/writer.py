"""The bulk writer: checks each subject's values (``storage.bulk.values``), buffers the rows
they make, and hands full batches to a row sink (``storage.bulk.sinks``).

Speed (a million values per import): what is known of an item key is worked out once per key,
not per value (:class:`~storage.bulk.values.KeyFacts`); rows are buffered flat, one list of
values per table (no object per row for the cyclic GC to scan); ids are handed out in advance
(``storage.bulk.ids``). On SQLite a new subject whose forms have no checks, or only checks
that read one value each, is checked and buffered in one pass (:meth:`BulkWriter._add_new`),
and the audit rows of inserted values are made by the database (``sinks.AUDIT_OF_INSERTED``).
Changes to stored values (Update, Remove) and form status rows buffer their audit rows
themselves. The form checks are ``storage.bulk.form_checks``; the rows of events, forms and
item groups ``storage.bulk.claims``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select

from odm_engine.clinical import FormKey, GroupKey, ItemKey
from odm_engine.entry_validation import (
    CheckResultLike,
    EnteredValue,
    FormValidator,
    MetadataValidator,
    ValueProblem,
)
from storage.audit import SUBJECT_LEVEL
from storage.bulk.claims import FormRows
from storage.bulk.form_checks import form_outcomes, local_outcome
from storage.bulk.ids import id_allocator
from storage.bulk.sinks import (
    BATCHES,
    DELETE_ITEM,
    DERIVED_ITEM_COLUMNS,
    UPDATE_FORM,
    UPDATE_ITEM,
    UPDATE_ITEM_UNIT,
    Batch,
    Inserted,
    RowSink,
    apply_updates,
    default_sink,
)
from storage.bulk.tree import Tree
from storage.bulk.values import (
    INSERT,
    REMOVE,
    BulkProblem,
    BulkResult,
    KeyFacts,
    KeyInfo,
    change_of,
    problem_of,
    site_problem,
    version_problem,
)
from storage.errors import BulkRejectedError, ConflictError
from storage.form_status import TRANSITIONS
from storage.models import Role, Site
from storage.models import Subject as SubjectRow
from storage.queries import open_check_queries
from storage.studies import current_metadata, study_id_of
from storage.subjects import StoredItem, SubjectRef, stored_items
from storage.users import require_role
from storage.versions import subjects_behind

_ID_TABLES = ("subjects", "study_events", "forms", "item_groups", "item_data")


class BulkWriter(FormRows):
    """Writes whole subjects' data with audit rows. Use one per import, then :meth:`finish`.

    ``sink``: how batches reach the database (default: ``sinks.default_sink``; the tests pass
    ``sinks.ReferenceSink``)."""

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
        sink: Callable[[Connection], RowSink] = default_sink,
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
        current = current_metadata(conn, study)
        self.validator = validator or MetadataValidator.for_odm(current.odm, study)
        self.version = current.number  # new subjects start on the current version
        self._behind = subjects_behind(conn, self.study_id, self.version)
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
        self._sink = sink(conn)
        self._ids: dict[str, Any] = {t: id_allocator(conn, t) for t in _ID_TABLES}
        self._rows: dict[str, list[Any]] = {t: [] for t in BATCHES}
        """Rows to write, flat (see BATCHES), by batch name."""
        self._widths = {
            name: len(DERIVED_ITEM_COLUMNS if name == "item_data" and self._derive else columns)
            for name, (_table, columns, _nulls) in BATCHES.items()
        }
        self._updates: dict[str, list[tuple[Any, ...]]] = {
            s: [] for s in (UPDATE_FORM, UPDATE_ITEM, UPDATE_ITEM_UNIT, DELETE_ITEM)
        }
        self._touched: set[int] = set()
        self._facts = KeyFacts(self.validator)
        self.problems: list[BulkProblem] = []
        self._created = self._items = self._audit = self._queries = 0
        self._one_pass_misses = 0
        """New subjects the one-pass path handed back (checks to run): past half, stop trying."""

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
        self._facts.forget_if_full()
        site_id = self._sites.get(site_oid) if site_oid else None
        bad_site = bool(site_oid) and site_id is None
        existing = self._subjects.get(subject_key)
        if existing is not None and subject_key in self._behind:
            self.problems.append(version_problem(subject_key, self._behind, self.version))
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
                        self.problems.append(site_problem(subject_key, site_oid))
                    self._after_subject()
                    return
        check = self._facts.check
        wanted: dict[int, tuple[KeyInfo, EnteredValue]] = {}
        fresh = new_subject is not None and not units  # local forms: checked value by value
        checks = local = False
        for key, value in items:
            info, checked = check(key, value)
            if checked.__class__ is ValueProblem:
                self.problems.append(problem_of(subject_key, checked))
                continue
            wanted[id(info[1])] = (info, checked)
            if info[5]:
                if fresh and info[8]:
                    local = True
                else:
                    checks = True
        if bad_site:
            self.problems.append(site_problem(subject_key, site_oid))
        units = self._facts.checked_units(subject_key, units, self.problems)
        if new_subject is not None:
            ref, stored, tree = new_subject, {}, Tree.empty()
        else:
            assert existing is not None
            ref, stored, tree = self._stored(subject_key, *existing)
        if local:
            problems, soft = local_outcome(subject_key, wanted.values())
            self.problems += problems
            self._open_queries(ref, soft)
        if checks:
            wanted = self._check_forms(ref, stored, wanted, units, fresh=fresh)
        if not self.problems:
            self._touched.add(ref.id)  # again: a soft check's query flushed the batch
            self._write(ref, stored, tree, wanted, units)
        self._after_subject()

    def _stored(
        self, subject_key: str, subject_id: int, site_id: int | None
    ) -> tuple[SubjectRef, dict[ItemKey, StoredItem], Tree]:
        """A stored subject: its ref, values and tree (its batch written first, if touched)."""
        if subject_id in self._touched:
            self._flush()
        self._sink.wait()
        stored = stored_items(self.conn, subject_id)
        tree = Tree.load(self.conn, subject_id)
        self._touched.add(subject_id)
        return self._ref(subject_id, subject_key, site_id), stored, tree

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
        row = (subject_id, self.study_id, subject_key, site_id, self._stamp, self.version)
        self._rows["subjects"] += row
        self._subjects[subject_key] = (subject_id, site_id)
        self._created += 1
        self._touched.add(subject_id)
        ref = self._ref(subject_id, subject_key, site_id)
        # Its creation, audited as create_subject does: a subject-level Insert row.
        self._rows["audit_trail"] += (
            *self._who(ref),
            0,
            *SUBJECT_LEVEL,
            INSERT,
            None,
            subject_key,
            None,
            None,
        )
        return ref

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
            {table: counter.last for table, counter in ids.items()},
            len(self.problems),
            self._items,
        )
        check = self._facts.check
        subject_key = ref.subject_key
        writing = not self.problems and not bad_site
        seen: set[int] = set()
        see = seen.add
        refused = 0
        tree = Tree.empty()
        last_form: FormKey | None = None
        last_group: GroupKey | None = None
        gid = 0
        first_id = next_id = item_ids.last
        for key, value in items:
            info, checked = check(key, value)
            if checked.__class__ is ValueProblem:
                self.problems.append(problem_of(subject_key, checked))
                writing = False
                refused += 1
                continue
            if info[5] and (  # the form has checks to run: not all local, or one fails
                not info[8]
                or (info[9] is not None and checked.__class__ is str and info[9](info[1], checked))
            ):
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
                item_rows += (next_id, gid, info[6], None, checked.reason)
        else:
            if len(seen) == len(items) - refused:  # no key given twice
                item_ids.last = next_id
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
            self._ids[table].last = last
        del self.problems[problems:]
        self._items = items

    def _check_forms(
        self,
        ref: SubjectRef,
        stored: dict[ItemKey, StoredItem],
        wanted: dict[int, tuple[KeyInfo, EnteredValue]],
        units: Mapping[ItemKey, str],
        *,
        fresh: bool,
    ) -> dict[int, tuple[KeyInfo, EnteredValue]]:
        """Run the forms with checks (the local ones of a ``fresh`` subject are checked
        already); ``wanted`` with the values they derive."""
        keyed = {info[1]: value for info, value in wanted.values()}
        skip = self._facts.is_local if fresh else None
        outcomes = form_outcomes(self.validator, ref, stored, keyed, units, skip=skip)
        for problems, soft in outcomes:
            self.problems += problems
            self._open_queries(ref, soft)
        info_of = self._facts.info
        checked: dict[int, tuple[KeyInfo, EnteredValue]] = {}
        for key, value in keyed.items():
            info = info_of(key)
            checked[id(info[1])] = (info, value)
        return checked

    def _open_queries(self, ref: SubjectRef, soft: list[CheckResultLike]) -> None:
        """A query per failed soft check, once the subject's batch is written (if nothing
        failed so far: a rejected import writes nothing)."""
        if soft and not self.problems:
            self._flush()
            self._sink.wait()
            self._queries += len(
                open_check_queries(
                    self.conn, ref.id, results=soft, user=self.user, role=self.role, now=self.now
                )
            )

    def _write(
        self,
        ref: SubjectRef,
        stored: dict[ItemKey, StoredItem],
        tree: Tree,
        wanted: dict[int, tuple[KeyInfo, EnteredValue]],
        units: Mapping[ItemKey, str],
    ) -> None:
        item_rows, audit_rows = self._rows["item_data"], self._rows["audit_trail"]
        value_rows = self._rows["item_values"]
        derive = self._derive
        take_item = self._ids["item_data"].take
        prefixes: dict[FormKey, tuple[Any, ...]] = {}
        last_form: FormKey | None = None
        last_group: GroupKey | None = None
        prefix: tuple[Any, ...] = ()
        gid = 0
        given = bool(units)
        for info, value in wanted.values():
            old_row = stored.get(info[1]) if stored else None
            change = change_of(old_row, value, units.get(info[1]) if given else None, given)
            if change is None:
                continue
            kind, old_value, new_value, old_null, new_null, old_unit, new_unit = change
            form = info[3]
            if form is not last_form:
                last_form, last_group = form, None
                prefix = prefixes.get(form) or self._prefix(ref, tree, form, prefixes)
            self._items += 1
            if old_unit is not None or new_unit is not None:
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
            elif kind == REMOVE:
                self._updates[DELETE_ITEM].append((old_row[0],))
            else:
                self._updates[UPDATE_ITEM].append((new_value, new_null, old_row[0]))
            audit_rows += (*prefix, *info[7], kind, old_value, new_value, old_null, new_null)

    def _write_with_unit(
        self,
        info: KeyInfo,
        prefix: tuple[Any, ...],
        tree: Tree,
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
        elif kind == REMOVE:
            self._updates[DELETE_ITEM].append((old_row[0],))
        else:
            self._updates[UPDATE_ITEM_UNIT].append((new_value, new_null, new_unit, old_row[0]))
        self._rows["audit_units"] += (*prefix, *info[7], *change)

    def _flush(self) -> None:
        if self.problems:
            return
        self._sink.wait()
        inserted = self._inserted()
        batches = self._take_batches()
        forms = len(self._updates[UPDATE_FORM])
        matched = apply_updates(self.conn, self._updates)  # before the audit rows
        if forms and matched not in (-1, forms):
            raise ConflictError("(import)", 0, 0, [])
        self._sink.write(batches, inserted)
        self._touched.clear()
        if self.on_flush is not None:
            self.on_flush(self._items)

    def _inserted(self) -> Inserted | None:
        """SQLite: the item rows inserted (AUDIT_OF_INSERTED audits them); else None."""
        if not self._derive:
            return None
        ends = []
        for name in ("item_data", "item_values", "item_units"):
            values = self._rows[name]
            if values:
                ends += (values[0], values[-self._widths[name]])
        if not ends:
            return None
        shared = (self._stamp, self.user_id, self.user, self.role, self.study, self.reason)
        return Inserted(min(ends), max(ends), (*shared, self.source))

    def _take_batches(self) -> list[Batch]:
        """This batch's rows, table by table in the order of BATCHES; the buffers start anew."""
        batches: list[Batch] = []
        for name, (table, columns, nulls) in BATCHES.items():
            rows = self._rows[name]
            if rows:
                derived = name == "item_data" and self._derive
                batches.append((table, DERIVED_ITEM_COLUMNS if derived else columns, nulls, rows))
                self._rows[name] = []
        self._audit += sum(len(b[3]) // len(b[1]) for b in batches if b[0] == "audit_trail")
        return batches

    def finish(self) -> BulkResult:
        """Write what is buffered; raise BulkRejectedError (roll back!) if anything failed."""
        self._flush()
        self._sink.wait()
        self._sink.close()
        if self.problems:
            raise BulkRejectedError(self.problems)
        audit = self._audit + self._sink.audit_rows
        return BulkResult(self._created, self._items, audit, self._queries)
