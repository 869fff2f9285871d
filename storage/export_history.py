"""The records of an audit export (issue 19, defect 1), in standard ODM 1.3.2 elements.

:func:`storage.export_records.iter_changes` streams the audit trail's rows (value changes,
subject creations, form status changes), which :func:`change_groups` turns into records one
save or status change at a time; signatures and the messages of query threads live in their
own append-only tables and are read here:

- a signature: ``FormData TransactionType="Context"`` holding the ``Signature`` (``ID``
  ``SIG.<row id>``, as the snapshot writes it);
- a query message (open, answer, close, reopen): ``ItemData TransactionType="Context"`` on the
  queried item, with no value, holding an ``AuditRecord`` (who, where, when) and an
  ``Annotation`` (``ID`` ``Q.<query id>.<n>``, the message as its Comment, the query's status
  after the message as a Flag of the ``EDC.QUERY_STATUS`` CodeList); the message that opens
  a query a soft check raised has the SourceID ``check:<check id>``.

``Context`` tells a reader the element only locates what it holds: an import changes no
value for it (``storage.exchange``). The few rows these tables hold are read up front, by
subject and time, and merged into the stream of value changes by :func:`merge_by_time`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from odm_engine.clinical import ItemKey
from odm_engine.exchange.records import (
    FLAG_TYPE_CODE_LIST,
    FORM_STATUS_CODE_LIST,
    QUERY_STATUS_CODE_LIST,
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
from storage.models import Form, Query, QueryMessage, Site, StudyEvent, Subject
from storage.models import Signature as SignatureRow

CHECK_SOURCE = "check:"
"""The SourceID of the message that opens a query a soft check raised: ``check:`` and the
check's id (``IT.VS_WEIGHT#RC1``), so a history import knows the check the query belongs to."""

STATUS_AFTER = {"open": "open", "answer": "answered", "close": "closed", "reopen": "open"}
"""A query's status after each action of its thread (storage.queries.NEXT_STATUS)."""

Events = dict[int, list[tuple[datetime, SubjectRecord]]]
"""Subject id -> its (time, record) events, oldest first."""


def stamp(value: datetime) -> str:
    """An ODM xs:dateTime in UTC with milliseconds, as every export writes it."""
    return value.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def signature_of(
    sig_id: int, user: str, site: str | None, signature_oid: str, signed_at: datetime
) -> Signature:
    """A stored signature as ODM writes it, in the snapshot and the audit export alike: ``ID``
    ``SIG.<row id>`` (stable across exports and servers), who, where, meaning, when."""
    return Signature(
        id=f"SIG.{sig_id}",
        user_oid=user,
        location_oid=site,
        signature_oid=signature_oid,
        date_time_stamp=stamp(signed_at),
    )


def up_to_subject(query: Any) -> Any:
    """``query`` (which reads forms) joined to each form's event, subject and site."""
    return (
        query.join(StudyEvent, StudyEvent.id == Form.study_event_id)
        .join(Subject, Subject.id == StudyEvent.subject_id)
        .outerjoin(Site, Site.id == Subject.site_id)
    )


def history_events(
    conn: Connection,
    study_oid: str,
    mdv_oid: str,
    subjects: Any,
    since: datetime | None,
) -> Events:
    """Signatures and query messages of the subjects ``subjects`` (a SELECT of subject ids),
    recorded after ``since`` when given."""
    out: Events = {}
    for subject_id, when, record in (
        *_signatures(conn, study_oid, mdv_oid, subjects, since),
        *_query_messages(conn, study_oid, mdv_oid, subjects, since),
    ):
        out.setdefault(subject_id, []).append((when, record))
    for events in out.values():
        events.sort(key=lambda event: event[0])
    return out


