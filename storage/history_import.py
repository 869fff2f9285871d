"""Replay a study's whole history from its own audit export (``edc import --with-history``).

``edc export odm --transactional --audit --metadata --admin`` writes every audited event of a
study (:mod:`storage.export_records`, :mod:`storage.export_history`); :class:`HistoryReplay`
writes them back into a database that holds nothing of the study yet, as they were: each
audit row with its original user, time, reason and source (``SourceID``), each form's status
changes and versions, signatures and every message of every query thread. The importing user
is recorded once per person or site the import adds (an access-log row, ``actor`` = the
importer) and the import itself by the ``source`` of the source-audit rows it keeps
(``history:<FileOID>:<sha256>``, :func:`history_source`).

Decisions (docs/import-export.md, "Moving a study to another server"):

- Query and signature numbers are kept: ``Q.<n>.<m>`` makes query ``n`` and ``SIG.<n>``
  signature ``n``, so a second export names them as the first did. A number another study
  on the server holds already refuses the import.
- People named in AdminData (with a LoginName) or in an AuditRecord, Signature or query
  message who have no account are added inactive, with a password hash nothing matches:
  nobody signs in as them until an administrator activates them and resets the password.
  ODM AdminData carries no roles, so roles are left alone; the role column of a replayed row
  holds the person's role in the study on this server, or ``unknown``.
- A signature's meaning is the one its signing recorded (the status change's reason,
  ``Signed (<SignatureOID>): <meaning>``), else the SignatureDef's; its content hash is
  recomputed from the replayed values, which are those that were signed.

Values are not re-validated and checks do not run (they ran when the data were entered; the
soft-check queries they opened are in the file). Every write happens in the caller's
transaction, which rolls back on :class:`~storage.errors.BulkRejectedError`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from odm_engine import model as m
from odm_engine.clinical import FormKey, ItemKey
from odm_engine.exchange.records import (
    FORM_STATUS_CODE_LIST,
    AuditRecord,
    FormRecord,
    SubjectRecord,
)
from storage.audit import AUDIT, AuditContext
from storage.bulk import BulkResult
from storage.errors import BulkRejectedError, InvalidInputError
from storage.exchange import ImportOutcome, ImportProblem, import_role
from storage.history_threads import (
    FormState,
    SubjectState,
    parse_stamp,
    replay_message,
    replay_signature,
)
from storage.models import (
    AccessEvent,
    AccessLogRow,
    Form,
    ItemData,
    ItemGroup,
    RoleAssignment,
    Site,
    SourceAuditRow,
    StudyEvent,
    Subject,
    TransactionType,
    User,
)
from storage.refs import SubjectRef
from storage.studies import published_versions, study_id_of
from storage.subjects import current_version
from storage.users import IMPORT_ROLES, require_role
from storage.vocabulary import FormStatus

UNUSABLE_PASSWORD = "!history-import"  # noqa: S105 - not a hash: no password matches it
"""The password hash of a person a history import adds: werkzeug matches no password to it."""

UNKNOWN_ROLE = "unknown"
"""The role column of a replayed row whose person holds no role in the study here (ODM
AdminData carries no roles)."""

_CHANGES = {"Insert", "Update", "Upsert", "Remove"}
_SOURCE_AUDIT = SourceAuditRow.__table__


def history_source(file_oid: str, sha256: str) -> str:
    """The ``import_source`` of what a history import keeps of the file itself."""
    return f"history:{file_oid[:100]}:{sha256}"


def refuse_unless_empty(conn: Connection, study_oid: str) -> int:
    """The study's id; InvalidInputError when it holds subjects already (a history import
    recreates a study's data, it does not merge two histories)."""
    study_id = study_id_of(conn, study_oid)
    held = conn.scalar(select(func.count()).where(Subject.study_id == study_id))
    if held:
        raise InvalidInputError(
            f"Study {study_oid} holds {held} subject(s) in this database: --with-history "
            "imports a whole study into a database that holds no data of it."
        )
    return study_id


