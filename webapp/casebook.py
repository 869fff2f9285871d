"""The casebook page's lines: each form's status, open queries and signature, by Protocol.

The reads are :mod:`storage.readers.casebook`'s snapshots.
A signature is shown as valid while the SHA-256 of the form's values equals the hash kept
with the signature; once a value changes it is shown as broken (who signed, when, and that
the form changed afterwards).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from odm_engine.clinical import FormKey, SubjectSnapshot
from storage.engine import Connection
from storage.readers.casebook import (
    SignatureState,
    open_query_counts,
    signature_states,
    stored_forms,
)
from storage.subjects import SubjectRef
from storage.vocabulary import FormStatus
from webapp.studyview import StudyContext


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
