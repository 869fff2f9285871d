"""A decimal comma typed in a real browser (issue 18): Debian's chromium, driven by
Playwright with its locale set to de-DE and to en-US, against a real gunicorn.

Before, the number fields were ``<input type="number">``: chromium drops the comma of a
typed ``3,4`` and posts ``34``, in a de-DE and an en-US browser alike, on a German or an
English page. Now they are text inputs (``inputmode="decimal"``) and the
server reads ``3,4`` as 3.4 (``renderers.html.numbers``). In each locale the investigator
types ``1,234`` (flagged in the browser as ambiguous when leaving the field), then ``3,4``
(the flag goes), saves, and 3.4 is what the database holds.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from storage.engine import make_engine
from storage.models import ItemData
from tests.webapp.conftest import PASSWORD
from tests.webapp.live import gunicorn
from tests.webapp.test_browser import ARGS, CHROMIUM, radio, require_chromium

pytestmark = [pytest.mark.browser, pytest.mark.slow]

B2M_STATUS, B2M = "IG.RF_LAB[].IT.RF_B2MST", "IG.RF_LAB[].IT.RF_B2M"
LOCALES = {"de-DE": "DE01-101", "en-US": "DE01-102"}
"""Browser locale -> the subject its investigator adds."""


def _eligible_subject(page, base: str, key: str) -> None:  # type: ignore[no-untyped-def]
    """Sign in as inv_a, add subject ``key`` and complete its eligibility form."""
    page.goto(base + "/")
    page.fill("#username", "inv_a")
    page.fill("#password", PASSWORD)
    page.click("form.login button[type=submit]")
    page.click("text=DE01")
    page.fill("#subject_key", key)
    page.click("form.add-subject button[type=submit]")
    page.click("tr[data-form='F.IE'] a")
    for n in range(1, 8):
        page.check(radio(f"IG.IE_IN[].IT.IE_IN0{n}", "Y"))
    for n in range(1, 4):
        page.check(radio(f"IG.IE_EX[].IT.IE_EX0{n}", "N"))
    page.click("button[value=complete]")
    page.wait_for_url("**saved=1**")


def _type_a_decimal_comma(page, base: str, key: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base}/subjects/{key}/SE.DCV/F.RF")
    page.check(radio(B2M_STATUS, "Y"))
    field = page.locator(f'[name="{B2M}"]')
    field.wait_for(state="visible")  # shown once the result is said to be available
    assert field.get_attribute("type") == "text"
    assert field.get_attribute("inputmode") == "decimal"
    messages = page.locator(f'[data-field="{B2M}"] ul.messages li.client')
    field.fill("1,234")
    field.press("Tab")  # leaving the field: the browser reads it as the server will
    assert "1,234" in messages.inner_text() and "1234" in messages.inner_text()
    field.fill("3,4")
    field.press("Tab")
    assert messages.count() == 0
    assert field.input_value() == "3,4"  # left as typed: the server reads it
    page.click("button[value=save]")
    page.wait_for_url("**saved=1**")
    assert page.input_value(f'[name="{B2M}"]') == "3.4"


def test_a_decimal_comma_is_stored_as_3_point_4_in_de_and_en_browsers(
    tmp_path: Path, seeded_db: Path
) -> None:
    require_chromium()
    sync_api = pytest.importorskip("playwright.sync_api")
    db = tmp_path / "numbers.sqlite3"
    shutil.copyfile(seeded_db, db)
    errors: list[str] = []
    langs: dict[str, str | None] = {}
    with (
        gunicorn(f"sqlite:///{db}", log=tmp_path / "gunicorn.log") as base,
        sync_api.sync_playwright() as p,
    ):
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            for locale, key in LOCALES.items():
                context = browser.new_context(locale=locale)
                page = context.new_page()
                page.on("pageerror", lambda exc: errors.append(str(exc)))
                assert page.evaluate("navigator.language") == locale
                _eligible_subject(page, base, key)
                _type_a_decimal_comma(page, base, key)
                langs[locale] = page.locator("html").get_attribute("lang")
                context.close()
        finally:
            browser.close()
    assert not errors, errors
    assert langs == {"de-DE": "de", "en-US": "en"}  # each page in its browser's language
    engine = make_engine(f"sqlite:///{db}")
    try:
        with engine.connect() as conn:
            query = select(ItemData.value).where(ItemData.item_oid == "IT.RF_B2M")
            assert list(conn.scalars(query)) == ["3.4", "3.4"]  # never 34
    finally:
        engine.dispose()
