"""Data queries on items: opened by soft checks or by people, answered, closed.

Every step is kept in ``query_messages`` (who, role, when, text), so a query's history is never
overwritten.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, bindparam, insert, select, update

from odm_engine.clinical import FormKey, ItemKey
from odm_engine.entry_validation import CheckResultLike
from odm_engine.free_text import KEY, QUERY, check_text
from storage.errors import InvalidInputError, NotFoundError, QueryChangedError
from storage.models import Query, QueryMessage, QueryStatus, Role
from storage.prepared import Prepared
from storage.subjects import find_subject
from storage.vocabulary import SYSTEM_ROLE, SYSTEM_USER

KEY_FIELDS = ("StudyEventRepeatKey", "FormRepeatKey", "ItemGroupRepeatKey")
PASSED_TEXT = "The check passes after the save of {when}: closed by the system."
"""The comment of an automatic close (stored once, in English, like a check's message)."""
NEXT_STATUS = {
    "answer": (QueryStatus.OPEN, QueryStatus.ANSWERED),
    "close": (None, QueryStatus.CLOSED),
    "reopen": (QueryStatus.ANSWERED, QueryStatus.OPEN),
}


@dataclass(frozen=True, slots=True)
class QueryInfo:
    id: int
    key: ItemKey
    status: QueryStatus
    origin: str
    check_id: str | None
    message: str
    opened_by: str
    opened_at: datetime


KEY_COLUMNS = ItemKey._fields
"""The key columns of a query, named as ItemKey's fields (``storage.audit.KEY_COLUMNS``)."""


def _key_columns(key: ItemKey) -> dict[str, str]:
    return dict(zip(KEY_COLUMNS, key, strict=True))


def _open(
    conn: Connection,
    subject_id: int,
    key: ItemKey,
    *,
    origin: str,
    check_id: str | None,
    message: str,
    user: str,
    role: str,
    now: datetime,
) -> int:
    query_id = conn.execute(
        insert(Query).values(
            subject_id=subject_id,
            status=QueryStatus.OPEN.value,
            origin=origin,
            check_id=check_id,
            message=message,
            opened_by=user,
            opened_at=now,
            updated_at=now,
            **_key_columns(key),
        )
    ).inserted_primary_key[0]
    conn.execute(
        insert(QueryMessage).values(
            query_id=query_id,
            action="open",
            text=message,
            username=user,
            role=role,
            recorded_at=now,
        )
    )
    return int(query_id)


def open_check_queries(
    conn: Connection,
    subject_id: int,
    *,
    results: Iterable[CheckResultLike],
    user: str,
    role: str,
    now: datetime,
) -> list[int]:
    """A query per failed soft check, unless the same check already has one open on the item."""
    opened = []
    for r in results:
        if r.item_key is None:
            continue
        existing = conn.scalar(
            select(Query.id).where(
                Query.subject_id == subject_id,
                Query.check_id == r.check_id,
                Query.status != QueryStatus.CLOSED.value,
                *(getattr(Query, c) == v for c, v in _key_columns(r.item_key).items()),
            )
        )
        if existing is None:
            opened.append(
                _open(
                    conn,
                    subject_id,
                    r.item_key,
                    origin="check",
                    check_id=r.check_id,
                    message=r.message,
                    user=user,
                    role=role,
                    now=now,
                )
            )
    return opened


_OPEN_CHECK_QUERIES = Prepared(
    select(Query.id, Query.check_id, *(getattr(Query, c) for c in KEY_COLUMNS))
    .where(
        Query.subject_id == bindparam("subject_id"),
        Query.origin == "check",
        Query.status != QueryStatus.CLOSED.value,
        *(getattr(Query, c) == bindparam(c) for c in KEY_COLUMNS[:4]),
    )
    .order_by(Query.id)
)
"""The check queries of one form instance not closed yet: built once and run on the driver
(``storage.prepared``), as every save runs it (building the statement per save cost 0.8 ms
of a 6 ms save, profiled in-process; ``Connection.execute`` of the built one about 0.2 ms
of a 2.5 ms save)."""


def close_passed_check_queries(
    conn: Connection,
    subject_id: int,
    form: FormKey,
    *,
    failing: Iterable[CheckResultLike],
    now: datetime,
) -> list[int]:
    """Close the check queries of ``form`` whose check no longer fails (``failing``: the soft
    results of the save that evaluated every check of the form), in the save's transaction.

    Each close is a ``query_messages`` row attributed to :data:`SYSTEM_USER`, never to the
    person whose save made the value pass; the investigator did not close the query, the
    corrected value did.
    """
    still = {(r.check_id, r.item_key) for r in failing if r.item_key is not None}
    params = dict(zip(KEY_COLUMNS[:4], form, strict=True), subject_id=subject_id)
    passed = [
        query_id
        for query_id, check_id, *key in _OPEN_CHECK_QUERIES.all(conn, params)
        if (check_id, ItemKey(*key)) not in still
    ]
    text = PASSED_TEXT.format(when=now.strftime("%Y-%m-%d %H:%M:%S UTC"))
    for query_id in passed:
        _close(conn, query_id, text=text, user=SYSTEM_USER, role=SYSTEM_ROLE, now=now)
    return passed


def _close(
    conn: Connection, query_id: int, *, text: str, user: str, role: str, now: datetime
) -> None:
    conn.execute(
        update(Query)
        .where(Query.id == query_id)
        .values(status=QueryStatus.CLOSED.value, updated_at=now)
    )
    conn.execute(
        insert(QueryMessage).values(
            query_id=query_id, action="close", text=text, username=user, role=role, recorded_at=now
        )
    )


def close_queries(
    conn: Connection, query_ids: Iterable[int], *, text: str, user: str, role: Role | str
) -> list[int]:
    """Close several queries with one comment (a data manager's bulk close): each close is
    its own message, as if closed one by one; a query already closed or unknown refuses the
    whole batch (nothing is closed), so the caller's selection is never half applied."""
    return [
        query_id
        for query_id in dict.fromkeys(query_ids)
        if transition(conn, query_id, "close", text=text, user=user, role=role)
    ]


def open_query(
    conn: Connection,
    *,
    study: str,
    subject_key: str,
    key: ItemKey,
    message: str,
    user: str,
    role: Role | str,
) -> int:
    """A query raised by a person (a monitor or data manager) on one item."""
    check_text(message, "Query message", QUERY)
    for field, repeat_key in zip(KEY_FIELDS, key[1:6:2], strict=True):
        check_text(repeat_key, field, KEY)
    subject = find_subject(conn, study, subject_key)
    return _open(
        conn,
        subject.id,
        key,
        origin="person",
        check_id=None,
        message=message,
        user=user,
        role=str(Role(role)),
        now=datetime.now(UTC),
    )


def transition(
    conn: Connection, query_id: int, action: str, *, text: str, user: str, role: Role | str
) -> QueryStatus:
    """``answer`` (open -> answered), ``close`` (any -> closed), ``reopen`` (answered -> open)."""
    required, target = NEXT_STATUS[action]
    check_text(text, "Query answer" if action == "answer" else "Query comment", QUERY)
    status = conn.scalar(select(Query.status).where(Query.id == query_id))
    if status is None:
        raise NotFoundError(f"No query {query_id}.")
    if (required is not None and status != required.value) or status == QueryStatus.CLOSED:
        raise InvalidInputError(f"Query {query_id} is {status}; it cannot be {action}ed.")
    now = datetime.now(UTC)
    # Only from the status read: a change that came in between (another person's close on
    # PostgreSQL's READ COMMITTED) leaves no row to update, and this one is refused.
    changed = conn.execute(
        update(Query)
        .where(Query.id == query_id, Query.status == status)
        .values(status=target.value, updated_at=now)
    )
    if changed.rowcount != 1:
        now_status = conn.scalar(select(Query.status).where(Query.id == query_id))
        raise QueryChangedError(
            f"Query {query_id} changed while you acted on it: it is now {now_status}. Nothing "
            "was saved; reload the page and try again."
        )
    conn.execute(
        insert(QueryMessage).values(
            query_id=query_id,
            action=action,
            text=text,
            username=user,
            role=str(Role(role)),
            recorded_at=now,
        )
    )
    return target


def list_queries(
    conn: Connection, study: str, subject_key: str, *, status: QueryStatus | None = None
) -> list[QueryInfo]:
    subject = find_subject(conn, study, subject_key)
    query = select(Query.__table__).where(Query.subject_id == subject.id)
    if status is not None:
        query = query.where(Query.status == status.value)
    out = []
    for q in conn.execute(query.order_by(Query.id)).mappings():
        key = ItemKey(*(q[c] for c in KEY_COLUMNS))
        out.append(
            QueryInfo(
                q["id"],
                key,
                QueryStatus(q["status"]),
                q["origin"],
                q["check_id"],
                q["message"],
                q["opened_by"],
                q["opened_at"],
            )
        )
    return out
