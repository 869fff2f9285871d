"""The casebook's reads: each form instance's status, its queries and its signature.

Snapshots (frozen dataclasses, :class:`~storage.queries.QueryInfo`) of one subject's forms,
for the casebook and form pages. A signature is valid while the SHA-256 of the form's values
equals the hash kept with the signature.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, bindparam, func, select

from odm_engine.clinical import FormKey, ItemKey
from storage.models import Form, FormStatus, Query, QueryStatus, Signature, StudyEvent
from storage.prepared import Prepared
from storage.queries import KEY_COLUMNS, QueryInfo
from storage.signatures import subject_form_hash
from storage.subjects import FORM_INSTANCE, SubjectRef, form_instance_params

__all__ = [
    "SignatureState",
    "StoredForm",
    "form_queries",
    "open_query_counts",
    "signature_states",
    "stored_forms",
]


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
        StudyEvent.repeat_key,
        Form.form_oid,
        Form.repeat_key,
        Form.status,
        Form.version,
        Form.updated_at,
        Form.updated_by,
    )
    .join(StudyEvent, StudyEvent.id == Form.study_event_id)
    .where(StudyEvent.subject_id == bindparam("subject_id"))
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


def stored_forms(conn: Connection, subject_id: int) -> dict[FormKey, StoredForm]:
    """Every form instance stored for the subject, repeats included."""
    rows = _STORED_FORMS.all(conn, {"subject_id": subject_id})
    return {FormKey(*r[:4]): StoredForm(FormStatus(r[4]), r[5], r[6], r[7]) for r in rows}


def form_queries(conn: Connection, subject_id: int, form: FormKey) -> list[QueryInfo]:
    """The queries of one form instance, oldest first."""
    rows = _FORM_QUERIES.all(conn, form_instance_params(subject_id, form))
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


def open_query_counts(conn: Connection, subject_id: int) -> dict[FormKey, int]:
    where = (
        Query.study_event_oid,
        Query.study_event_repeat_key,
        Query.form_oid,
        Query.form_repeat_key,
    )
    rows = conn.execute(
        select(*where, func.count(Query.id))
        .where(Query.subject_id == subject_id, Query.status != QueryStatus.CLOSED.value)
        .group_by(*where)
    )
    return {FormKey(*r[:4]): int(r[4]) for r in rows}


_SIGNATURES_SELECT = (
    select(
        StudyEvent.study_event_oid,
        StudyEvent.repeat_key,
        Form.form_oid,
        Form.repeat_key,
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
_FORM_SIGNATURES = Prepared(_SIGNATURES_SELECT.where(*FORM_INSTANCE))


def signature_states(
    conn: Connection, subject: SubjectRef, form: FormKey | None = None
) -> dict[FormKey, SignatureState]:
    """The latest signature of each signed form instance (or of ``form`` only), and whether
    the form is unchanged since."""
    if form is None:
        rows = _SIGNATURES.all(conn, {"subject_id": subject.id})
    else:
        rows = _FORM_SIGNATURES.all(conn, form_instance_params(subject.id, form))
    latest = {FormKey(*r[:4]): r for r in rows}
    states = {}
    for key, r in latest.items():
        now = subject_form_hash(conn, subject, key)
        states[key] = SignatureState(r[4], r[5], r[6], now == r[7])
    return states
