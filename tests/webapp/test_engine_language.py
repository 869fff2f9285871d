"""A German user's save shows the engine's own messages in German (issue 21): the web app
passes the signed-in user's language (``g.lang``) to the engine."""

from __future__ import annotations

import html
import re

from tests.webapp.conftest import SUBJECT_A, Web
from tests.webapp.helpers import DEMOGRAPHICS, ELIG, ELIGIBLE, rows

A_DM = DEMOGRAPHICS.format(key=SUBJECT_A)


def _text(page: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


def _eligible(web: Web) -> None:
    inv = web.client("inv_a")
    assert (
        inv.post(ELIG.format(key=SUBJECT_A), {**ELIGIBLE, "expected_version": "0"}).status_code
        == 303
    )


def test_a_refused_save_shows_the_engines_messages_in_german(web: Web) -> None:
    _eligible(web)
    before = rows(web.engine)
    inv = web.client("inv_a", accept_language="de")
    bad = {"IG.VS[].IT.VS_HEIGHT": "1.2.3", "IG.ECOG[].IT.DM_ECOG": "7", "expected_version": "0"}
    r = inv.post(A_DM, bad)
    assert r.status_code == 422 and rows(web.engine) == before
    page = _text(r.text)
    assert (
        "IT.VS_HEIGHT: '1.2.3' ist kein gültiger Wert (erwartet: eine Zahl). Schreiben Sie "
        "Ziffern mit optionalem Vorzeichen, Dezimalpunkt und Exponenten, z. B. 3.14 oder 1.2E3."
    ) in page
    assert (
        'IT.DM_ECOG: "7" ist nicht in der Codeliste CL.ECOG (0, 1, 2, 3, 4). Wählen Sie einen '
        "ihrer Codes."
    ) in page
    assert "is not a number" not in page
    english = _text(web.client("inv_a", accept_language="en").post(A_DM, bad).text)
    assert "IT.VS_HEIGHT: '1.2.3' is not a number. Write digits" in english


def test_a_missing_required_item_is_asked_for_in_german(web: Web) -> None:
    """Marking the form complete asks for its required items, in German; they block the
    completion (422, nothing saved, no query: issue 18)."""
    _eligible(web)
    inv = web.client("inv_a", accept_language="de")
    r = inv.post(
        A_DM, {"IG.VS[].IT.VS_HEIGHT": "170", "expected_version": "0", "action": "complete"}
    )
    assert r.status_code == 422
    page = _text(r.text)
    assert (
        "IT.DM_SEX (Sex) ist ein Pflichtfeld. Geben Sie einen Wert ein oder den Grund, warum "
        "er fehlt."
    ) in page
    assert "is required" not in page
