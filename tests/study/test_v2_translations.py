"""Version 2 of the bortezomib study (issue 17, item 8): every site's language.

The sites are in Germany, Austria, Spain, Italy, France and Poland, so every Question, Decode,
Description and ErrorMessage of metadata/bortezomib-retreatment-v2.xml has a TranslatedText in
en, de, es, it, fr and pl; terms of art (IMWG response categories, ISS/R-ISS, CTCAE, MedDRA)
keep their international form. The study texts follow the language chosen in the web app, in
``edc render`` and in the printed CRF, with a fallback to English for a text a language lacks.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest
from lxml import etree

from odm_engine.loader import load_odm
from renderers.html import FormRenderer
from renderers.print import DocumentBuilder, render_html
from storage.engine import make_engine, write_transaction
from storage.migrate import upgrade
from storage.studies import load_study
from storage.subjects import create_subject
from storage.users import add_user, set_role
from tests.webapp.conftest import PASSWORD, web_at

REPO = Path(__file__).resolve().parents[2]
STUDY = REPO / "metadata" / "bortezomib-retreatment-v2.xml"
NS = "http://www.cdisc.org/ns/odm/v1.3"
LANG = "{http://www.w3.org/XML/1998/namespace}lang"
LANGUAGES = ("en", "de", "es", "it", "fr", "pl")
KINDS = ("Question", "Decode", "Description", "ErrorMessage")
TERMS_OF_ART = ("sCR", "CR", "VGPR", "PR", "MR", "SD", "PD", "ISS", "R-ISS", "CTCAE", "MedDRA")
CONSENT_QUESTION = "IT.IC_REQ"
"""The first question of the consent form: a form every new subject can open."""


@dataclass(frozen=True)
class Text:
    kind: str
    owner: str
    line: int
    translations: dict[str, str]


def texts_of(xml: bytes) -> list[Text]:
    """Every Question, Decode, Description and ErrorMessage element of ``xml``."""
    root = etree.fromstring(xml)
    out = []
    for kind in KINDS:
        for el in root.iter(f"{{{NS}}}{kind}"):
            parent = el.getparent()
            name = etree.QName(parent).localname
            owner = f"{name} {parent.get('OID') or parent.get('CodedValue') or ''}".strip()
            if name == "RangeCheck":
                owner = f"{owner} of ItemDef {parent.getparent().get('OID')}"
            translations = {
                str(t.get(LANG)): (t.text or "").strip()
                for t in el.iterfind(f"{{{NS}}}TranslatedText")
            }
            out.append(Text(kind, owner, el.sourceline or 0, translations))
    return out


def language_counts(texts: list[Text]) -> tuple[Counter[str], list[str]]:
    """TranslatedText per language (non-empty) and one line per text lacking a language."""
    counts: Counter[str] = Counter()
    gaps = []
    for text in texts:
        present = [lang for lang in LANGUAGES if text.translations.get(lang)]
        counts.update(present)
        missing = [lang for lang in LANGUAGES if lang not in present]
        if missing:
            gaps.append(f"line {text.line}: {text.kind} of {text.owner} lacks {', '.join(missing)}")
    return counts, gaps


@cache
def study_texts() -> list[Text]:
    return texts_of(STUDY.read_bytes())


def test_every_text_of_v2_is_in_all_six_languages() -> None:
    texts = study_texts()
    counts, gaps = language_counts(texts)
    assert len(texts) > 500  # every Question, Decode, Description and ErrorMessage
    assert not gaps, f"{len(gaps)} texts lack a language:\n" + "\n".join(gaps[:40])
    assert {lang: counts[lang] for lang in LANGUAGES} == dict.fromkeys(LANGUAGES, len(texts))


def test_the_count_names_a_text_that_lacks_one_language() -> None:
    odm = f"""<ODM xmlns="{NS}"><Study OID="S"><MetaDataVersion OID="M" Name="M">
      <ItemDef OID="IT.A" Name="A" DataType="text"><Question>
        <TranslatedText xml:lang="en">Age</TranslatedText>
        <TranslatedText xml:lang="de">Alter</TranslatedText>
        <TranslatedText xml:lang="es">Edad</TranslatedText>
        <TranslatedText xml:lang="it">Età</TranslatedText>
        <TranslatedText xml:lang="fr">Âge</TranslatedText>
        <TranslatedText xml:lang="pl"> </TranslatedText>
      </Question>
      <RangeCheck Comparator="GE" SoftHard="Soft"><CheckValue>0</CheckValue><ErrorMessage>
        <TranslatedText xml:lang="en">Too young</TranslatedText>
      </ErrorMessage></RangeCheck></ItemDef>
    </MetaDataVersion></Study></ODM>""".encode()
    counts, gaps = language_counts(texts_of(odm))
    assert counts == Counter({"en": 2, "de": 1, "es": 1, "it": 1, "fr": 1})
    assert gaps == [
        "line 2: Question of ItemDef IT.A lacks pl",
        "line 10: ErrorMessage of RangeCheck of ItemDef IT.A lacks de, es, it, fr, pl",
    ]


def test_translations_are_not_english_left_in_place() -> None:
    long_texts = [t for t in study_texts() if len(t.translations.get("en", "")) > 40]
    copies = [
        f"{t.owner} ({lang}): {t.translations['en'][:60]}"
        for t in long_texts
        for lang in LANGUAGES[1:]
        if t.translations.get(lang) == t.translations["en"]
    ]
    assert not copies, "\n".join(copies)


def test_terms_of_art_keep_their_international_form() -> None:
    lost = []
    for t in study_texts():
        for term in TERMS_OF_ART:
            word = re.compile(rf"(?<![\w-]){re.escape(term)}(?![\w])")
            if word.search(t.translations.get("en", "")):
                lost += [
                    f"{t.owner} ({lang}) lacks {term}: {text[:80]}"
                    for lang, text in t.translations.items()
                    if lang != "en" and not word.search(text)
                ]
    assert not lost, "\n".join(lost)


def test_inclusion_criterion_2_reads_as_german_clinicians_write_it() -> None:
    source = STUDY.read_text(encoding="utf-8")
    assert "dokumentiert diagnostiziert" not in source
    (question,) = (t for t in study_texts() if t.owner == "ItemDef IT.IE_IN02")
    assert question.translations["de"].startswith("Einschluss 2: ")
    assert "Diagnose eines multiplen Myeloms" in question.translations["de"]


# --- the engine picks the chosen language -------------------------------------------------


def text_of(oid: str, lang: str) -> str:
    (question,) = (t for t in study_texts() if t.owner == f"ItemDef {oid}")
    return question.translations[lang]


def shown(page: str) -> str:
    return html.unescape(page)


@pytest.mark.parametrize("lang", ["es", "it", "fr", "pl"])
def test_edc_render_and_the_printed_crf_word_the_study_in_the_language(lang: str) -> None:
    study = load_odm(STUDY.read_bytes(), path=STUDY.name).study
    assert study is not None
    form = shown(FormRenderer(study).preview_html("F.IC", lang=lang))
    assert f'lang="{lang}"' in form
    assert text_of(CONSENT_QUESTION, lang) in form
    assert text_of(CONSENT_QUESTION, "en") not in form
    printed = shown(render_html(DocumentBuilder(study, lang=lang).blank()))
    for oid in (CONSENT_QUESTION, "IT.IE_IN02", "IT.L1_BOR"):
        assert text_of(oid, lang) in printed
        assert text_of(oid, "en") not in printed


def test_a_text_missing_in_a_language_falls_back_to_english() -> None:
    polish = text_of("IT.IE_IN02", "pl")
    xml = STUDY.read_bytes().replace(
        f'<TranslatedText xml:lang="pl">{polish}</TranslatedText>'.encode(), b""
    )
    study = load_odm(xml, path=STUDY.name).study
    assert study is not None
    form = shown(FormRenderer(study).preview_html("F.IE", lang="pl"))
    assert text_of("IT.IE_IN02", "en") in form and polish not in form
    assert text_of("IT.IE_IN01", "pl") in form


def test_the_web_app_offers_every_study_language_and_words_the_forms_in_it(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'v2.sqlite3'}"
    engine = make_engine(url)
    try:
        upgrade(engine)
        with write_transaction(engine) as conn:
            result = load_study(conn, STUDY.read_bytes(), path=STUDY.name)
            assert result.status == "stored", result.message
            add_user(conn, "inv_fr", PASSWORD, full_name="Inv Fr")
            set_role(conn, "inv_fr", "ST.BTZ_RETREAT", "investigator", site_oid="LOC.FR01")
            create_subject(
                conn,
                study="ST.BTZ_RETREAT",
                subject_key="FR01-001",
                site_oid="LOC.FR01",
                user="inv_fr",
                role="investigator",
            )
    finally:
        engine.dispose()
    page_url = "/subjects/FR01-001/SE.ELIG/F.IC"
    with web_at(url) as web:
        for lang in ("es", "it", "fr", "pl"):
            client = web.client("inv_fr", accept_language=f"{lang};q=0.9,en;q=0.5")
            page = shown(client.get(page_url).text)
            assert f'<html lang="{lang}">' in page
            assert text_of(CONSENT_QUESTION, lang) in page
            assert text_of(CONSENT_QUESTION, "en") not in page
            assert "Save" in page  # the interface words stay English (no catalogue for it)
            offered = re.findall(r'name="lang" value="([a-z]+)"', page)
            assert offered == ["en", "de", "es", "fr", "it", "pl"]
        client = web.client("inv_fr")
        assert text_of(CONSENT_QUESTION, "en") in shown(client.get(page_url).text)
        assert client.post("/language", {"lang": "pl", "next": page_url}).status_code == 303
        assert text_of(CONSENT_QUESTION, "pl") in shown(client.get(page_url).text)
