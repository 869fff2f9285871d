"""Queries as a conversation (issue 18): the whole thread next to the item, a close or
reopen needs a comment, and a check's query closes itself (by the system) once a later save
makes the value pass, so no warning stays next to the corrected value."""

from __future__ import annotations

import re

from sqlalchemy import text

from tests.webapp.conftest import SUBJECT_A, Web
from tests.webapp.helpers import DEMOGRAPHICS, ELIG, ELIGIBLE

A_DM = DEMOGRAPHICS.format(key=SUBJECT_A)
A_ELIG = ELIG.format(key=SUBJECT_A)
BACK = {"event_oid": "SE.DCV", "form_oid": "F.DM"}
WEIGHT_QUESTION = "Body weight at the start of second-line bortezomib"
WARNING = "Weight is outside the plausible range of 30 to 200 kg."


def weight_query(web: Web) -> int:
    """The investigator saves a weight of 250 kg: the soft check opens a query."""
    inv = web.client("inv_a")
    assert inv.post(A_ELIG, {**ELIGIBLE, "expected_version": "0"}).status_code == 303
    r = inv.post(A_DM, {"IG.VS[].IT.VS_WEIGHT": "250", "expected_version": "0"})
    assert r.status_code == 303 and "opened=1" in r.headers["Location"]
    page = inv.get(A_DM).text
    return int(re.search(r'data-query="(\d+)" class="query-open"', page).group(1))  # type: ignore[union-attr]


def thread_of(html: str, query_id: int) -> str:
    row = html[html.index(f'data-query="{query_id}"') :]
    row = row[: row.index("</tr>")]
    return row[row.index('<ol class="query-thread">') : row.index("</ol>")]


def messages(web: Web, query_id: int) -> list[tuple[str, str, str, str]]:
    with web.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT action, text, username, role FROM query_messages WHERE query_id = :q "
                "ORDER BY id"
            ),
            {"q": query_id},
        ).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def test_the_monitor_sees_the_answer_and_closes_with_a_comment(web: Web) -> None:
    qid = weight_query(web)
    inv = web.client("inv_a")
    url = f"/subjects/{SUBJECT_A}/queries/{qid}"
    answer = {**BACK, "action": "answer", "text": "Checked: 250 kg on the ward scale."}
    assert inv.post(url, answer).status_code == 303
    mon = web.client("mon_a")
    page = mon.get(A_DM).text
    # the item by its question, never by OIDs (SE.DCV/F.DM/IG.VS/IT.VS_WEIGHT)
    assert f"<td>{qid}</td><td>{WEIGHT_QUESTION}</td>" in page
    thread = thread_of(page, qid)
    items = re.findall(r"<li data-action=\"(\w+)\"><span class=\"who\">([^<]*)</span>", thread)
    assert items == [("open", "inv_a (Investigator)"), ("answer", "inv_a (Investigator)")]
    assert "Checked: 250 kg on the ward scale." in thread and "(now answered)" in thread
    assert re.search(
        r"<time datetime=\"[^\"]+\">\d\d [A-Z][a-z]{2} \d{4}, \d\d:\d\d UTC</time>", thread
    )
    # the close and the reopen each ask for a comment, in the page and at the server
    page = mon.get(A_DM).text
    assert re.search(
        r'<input name="text" aria-label="Comment \(required\)"[^>]*required>'
        r'<button type="submit" name="action" value="close">',
        page,
    )
    assert mon.post(url, {**BACK, "action": "reopen", "text": "  "}).status_code == 400
    assert mon.post(url, {**BACK, "action": "reopen", "text": "Which scale?"}).status_code == 303
    assert inv.post(url, {**BACK, "action": "answer", "text": "Calibrated."}).status_code == 303
    assert mon.post(url, {**BACK, "action": "close", "text": ""}).status_code == 400
    assert mon.post(url, {**BACK, "action": "close", "text": "Source agrees."}).status_code == 303
    assert [(a, t, u) for a, t, u, _ in messages(web, qid)][1:] == [
        ("answer", "Checked: 250 kg on the ward scale.", "inv_a"),
        ("reopen", "Which scale?", "mon_a"),
        ("answer", "Calibrated.", "inv_a"),
        ("close", "Source agrees.", "mon_a"),
    ]
    thread = thread_of(mon.get(A_DM).text, qid)
    assert "mon_a (Monitor)" in thread and "Source agrees." in thread
    assert thread.rstrip().endswith("(now closed)</span></li>")


def test_the_thread_speaks_the_users_language(web: Web) -> None:
    qid = weight_query(web)
    mon = web.client("mon_a", Accept_Language="de")
    thread = thread_of(mon.get(A_DM).text, qid)
    assert "inv_a (Prüfarzt)" in thread and "eröffnet" in thread
    assert re.search(r"\d\d\.\d\d\.\d{4}, \d\d:\d\d UTC</time>", thread)


def test_a_corrected_value_closes_the_checks_query_by_the_system(web: Web) -> None:
    qid = weight_query(web)
    inv = web.client("inv_a")
    field = inv.get(A_DM).text
    assert WARNING in field[field.index('data-field="IG.VS[].IT.VS_WEIGHT"') :]
    change = {"IG.VS[].IT.VS_WEIGHT": "82", "expected_version": "1", "reason": "Typo: 82 kg"}
    r = inv.post(A_DM, change)
    assert r.status_code == 303, r.text
    page = inv.get(A_DM).text
    assert f'data-query="{qid}" class="query-closed"' in page
    assert (
        WARNING not in page[page.index('data-field="IG.VS[].IT.VS_WEIGHT"') : page.index("</form>")]
    )
    (*_, closed) = messages(web, qid)
    assert closed[0] == "close" and closed[2:] == ("system", "system")
    assert "System (automatic)" in thread_of(page, qid)


def counts(web: Web) -> tuple[int, int, int]:
    with web.engine.connect() as conn:
        return tuple(  # type: ignore[return-value]
            int(conn.scalar(text(f"SELECT count(*) FROM {t}")) or 0)
            for t in ("item_data", "audit_trail", "queries")
        )


def test_complete_on_a_near_empty_form_is_refused_without_a_query_storm(web: Web) -> None:
    """Required items left empty block "Save and mark complete": shown next to their fields,
    nothing saved, no query opened; "Save" keeps the form in progress."""
    inv = web.client("inv_a")
    assert inv.post(A_ELIG, {**ELIGIBLE, "expected_version": "0"}).status_code == 303
    before = counts(web)
    almost_empty = {"IG.VS[].IT.VS_HEIGHT": "170", "expected_version": "0", "action": "complete"}
    r = inv.post(A_DM, almost_empty)
    assert r.status_code == 422 and counts(web) == before
    assert "Not marked complete, and nothing was saved: required items are empty" in r.text
    sex = r.text[r.text.index('data-field="IG.DM[].IT.DM_SEX"') :]
    assert "is required. Enter a value or give the reason it is missing." in sex[:2000]
    assert 'value="170"' in r.text  # what was typed stays in the form
    saved = inv.post(A_DM, {**almost_empty, "action": "save"})
    assert saved.status_code == 303 and "opened=0" in saved.headers["Location"]
    assert counts(web)[2] == before[2]
