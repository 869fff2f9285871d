"""A query's status changes only from the status its change read (issue 14, finding 14): two
people acting on one query at once never leave a closed query answered."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, event, text

from odm_engine.clinical import ItemKey
from storage.engine import write_transaction
from storage.errors import QueryChangedError
from storage.models import QueryStatus, Role
from storage.queries import open_query, transition
from tests.storage.conftest import INVESTIGATOR, MONITOR, Db
from tests.storage.helpers import queries_of

AGE = ItemKey("SE.SCREEN", "", "F.DM", "", "IG.DM", "", "IT.AGE")


def _open(engine: Engine) -> int:
    with write_transaction(engine) as conn:
        return open_query(
            conn,
            study="S.1",
            subject_key="001",
            key=AGE,
            message="Please confirm the age.",
            user=MONITOR,
            role=Role.MONITOR,
        )


def _before_update_of_queries(conn: Connection, run: Callable[[], None]) -> list[str]:
    """Call ``run`` once, just before ``conn`` sends its first UPDATE of ``queries``: after
    the status was read, before it is written."""
    fired: list[str] = []

    def hook(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.startswith("UPDATE queries") and not fired:
            fired.append(statement)
            run()

    event.listen(conn, "before_cursor_execute", hook)
    return fired


def _messages(engine: Engine, query_id: int) -> list[str]:
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT action FROM query_messages WHERE query_id = :id ORDER BY id"),
            {"id": query_id},
        )
        return [r[0] for r in rows]


def test_an_answer_racing_a_close_is_refused_and_the_query_stays_closed(
    db: Db, study: Engine
) -> None:
    """The investigator's answer read "open"; the monitor closes the query before the answer
    is written. PostgreSQL: the close commits on a second connection (READ COMMITTED lets
    the answer's transaction see it). SQLite: the answer's BEGIN IMMEDIATE holds the
    database, so no second connection can commit in between; the close is written on the
    answer's own connection at that moment instead, the same row change seen by the UPDATE."""
    query_id = _open(study)

    def close_meanwhile() -> None:
        if db.kind == "postgresql":
            with write_transaction(study) as other:
                transition(other, query_id, "close", text="Fine.", user=MONITOR, role="monitor")
        else:
            driver = answering.connection.driver_connection
            driver.execute("UPDATE queries SET status = 'closed' WHERE id = ?", (query_id,))

    with pytest.raises(QueryChangedError) as refused:
        with write_transaction(study) as answering:
            fired = _before_update_of_queries(answering, close_meanwhile)
            transition(
                answering,
                query_id,
                "answer",
                text="Age is 42.",
                user=INVESTIGATOR,
                role="investigator",
            )
    assert fired
    assert str(refused.value) == (
        f"Query {query_id} changed while you acted on it: it is now closed. Nothing was saved; "
        "reload the page and try again."
    )
    if db.kind == "postgresql":
        assert [q.status for q in queries_of(study)] == [QueryStatus.CLOSED]
        assert _messages(study, query_id) == ["open", "close"]
    else:  # the stand-in close went with the refused transaction
        assert [q.status for q in queries_of(study)] == [QueryStatus.OPEN]
        assert _messages(study, query_id) == ["open"]


def test_two_closes_at_once_leave_one_close_message(db: Db, study: Engine) -> None:
    if db.kind != "postgresql":
        pytest.skip("SQLite writers take turns from BEGIN IMMEDIATE: the race needs PostgreSQL")
    query_id = _open(study)

    def close_meanwhile() -> None:
        with write_transaction(study) as other:
            transition(other, query_id, "close", text="First.", user=MONITOR, role="monitor")

    with pytest.raises(QueryChangedError), write_transaction(study) as second:
        _before_update_of_queries(second, close_meanwhile)
        transition(second, query_id, "close", text="Second.", user=MONITOR, role="monitor")
    assert _messages(study, query_id) == ["open", "close"]
    assert [q.status for q in queries_of(study)] == [QueryStatus.CLOSED]


def test_status_changes_in_turn_still_work(study: Engine) -> None:
    query_id = _open(study)
    for action, user, role in (
        ("answer", INVESTIGATOR, "investigator"),
        ("reopen", MONITOR, "monitor"),
        ("answer", INVESTIGATOR, "investigator"),
        ("close", MONITOR, "monitor"),
    ):
        with write_transaction(study) as conn:
            transition(conn, query_id, action, text=f"{action}.", user=user, role=role)
    assert _messages(study, query_id) == ["open", "answer", "reopen", "answer", "close"]
    with pytest.raises(ValueError, match="is closed; it cannot be answered"):
        with write_transaction(study) as conn:
            transition(conn, query_id, "answer", text="x", user=INVESTIGATOR, role="investigator")
