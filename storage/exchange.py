"""Storage side of import: store SubjectRecords through the bulk path.

:func:`import_subjects` maps each record's ItemData to an entered value, honouring
TransactionType (absent, Insert, Update, Upsert: set; Remove: remove; Context: leave alone;
an item inherits its nearest container's type) and IsNull, and hands whole subjects to
:class:`storage.bulk.BulkWriter`, which validates every value, runs the checks and writes
audit rows whose source names the file (``import:<FileOID>:<sha256>``). The caller owns the
transaction: one for the whole file, rolled back on any problem or for a dry run.

The mirror image, reading records back out for an export, is :mod:`storage.export_records`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from odm_engine.clinical import ItemKey
from odm_engine.entry_validation import EnteredValue, IsNull
from odm_engine.exchange.records import AuditRecord, ItemValue, SubjectRecord
from odm_engine.free_text import KEY, LIMITS, REASON, check_text, text_problem
from storage.bulk import BulkProblem, BulkResult, BulkWriter
from storage.bulk.pacing import fewer_collections
from storage.bulk.sinks import RowSink, default_sink
from storage.errors import BulkRejectedError
from storage.models import AuditRow, MetadataVersion, Role, RoleAssignment, Study, User
from storage.queries import KEY_FIELDS, open_query
from storage.studies import current_metadata, study_id_of


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


def entered_values(subject: SubjectRecord) -> list[tuple[ItemKey, EnteredValue]]:
    """(key, value to enter) for every ItemData, after TransactionType and IsNull."""
    out: list[tuple[ItemKey, EnteredValue]] = []
    outer = subject.transaction_type if subject.transaction_type != "Context" else None
    for event in subject.events:
        e_tt = _inherit(event.transaction_type, outer)
        for form in event.forms:
            f_tt = _inherit(form.transaction_type, e_tt)
            for group in form.groups:
                g_tt = _inherit(group.transaction_type, f_tt)
                if g_tt in ("Context", "Remove"):
                    out += [
                        _entered(i, g_tt)
                        for i in group.items
                        if (i.transaction_type or g_tt) != "Context"
                    ]
                    continue
                # Once per value: an ItemValue is (key, value, is_null, data_type, unit_oid,
                # transaction_type, ...), read by index; a value with no TransactionType or
                # IsNull of its own is set as it is (nearly all of them).
                out += [
                    (i[0], i[1] or "") if i[5] is None and not i[2] else _entered(i, g_tt)
                    for i in group.items
                    if i[5] is None or i[5] != "Context"
                ]
    return out


def entered_extras(subject: SubjectRecord) -> tuple[dict[ItemKey, str], list[tuple[Any, ...]]]:
    """What an import keeps beside the values, in one pass over the subject's ItemData:
    the MeasurementUnitOID given with each value (a later ItemData of the same key wins, as
    for its value), and the source's audit entries as rows of ``SOURCE_AUDIT_COLUMNS``:
    every AuditRecord (SubjectData, StudyEventData, FormData, ItemGroupData, ItemData) and
    every vendor audit entry (OpenClinica:AuditLog), in document order."""
    units: dict[ItemKey, str] = {}
    audit: list[tuple[Any, ...]] = []
    if subject.audit is not None:
        audit.append(_source_row(_NO_KEY, subject.transaction_type, None, subject.audit))
    for event in subject.events:
        if event.audit is not None:
            key = (event.study_event_oid, event.repeat_key, "", "", "", "", "")
            audit.append(_source_row(key, event.transaction_type, None, event.audit))
        for form in event.forms:
            if form.audit is not None:
                key = (event.study_event_oid, event.repeat_key, form.form_oid, form.repeat_key)
                audit.append(
                    _source_row((*key, "", "", ""), form.transaction_type, None, form.audit)
                )
            for group in form.groups:
                if group.audit is not None:
                    key = (
                        event.study_event_oid,
                        event.repeat_key,
                        form.form_oid,
                        form.repeat_key,
                        group.item_group_oid,
                        group.repeat_key,
                        "",
                    )
                    audit.append(_source_row(key, group.transaction_type, None, group.audit))
                for i in group.items:
                    if i.unit_oid is not None and i.value is not None:
                        units[i.key] = i.unit_oid
                    if i.audit is not None:
                        audit.append(_source_row(i.key, i.transaction_type, i.value, i.audit))
    audit += [
        ("vendor", v.entity, *_NO_KEY, v.action, v.old_value, v.new_value, v.user, None,
         v.date_time_stamp, None, None)
        for v in subject.vendor_audit
    ]  # fmt: skip
    return units, audit


_NO_KEY = ("", "", "", "", "", "", "")


def _source_row(
    key: tuple[str, ...], transaction_type: str | None, value: str | None, audit: AuditRecord
) -> tuple[Any, ...]:
    return (
        "AuditRecord",
        None,
        *key,
        transaction_type,
        None,
        value,
        audit.user_oid,
        audit.location_oid,
        audit.date_time_stamp,
        audit.reason_for_change,
        audit.source_id,
    )


def _entered(item: ItemValue, inherited: str | None) -> tuple[ItemKey, EnteredValue]:
    """The value an ItemData (not of TransactionType Context) enters."""
    if (item.transaction_type or inherited) == "Remove":
        return item.key, None
    if item.is_null:
        return item.key, IsNull()
    return item.key, item.value or ""


def _inherit(own: str | None, outer: str | None) -> str | None:
    if own is None or own == "Context":
        return outer
    return own


@fewer_collections()  # a million records made and dropped: see storage.bulk.pacing
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
    sink: Callable[[Connection], RowSink] = default_sink,
) -> ImportOutcome:
    """Import every subject; raises BulkRejectedError (roll back!) listing every problem.

    ``outcome`` (optional) is filled as the import goes, so a caller still has the problem
    list, with values, when the error is raised. TextRefusedError for a ``reason`` that
    cannot be stored. ``sink``: the BulkWriter's (``bench.bench_sinks`` passes each variant).
    """
    check_text(reason, "Reason for change", REASON)
    writer = BulkWriter(
        conn,
        study=study_oid,
        user=user,
        role=role or import_role(conn, study_oid, user),
        source=source,
        reason=reason,
        sink=sink,
    )
    outcome = outcome if outcome is not None else ImportOutcome()
    notes: list[tuple[str, ItemKey, str]] = []
    older = _older_versions(conn, study_oid)
    for record in subjects:
        values = entered_values(record)
        refused = _key_problem(record.subject_key, values) or _version_problem(record, older)
        if refused is not None:  # issue 14: PostgreSQL's VARCHAR(100) refused it mid-import
            writer.problems.append(
                BulkProblem(record.subject_key, "text", "entry", None, "hard", refused)
            )
            outcome.problems.append(ImportProblem(record.subject_key, None, None, refused))
            outcome.subjects += 1
            continue
        before = len(writer.problems)
        units, source_audit = entered_extras(record)
        writer.add_subject(record.subject_key, record.site_oid, values, units, source_audit)
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
        outcome.queries_opened += outcome.result.queries_opened  # the soft checks' queries
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


def _older_versions(conn: Connection, study_oid: str) -> dict[str, str]:
    """MetaDataVersion OID -> what to say of a ClinicalData naming it, for each stored version
    of the study that is not the current one (a multi-version export names them)."""
    current = current_metadata(conn, study_oid)
    rows = conn.execute(
        select(MetadataVersion.oid, MetadataVersion.number).where(
            MetadataVersion.study_id == study_id_of(conn, study_oid),
            MetadataVersion.number != current.number,
            MetadataVersion.oid != current.mdv.oid,
        )
    )
    return {
        oid: f"version {number} of study {study_oid}, not the current version "
        f"{current.number} ({current.mdv.oid})"
        for oid, number in rows
    }


def _version_problem(record: SubjectRecord, older: dict[str, str]) -> str | None:
    """Why a subject in the ClinicalData of an older stored version is not imported: the
    import checks and stores values under the current version only, and these were
    collected under another (docs/import-export.md, "Exports across metadata versions")."""
    said = older.get(record.metadata_version_oid)
    if said is None:
        return None
    return (
        f"Subject {record.subject_key} is in the ClinicalData of MetaDataVersion "
        f"{record.metadata_version_oid}, {said}: edc import checks and stores values under "
        f"the current version only. Import it where {record.metadata_version_oid} is current "
        "(then migrate), or migrate it in the exporting study and export it again (values of "
        "items the current version removed are never imported under it)."
    )


def _key_problem(subject_key: str, values: Iterable[tuple[ItemKey, object]]) -> str | None:
    """Why a subject's SubjectKey or a repeat key of its values cannot be stored (too long:
    keys are VARCHAR(100); a character XML cannot carry), or None."""
    limit = LIMITS[KEY]
    found = (
        text_problem(repeat_key, field, limit=limit)
        for keys in {key[1:6:2] for key, _ in values}
        for field, repeat_key in zip(KEY_FIELDS, keys, strict=True)
    )
    problem = text_problem(subject_key, "SubjectKey", limit=limit) or next(
        filter(None, found), None
    )
    if problem is None:
        return None
    shown = subject_key if len(subject_key) <= 40 else subject_key[:37] + "..."
    return f"Subject {shown}: {problem}"
