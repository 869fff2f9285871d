"""The conversations of queries: every message (open, answer, close, reopen) with who, role,
when, text and the status it left, read in one statement for a page of queries.

A monitor closes a query on what the investigator answered: the page that offers the close
shows the answer, so the whole thread is read here, not only the query's first message.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select

from storage.models import QueryMessage

__all__ = ["STATUS_AFTER", "ThreadMessage", "query_threads"]

STATUS_AFTER = {"open": "open", "answer": "answered", "close": "closed", "reopen": "open"}
"""The status a query is left in by each action of ``query_messages``."""

CHUNK = 500
"""Query ids per statement (well under every driver's bound-parameter limit)."""


@dataclass(frozen=True, slots=True)
class ThreadMessage:
    """One message of a query's conversation."""

    query_id: int
    action: str
    text: str
    username: str
    role: str
    recorded_at: datetime

    @property
    def status_after(self) -> str:
        return STATUS_AFTER.get(self.action, self.action)


def query_threads(
    conn: Connection, query_ids: Collection[int]
) -> dict[int, tuple[ThreadMessage, ...]]:
    """Query id -> its messages, oldest first (a query without messages is absent)."""
    ids = sorted(set(query_ids))
    threads: dict[int, list[ThreadMessage]] = {}
    columns = (
        QueryMessage.query_id,
        QueryMessage.action,
        QueryMessage.text,
        QueryMessage.username,
        QueryMessage.role,
        QueryMessage.recorded_at,
    )
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        rows = conn.execute(
            select(*columns)
            .where(QueryMessage.query_id.in_(chunk))
            .order_by(QueryMessage.query_id, QueryMessage.id)
        )
        for row in rows:
            threads.setdefault(row[0], []).append(ThreadMessage(*row))
    return {qid: tuple(messages) for qid, messages in threads.items()}