def _signatures(
    conn: Connection, study_oid: str, mdv_oid: str, subjects: Any, since: datetime | None
) -> Iterator[tuple[int, datetime, SubjectRecord]]:
    query = up_to_subject(
        select(
            Subject.id,
            Subject.subject_key,
            Site.oid,
            StudyEvent.study_event_oid,
            StudyEvent.repeat_key,
            Form.form_oid,
            Form.repeat_key,
            SignatureRow.id,
            SignatureRow.username,
            SignatureRow.signature_def_oid,
            SignatureRow.signed_at,
        ).join(Form, Form.id == SignatureRow.form_id)
    )
    query = query.where(Subject.id.in_(subjects)).order_by(SignatureRow.id)
    if since is not None:
        query = query.where(SignatureRow.signed_at > since)
    for sid, key, site, event, erk, form, frk, sig_id, user, sig_oid, at in conn.execute(query):
        signature = signature_of(sig_id, user, site, sig_oid, at)
        form_record = FormRecord(
            form_oid=form, repeat_key=frk, transaction_type="Context", signature=signature
        )
        yield sid, at, _subject(study_oid, mdv_oid, key, site, event, erk, form_record)


def _query_messages(
    conn: Connection, study_oid: str, mdv_oid: str, subjects: Any, since: datetime | None
) -> Iterator[tuple[int, datetime, SubjectRecord]]:
    query = (
        select(
            Subject.id,
            Subject.subject_key,
            Site.oid,
            Query.study_event_oid,
            Query.study_event_repeat_key,
            Query.form_oid,
            Query.form_repeat_key,
            Query.item_group_oid,
            Query.item_group_repeat_key,
            Query.item_oid,
            Query.id,
            Query.check_id,
            QueryMessage.action,
            QueryMessage.text,
            QueryMessage.username,
            QueryMessage.recorded_at,
        )
        .join(Query, Query.id == QueryMessage.query_id)
        .join(Subject, Subject.id == Query.subject_id)
        .outerjoin(Site, Site.id == Subject.site_id)
        .where(Subject.id.in_(subjects))
        .order_by(QueryMessage.query_id, QueryMessage.id)
    )
    numbers: dict[int, int] = {}
    for sid, key, site, *item, qid, check_id, action, text, user, at in conn.execute(query):
        n = numbers[qid] = numbers.get(qid, 0) + 1  # counted before `since`: stable IDs
        if since is not None and at <= since:
            continue
        note = Annotation(
            seq_num=str(n),
            comment=text,
            flags=(
                Flag(
                    value=STATUS_AFTER.get(action, action),
                    value_code_list_oid=QUERY_STATUS_CODE_LIST,
                    type="query",
                    type_code_list_oid=FLAG_TYPE_CODE_LIST,
                ),
            ),
            id=f"Q.{qid}.{n}",
        )
        audit = AuditRecord(
            user_oid=user,
            location_oid=site,
            date_time_stamp=stamp(at),
            source_id=f"{CHECK_SOURCE}{check_id}" if n == 1 and check_id else None,
        )
        value = ItemValue(
            key=ItemKey(*item),
            transaction_type="Context",
            audit=audit,
            annotations=(note,),
        )
        group = ItemGroupRecord(
            item_group_oid=item[4], repeat_key=item[5], transaction_type="Context", items=(value,)
        )
        form = FormRecord(form_oid=item[2], repeat_key=item[3], groups=(group,))
        yield sid, at, _subject(study_oid, mdv_oid, key, site, item[0], item[1], form)


def _subject(  # noqa: PLR0917 (the keys of one FormData, in ODM order)
    study_oid: str,
    mdv_oid: str,
    key: str,
    site: str | None,
    event: str,
    event_repeat_key: str,
    form: FormRecord,
) -> SubjectRecord:
    return SubjectRecord(
        study_oid=study_oid,
        metadata_version_oid=mdv_oid,
        subject_key=key,
        site_oid=site,
        transaction_type="Context",
        events=(
            StudyEventRecord(study_event_oid=event, repeat_key=event_repeat_key, forms=(form,)),
        ),
    )


def status_note(seq: int, row: Any) -> Annotation:
    """A form status change (an audit row of TransactionType ``Status``, as
    ``iter_changes`` selects it) as an Annotation: the move as its Comment, the new status as a
    Flag of ``EDC.FORM_STATUS``."""
    return Annotation(
        seq_num=str(seq),
        comment=f"Form status {row[19] or 'not_started'} -> {row[12]}",
        flags=(
            Flag(
                value=row[12] or "",
                value_code_list_oid=FORM_STATUS_CODE_LIST,
                type="status",
                type_code_list_oid=FLAG_TYPE_CODE_LIST,
            ),
        ),
    )


