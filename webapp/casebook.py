"""Reads for the casebook page: each form's status, open queries and signature, by Protocol.

A signature is shown as valid while the SHA-256 of the form's values equals the hash kept
with the signature; once a value changes it is shown as broken (who signed, when, and that
the form changed afterwards).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, bindparam, func, select

from odm_engine.clinical import FormKey, ItemKey, SubjectSnapshot
from storage.models import Form, FormStatus, Query, QueryStatus, Signature, StudyEvent
from storage.prepared import Prepared
from storage.queries import KEY_COLUMNS, QueryInfo
from storage.signatures import form_content_hash
from storage.subjects import SubjectRef
from webapp.studyview import StudyContext


@dataclass(frozen=True, slots=True)
class StoredForm:
    status: FormStatus
    version: int
    updated_at: datetime | None
    updated_by: str | None


@dataclass(frozen=True, slots=True)
class SignatureState:
    username: str
    signed_at: datetime
    meaning: str
    valid: bool


_STORED_FORMS = Prepared(
    select(
        StudyEvent.study_event_oid,
        Form.form_oid,
        Form.status,
        Form.version,
        Form.updated_at,
        Form.updated_by,
    )
    .join(StudyEvent, StudyEvent.id == Form.study_event_id)
    .where(
        StudyEvent.subject_id == bindparam("subject_id"),
        StudyEvent.repeat_key == "",
        Form.repeat_key == "",
    )
)
"""The page reads run once or more per request: built once and run on the driver
(``storage.prepared``)."""
_QUERY_COLUMNS = {c: i for i, c in enumerate(Query.__table__.columns.keys())}
_FORM_QUERIES = Prepared(
    select(Query.__table__)
    .where(
        Query.subject_id == bindparam("subject_id"),
        Query.study_event_oid == bindparam("event_oid"),
        Query.study_event_repeat_key == bindparam("event_key"),
        Query.form_oid == bindparam("form_oid"),
        Query.form_repeat_key == bindparam("form_key"),
    )
    .order_by(Query.id)
)


def stored_forms(conn: Connection, subject_id: int) -> dict[tuple[str, str], StoredForm]:
    rows = _STORED_FORMS.all(conn, {"subject_id": subject_id})
    return {(r[0], r[1]): StoredForm(FormStatus(r[2]), r[3], r[4], r[5]) for r in rows}


def form_queries(conn: Connection, subject_id: int, form: FormKey) -> list[QueryInfo]:
    """The queries of one form instance, oldest first."""
    rows = _FORM_QUERIES.all(
        conn,
        {
            "subject_id": subject_id,
            "event_oid": form.study_event_oid,
            "event_key": form.study_event_repeat_key,
            "form_oid": form.form_oid,
            "form_key": form.form_repeat_key,
        },
    )
    c = _QUERY_COLUMNS
    key_at = [c[k] for k in KEY_COLUMNS]
    return [
        QueryInfo(
            q[c["id"]],
            ItemKey(*(q[i] for i in key_at)),
            QueryStatus(q[c["status"]]),
            q[c["origin"]],
            q[c["check_id"]],
            q[c["message"]],
            q[c["opened_by"]],
            q[c["opened_at"]],
        )
        for q in rows
    ]


def open_query_counts(conn: Connection, subject_id: int) -> dict[tuple[str, str], int]:
    rows = conn.execute(
        select(Query.study_event_oid, Query.form_oid, func.count(Query.id))
        .where(Query.subject_id == subject_id, Query.status != QueryStatus.CLOSED.value)
        .group_by(Query.study_event_oid, Query.form_oid)
    )
    return {(r[0], r[1]): int(r[2]) for r in rows}


_SIGNATURES_SELECT = (
    select(
        StudyEvent.study_event_oid,
        Form.form_oid,
        Signature.username,
        Signature.signed_at,
        Signature.meaning,
        Signature.content_sha256,
    )
    .join(Form, Form.id == Signature.form_id)
    .join(StudyEvent, StudyEvent.id == Form.study_event_id)
    .where(StudyEvent.subject_id == bindparam("subject_id"))
    .order_by(Signature.id)
)
_SIGNATURES = Prepared(_SIGNATURES_SELECT)
_FORM_SIGNATURES = Prepared(
    _SIGNATURES_SELECT.where(
        StudyEvent.study_event_oid == bindparam("event_oid"),
        Form.form_oid == bindparam("form_oid"),
    )
)


def signature_states(
    conn: Connection, subject: SubjectRef, form: tuple[str, str] | None = None
) -> dict[tuple[str, str], SignatureState]:
    """The latest signature of each signed form (or of ``form``: (event, form) OIDs), and
    whether the form is unchanged since."""
    if form is None:
        rows = _SIGNATURES.all(conn, {"subject_id": subject.id})
    else:
        params = {"subject_id": subject.id, "event_oid": form[0], "form_oid": form[1]}
        rows = _FORM_SIGNATURES.all(conn, params)
    latest = {(r[0], r[1]): r for r in rows}
    states = {}
    for (event_oid, form_oid), r in latest.items():
        now = form_content_hash(
            conn, subject.study_oid, subject.subject_key, FormKey(event_oid, "", form_oid, "")
        )
        states[(event_oid, form_oid)] = SignatureState(r[2], r[3], r[4], now == r[5])
    return states


@dataclass(frozen=True, slots=True)
class FormLine:
    event_oid: str
    form_oid: str
    name: str
    status: FormStatus
    version: int
    open_queries: int
    not_collected: str | None
    """Why the form is not available for this subject (None: it is)."""
    signature: SignatureState | None


@dataclass(frozen=True, slots=True)
class EventLine:
    oid: str
    name: str
    forms: tuple[FormLine, ...]


def casebook_lines(
    conn: Connection,
    study: StudyContext,
    subject: SubjectRef,
    snapshot: SubjectSnapshot,
    lang: str,
) -> tuple[EventLine, ...]:
    """Events in Protocol order, each with its FormRefs in order, as stored for the subject."""
    forms = stored_forms(conn, subject.id)
    queries = open_query_counts(conn, subject.id)
    signatures = signature_states(conn, subject)
    events = []
    for event in study.mdv.study_events_in_order():
        refs = sorted(
            enumerate(event.form_refs),
            key=lambda p: (p[1].order_number is None, p[1].order_number or 0, p[0]),
        )
        lines = []
        for _, ref in refs:
            place = (event.oid, ref.form_oid)
            stored = forms.get(place)
            lines.append(
                FormLine(
                    event_oid=event.oid,
                    form_oid=ref.form_oid,
                    name=study.form_name(ref.form_oid, lang),
                    status=stored.status if stored else FormStatus.NOT_STARTED,
                    version=stored.version if stored else 0,
                    open_queries=queries.get(place, 0),
                    not_collected=study.not_collected(
                        snapshot, FormKey(event.oid, "", ref.form_oid, ""), lang
                    ),
                    signature=signatures.get(place),
                )
            )
        events.append(EventLine(event.oid, study.event_name(event, lang), tuple(lines)))
    return tuple(events)
