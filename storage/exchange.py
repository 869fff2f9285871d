"""Storage side of exchange: import SubjectRecords through the bulk path, read them back out.

Import (:func:`import_subjects`) maps each record's ItemData to an entered value, honouring
TransactionType (absent, Insert, Update, Upsert: set; Remove: remove; Context: leave alone;
an item inherits its nearest container's type) and IsNull, and hands whole subjects to
:class:`storage.bulk.BulkWriter`, which validates every value, runs the checks and writes
audit rows whose source names the file (``import:<FileOID>:<sha256>``). The caller owns the
transaction: one for the whole file, rolled back on any problem or for a dry run.

Export (:func:`iter_snapshot`, :func:`iter_changes`) streams records in subject order from
one SELECT each, for :func:`renderers.odm.write_odm` or the tabular writers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from odm_engine import model as m
from odm_engine.clinical import ItemKey
from odm_engine.exchange.records import (
    Annotation,
    AuditRecord,
    Flag,
    FormRecord,
    ItemGroupRecord,
    ItemValue,
    Signature,
    StudyEventRecord,
    SubjectRecord,
)
from storage.bulk import BulkResult, BulkWriter
from storage.errors import BulkRejectedError
from storage.models import (
    AuditRow,
    Form,
    ItemData,
    ItemGroup,
    Query,
    Role,
    RoleAssignment,
    Site,
    Study,
    StudyEvent,
    Subject,
    User,
)
from storage.models import Signature as SignatureRow
from storage.queries import open_query
from storage.studies import current_metadata, study_id_of
from storage.validation import EnteredValue, IsNull


@dataclass(frozen=True, slots=True)
class ImportProblem:
    subject_key: str
    key: ItemKey | None
    value: str | None
    message: str


@dataclass(slots=True)
class ImportOutcome:
    subjects: int = 0
    items_read: int = 0
    result: BulkResult | None = None
    queries_opened: int = 0
    problems: list[ImportProblem] = field(default_factory=list)


def import_source(file_oid: str, sha256: str) -> str:
    """The audit ``source`` of rows written by importing a file."""
    return f"import:{file_oid[:100]}:{sha256}"


def imported_at(conn: Connection, source: str) -> datetime | None:
    """When a file with this source was imported, or None."""
    return conn.scalar(select(func.min(AuditRow.recorded_at)).where(AuditRow.source == source))


def import_role(conn: Connection, study_oid: str, username: str) -> Role:
    """The user's importing role in the study (data manager before admin)."""
    roles = set(
        conn.scalars(
            select(RoleAssignment.role)
            .join(User, User.id == RoleAssignment.user_id)
            .join(Study, Study.id == RoleAssignment.study_id)
            .where(User.username == username, Study.oid == study_oid)
        )
    )
    for role in (Role.DATA_MANAGER, Role.ADMIN):
        if role.value in roles:
            return role
    return Role.DATA_MANAGER  # BulkWriter refuses it with a clear message


def entered_values(subject: SubjectRecord) -> Iterator[tuple[ItemKey, EnteredValue]]:
    """(key, value to enter) for every ItemData, after TransactionType and IsNull."""
    outer = subject.transaction_type if subject.transaction_type != "Context" else None
    for event in subject.events:
        e_tt = _inherit(event.transaction_type, outer)
        for form in event.forms:
            f_tt = _inherit(form.transaction_type, e_tt)
            for group in form.groups:
                g_tt = _inherit(group.transaction_type, f_tt)
                for item in group.items:
                    tt = item.transaction_type or g_tt
                    if tt == "Context":
                        continue
                    if tt == "Remove":
                        yield item.key, None
                    elif item.is_null:
                        yield item.key, IsNull()
                    else:
                        yield item.key, item.value or ""


def _inherit(own: str | None, outer: str | None) -> str | None:
    if own is None or own == "Context":
        return outer
    return own


