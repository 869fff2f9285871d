"""The web save cannot be bent (issue 14): a value posted for a hidden item is not stored, an
unchanged "complete" undoes no verification, a non-repeating group or event takes no repeat
key. Through the Flask test client; storage-level twins in tests/storage/test_save_integrity.py
run on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import Engine, func, select

from storage.models import AuditRow, Form, ItemData, Query
from tests.webapp.conftest import SUBJECT_A, Web
from tests.webapp.helpers import CONSENT, ELIG, ELIGIBLE, rows

A_ELIG = ELIG.format(key=SUBJECT_A)
A_CONSENT = CONSENT.format(key=SUBJECT_A)


def item_rows(engine: Engine, item_oid: str) -> tuple[int, int]:
    """(item_data rows, audit rows) of one ItemOID."""
    with engine.connect() as conn:
        data = conn.scalar(
            select(func.count()).select_from(ItemData).where(ItemData.item_oid == item_oid)
        )
        audit = conn.scalar(
            select(func.count()).select_from(AuditRow).where(AuditRow.item_oid == item_oid)
        )
    return int(data or 0), int(audit or 0)


def form_status(engine: Engine, form_oid: str) -> str:
    with engine.connect() as conn:
        return str(conn.scalar(select(Form.status).where(Form.form_oid == form_oid)))


def test_a_value_posted_for_a_hidden_item_is_not_stored(web: Web) -> None:
    """ItemRef CollectionExceptionConditionOID C.IC_NOT_REQUIRED hides the consent date when
    consent is not required. A consent date in the future (a hard check) posted anyway is
    cleared by the server: no value, no audit row, no query."""
    inv = web.client("inv_a")
    posted = {
        "IG.IC[].IT.IC_REQ": "N",
        "IG.IC[].IT.IC_DAT": "2099-01-01",
        "expected_version": "0",
    }
    r = inv.post(A_CONSENT, posted)
    assert r.status_code == 303
    assert item_rows(web.engine, "IT.IC_DAT") == (0, 0)
    assert item_rows(web.engine, "IT.IC_REQ") == (1, 1)
    with web.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Query)) == 0
    assert "2099-01-01" not in inv.get(A_CONSENT).text


def test_a_hidden_value_posted_again_after_it_was_stored_is_removed_and_audited(
    web: Web,
) -> None:
    inv = web.client("inv_a")
    first = {"IG.IC[].IT.IC_REQ": "Y", "IG.IC[].IT.IC_DAT": "2024-03-15", "expected_version": "0"}
    assert inv.post(A_CONSENT, first).status_code == 303
    again = {**first, "IG.IC[].IT.IC_REQ": "N", "expected_version": "1", "reason": "Not needed"}
    assert inv.post(A_CONSENT, again).status_code == 303
    assert item_rows(web.engine, "IT.IC_DAT") == (0, 2)  # Insert, then Remove
    history = inv.get(f"{A_CONSENT}/history?field=IG.IC%5B%5D.IT.IC_DAT").text
    assert "Remove" in history and "Not needed" in history


def test_an_unchanged_complete_save_keeps_a_verified_form_verified(web: Web) -> None:
    inv, mon = web.client("inv_a"), web.client("mon_a")
    assert inv.post(A_ELIG, {**ELIGIBLE, "expected_version": "0"}).status_code == 303
    r = mon.post(f"{A_ELIG}/status", {"target": "verified", "expected_version": "1"})
    assert r.status_code == 303
    before = rows(web.engine)
    again = {**ELIGIBLE, "expected_version": "2", "action": "complete", "reason": "Done"}
    r = inv.post(A_ELIG, again)
    assert r.status_code == 303
    assert form_status(web.engine, "F.IE") == "verified"
    assert rows(web.engine) == before
    assert "Verified (SDV)" in inv.get(A_ELIG).text


def test_a_repeat_key_on_a_non_repeating_group_is_refused(web: Web) -> None:
    inv = web.client("inv_a")
    before = rows(web.engine)
    r = inv.post(A_CONSENT, {"IG.IC[5].IT.IC_REQ": "N", "expected_version": "0"})
    assert r.status_code == 422
    assert "ItemGroupDef IG.IC does not repeat" in r.text
    assert "ItemGroupRepeatKey (&#34;5&#34; given)" in r.text
    assert rows(web.engine) == before


def test_a_repeat_key_on_a_non_repeating_event_or_form_is_a_located_404(web: Web) -> None:
    inv = web.client("inv_a")
    r = inv.get(f"/subjects/{SUBJECT_A}/SE.ELIG/2/F.IC/~")
    assert r.status_code == 404
    assert "StudyEventDef SE.ELIG does not repeat" in r.text
    before = rows(web.engine)
    r = inv.post(f"/subjects/{SUBJECT_A}/SE.ELIG/~/F.IC/3", {"expected_version": "0"})
    assert r.status_code == 404
    assert "FormDef F.IC does not repeat" in r.text
    assert rows(web.engine) == before
