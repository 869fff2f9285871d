"""Form entry end to end through the Flask test client: save, hard and soft checks, reason
for change, stale saves, the eligibility gate, item history, SDV, lock and signatures."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from cli import main
from tests.webapp.conftest import PASSWORD, SUBJECT_A, Web
from tests.webapp.helpers import CONSENT, DEMOGRAPHICS, ELIG, ELIGIBLE, rows

A_ELIG = ELIG.format(key=SUBJECT_A)
A_CONSENT = CONSENT.format(key=SUBJECT_A)
A_DM = DEMOGRAPHICS.format(key=SUBJECT_A)


def version_of(html: str) -> int:
    return int(re.search(r'name="expected_version" value="(\d+)"', html).group(1))  # type: ignore[union-attr]


def test_save_then_reload_shows_values_and_eligibility_is_derived(web: Web) -> None:
    inv = web.client("inv_a")
    assert version_of(inv.get(A_ELIG).text) == 0
    r = inv.post(A_ELIG, {**ELIGIBLE, "expected_version": "0", "action": "save"})
    assert r.status_code == 303 and "saved=1" in r.headers["Location"]
    page = inv.get(A_ELIG).text
    assert version_of(page) == 1
    assert re.search(r'name="IG.IE_IN\[\].IT.IE_IN01" value="Y" checked', page)
    assert 'name="IG.IE_RES[].IT.IE_ELIG" value="Y" readonly' in page
    assert "Reason for change" in page  # saved once: changes now need a reason


def test_hard_error_shown_next_to_field_and_nothing_written(web: Web) -> None:
    """ODM 1.3.2 §3.1.4.2 RangeCheck SoftHard="Hard": the save is refused as a whole."""
    inv = web.client("inv_a")
    before = rows(web.engine)
    r = inv.post(A_CONSENT, {"IG.IC[].IT.IC_REQ": "Y", "expected_version": "0"})
    assert r.status_code == 422
    assert rows(web.engine) == before
    html = r.text
    assert "Nothing was saved" in html
    field = html[html.index('data-field="IG.IC[].IT.IC_REQ"') :]
    assert "enter the date the patient signed the consent form" in field[: field.index("</ul>")]
    assert re.search(r'name="IG.IC\[\].IT.IC_REQ" value="Y" checked', html)  # entry kept


def test_date_entry_is_normalised_and_a_bad_date_is_refused(web: Web) -> None:
    inv = web.client("inv_a")
    before = rows(web.engine)
    bad = {"IG.IC[].IT.IC_REQ": "Y", "IG.IC[].IT.IC_DAT": "32-MAR-2024", "expected_version": "0"}
    r = inv.post(A_CONSENT, bad)
    assert r.status_code == 422 and rows(web.engine) == before
    assert "32-MAR-2024" in r.text
    good = {**bad, "IG.IC[].IT.IC_DAT": "15-mar-2024"}
    assert inv.post(A_CONSENT, good).status_code == 303
    assert 'value="2024-03-15"' in inv.get(A_CONSENT).text


def eligible(web: Web) -> None:
    inv = web.client("inv_a")
    assert inv.post(A_ELIG, {**ELIGIBLE, "expected_version": "0"}).status_code == 303


def test_soft_check_saves_and_opens_a_query_the_investigator_answers(web: Web) -> None:
    eligible(web)
    inv = web.client("inv_a")
    values, audit, queries = rows(web.engine)
    r = inv.post(A_DM, {"IG.VS[].IT.VS_WEIGHT": "250", "expected_version": "0"})
    assert r.status_code == 303 and "opened=1" in r.headers["Location"]
    after = rows(web.engine)
    assert after[0] == values + 1 and after[2] == queries + 1 and after[1] > audit
    page = inv.get(r.headers["Location"]).text
    assert "Queries opened: 1" in page
    qid = re.search(r'data-query="(\d+)" class="query-open"', page).group(1)  # type: ignore[union-attr]
    url = f"/subjects/{SUBJECT_A}/queries/{qid}"
    back = {"event_oid": "SE.DCV", "form_oid": "F.DM"}
    assert (
        inv.post(url, {**back, "action": "answer", "text": "Checked: 250 kg."}).status_code == 303
    )
    assert 'class="query-answered"' in inv.get(A_DM).text
    assert inv.post(url, {**back, "action": "close", "text": ""}).status_code == 403
    mon = web.client("mon_a")
    assert mon.post(url, {**back, "action": "close", "text": ""}).status_code == 400
    assert mon.post(url, {**back, "action": "close", "text": "Agreed"}).status_code == 303
    assert 'class="query-closed"' in mon.get(A_DM).text
    assert "250 kg" not in mon.get("/queries?status=open").text
    assert mon.get("/queries?status=bogus").status_code == 400


def test_change_after_first_save_needs_a_reason(web: Web) -> None:
    eligible(web)
    inv = web.client("inv_a")
    change = {**ELIGIBLE, "IG.IE_EX[].IT.IE_EX01": "N", "IG.IE_IN[].IT.IE_IN07": "Y"}
    change["IG.IE_EX[].IT.IE_EX03"] = "N"
    change["IG.IE_IN[].IT.IE_IN01"] = "Y"
    assert inv.post(A_ELIG, {**change, "expected_version": "1"}).status_code == 303  # no change
    before = rows(web.engine)
    dm = {"IG.VS[].IT.VS_HEIGHT": "170", "expected_version": "0"}
    assert inv.post(A_DM, dm).status_code == 303
    changed = {"IG.VS[].IT.VS_HEIGHT": "171", "expected_version": "1"}
    r = inv.post(A_DM, changed)
    assert r.status_code == 422 and "give a reason for the change" in r.text
    assert 'value="171"' in r.text
    assert rows(web.engine)[0] == before[0] + 1
    r = inv.post(A_DM, {**changed, "reason": "Transcription error"})
    assert r.status_code == 303
    history = inv.get(
        f"/subjects/{SUBJECT_A}/SE.DCV/F.DM/history?field=IG.VS%5B%5D.IT.VS_HEIGHT"
    ).text
    assert "Transcription error" in history and "170" in history and "171" in history


def test_stale_save_shows_who_changed_what_and_writes_nothing(web: Web) -> None:
    eligible(web)
    inv, dm = web.client("inv_a"), web.client("dm")
    assert (
        inv.post(A_DM, {"IG.VS[].IT.VS_HEIGHT": "170", "expected_version": "0"}).status_code == 303
    )
    mine = inv.get(A_DM)  # the investigator opens version 1 ...
    assert version_of(mine.text) == 1
    theirs = {"IG.VS[].IT.VS_HEIGHT": "180", "expected_version": "1", "reason": "Source check"}
    assert dm.post(A_DM, theirs).status_code == 303  # ... the data manager saves version 2
    before = rows(web.engine)
    stale = {"IG.VS[].IT.VS_HEIGHT": "175", "expected_version": "1", "reason": "mine"}
    r = inv.post(A_DM, stale)
    assert r.status_code == 409
    assert rows(web.engine) == before
    assert "Changed since you opened the form" in r.text
    conflict = r.text[r.text.index('class="alert error conflict"') :]
    assert "dm (data_manager)" in conflict and "180" in conflict
    assert version_of(r.text) == 2 and 'value="180"' in r.text


def test_not_eligible_gate_in_casebook_and_on_post(web: Web) -> None:
    inv = web.client("inv_a")
    casebook = inv.get(f"/subjects/{SUBJECT_A}").text
    dm_row = casebook[casebook.index('data-form="F.DM"') :]
    assert "not-available" in casebook[casebook.index('data-form="F.DM"') - 80 :][:200]
    assert "Not available:" in dm_row[: dm_row.index("</tr>")]
    assert "not (yet) confirmed eligible" in dm_row[: dm_row.index("</tr>")]
    page = inv.get(A_DM).text
    assert "Not available:" in page and 'name="expected_version"' not in page
    before = rows(web.engine)
    r = inv.post(A_DM, {"IG.VS[].IT.VS_HEIGHT": "170", "expected_version": "0"})
    assert r.status_code == 409 and "is not collected" in r.text
    assert rows(web.engine) == before
    eligible(web)
    assert 'name="expected_version"' in inv.get(A_DM).text


def test_not_eligible_answer_is_a_hard_error(web: Web) -> None:
    inv = web.client("inv_a")
    before = rows(web.engine)
    r = inv.post(A_ELIG, {**ELIGIBLE, "IG.IE_EX[].IT.IE_EX01": "Y", "expected_version": "0"})
    assert r.status_code == 422 and "must not be enrolled" in r.text
    assert rows(web.engine) == before


def test_monitor_reads_raises_query_and_verifies_but_cannot_enter(web: Web) -> None:
    eligible(web)
    mon = web.client("mon_a")
    page = mon.get(A_ELIG).text
    assert '<fieldset class="entry-body" disabled>' in page
    assert mon.post(A_ELIG, {**ELIGIBLE, "expected_version": "1"}).status_code == 403
    r = mon.post(
        f"/subjects/{SUBJECT_A}/queries",
        {
            "event_oid": "SE.ELIG",
            "form_oid": "F.IE",
            "field": "IG.IE_IN[].IT.IE_IN03",
            "message": "Please check the source.",
        },
    )
    assert r.status_code == 303
    assert "Please check the source. (open)" in web.client("inv_a").get(A_ELIG).text
    status = f"{A_ELIG}/status"
    assert mon.post(status, {"target": "verified", "expected_version": "1"}).status_code == 303
    assert "Verified (SDV)" in mon.get(A_ELIG).text
    assert mon.post(status, {"target": "locked", "expected_version": "2"}).status_code == 403


def test_data_manager_locks_and_a_locked_form_refuses_saves(web: Web) -> None:
    eligible(web)
    dm, inv = web.client("dm"), web.client("inv_a")
    assert (
        dm.post(f"{A_ELIG}/status", {"target": "locked", "expected_version": "1"}).status_code
        == 303
    )
    before = rows(web.engine)
    r = inv.post(A_ELIG, {**ELIGIBLE, "expected_version": "2", "reason": "x"})
    assert r.status_code == 409 and "locked" in r.text
    assert rows(web.engine) == before
    assert (
        dm.post(f"{A_ELIG}/status", {"target": "unlocked", "expected_version": "2"}).status_code
        == 303
    )


def test_signature_then_change_shows_the_signature_broken(web: Web) -> None:
    eligible(web)
    inv = web.client("inv_a")
    sign = inv.get(f"/subjects/{SUBJECT_A}/sign").text
    assert "I have reviewed the data in this casebook" in sign  # the SignatureDef's Meaning
    r = inv.post(f"/subjects/{SUBJECT_A}/sign", {"password": "wrong"})
    assert r.status_code == 422 and "wrong password" in r.text
    assert inv.post(f"/subjects/{SUBJECT_A}/sign", {"password": PASSWORD}).status_code == 303
    casebook = inv.get(f"/subjects/{SUBJECT_A}").text
    assert "Signed by inv_a" in casebook and "signature-valid" in casebook
    dm = {"IG.VS[].IT.VS_HEIGHT": "170", "expected_version": "0"}
    assert inv.post(A_DM, dm).status_code == 303
    assert inv.post(f"/subjects/{SUBJECT_A}/sign", {"password": PASSWORD}).status_code == 303
    changed = {"IG.VS[].IT.VS_HEIGHT": "171", "expected_version": "2", "reason": "Typo"}
    assert inv.post(A_DM, changed).status_code == 303
    casebook = inv.get(f"/subjects/{SUBJECT_A}").text
    assert "signature-broken" in casebook
    assert "Signature broken: signed by inv_a" in casebook
    assert "Signature broken" in inv.get(A_DM).text


def test_item_history_is_one_click_from_every_field(web: Web) -> None:
    eligible(web)
    inv = web.client("inv_a")
    page = inv.get(A_ELIG).text
    links = re.findall(r'<a class="history-link" href="([^"]+)"', page)
    assert len(links) == 11  # 7 inclusion, 3 exclusion, 1 derived
    history = inv.get(links[0].replace("&amp;", "&")).text
    assert "IT.IE_IN01" in history and "Insert" in history and "inv_a (investigator)" in history
    assert inv.get(f"{A_ELIG}/history?field=nonsense").status_code == 404


def test_an_item_that_becomes_not_collected_is_cleared(web: Web) -> None:
    """ODM 1.3.2 ItemRef CollectionExceptionConditionOID: hidden in the browser (its input is
    disabled, so not sent) and cleared on the server, with an audit row."""
    inv = web.client("inv_a")
    first = {"IG.IC[].IT.IC_REQ": "Y", "IG.IC[].IT.IC_DAT": "2024-03-15", "expected_version": "0"}
    assert inv.post(A_CONSENT, first).status_code == 303
    r = inv.post(
        A_CONSENT, {"IG.IC[].IT.IC_REQ": "N", "expected_version": "1", "reason": "Not required"}
    )
    assert r.status_code == 303
    page = inv.get(A_CONSENT).text
    assert "2024-03-15" not in page
    history = inv.get(f"{A_CONSENT}/history?field=IG.IC%5B%5D.IT.IC_DAT").text
    assert "Remove" in history and "Not required" in history


def test_the_unit_chosen_with_a_value_is_saved_shown_again_and_in_the_history(
    web: Web,
) -> None:
    """Albumin has two MeasurementUnitRefs (g/L, g/dL): the chosen one is stored with the
    value, selected when the form is opened again, and shown in the item's history."""
    eligible(web)
    inv = web.client("inv_a")
    url = f"/subjects/{SUBJECT_A}/SE.DCV/F.RF"
    form = {
        "IG.RF_LAB[].IT.RF_ALBST": "Y",
        "IG.RF_LAB[].IT.RF_ALB": "3.5",
        "IG.RF_LAB[].IT.RF_ALB:unit": "MU.G_DL",
        "expected_version": "0",
    }
    r = inv.post(url, form)
    assert r.status_code == 303, r.text[:2000]
    page = inv.get(url).text
    select = page[page.index('name="IG.RF_LAB[].IT.RF_ALB:unit"') :]
    select = select[: select.index("</select>")]
    assert re.search(r'<option value="MU.G_DL"[^>]*selected', select)
    assert not re.search(r'<option value="MU.G_L"[^>]*selected', select)
    history = inv.get(f"{url}/history?field=IG.RF_LAB%5B%5D.IT.RF_ALB").text
    assert "3.5 g/dL" in history
    bad = {**form, "IG.RF_LAB[].IT.RF_ALB:unit": "MU.KG", "expected_version": "1", "reason": "x"}
    before = rows(web.engine)
    r = inv.post(url, bad)
    assert r.status_code == 422 and rows(web.engine) == before
    assert "is not a unit of IT.RF_ALB" in r.text