def import_subjects(
    conn: Connection,
    study_oid: str,
    subjects: Iterable[SubjectRecord],
    *,
    user: str,
    source: str,
    reason: str | None = None,
    role: Role | None = None,
    on_subject: Callable[[int, int], None] | None = None,
    outcome: ImportOutcome | None = None,
) -> ImportOutcome:
    """Import every subject; raises BulkRejectedError (roll back!) listing every problem.

    ``outcome`` (optional) is filled as the import goes, so a caller still has the problem
    list, with values, when the error is raised.
    """
    writer = BulkWriter(
        conn,
        study=study_oid,
        user=user,
        role=role or import_role(conn, study_oid, user),
        source=source,
        reason=reason,
    )
    outcome = outcome if outcome is not None else ImportOutcome()
    notes: list[tuple[str, ItemKey, str]] = []
    for record in subjects:
        values = list(entered_values(record))
        before = len(writer.problems)
        writer.add_subject(record.subject_key, record.site_oid, values)
        outcome.subjects += 1
        outcome.items_read += len(values)
        if len(writer.problems) > before:
            entered = dict(values)
            for p in writer.problems[before:]:
                value = entered.get(p.item_key) if p.item_key else None
                shown = value.reason if isinstance(value, IsNull) else value
                outcome.problems.append(ImportProblem(p.subject_key, p.item_key, shown, p.message))
        notes.extend((record.subject_key, n.key, n.text) for n in record.notes if n.key is not None)
        if on_subject is not None:
            on_subject(outcome.subjects, outcome.items_read)
    try:
        outcome.result = writer.finish()
    except BulkRejectedError:
        if not outcome.problems:
            outcome.problems = [
                ImportProblem(p.subject_key, p.item_key, None, p.message) for p in writer.problems
            ]
        raise
    for subject_key, key, text in notes:
        open_query(
            conn,
            study=study_oid,
            subject_key=subject_key,
            key=key,
            message=text,
            user=user,
            role=writer.role,
        )
        outcome.queries_opened += 1
    return outcome


# -- export ---------------------------------------------------------------------------


def _subject_filter(query: Any, study_id: int, site: str | None, keys: Iterable[str]) -> Any:
    query = query.where(Subject.study_id == study_id)
    if site is not None:
        query = query.where(Site.oid == site)
    wanted = list(keys)
    if wanted:
        query = query.where(Subject.subject_key.in_(wanted))
    return query


def _changed_subjects(since: datetime | None) -> Any:
    if since is None:
        return None
    return select(AuditRow.subject_id).where(AuditRow.recorded_at > since).distinct()


def iter_snapshot(
    conn: Connection,
    study_oid: str,
    *,
    site: str | None = None,
    subject_keys: Iterable[str] = (),
    since: datetime | None = None,
    transaction_type: str | None = None,
) -> Iterator[SubjectRecord]:
    """Current values, one record per subject (only subjects changed after ``since``)."""
    stored = current_metadata(conn, study_oid)
    study_id = study_id_of(conn, study_oid)
    query = (
        select(
            Subject.id,
            Subject.subject_key,
            Site.oid,
            StudyEvent.study_event_oid,
            StudyEvent.repeat_key,
            Form.id,
            Form.form_oid,
            Form.repeat_key,
            ItemGroup.item_group_oid,
            ItemGroup.repeat_key,
            ItemData.item_oid,
            ItemData.value,
            ItemData.is_null,
        )
        .join(StudyEvent, StudyEvent.subject_id == Subject.id)
        .join(Form, Form.study_event_id == StudyEvent.id)
        .join(ItemGroup, ItemGroup.form_id == Form.id)
        .join(ItemData, ItemData.item_group_id == ItemGroup.id)
        .outerjoin(Site, Site.id == Subject.site_id)
    )
    query = _subject_filter(query, study_id, site, subject_keys)
    changed = _changed_subjects(since)
    if changed is not None:
        query = query.where(Subject.id.in_(changed))
    query = query.order_by(
        Subject.subject_key,
        StudyEvent.study_event_oid,
        StudyEvent.repeat_key,
        Form.form_oid,
        Form.repeat_key,
        ItemGroup.item_group_oid,
        ItemGroup.repeat_key,
        ItemData.id,
    )
    queries = _queries(conn, study_id)
    signatures = _signatures(conn, study_id)
    builder = _Builder(study_oid, stored.mdv.oid, transaction_type, queries, signatures)
    rows = conn.execution_options(yield_per=10_000).execute(query)
    add = builder.add
    for partition in rows.partitions():  # a list of rows per fetch: no per-row fetch call
        for row in partition:
            record = add(row)
            if record is not None:
                yield record
    last = builder.finish()
    if last is not None:
        yield last


_KEY_CACHE = 500_000
_new_tuple = tuple.__new__


