"""A query changed while a user acted on it: 409 with what happened, nothing saved (issue 14,
finding 14)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, text

from odm_engine.clinical import ItemKey
from storage.engine import write_transaction
from storage.queries import open_query
from tests.webapp.conftest import SUBJECT_A, Web

WEIGHT = ItemKey("SE.DCV", "", "F.DM", "", "IG.VS", "", "IT.VS_WEIGHT")


def test_an_answer_to_a_query_closed_meanwhile_is_a_409_and_saves_nothing(web: Web) -> None:
    with write_transaction(web.engine) as conn:
        query_id = open_query(
            conn,
            study="ST.BTZ_RETREAT",
            subject_key=SUBJECT_A,
            key=WEIGHT,
            message="Please confirm the weight.",
            user="mon_a",
            role="monitor",
        )
    inv = web.client("inv_a")
    url = f"/subjects/{SUBJECT_A}/queries/{query_id}"
    inv.get(f"/subjects/{SUBJECT_A}")  # a page, for the form token
    app_engine = web.app.extensions["edc"].engine
    fired: list[str] = []

    def close_meanwhile(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        # SQLite writers take turns (BEGIN IMMEDIATE): the monitor's close is written on the
        # answering connection, after it read "open" and before its UPDATE
        if statement.startswith("UPDATE queries") and not fired:
            fired.append(statement)
            conn.connection.driver_connection.execute(
                "UPDATE queries SET status = 'closed' WHERE id = ?", (query_id,)
            )

    event.listen(app_engine, "before_cursor_execute", close_meanwhile)
    try:
        r = inv.post(url, {"action": "answer", "text": "Checked: 250 kg."})
    finally:
        event.remove(app_engine, "before_cursor_execute", close_meanwhile)
    assert fired
    assert r.status_code == 409
    assert (
        f"Query {query_id} changed while you acted on it: it is now closed. Nothing was saved; "
        "reload the page and try again." in r.text
    )
    with web.engine.connect() as conn:
        actions = conn.execute(
            text("SELECT action FROM query_messages WHERE query_id = :id"), {"id": query_id}
        ).all()
    assert [a for (a,) in actions] == ["open"]
