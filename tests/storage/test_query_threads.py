"""Query threads (issue 18): every message of a query read back; a check's query closes
itself, attributed to the system, when a later save makes the value pass; bulk close."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from odm_engine.clinical import ItemKey
from storage.engine import write_transaction
from storage.errors import InvalidInputError
from storage.models import Role
from storage.queries import SYSTEM_ROLE, SYSTEM_USER, close_queries, open_query, transition
from storage.readers.query_threads import query_threads
from tests.storage.conftest import INVESTIGATOR, MANAGER, MONITOR
from tests.storage.helpers import queries_of, save


def dm(**items: str | None) -> dict[tuple[str, str, str], str | None]:
    return {("IG.DM", "", f"IT.{k.upper()}"): v for k, v in items.items()}


def threads(engine: Engine) -> dict[int, list[tuple[str, str, str, str]]]:
    ids = [q.id for q in queries_of(engine)]
    with engine.connect() as conn:
        found = query_threads(conn, ids)
    return {
        qid: [(m.action, m.username, m.role, m.status_after) for m in messages]
        for qid, messages in found.items()
    }


def test_the_thread_holds_every_message_with_the_status_it_left(study: Engine) -> None:
    save(study, dm(age="40", weight="250"), version=0)
    (query,) = queries_of(study)
    with write_transaction(study) as conn:
        transition(
            conn, query.id, "answer", text="Scale ok", user=INVESTIGATOR, role="investigator"
        )
        transition(conn, query.id, "reopen", text="Re-weigh", user=MONITOR, role="monitor")
    with study.connect() as conn:
        (messages,) = query_threads(conn, [query.id]).values()
    assert [(m.action, m.text, m.status_after) for m in messages] == [
        ("open", "Weight of 200 kg or more: please confirm.", "open"),
        ("answer", "Scale ok", "answered"),
        ("reopen", "Re-weigh", "open"),
    ]
    assert messages[1].username == INVESTIGATOR and messages[2].role == "monitor"


def test_a_check_query_closes_itself_when_the_value_passes(study: Engine) -> None:
    """Closed by the system in the save's transaction, not by the investigator who saved."""
    save(study, dm(age="40", weight="250"), version=0)
    save(study, dm(age="41"), version=1, reason="Typo")  # weight still fails: stays open
    (query,) = queries_of(study)
    assert query.status == "open"
    save(study, dm(weight="80"), version=2, reason="Re-weighed")
    (query,) = queries_of(study)
    assert query.status == "closed"
    assert threads(study)[query.id] == [
        ("open", INVESTIGATOR, "investigator", "open"),
        ("close", SYSTEM_USER, SYSTEM_ROLE, "closed"),
    ]
    again = save(study, dm(weight="300"), version=3, reason="Wrong patient")
    assert len(again.queries_opened) == 1  # a new query: the closed one is never reused


def test_a_persons_query_is_not_closed_by_a_save(study: Engine) -> None:
    save(study, dm(age="40"), version=0)
    with write_transaction(study) as conn:
        open_query(
            conn,
            study="S.1",
            subject_key="001",
            key=ItemKey("SE.SCREEN", "", "F.DM", "", "IG.DM", "", "IT.AGE"),
            message="Source says 41",
            user=MONITOR,
            role=Role.MONITOR,
        )
    save(study, dm(age="41"), version=1, reason="Source")
    assert [q.status for q in queries_of(study)] == ["open"]


def test_bulk_close_audits_each_query_and_refuses_a_closed_one_whole(study: Engine) -> None:
    save(study, dm(age="40", weight="250"), version=0)
    with write_transaction(study) as conn:
        open_query(
            conn,
            study="S.1",
            subject_key="001",
            key=ItemKey("SE.SCREEN", "", "F.DM", "", "IG.DM", "", "IT.AGE"),
            message="Source says 41",
            user=MONITOR,
            role=Role.MONITOR,
        )
    ids = [q.id for q in queries_of(study)]
    assert len(ids) == 2
    with write_transaction(study) as conn:
        assert (
            close_queries(conn, ids, text="Confirmed at SDV", user=MANAGER, role=Role.DATA_MANAGER)
            == ids
        )
    assert {q.status for q in queries_of(study)} == {"closed"}
    assert all(t[-1][:3] == ("close", MANAGER, "data_manager") for t in threads(study).values())
    with pytest.raises(InvalidInputError), write_transaction(study) as conn:
        close_queries(conn, ids, text="again", user=MANAGER, role=Role.DATA_MANAGER)


def test_the_system_is_a_user_of_the_export_and_no_account_can_take_its_name(
    study: Engine,
) -> None:
    """The audit export's UserRef of an automatic close resolves to an AdminData User."""
    from storage.export_records import admin_data
    from storage.users import add_user

    with study.connect() as conn:
        assert SYSTEM_USER not in admin_data(conn, "S.1").users
    save(study, dm(age="40", weight="250"), version=0)
    save(study, dm(weight="80"), version=1, reason="Re-weighed")
    with study.connect() as conn:
        system = admin_data(conn, "S.1").users[SYSTEM_USER]
    assert system.oid == system.login_name == "system"
    for name in ("system", "System", " system "):
        with pytest.raises(InvalidInputError, match="reserved"), write_transaction(study) as conn:
            add_user(conn, name, "Copper-Meadow-56-x")