class _Builder:
    """Groups ordered rows into SubjectRecords without holding more than one subject."""

    def __init__(
        self,
        study_oid: str,
        mdv_oid: str,
        transaction_type: str | None,
        queries: dict[tuple[int, ItemKey], list[Annotation]],
        signatures: dict[int, Signature],
    ) -> None:
        self.study_oid, self.mdv_oid, self.tt = study_oid, mdv_oid, transaction_type
        self.queries, self.signatures = queries, signatures
        self.subject: tuple[int, str, str | None] | None = None
        self.events: list[StudyEventRecord] = []
        self.forms: list[FormRecord] = []
        self.groups: list[ItemGroupRecord] = []
        self.items: list[ItemValue] = []
        self.event_key: tuple[str, str] | None = None
        self.form_key: tuple[int, str, str] | None = None
        self.group_key: tuple[str, str] | None = None
        self.keys: dict[tuple[str, ...], ItemKey] = {}
        """ItemKeys repeat from subject to subject: built once, shared (they are frozen)."""

    def add(self, row: Any) -> SubjectRecord | None:
        (sid, skey, site, eoid, erk, fid, foid, frk, goid, grk, ioid, value, is_null) = row
        done = None
        if self.subject is None or self.subject[0] != sid:
            done = self.finish()
            self.subject = (sid, skey, site)
        if self.event_key != (eoid, erk):
            self._close_event()
            self.event_key = (eoid, erk)
        if self.form_key is None or self.form_key[0] != fid:
            self._close_form()
            self.form_key = (fid, foid, frk)
        if self.group_key != (goid, grk):
            self._close_group()
            self.group_key = (goid, grk)
        parts = (eoid, erk, foid, frk, goid, grk, ioid)
        key = self.keys.get(parts)
        if key is None:
            if len(self.keys) > _KEY_CACHE:
                self.keys.clear()
            key = self.keys[parts] = ItemKey(*parts)
        notes = tuple(self.queries.get((sid, key), ())) if self.queries else ()
        self.items.append(  # ItemValue, built without its Python-level __new__
            _new_tuple(
                ItemValue,
                (
                    key,
                    value,
                    is_null is not None,
                    None,
                    None,
                    self.tt,
                    None,
                    None,
                    notes,
                    (),
                    (),
                    0,
                ),
            )
        )
        return done

    def _close_group(self) -> None:
        if self.group_key is not None and self.items:
            self.groups.append(
                ItemGroupRecord(
                    item_group_oid=self.group_key[0],
                    repeat_key=self.group_key[1],
                    items=tuple(self.items),
                )
            )
        self.items, self.group_key = [], None

    def _close_form(self) -> None:
        self._close_group()
        if self.form_key is not None and self.groups:
            fid, foid, frk = self.form_key
            self.forms.append(
                FormRecord(
                    form_oid=foid,
                    repeat_key=frk,
                    groups=tuple(self.groups),
                    signature=self.signatures.get(fid),
                )
            )
        self.groups, self.form_key = [], None

    def _close_event(self) -> None:
        self._close_form()
        if self.event_key is not None and self.forms:
            self.events.append(
                StudyEventRecord(
                    study_event_oid=self.event_key[0],
                    repeat_key=self.event_key[1],
                    forms=tuple(self.forms),
                )
            )
        self.forms, self.event_key = [], None

    def finish(self) -> SubjectRecord | None:
        self._close_event()
        if self.subject is None:
            return None
        _sid, skey, site = self.subject
        record = SubjectRecord(
            study_oid=self.study_oid,
            metadata_version_oid=self.mdv_oid,
            subject_key=skey,
            site_oid=site,
            events=tuple(self.events),
            transaction_type=self.tt,
        )
        self.events, self.subject = [], None
        return record


def _queries(conn: Connection, study_id: int) -> dict[tuple[int, ItemKey], list[Annotation]]:
    """Queries as ODM Annotations (comment = message, flag = status), by subject and item."""
    out: dict[tuple[int, ItemKey], list[Annotation]] = {}
    rows = conn.execute(
        select(
            Query.subject_id,
            Query.study_event_oid,
            Query.study_event_repeat_key,
            Query.form_oid,
            Query.form_repeat_key,
            Query.item_group_oid,
            Query.item_group_repeat_key,
            Query.item_oid,
            Query.status,
            Query.message,
            Query.id,
        )
        .join(Subject, Subject.id == Query.subject_id)
        .where(Subject.study_id == study_id)
        .order_by(Query.id)
    )
    for sid, *key, status, message, qid in rows:
        notes = out.setdefault((sid, ItemKey(*key)), [])
        notes.append(
            Annotation(
                seq_num=str(len(notes) + 1),
                comment=message,
                flags=(Flag(value=status, type="query"),),
                id=f"Q.{qid}",
            )
        )
    return out


def _signatures(conn: Connection, study_id: int) -> dict[int, Signature]:
    """The latest signature of each signed form."""
    out: dict[int, Signature] = {}
    rows = conn.execute(
        select(
            SignatureRow.form_id,
            SignatureRow.username,
            SignatureRow.signature_def_oid,
            SignatureRow.signed_at,
            Site.oid,
        )
        .join(Form, Form.id == SignatureRow.form_id)
        .join(StudyEvent, StudyEvent.id == Form.study_event_id)
        .join(Subject, Subject.id == StudyEvent.subject_id)
        .outerjoin(Site, Site.id == Subject.site_id)
        .where(Subject.study_id == study_id)
        .order_by(SignatureRow.id)
    )
    for form_id, user, sig_oid, signed_at, site in rows:
        out[form_id] = Signature(
            user_oid=user,
            location_oid=site,
            signature_oid=sig_oid,
            date_time_stamp=_stamp(signed_at),
        )
    return out