def merge_by_time(
    changes: Iterator[tuple[int, datetime, SubjectRecord]], events: Events
) -> Iterator[SubjectRecord]:
    """The records of ``changes`` (subject id, time, record; in subject order, oldest first
    within a subject) with each subject's ``events`` placed among them by time."""
    current: int | None = None
    pending: list[tuple[datetime, SubjectRecord]] = []
    for subject_id, when, record in changes:
        if subject_id != current:
            yield from (r for _t, r in pending)
            current, pending = subject_id, events.pop(subject_id, [])
        while pending and pending[0][0] < when:  # a tie: the save first (its query next)
            yield pending.pop(0)[1]
        yield record
    yield from (r for _t, r in pending)
    for rest in events.values():  # subjects whose value changes all fell before `since`
        yield from (r for _t, r in rest)


# --- the audit trail's own rows (values, subject creations, status changes) -------------


def change_groups(
    rows: Iterable[Any], study_oid: str, mdv_oid: str
) -> Iterator[tuple[int, datetime, SubjectRecord]]:
    """(subject id, time, record) per group of audit rows one save or status change wrote:
    the rows of a subject that share form version, form and time, whether or not other rows
    come between them (an import writes every form's status row before the values), so one
    save is one FormData and a replay gives it one form version. One subject's rows are held
    at a time."""
    groups: dict[tuple[Any, ...], list[Any]] = {}
    subject: Any = None
    for row in rows:
        if row[0] != subject and groups:
            yield from _subject_records(groups, study_oid, mdv_oid)
            groups = {}
        subject = row[0]
        groups.setdefault((row[3], row[4], row[5], row[6], row[7], row[15]), []).append(row)
    if groups:
        yield from _subject_records(groups, study_oid, mdv_oid)


def _subject_records(
    groups: dict[tuple[Any, ...], list[Any]], study_oid: str, mdv_oid: str
) -> Iterator[tuple[int, datetime, SubjectRecord]]:
    saved: set[tuple[Any, ...]] = set()  # forms with a save so far
    for rows in groups.values():
        yield rows[0][0], rows[0][15], _change_record(study_oid, mdv_oid, rows, saved)


def _change_record(
    study_oid: str, mdv_oid: str, rows: list[Any], saved: set[tuple[Any, ...]]
) -> SubjectRecord:
    """The record of one group of audit rows; ``saved`` holds the subject's forms with a save
    before it: a form's first save (form version 1) is its FormData Insert, a later rewrite
    at the same form version (a migration) is not."""
    first = rows[0]
    if not first[6]:  # the subject's creation: SubjectData TransactionType Insert, no data
        return SubjectRecord(
            study_oid=study_oid,
            metadata_version_oid=mdv_oid,
            subject_key=first[1],
            site_oid=first[2],
            transaction_type="Insert",
            audit=_audit_of(first),
        )
    form_key = (first[4], first[5], first[6], first[7])
    groups: dict[tuple[str, str], list[ItemValue]] = {}
    statuses: list[Any] = []
    for r in rows:
        if not r[10]:  # a form-level row: the form's status changed
            statuses.append(r)
            continue
        key = ItemKey(r[4], r[5], r[6], r[7], r[8], r[9], r[10])
        audit = _audit_of(r)
        groups.setdefault((r[8], r[9]), []).append(
            ItemValue(
                key=key,
                value=r[12],
                is_null=r[13] is not None,
                unit_oid=r[18],
                transaction_type=r[11],
                audit=audit,
            )
        )
    inserted = bool(groups) and first[3] == 1 and form_key not in saved
    if groups:
        saved.add(form_key)
    form = FormRecord(
        form_oid=first[6],
        repeat_key=first[7],
        transaction_type="Insert" if inserted else "Context",
        audit=_audit_of(statuses[-1]) if statuses else None,
        annotations=tuple(status_note(n, r) for n, r in enumerate(statuses, 1)),
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


def _audit_of(row: Any) -> AuditRecord:
    """The AuditRecord of an audit row as ``iter_changes`` selects it."""
    return AuditRecord(
        user_oid=row[14],
        location_oid=row[2],
        date_time_stamp=stamp(row[15]),
        reason_for_change=row[16],
        source_id=row[17],
    )