class HistoryReplay:
    """Writes the records of an audit export back, subject by subject, in file order.

    Problems (a record an audit export would not hold, a number already taken) are
    collected in :attr:`outcome`; :meth:`finish` raises BulkRejectedError if there are any.
    """

    def __init__(
        self,
        conn: Connection,
        study_oid: str,
        *,
        importer: str,
        source: str,
        admin: m.AdminData | None,
    ) -> None:
        self.conn, self.study_oid, self.importer, self.source = conn, study_oid, importer, source
        self.study_id = refuse_unless_empty(conn, study_oid)
        self.versions = published_versions(conn, study_oid)
        """MetaDataVersion OID -> (number, definitions) of every published version: a
        subject comes back on the version its ClinicalData names (an export groups subjects
        by their version), and its history may hold items only an older version defines."""
        self.forms = {oid for _n, mdv in self.versions.values() for oid in mdv.form_defs}
        self.items = {oid for _n, mdv in self.versions.values() for oid in mdv.item_defs}
        self.groups = {oid for _n, mdv in self.versions.values() for oid in mdv.item_group_defs}
        self.admin = admin or m.AdminData()
        self.now = datetime.now(UTC)
        self.outcome = ImportOutcome()
        self.users: dict[str, tuple[int, str, str]] = {}
        self.sites: dict[str, int] = {
            oid: int(sid)
            for oid, sid in conn.execute(
                select(Site.oid, Site.id).where(Site.study_id == self.study_id)
            )
        }
        self.subjects: dict[str, SubjectState | None] = {}
        self.queries: dict[int, tuple[str, int]] = {}
        """Query number -> (status, messages so far)."""
        self.counts = {"subjects": 0, "items": 0, "audit": 0, "users": 0, "sites": 0}
        self.version = current_version(conn, self.study_id)

    # --- people and sites -------------------------------------------------------------

    def add_admin_data(self) -> None:
        """Sites and people of the file's AdminData the database does not know yet."""
        for location in self.admin.locations.values():
            if location.oid not in self.sites:
                self.sites[location.oid] = self.conn.execute(
                    insert(Site).values(
                        study_id=self.study_id,
                        oid=location.oid,
                        name=location.name[:200],
                        location_type=location.location_type,
                    )
                ).inserted_primary_key[0]
                self._log(AccessEvent.SITE_ADDED, self.importer, location.oid)
                self.counts["sites"] += 1
        for user in self.admin.users.values():
            if user.login_name:
                self.user(user.login_name)

    def user(self, username: str | None) -> tuple[int, str, str]:
        """(id, username, role in the study) of a person the file names, added (inactive,
        with no usable password) when the database has no account of that name."""
        name = (username or "").strip()[:100] or self.importer
        known = self.users.get(name)
        if known is not None:
            return known
        user_id = self.conn.scalar(select(User.id).where(User.username == name))
        if user_id is None:
            given = next(
                (u for u in self.admin.users.values() if (u.login_name or u.oid) == name), None
            )
            user_id = self.conn.execute(
                insert(User).values(
                    username=name,
                    full_name=((given.full_name if given else None) or "")[:200],
                    email=given.emails[0][:200] if given and given.emails else None,
                    password_hash=UNUSABLE_PASSWORD,
                    active=False,
                    created_at=self.now,
                    must_change_password=True,
                )
            ).inserted_primary_key[0]
            self._log(AccessEvent.USER_ADDED, name, None)
            self.counts["users"] += 1
        role = self.conn.scalar(
            select(RoleAssignment.role)
            .where(RoleAssignment.user_id == user_id, RoleAssignment.study_id == self.study_id)
            .order_by(RoleAssignment.id)
            .limit(1)
        )
        self.users[name] = (int(user_id), name, role or UNKNOWN_ROLE)
        return self.users[name]

    def _log(self, event: AccessEvent, username: str, site_oid: str | None) -> None:
        """An access-log row naming the importer as the one who added a person or site."""
        self.conn.execute(
            insert(AccessLogRow).values(
                recorded_at=self.now,
                actor=self.importer[:100],
                event=event.value,
                username=username[:100],
                study_oid=self.study_oid,
                site_oid=site_oid,
            )
        )

    # --- records ----------------------------------------------------------------------

    def replay(self, records: Iterable[SubjectRecord]) -> ImportOutcome:
        """Write every record back; then :meth:`finish`."""
        for record in records:
            self.record(record)
        return self.finish()

    def record(self, record: SubjectRecord) -> None:
        """One SubjectData of the export: a subject's creation, one form's save or status
        change, a signature or a query message."""
        key = record.subject_key
        if key not in self.subjects:
            self.outcome.subjects += 1
            self.subjects[key] = self._create(record)
            return
        state = self.subjects[key]
        if state is None:  # its creation was refused: reported once
            return
        if record.transaction_type == "Insert":
            self.problem(record, None, "the subject is created a second time")
            return
        for event in record.events:
            for form in event.forms:
                fkey = FormKey(
                    event.study_event_oid, event.repeat_key, form.form_oid, form.repeat_key
                )
                self._form(state, record, fkey, form)

    def _create(self, record: SubjectRecord) -> SubjectState | None:
        audit = record.audit
        when = parse_stamp(audit.date_time_stamp) if audit is not None else None
        if audit is None or when is None or record.transaction_type != "Insert" or record.events:
            self.problem(
                record,
                None,
                "the subject's first SubjectData is not its creation (TransactionType Insert "
                "with an AuditRecord and a DateTimeStamp): --with-history reads the file of "
                "`edc export odm --transactional --audit`",
            )
            return None
        site_id = self.sites.get(record.site_oid or "")
        if record.site_oid and site_id is None:
            self.problem(
                record, None, f"site {record.site_oid} is neither in the study nor in AdminData"
            )
            return None
        subject_id = self.conn.execute(
            insert(Subject).values(
                study_id=self.study_id,
                subject_key=record.subject_key,
                site_id=site_id,
                created_at=when,
                metadata_version=self.versions.get(
                    record.metadata_version_oid or "", (self.version, None)
                )[0],
            )
        ).inserted_primary_key[0]
        ref = SubjectRef(
            int(subject_id),
            self.study_id,
            self.study_oid,
            record.subject_key,
            site_id,
            record.site_oid,
        )
        self._insert_audit([self._context(ref, audit, when).enrolment_row()])
        self.conn.execute(
            insert(_SOURCE_AUDIT).values(
                subject_id=ref.id,
                import_source=self.source,
                kind="history-import",
                entity="SubjectData",
                **dict.fromkeys(ItemKey._fields, ""),
                user_oid=self.importer,
                date_time_stamp=self.now.isoformat(),
            )
        )
        self.counts["subjects"] += 1
        return SubjectState(ref)

    def _context(self, ref: SubjectRef, audit: AuditRecord, when: datetime) -> AuditContext:
        user_id, name, role = self.user(audit.user_oid)
        return AuditContext(
            when,
            user_id,
            name,
            role,
            self.study_oid,
            audit.location_oid,
            ref.id,
            ref.subject_key,
            audit.reason_for_change,
            (audit.source_id or self.source)[:200],
        )

    def _insert_audit(self, rows: list[dict[str, object]]) -> None:
        if rows:
            self.conn.execute(insert(AUDIT), rows)
            self.counts["audit"] += len(rows)

    def problem(self, record: SubjectRecord, key: ItemKey | None, message: str) -> None:
        self.outcome.problems.append(
            ImportProblem(record.subject_key, key, None, f"line {record.line}: {message}")
        )

    # --- forms: saves, status changes, signatures, query messages ----------------------

    def _form(
        self, state: SubjectState, record: SubjectRecord, key: FormKey, form: FormRecord
    ) -> None:
        if key.form_oid not in self.forms:
            self.problem(record, None, f"FormOID {key.form_oid} is not in the study's metadata")
            return
        statuses = [
            flag.value
            for note in form.annotations
            for flag in note.flags
            if flag.value_code_list_oid == FORM_STATUS_CODE_LIST
        ]
        changes = [
            (group.item_group_oid, group.repeat_key, item)
            for group in form.groups
            for item in group.items
            if item.transaction_type in _CHANGES
        ]
        if statuses or changes:
            self._save(state, record, key, form.audit, statuses, changes)
        if form.signature is not None:
            replay_signature(self, state, record, key, form)
        for group in form.groups:
            for item in group.items:
                for note in item.annotations:
                    replay_message(self, state, record, item, note)

    def _form_state(self, state: SubjectState, key: FormKey) -> FormState:
        found = state.forms.get(key)
        if found is not None:
            return found
        event_key = (key.study_event_oid, key.study_event_repeat_key)
        event_id = state.events.get(event_key)
        if event_id is None:
            event_id = state.events[event_key] = self.conn.execute(
                insert(StudyEvent).values(
                    subject_id=state.ref.id,
                    study_event_oid=key.study_event_oid,
                    repeat_key=key.study_event_repeat_key,
                )
            ).inserted_primary_key[0]
        form_id = self.conn.execute(
            insert(Form).values(
                study_event_id=event_id,
                form_oid=key.form_oid,
                repeat_key=key.form_repeat_key,
                status=FormStatus.NOT_STARTED.value,
                version=0,
            )
        ).inserted_primary_key[0]
        state.forms[key] = FormState(int(form_id))
        return state.forms[key]

    def _save(  # noqa: PLR0917 - one save's parts, as the record gives them
        self,
        state: SubjectState,
        record: SubjectRecord,
        key: FormKey,
        audit: AuditRecord | None,
        statuses: list[str],
        changes: list[tuple[str, str, Any]],
    ) -> None:
        """One form version: its status changes (the FormData's AuditRecord) and value
        changes (each ItemData's AuditRecord), as one save or status change wrote them."""
        form = self._form_state(state, key)
        form.version += 1
        rows: list[dict[str, object]] = []
        last: tuple[datetime, str] | None = None
        if statuses:
            when = parse_stamp(audit.date_time_stamp) if audit is not None else None
            if audit is None or when is None:
                self.problem(
                    record,
                    None,
                    f"form status change of {key.form_oid} has no AuditRecord with a DateTimeStamp",
                )
                return
            ctx = self._context(state.ref, audit, when)
            for status in statuses:
                if status not in _FORM_STATUSES:
                    self.problem(
                        record,
                        None,
                        f"form status {status!r} is not one of {sorted(_FORM_STATUSES)}",
                    )
                    continue
                rows.append(ctx.status_row(key, form.status, status, form.version))
                form.status, form.reason = status, audit.reason_for_change
            last = (when, ctx.username)
        for group_oid, group_key, item in changes:
            row = self._item(state, record, form, (group_oid, group_key), item)
            if row is not None:
                rows.append(row)
                last = (row["recorded_at"], row["username"])  # type: ignore[assignment]
        self._insert_audit(rows)
        if last is not None:
            self.conn.execute(
                update(Form)
                .where(Form.id == form.form_id)
                .values(
                    status=form.status, version=form.version, updated_at=last[0], updated_by=last[1]
                )
            )

    def _item(
        self,
        state: SubjectState,
        record: SubjectRecord,
        form: FormState,
        group: tuple[str, str],
        item: Any,
    ) -> dict[str, object] | None:
        """Apply one value change; its audit row (None after a problem)."""
        key: ItemKey = item.key
        audit = item.audit
        when = parse_stamp(audit.date_time_stamp) if audit is not None else None
        if audit is None or when is None:
            self.problem(record, key, "a value change without an AuditRecord with a DateTimeStamp")
            return None
        if key.item_oid not in self.items or group[0] not in self.groups:
            self.problem(record, key, "the item or item group is not in the study's metadata")
            return None
        stored = state.items.get(key)
        if item.transaction_type == "Remove":
            if stored is None:
                self.problem(record, key, "Remove of a value that is not there")
                return None
            tt, new = TransactionType.REMOVE, (None, None, None)
            self.conn.execute(delete(ItemData).where(ItemData.id == stored[0]))
            del state.items[key]
        else:
            tt = TransactionType.INSERT if stored is None else TransactionType.UPDATE
            if item.transaction_type in ("Insert", "Update") and item.transaction_type != tt.value:
                self.problem(
                    record,
                    key,
                    f"{item.transaction_type} of a value that is "
                    + ("absent" if stored is None else "there"),
                )
                return None
            new = (
                (None, "Yes", item.unit_oid)
                if item.is_null
                else (item.value or "", None, item.unit_oid)
            )
            state.items[key] = (self._write_value(form, group, key, stored, new), *new)
        self.counts["items"] += 1
        self.outcome.items_read += 1
        old = stored[1:] if stored is not None else (None, None, None)
        ctx = self._context(state.ref, audit, when)
        return ctx.row(
            key, tt, (old[0], old[1]), (new[0], new[1]), form.version, units=(old[2], new[2])
        )

    def _write_value(
        self,
        form: FormState,
        group: tuple[str, str],
        key: ItemKey,
        stored: tuple[int, str | None, str | None, str | None] | None,
        new: tuple[str | None, str | None, str | None],
    ) -> int:
        """The id of the ItemData row now holding ``new`` (value, null reason, unit)."""
        values = {"value": new[0], "is_null": new[1], "unit": new[2]}
        if stored is not None:
            self.conn.execute(update(ItemData).where(ItemData.id == stored[0]).values(**values))
            return stored[0]
        group_id = form.groups.get(group)
        if group_id is None:
            group_id = form.groups[group] = self.conn.execute(
                insert(ItemGroup).values(
                    form_id=form.form_id, item_group_oid=group[0], repeat_key=group[1]
                )
            ).inserted_primary_key[0]
        return int(
            self.conn.execute(
                insert(ItemData).values(item_group_id=group_id, item_oid=key.item_oid, **values)
            ).inserted_primary_key[0]
        )

    def finish(self) -> ImportOutcome:
        """Raise BulkRejectedError when anything was refused; else move PostgreSQL's id
        sequences past the kept query and signature numbers and return the outcome."""
        if self.outcome.problems:
            raise BulkRejectedError(self.outcome.problems)
        if self.conn.dialect.name == "postgresql":
            for table in ("queries", "signatures"):
                self.conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608 - fixed names
                        f"COALESCE((SELECT max(id) FROM {table}), 1), "
                        f"(SELECT max(id) FROM {table}) IS NOT NULL)"
                    )
                )
        self.outcome.queries_opened = len(self.queries)
        self.outcome.result = BulkResult(
            subjects_created=self.counts["subjects"],
            items_written=self.counts["items"],
            audit_rows=self.counts["audit"],
            queries_opened=len(self.queries),
        )
        return self.outcome


_FORM_STATUSES = frozenset(s.value for s in FormStatus)


def import_history(
    conn: Connection,
    study_oid: str,
    records: Iterable[SubjectRecord],
    *,
    user: str,
    source: str,
    admin: m.AdminData | None,
    outcome: ImportOutcome | None = None,
) -> ImportOutcome:
    """Replay an audit export into ``study_oid``, which must hold no subjects (else
    InvalidInputError); ``user`` must hold an importing role (data manager or admin) in it.
    Raises BulkRejectedError (roll back!) listing every problem; ``outcome`` (optional) is
    filled as the import goes."""
    replay = HistoryReplay(conn, study_oid, importer=user, source=source, admin=admin)
    if outcome is not None:
        replay.outcome = outcome
    require_role(
        conn,
        user,
        import_role(conn, study_oid, user),
        study_id=replay.study_id,
        site_id=None,
        allowed=IMPORT_ROLES,
        action="import a study's history",
    )
    try:
        replay.add_admin_data()
        return replay.replay(records)
    except IntegrityError as exc:  # another transaction wrote the same rows first
        raise InvalidInputError(
            f"Study {study_oid} changed while its history was imported (another import or "
            "entry at the same time?); nothing was written. Try again on an idle server."
        ) from exc
