"""Reads for the casebook page: each form's status, open queries and signature, by Protocol.

A signature is shown as valid while the SHA-256 of the form's values equals the hash kept
with the signature; once a value changes it is shown as broken (who signed, when, and that
the form changed afterwards).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
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
_FORM_SIGNATURES = Prepared(
    _SIGNATURES_SELECT.where(
        StudyEvent.study_event_oid == bindparam("event_oid"),
        StudyEvent.repeat_key == bindparam("event_key"),
        Form.form_oid == bindparam("form_oid"),
        Form.repeat_key == bindparam("form_key"),
    )
)


def signature_states(
    conn: Connection, subject: SubjectRef, form: FormKey | None = None
) -> dict[FormKey, SignatureState]:
    """The latest signature of each signed form instance (or of ``form`` only), and whether
    the form is unchanged since."""
    if form is None:
        rows = _SIGNATURES.all(conn, {"subject_id": subject.id})
    else:
        params = {
            "subject_id": subject.id,
            "event_oid": form.study_event_oid,
            "event_key": form.study_event_repeat_key,
            "form_oid": form.form_oid,
            "form_key": form.form_repeat_key,
        }
        rows = _FORM_SIGNATURES.all(conn, params)
    latest = {FormKey(*r[:4]): r for r in rows}
    states = {}
    for key, r in latest.items():
        now = form_content_hash(conn, subject.study_oid, subject.subject_key, key)
        states[key] = SignatureState(r[4], r[5], r[6], now == r[7])
    return states


@dataclass(frozen=True, slots=True)
class FormLine:
    key: FormKey
    name: str
    status: FormStatus
    version: int
    open_queries: int
    not_collected: str | None
    """Why the form is not available for this subject (None: it is)."""
    signature: SignatureState | None

    @property
    def form_oid(self) -> str:
        return self.key.form_oid


@dataclass(frozen=True, slots=True)
class EventLine:
    """One instance of a StudyEvent in the casebook (a repeating event has one per repeat)."""

    oid: str
    repeat_key: str
    name: str
    forms: tuple[FormLine, ...]
    more_forms: tuple[tuple[str, FormKey], ...] = ()
    """(form name, the next instance's key) of each repeating form of this instance."""
    new_event: FormKey | None = None
    """For the last instance of a repeating event (or the empty place of one with none yet):
    the first form of the next instance, where entering data starts it."""


def numbered(name: str, repeat_key: str) -> str:
    """A name with its instance's repeat key: "Adverse event #2" (as is for no key)."""
    return f"{name} #{repeat_key}" if repeat_key else name


def next_repeat_key(used: Iterable[str]) -> str:
    """The repeat key of a new instance: one more than the largest numeric key in use."""
    taken = set(used)
    n = max((int(k) for k in taken if k.isdecimal() and len(k) < 10), default=0) + 1
    while str(n) in taken:
        n += 1
    return str(n)


def repeat_order(key: str) -> tuple[int, int, str]:
    """Numeric repeat keys in numeric order, then the others alphabetically."""
    return (0, int(key), "") if key.isdecimal() and len(key) < 10 else (1, 0, key)


def casebook_lines(
    conn: Connection,
    study: StudyContext,
    subject: SubjectRef,
    snapshot: SubjectSnapshot,
    lang: str,
) -> tuple[EventLine, ...]:
    """Events in Protocol order, each instance with its FormRefs in order, as stored for the
    subject. A non-repeating event or form has the one instance with the empty repeat key;
    a repeating one lists its stored instances and offers the next (keys 1, 2, ...)."""
    forms = stored_forms(conn, subject.id)
    queries = open_query_counts(conn, subject.id)
    signatures = signature_states(conn, subject)
    stored_keys: dict[tuple[str, str, str], set[str]] = {}
    event_keys: dict[str, set[str]] = {}
    for k in forms:
        event_keys.setdefault(k.study_event_oid, set()).add(k.study_event_repeat_key)
        place = (k.study_event_oid, k.study_event_repeat_key, k.form_oid)
        stored_keys.setdefault(place, set()).add(k.form_repeat_key)

    def line(key: FormKey) -> FormLine:
        stored = forms.get(key)
        return FormLine(
            key=key,
            name=study.form_name(key.form_oid, lang),
            status=stored.status if stored else FormStatus.NOT_STARTED,
            version=stored.version if stored else 0,
            open_queries=queries.get(key, 0),
            not_collected=study.not_collected(snapshot, key, lang),
            signature=signatures.get(key),
        )

    events = []
    for event in study.mdv.study_events_in_order():
        refs = [
            ref
            for _, ref in sorted(
                enumerate(event.form_refs),
                key=lambda p: (p[1].order_number is None, p[1].order_number or 0, p[0]),
            )
        ]
        name = study.event_name(event, lang)
        used = event_keys.get(event.oid, set())
        # A non-repeating event has the one instance with no key, or the keys data came
        # with from an EDC that numbers every event (then no empty one beside them).
        instances = sorted(used if event.repeating else used or {""}, key=repeat_order)
        for erk in instances:
            lines, more = [], []
            for ref in refs:
                form = study.mdv.form_defs.get(ref.form_oid)
                keys = stored_keys.get((event.oid, erk, ref.form_oid), set())
                if form is not None and form.repeating:
                    shown = sorted(keys, key=repeat_order) or ["1"]
                    if keys:
                        fresh = FormKey(event.oid, erk, ref.form_oid, next_repeat_key(keys))
                        more.append((study.form_name(ref.form_oid, lang), fresh))
                else:
                    shown = sorted(keys or {""}, key=repeat_order)
                lines += [line(FormKey(event.oid, erk, ref.form_oid, frk)) for frk in shown]
            events.append(EventLine(event.oid, erk, name, tuple(lines), tuple(more)))
        if event.repeating and refs:
            first = study.mdv.form_defs.get(refs[0].form_oid)
            new = FormKey(
                event.oid,
                next_repeat_key(used),
                refs[0].form_oid,
                "1" if first is not None and first.repeating else "",
            )
            if events and events[-1].oid == event.oid:
                events[-1] = replace(events[-1], new_event=new)
            else:
                events.append(EventLine(event.oid, "", name, (), (), new))
    return tuple(events)
