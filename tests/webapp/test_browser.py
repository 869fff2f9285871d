"""ONE browser test: Debian's chromium, driven by Playwright, against a real gunicorn.

A user's path through the study: sign in, add a subject, answer the consent question and
see the consent date appear (skip logic in the browser), save without it (a hard error,
nothing saved), fill the eligibility form, enter an implausible weight (saved with a soft
query), reload and see the values. A screenshot is kept in ``artifacts/``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.webapp.conftest import PASSWORD
from tests.webapp.live import gunicorn

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPO / "artifacts"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def radio(name: str, value: str) -> str:
    return f'input[type=radio][name="{name}"][value="{value}"]'


def require_chromium() -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"chromium is not installed at {CHROMIUM}: apt-get install chromium")


def test_investigator_path_in_chromium(tmp_path: Path, seeded_db: Path) -> None:
    require_chromium()
    sync_api = pytest.importorskip("playwright.sync_api")
    db = tmp_path / "browser.sqlite3"
    shutil.copyfile(seeded_db, db)
    ARTIFACTS.mkdir(exist_ok=True)
    with (
        gunicorn(f"sqlite:///{db}", log=tmp_path / "gunicorn.log") as base,
        sync_api.sync_playwright() as p,
    ):
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page(locale="en-GB")
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))  # script errors
        try:
            page.goto(base + "/")
            page.fill("#username", "inv_a")
            page.fill("#password", PASSWORD)
            page.click("form.login button[type=submit]")
            page.click("text=DE01")
            page.fill("#subject_key", "DE01-002")
            page.click("form.add-subject button[type=submit]")
            page.wait_for_selector("h1:has-text('Casebook of subject DE01-002')")

            page.click("tr[data-form='F.IC'] a")
            date_field = page.locator('[data-field="IG.IC[].IT.IC_DAT"]')
            assert date_field.is_hidden()
            page.check(radio("IG.IC[].IT.IC_REQ", "Y"))
            date_field.wait_for(state="visible")  # skip logic, live in the browser
            page.click("button[value=save]")
            assert page.locator("p.alert.error").inner_text().startswith("Nothing was saved")
            question = page.locator('[data-field="IG.IC[].IT.IC_REQ"] ul.messages')
            assert "enter the date the patient signed" in question.inner_text()
            assert date_field.is_visible()  # the entry was kept, the date is still asked for
            page.fill('[name="IG.IC[].IT.IC_DAT"]', "15-mar-2024")
            page.click("button[value=save]")
            page.wait_for_selector("text=Saved. Queries opened: 0.")

            page.click("text=DE01-002")
            page.click("tr[data-form='F.IE'] a")
            for n in range(1, 8):
                page.check(radio(f"IG.IE_IN[].IT.IE_IN0{n}", "Y"))
            for n in range(1, 4):
                page.check(radio(f"IG.IE_EX[].IT.IE_EX0{n}", "N"))
            derived = page.locator('[name="IG.IE_RES[].IT.IE_ELIG"]')
            assert derived.input_value() == "Y"  # derived live as the user answers
            page.click("button[value=complete]")
            page.wait_for_selector("text=Saved. Queries opened: 0.")

            page.click("text=DE01-002")
            assert page.locator("tr[data-form='F.DM'].not-available").count() == 0
            page.click("tr[data-form='F.DM'] a")
            page.fill('[name="IG.VS[].IT.VS_HEIGHT"]', "172")
            page.fill('[name="IG.VS[].IT.VS_WEIGHT"]', "250")
            page.click("button[value=save]")
            page.wait_for_selector("text=Saved. Queries opened: 1.")

            page.reload()
            assert page.input_value('[name="IG.VS[].IT.VS_WEIGHT"]') == "250"
            assert page.input_value('[name="IG.VS[].IT.VS_HEIGHT"]') == "172"
            weight = page.locator('[data-field="IG.VS[].IT.VS_WEIGHT"] ul.messages')
            assert "(open)" in weight.inner_text()
            page.screenshot(path=str(ARTIFACTS / "browser-demographics.png"), full_page=True)
            page.goto(base + "/subjects/DE01-002/SE.ELIG/F.IC")
            assert page.input_value('[name="IG.IC[].IT.IC_DAT"]') == "2024-03-15"
        finally:
            browser.close()
    assert not errors, errors