def test_the_history_shows_the_source_systems_audit_of_an_imported_value(
    web: Web, tmp_path: Path
) -> None:
    data = tmp_path / "from-other-edc.xml"
    data.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<ODM xmlns="http://www.cdisc.org/ns/odm/v1.3" ODMVersion="1.3.2" FileOID="F.OTHER" '
        'FileType="Transactional" CreationDateTime="2026-01-01T00:00:00Z">'
        '<ClinicalData StudyOID="ST.BTZ_RETREAT" MetaDataVersionOID="MDV.BTZ_RETREAT.1">'
        f'<SubjectData SubjectKey="{SUBJECT_A}"><SiteRef LocationOID="LOC.DE01"/>'
        '<StudyEventData StudyEventOID="SE.ELIG"><FormData FormOID="F.IC">'
        '<ItemGroupData ItemGroupOID="IG.IC"><ItemData ItemOID="IT.IC_REQ" Value="N" '
        'TransactionType="Insert"><AuditRecord><UserRef UserOID="site.nurse"/>'
        '<LocationRef LocationOID="LOC.DE01"/><DateTimeStamp>2019-05-06T08:00:00Z'
        "</DateTimeStamp><ReasonForChange>Entered from the consent log</ReasonForChange>"
        "</AuditRecord></ItemData></ItemGroupData></FormData></StudyEventData>"
        "</SubjectData></ClinicalData></ODM>",
        encoding="utf-8",
    )
    result = CliRunner().invoke(main, ["import", str(data), "--user", "dm", "--db", web.url])
    assert result.exit_code == 0, result.output
    inv = web.client("inv_a")
    page = inv.get(A_CONSENT).text
    link = re.search(r'<a class="history-link" href="([^"]+IT.IC_REQ[^"]*)"', page)
    assert link is not None
    history = inv.get(link.group(1).replace("&amp;", "&")).text
    source = history[history.index('<table class="list source-history">') :]
    cells = re.findall(r"<td>([^<]*)</td>", source[: source.index("</table>")])
    assert cells[:6] == [
        "2019-05-06T08:00:00Z",
        "site.nurse",
        "LOC.DE01",
        "Insert",
        "N",
        "Entered from the consent log",
    ]
    assert cells[6].startswith("import:F.OTHER:")
    assert "Audit trail of the source system" in history
