"""The query list (issue 18): the latest message of each query with its conversation one
click away, filters by site, subject, form, status, age and who raised it (each value checked
strictly, 400 otherwise), and a data manager's bulk close with one comment, each close
audited as a message of its query."""

from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest
from sqlalchemy import text

from odm_engine.clinical import ItemKey
from storage.engine import write_transaction
from storage.queries import open_query
from tests.webapp.conftest import STUDY, SUBJECT_A, SUBJECT_B, Web
from tests.webapp.test_query_threads import BACK, WEIGHT_QUESTION, weight_query

ROW = re.compile(r'<tr data-query="(\d+)">')
IE = ItemKey("SE.ELIG", "", "F.IE", "", "IG.IE_IN", "", "IT.IE_IN01")


def ids(html: str) -> list[int]:
    return sorted(int(i) for i in ROW.findall(html))


@pytest.fixture
def three(web: Web) -> dict[str, int]:
    """A check's query on subject A's weight (answered by the investigator), a monitor's
    query on A's eligibility and a data manager's on B's (opened 10 days ago)."""
    check = weight_query(web)
    inv = web.client("inv_a")
    answer = {**BACK, "action": "answer", "text": "Checked: 250 kg on the ward scale."}
    assert inv.post(f"/subjects/{SUBJECT_A}/queries/{check}", answer).status_code == 303
    with write_transaction(web.engine) as conn:
        person_a = open_query(conn, study=STUDY, subject_key=SUBJECT_A, key=IE,
                              message="Source?", user="mon_a", role="monitor")  # fmt: skip
        person_b = open_query(conn, study=STUDY, subject_key=SUBJECT_B, key=IE,
                              message="Old one", user="dm", role="data_manager")  # fmt: skip
        conn.execute(
            text("UPDATE queries SET opened_at = :at WHERE id = :id"),
            {"at": "2000-01-01 00:00:00.000000", "id": person_b},
        )
    return {"check": check, "a": person_a, "b": person_b}


def listed(web: Web, user: str = "dm", **args: str) -> list[int]:
    r = web.client(user).get("/queries?" + urlencode(args))
    assert r.status_code == 200, r.text
    return ids(r.text)


def test_the_latest_message_shows_and_the_thread_is_one_click_away(
    web: Web, three: dict[str, int]
) -> None:
    page = web.client("dm").get("/queries?status=all").text
    row = page[page.index(f'<tr data-query="{three["check"]}">') :]
    row = row[: row.index("</tr>")]
    cells = re.findall(r"<td>([^<]*)</td>", row)
    assert cells[2].endswith(f": {WEIGHT_QUESTION}") and " › " in cells[2], cells
    assert "IT.VS_WEIGHT" not in cells[2]
    latest = row[row.index('<td class="latest">') :]
    assert "inv_a (Investigator)" in latest and "answered: <span" in latest
    assert "Checked: 250 kg on the ward scale." in latest
    details = latest[latest.index("<details>") : latest.index("</details>")]
    assert "Conversation (2 messages)" in details
    assert re.findall(r'data-action="(\w+)"', details) == ["open", "answer"]


def test_each_filter_narrows_the_list(web: Web, three: dict[str, int]) -> None:
    check, a, b = three["check"], three["a"], three["b"]
    assert listed(web, status="all") == sorted([check, a, b])
    assert listed(web, status="answered") == [check]
    assert listed(web, status="open") == sorted([a, b])
    assert listed(web, status="all", site="LOC.AT01") == [b]
    assert listed(web, status="all", subject=SUBJECT_A) == sorted([check, a])
    assert listed(web, status="all", form="F.IE") == sorted([a, b])
    assert listed(web, status="all", raised_by="check") == [check]
    assert listed(web, status="all", raised_by="person") == sorted([a, b])
    assert listed(web, status="all", older_than="5") == [b]
    assert listed(web, status="all", older_than="0") == sorted([check, a, b])
    assert listed(web, status="all", subject="DE01-999") == []
    # the monitor of site A sees site A only, and may not ask for site B
    assert listed(web, "mon_a", status="all") == sorted([check, a])
    assert web.client("mon_a").get("/queries?site=LOC.AT01").status_code == 400


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("site", "LOC.XX01"),
        ("form", "F.NOPE"),
        ("form", "f.ie"),
        ("raised_by", "robot"),
        ("older_than", "-1"),
        ("older_than", "3651"),
        ("older_than", "1.5"),
        ("older_than", "١٢"),  # Arabic-Indic digits: not [0-9]
        ("subject", "DE01-001\x07"),
        ("subject", "x" * 101),
        ("status", "Open"),
    ],
)
def test_a_filter_value_outside_its_allow_list_or_form_is_a_400(
    web: Web, name: str, value: str
) -> None:
    r = web.client("dm").get("/queries?" + urlencode({name: value}))
    assert r.status_code == 400
    assert f"Unknown value for {name}" in r.text or name == "status"


def messages_of(web: Web, query_id: int) -> list[tuple[str, str, str, str]]:
    with web.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT action, text, username, role FROM query_messages WHERE query_id = :q "
                "ORDER BY id"
            ),
            {"q": query_id},
        ).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def test_bulk_close_by_a_data_manager_audits_each_query(web: Web, three: dict[str, int]) -> None:
    dm = web.client("dm")
    page = dm.get("/queries?status=all").text
    boxes = re.findall(r'<input type="checkbox" name="query" value="(\d+)"', page)
    assert sorted(int(b) for b in boxes) == sorted(three.values())
    assert 'id="bulk-text" name="text" rows="2" required' in page
    chosen = [str(three["check"]), str(three["b"])]
    # no comment, no selection, a malformed id: 400 and nothing closed
    assert dm.post("/queries/close", {"query": chosen, "text": " "}).status_code == 400
    assert dm.post("/queries/close", {"text": "Fine"}).status_code == 400
    assert dm.post("/queries/close", {"query": ["1 OR 1=1"], "text": "Fine"}).status_code == 400
    assert dm.post("/queries/close", {"query": ["999999"], "text": "Fine"}).status_code == 404
    r = dm.post("/queries/close", {"query": chosen, "text": "Confirmed at the data review."})
    assert r.status_code == 303 and "closed=2" in r.headers["Location"]
    assert "2 queries closed." in dm.get(r.headers["Location"]).text
    for qid in (three["check"], three["b"]):
        assert messages_of(web, qid)[-1] == (
            "close",
            "Confirmed at the data review.",
            "dm",
            "data_manager",
        )
    assert listed(web, status="open") == [three["a"]]
    # one of them closed already: the whole batch is refused, nothing written
    before = messages_of(web, three["a"])
    both = [str(three["a"]), str(three["b"])]
    assert dm.post("/queries/close", {"query": both, "text": "Again"}).status_code == 409
    assert messages_of(web, three["a"]) == before


def test_monitors_and_investigators_may_not_bulk_close(web: Web, three: dict[str, int]) -> None:
    for user in ("mon_a", "inv_a"):
        client = web.client(user)
        assert 'name="query"' not in client.get("/queries?status=all").text
        r = client.post("/queries/close", {"query": [str(three["a"])], "text": "Fine"})
        assert r.status_code == 403
    assert listed(web, status="open") == sorted([three["a"], three["b"]])
