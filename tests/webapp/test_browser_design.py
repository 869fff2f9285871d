"""The designer's amendment flow in Debian's chromium, driven by Playwright (issue 16
acceptance): sign in, upload a changed study file into a study with demo data, read the draft's
findings, diff, impact and changed forms in that order, switch the forms to German, publish
with a reason, and see the new version current. The app is served in a thread on a free
loopback port; a screenshot of the review is kept in ``artifacts/`` (the one in
``docs/img/design-draft.png`` is a copy of it).
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from storage.engine import make_engine, write_transaction
from storage.studies import current_metadata
from tests.webapp.conftest import PASSWORD, STUDY
from tests.webapp.test_browser import ARGS, ARTIFACTS, CHROMIUM, require_chromium
from tests.webapp.test_design_draft import NEW_Q_DE, NEW_Q_EN, changed_bortezomib
from webapp import Settings, create_app
from webapp.demo import seed_demo

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@contextmanager
def served(url: str) -> Iterator[str]:
    """The app on the database at ``url``, on a free loopback port in a thread."""
    from werkzeug.serving import make_server

    app = create_app(Settings.load(environ={}, overrides={"database_url": url}))
    server = make_server("127.0.0.1", 0, app, threaded=True)  # port 0: bound, no race
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


def _top(page, selector: str) -> float:  # type: ignore[no-untyped-def]
    box = page.locator(selector).bounding_box()
    assert box is not None, selector
    return float(box["y"])


def test_designer_reviews_and_publishes_a_draft_in_chromium(
    tmp_path: Path, seeded_db: Path
) -> None:
    require_chromium()
    sync_api = pytest.importorskip("playwright.sync_api")
    db = tmp_path / "design.sqlite3"
    shutil.copyfile(seeded_db, db)
    url = f"sqlite:///{db}"
    engine = make_engine(url)
    with write_transaction(engine) as conn:
        seed_demo(conn, STUDY)  # stored values the draft makes invalid
    upload = tmp_path / "v2.xml"
    upload.write_bytes(changed_bortezomib())
    ARTIFACTS.mkdir(exist_ok=True)
    with served(url) as base, sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page(locale="en-GB", viewport={"width": 1280, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))  # script errors
        try:
            page.goto(base + "/")
            page.fill("#username", "designer")
            page.fill("#password", PASSWORD)
            page.click("form.login button[type=submit]")
            page.goto(base + "/design")
            page.set_input_files("#metadata", str(upload))
            page.click("form.upload button[type=submit]")
            page.wait_for_selector("text=as a draft; version 1 stays current")
            page.click("a.review-draft")
            page.wait_for_selector("h1:has-text('Draft version 2 (MDV.BTZ_RETREAT.2)')")

            parts = ("#findings", "#diff", "#impact", "#preview", "#publish")
            tops = [_top(page, part) for part in parts]
            assert tops == sorted(tops), tops  # findings -> diff -> impact -> preview -> publish
            assert "IT.VS_HEIGHT is never referenced" in page.inner_text("#findings")
            diff = page.inner_text("#diff")
            assert "RangeCheck Hard LT 200 added" in diff and "(was in CL.SEX) removed" in diff
            assert "4 stored value(s) of 1 subject(s)" in page.inner_text("#impact")
            forms = page.locator("#preview article.draft-form")
            assert forms.count() == 2
            question = page.locator('#preview [data-field="IG.IE_IN[].IT.IE_IN01"]')
            assert NEW_Q_EN in question.inner_text()
            page.screenshot(path=str(ARTIFACTS / "design-draft.png"), full_page=True)

            page.click("#preview a[data-lang=de]")
            page.locator(
                '#preview [data-field="IG.IE_IN[].IT.IE_IN01"]', has_text=NEW_Q_DE
            ).wait_for()
            assert page.inner_text("#preview strong.current-lang") == "DE"

            page.fill("#reason", "Amendment 1: adults from 21")
            page.click("form.publish button[type=submit]")
            page.wait_for_selector("text=Version 2 published: it is the current version.")
            row = page.locator("table.list tr", has_text="MDV.BTZ_RETREAT.2")
            assert "published" in row.inner_text()
            assert page.locator("a.review").count() == 0  # no draft left to review
        finally:
            browser.close()
    with engine.connect() as conn:
        assert current_metadata(conn, STUDY).number == 2
    engine.dispose()
    assert not errors, errors
