"""Query conversations as the pages show them: each message with who (and in what role), when
(in the user's language), what was written and the status it left the query in.

A monitor decides to close on the investigator's answer, so every page that offers the close
shows the thread (issue 18): the form next to its item, the query list, the casebook.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import g

from odm_engine.clinical import ItemKey
from storage.engine import Connection
from storage.queries import SYSTEM_ROLE
from storage.readers.query_threads import ThreadMessage, query_threads
from webapp.casebook import numbered
from webapp.studyview import StudyContext


@dataclass(frozen=True, slots=True)
class MessageShown:
    action: str
    """``open``, ``answer``, ``close`` or ``reopen`` (``qthread.action.*``)."""
    who: str
    role: str
    """The role's name in the user's language ("automatic" for the system's closes)."""
    at: datetime
    when: str
    text: str
    status: str
    """The status the message left the query in (``qstatus.*``)."""


def when_text(at: datetime) -> str:
    """``07 Dec 2026, 11:28 UTC`` (English), ``07.12.2026, 11:28 UTC`` (German)."""
    aware = at if at.tzinfo else at.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime(g.t("qthread.when_format"))


def _role_name(role: str) -> str:
    if role == SYSTEM_ROLE:
        return str(g.t("qthread.automatic"))
    key = "role." + role
    return str(g.t(key)) if g.t.has(key) else role


def shown(message: ThreadMessage) -> MessageShown:
    return MessageShown(
        message.action,
        g.t("qthread.system") if message.role == SYSTEM_ROLE else message.username,
        _role_name(message.role),
        message.recorded_at,
        when_text(message.recorded_at),
        message.text,
        message.status_after,
    )


def threads_shown(
    conn: Connection, query_ids: Collection[int]
) -> dict[int, tuple[MessageShown, ...]]:
    """Query id -> its messages as shown, oldest first."""
    return {
        qid: tuple(shown(m) for m in messages)
        for qid, messages in query_threads(conn, query_ids).items()
    }


def item_label(study: StudyContext, key: ItemKey, lang: str, *, with_form: bool = True) -> str:
    """The item a query is about as people read it: "Baseline › Demographics: Body weight
    (row 2)", by question text and position, never by OIDs (an OID only stands in for a
    definition the study's version lacks). ``with_form=False``: the question alone (on the
    form's own page)."""
    item = study.mdv.item_defs.get(key.item_oid)
    question = (study.text(item.question, lang) or item.name) if item else key.item_oid
    if key.item_group_repeat_key:
        question += f" ({g.t('qlist.row', n=key.item_group_repeat_key)})"
    if not with_form:
        return question
    event = study.mdv.study_event_defs.get(key.study_event_oid)
    event_name = study.event_name(event, lang) if event else key.study_event_oid
    form_name = study.form_name(key.form_oid, lang)
    return (
        f"{numbered(event_name, key.study_event_repeat_key)} › "
        f"{numbered(form_name, key.form_repeat_key)}: {question}"
    )