def _stamp(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def iter_changes(
    conn: Connection,
    study_oid: str,
    *,
    site: str | None = None,
    subject_keys: Iterable[str] = (),
    since: datetime | None = None,
) -> Iterator[SubjectRecord]:
    """Every item change from the audit trail, each with its TransactionType and AuditRecord.

    One record per (subject, form save): the rows one save wrote share a form version.
    """
    stored = current_metadata(conn, study_oid)
    study_id = study_id_of(conn, study_oid)
    a = AuditRow
    query = (
        select(
            a.subject_id,
            a.subject_key,
            a.site_oid,
            a.form_version,
            a.study_event_oid,
            a.study_event_repeat_key,
            a.form_oid,
            a.form_repeat_key,
            a.item_group_oid,
            a.item_group_repeat_key,
            a.item_oid,
            a.transaction_type,
            a.new_value,
            a.new_is_null,
            a.username,
            a.recorded_at,
            a.reason,
            a.source,
        )
        .join(Subject, Subject.id == a.subject_id)
        .outerjoin(Site, Site.id == Subject.site_id)
        .where(a.item_oid != "")
    )
    query = _subject_filter(query, study_id, site, subject_keys)
    if since is not None:
        query = query.where(a.recorded_at > since)
    query = query.order_by(a.subject_id, a.seq)
    group_key: tuple[Any, ...] | None = None
    pending: list[Any] = []
    for row in conn.execution_options(yield_per=10_000).execute(query):
        key = (row[0], row[3], row[4], row[5], row[6], row[7], row[15])
        if key != group_key and pending:
            yield _change_record(study_oid, stored.mdv.oid, pending)
            pending = []
        group_key = key
        pending.append(row)
    if pending:
        yield _change_record(study_oid, stored.mdv.oid, pending)


def _change_record(study_oid: str, mdv_oid: str, rows: list[Any]) -> SubjectRecord:
    first = rows[0]
    groups: dict[tuple[str, str], list[ItemValue]] = {}
    for r in rows:
        key = ItemKey(r[4], r[5], r[6], r[7], r[8], r[9], r[10])
        audit = AuditRecord(
            user_oid=r[14],
            location_oid=r[2],
            date_time_stamp=_stamp(r[15]),
            reason_for_change=r[16],
            source_id=r[17],
        )
        groups.setdefault((r[8], r[9]), []).append(
            ItemValue(
                key=key,
                value=r[12],
                is_null=r[13] is not None,
                transaction_type=r[11],
                audit=audit,
            )
        )
    form = FormRecord(
        form_oid=first[6],
        repeat_key=first[7],
        groups=tuple(
            ItemGroupRecord(item_group_oid=g, repeat_key=rk, items=tuple(items))
            for (g, rk), items in groups.items()
        ),
    )
    return SubjectRecord(
        study_oid=study_oid,
        metadata_version_oid=mdv_oid,
        subject_key=first[1],
        site_oid=first[2],
        events=(StudyEventRecord(study_event_oid=first[4], repeat_key=first[5], forms=(form,)),),
    )


def admin_data(conn: Connection, study_oid: str) -> m.AdminData:
    """Users with a role in the study and its sites, as an ODM AdminData model."""
    stored = current_metadata(conn, study_oid)
    study_id = study_id_of(conn, study_oid)
    ref = m.MetaDataVersionRef(
        study_oid=study_oid,
        metadata_version_oid=stored.mdv.oid,
        effective_date=None,
    )
    locations = {
        oid: m.Location(oid=oid, name=name, location_type=kind, metadata_version_refs=(ref,))
        for oid, name, kind in conn.execute(
            select(Site.oid, Site.name, Site.location_type)
            .where(Site.study_id == study_id)
            .order_by(Site.oid)
        )
    }
    users = {}
    for username, full_name, email in conn.execute(
        select(User.username, User.full_name, User.email)
        .join(RoleAssignment, RoleAssignment.user_id == User.id)
        .where(RoleAssignment.study_id == study_id)
        .distinct()
        .order_by(User.username)
    ):
        users[username] = m.User(
            oid=username,
            login_name=username,
            full_name=full_name or None,
            emails=(email,) if email else (),
        )
    return m.AdminData(study_oid=study_oid, users=users, locations=locations)
