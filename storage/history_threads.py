"""Signatures and query threads of a history import (:mod:`storage.history_import`).

A signature keeps its number (``SIG.<n>``), the meaning its signing recorded and the content
hash recomputed from the replayed values; a query keeps its number (``Q.<n>.<m>``) and every
message, each with its author, time and the status it left the query in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import Connection, insert, select, update

from odm_engine import model as m
from odm_engine.clinical import FormKey, ItemKey
from odm_engine.exchange.records import (
    QUERY_STATUS_CODE_LIST,
    Annotation,
    FormRecord,
    SubjectRecord,
)
from storage.export_history import CHECK_SOURCE
from storage.models import Query, QueryMessage
from storage.models import Signature as SignatureRow
from storage.refs import SubjectRef
from storage.signatures import subject_form_hash
from storage.vocabulary import FormStatus


class HistoryReplay(Protocol):
    """What the replay of :mod:`storage.history_import` offers the functions here."""

    conn: Connection
    admin: m.AdminData
    queries: dict[int, tuple[str, int]]

    def user(self, username: str | None) -> tuple[int, str, str]: ...

    def problem(self, record: SubjectRecord, key: ItemKey | None, message: str) -> None: ...


@dataclass(slots=True)
class FormState:
    form_id: int
    status: str = FormStatus.NOT_STARTED.value
    version: int = 0
    reason: str | None = None
    """The reason of the latest status change (a signing's names its meaning)."""
    groups: dict[tuple[str, str], int] = field(default_factory=dict)


@dataclass(slots=True)
class SubjectState:
    ref: SubjectRef
    events: dict[tuple[str, str], int] = field(default_factory=dict)
    forms: dict[FormKey, FormState] = field(default_factory=dict)
    items: dict[ItemKey, tuple[int, str | None, str | None, str | None]] = field(
        default_factory=dict
    )
    """ItemKey -> (item_data id, value, null reason, unit) as stored now."""


_QUERY_ID = re.compile(r"Q\.(\d+)\.(\d+)")
_SIGNATURE_ID = re.compile(r"SIG\.(\d+)")
_ACTION = {
    ("", "open"): "open",
    ("open", "answered"): "answer",
    ("answered", "open"): "reopen",
    ("open", "closed"): "close",
    ("answered", "closed"): "close",
}
"""(status before, status after) of a query message -> its action (storage.queries)."""


def parse_stamp(stamp: str | None) -> datetime | None:
    """An ODM DateTimeStamp as a UTC datetime (no zone: UTC); None when absent or unreadable."""
    if not stamp:
        return None
    try:
        when = datetime.fromisoformat(stamp)
    except ValueError:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def replay_signature(
    replay: HistoryReplay,
    state: SubjectState,
    record: SubjectRecord,
    key: FormKey,
    form: FormRecord,
) -> None:
    signature = form.signature
    assert signature is not None
    number = _SIGNATURE_ID.fullmatch(signature.id or "")
    when = parse_stamp(signature.date_time_stamp)
    stored = state.forms.get(key)
    if number is None or when is None or stored is None or not signature.signature_oid:
        replay.problem(
            record,
            None,
            f"Signature {signature.id!r} of {key.form_oid}: needs an ID SIG.<number>, a "
            "DateTimeStamp, a SignatureRef and a form saved before",
        )
        return
    sig_id = int(number.group(1))
    if replay.conn.scalar(select(SignatureRow.id).where(SignatureRow.id == sig_id)) is not None:
        replay.problem(record, None, f"signature number {sig_id} is taken on this server")
        return
    user_id, name, role = replay.user(signature.user_oid)
    prefix = f"Signed ({signature.signature_oid}): "
    if stored.reason and stored.reason.startswith(prefix):
        meaning = stored.reason.removeprefix(prefix)
    else:
        given = replay.admin.signature_defs.get(signature.signature_oid)
        meaning = given.meaning if given is not None else ""
    replay.conn.execute(
        insert(SignatureRow).values(
            id=sig_id,
            form_id=stored.form_id,
            user_id=user_id,
            username=name,
            role=role,
            signed_at=when,
            signature_def_oid=signature.signature_oid,
            meaning=meaning,
            form_version=stored.version,
            content_sha256=subject_form_hash(replay.conn, state.ref, key),
        )
    )


def replay_message(
    replay: HistoryReplay, state: SubjectState, record: SubjectRecord, item: Any, note: Annotation
) -> None:
    """One message of a query thread: the first opens the query (its number kept), each
    later one answers, closes or reopens it."""
    status = next(
        (f.value for f in note.flags if f.value_code_list_oid == QUERY_STATUS_CODE_LIST), None
    )
    if status is None:
        return  # not a query
    number = _QUERY_ID.fullmatch(note.id or "")
    audit = item.audit
    when = parse_stamp(audit.date_time_stamp) if audit is not None else None
    if number is None or audit is None or when is None:
        replay.problem(
            record,
            item.key,
            "a query message needs an ID Q.<query>.<n> and an AuditRecord with a DateTimeStamp",
        )
        return
    query_id, n = int(number.group(1)), int(number.group(2))
    before, count = replay.queries.get(query_id, ("", 0))
    action = _ACTION.get((before, status))
    if n != count + 1 or action is None:
        replay.problem(
            record,
            item.key,
            f"query message {note.id}: expected message {count + 1}; a query "
            f"{before or 'not yet open'} cannot become {status}",
        )
        return
    _user_id, name, role = replay.user(audit.user_oid)
    source = audit.source_id or ""
    check_id = source.removeprefix(CHECK_SOURCE)[:200] if source.startswith(CHECK_SOURCE) else None
    if n == 1:
        if replay.conn.scalar(select(Query.id).where(Query.id == query_id)) is not None:
            replay.problem(record, item.key, f"query number {query_id} is taken on this server")
            return
        replay.conn.execute(
            insert(Query).values(
                id=query_id,
                subject_id=state.ref.id,
                **item.key._asdict(),
                status=status,
                origin="check" if check_id else "person",
                check_id=check_id,
                message=note.comment or "",
                opened_by=name,
                opened_at=when,
                updated_at=when,
            )
        )
    else:
        replay.conn.execute(
            update(Query).where(Query.id == query_id).values(status=status, updated_at=when)
        )
    replay.conn.execute(
        insert(QueryMessage).values(
            query_id=query_id,
            action=action,
            text=note.comment or "",
            username=name,
            role=role,
            recorded_at=when,
        )
    )
    replay.queries[query_id] = (status, n)
