"""The languages the web app offers follow the study's texts, not only the interface's.

A study written in a language the interface catalogue lacks (here French, added to one question
of the bortezomib study) is offered in it: the study's texts follow the choice, each text the
language lacks reads in the study's default language, and the interface words stay English.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

from storage.engine import make_engine, write_transaction
from storage.migrate import upgrade
from storage.studies import load_study
from storage.subjects import create_subject
from storage.users import add_user, set_role
from tests.conftest import REPO
from tests.webapp.conftest import PASSWORD, web_at

ENGLISH = "Inclusion 1: The patient was at least 18 years old"
GERMAN = "Einschluss 1: Der Patient war zu Beginn"
FRENCH = "Inclusion 1 : Le patient avait au moins 18 ans au début du traitement de première ligne."
PAGE = "/subjects/DE01-001/SE.ELIG/F.IE"


def _study_with_one_french_question() -> bytes:
    xml = (REPO / "metadata" / "bortezomib-retreatment.xml").read_text(encoding="utf-8")
    anchor = '<TranslatedText xml:lang="de">Einschluss 1:'
    assert xml.count(anchor) == 1
    french = f'<TranslatedText xml:lang="fr">{FRENCH}</TranslatedText>\n          '
    return xml.replace(anchor, french + anchor).encode()


def _seed(url: str) -> None:
    engine = make_engine(url)
    try:
        upgrade(engine)
        with write_transaction(engine) as conn:
            result = load_study(conn, _study_with_one_french_question(), path="study.xml")
            assert result.status == "stored", result.message
            add_user(conn, "inv", PASSWORD, full_name="Inv")
            set_role(conn, "inv", "ST.BTZ_RETREAT", "investigator", site_oid="LOC.DE01")
            create_subject(
                conn,
                study="ST.BTZ_RETREAT",
                subject_key="DE01-001",
                site_oid="LOC.DE01",
                user="inv",
                role="investigator",
            )
    finally:
        engine.dispose()


def test_a_study_language_without_interface_words_is_offered_and_words_the_study(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'fr.sqlite3'}"
    _seed(url)
    with web_at(url) as web:
        french = web.client("inv", accept_language="fr-FR,fr;q=0.9")
        page = html.unescape(french.get(PAGE).text)
        assert '<html lang="fr">' in page
        assert re.findall(r'name="lang" value="([a-z]+)"', page) == ["en", "de", "fr"]
        assert FRENCH in page and ENGLISH not in page and GERMAN not in page
        assert "Inclusion 2: The patient has a documented diagnosis" in page  # no French: English
        assert "Save" in page and "Speichern" not in page  # interface words: English

        chooser = web.client("inv")
        assert ENGLISH in html.unescape(chooser.get(PAGE).text)
        assert chooser.post("/language", {"lang": "fr", "next": PAGE}).status_code == 303
        assert FRENCH in html.unescape(chooser.get(PAGE).text)
        assert chooser.post("/language", {"lang": "pl", "next": PAGE}).status_code == 303
        assert FRENCH in html.unescape(chooser.get(PAGE).text)  # not a study language: kept
        for junk in ("", "FR", "fr-FR", "<b>", "x" * 5000, "fr\x00"):  # ignored, never a 500
            assert chooser.post("/language", {"lang": junk, "next": PAGE}).status_code == 303
        assert FRENCH in html.unescape(chooser.get(PAGE).text)
        junk_header = web.client("inv", accept_language="fr;q=x, ;;, \u00e9\u00e9")
        assert junk_header.get(PAGE).status_code == 200
