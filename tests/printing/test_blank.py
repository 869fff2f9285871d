"""The blank CRF of the example study, read back from the PDF: every question, decode and
code on the page the layout put it, skip logic in words, contents with page numbers, page
furniture, German, hostile text shown as text."""

from __future__ import annotations

import re
from datetime import UTC, datetime, tzinfo

import pytest

from odm_engine import model as m
from odm_engine.loader import load_odm
from renderers.print import DocumentBuilder, PrintedDocument, print_blank, render_html
from tests.conftest import odm, one_item_study
from tests.printing.conftest import normalise, page_texts, save_pngs, shows


def _placed_items(mdv: m.MetaDataVersion) -> list[tuple[m.ItemRef, m.ItemDef]]:
    """(ItemRef, item) of every ItemRef of every form some event collects."""
    out = []
    for se in mdv.study_events_in_order():
        for fref in se.form_refs:
            form = mdv.form_defs[fref.form_oid]
            for gref in form.item_group_refs:
                refs = mdv.item_group_defs[gref.item_group_oid].item_refs
                out.extend((iref, mdv.item_defs[iref.item_oid]) for iref in refs)
    return out


def test_every_question_is_on_its_page(
    mdv: m.MetaDataVersion, blank: PrintedDocument, blank_texts: list[str]
) -> None:
    """ODM 1.3.2 §3.1.4.9 Question: each ItemDef's question is printed where the map says."""
    placed = _placed_items(mdv)
    assert len(placed) >= 100
    for _iref, item in placed:
        pages = blank.page_map.items[item.oid]
        question = normalise(item.question.get("en") or item.name)
        assert any(shows(blank_texts[p - 1], question) for p in pages), (item.oid, pages, question)


def test_every_code_and_decode_is_printed_beside_its_tick_box(
    mdv: m.MetaDataVersion, blank: PrintedDocument, blank_texts: list[str]
) -> None:
    """ODM 1.3.2 §3.1.4.12 CodeList: every CodeListItem shows its Decode and CodedValue."""
    checked = 0
    for iref, item in _placed_items(mdv):
        code_list = mdv.item_code_list(item)
        if code_list is None or iref.method_oid:
            continue  # a derived item is calculated, not ticked
        text = " ".join(blank_texts[p - 1] for p in blank.page_map.items[item.oid])
        for cli in code_list.items:
            decode = normalise(cli.decode.get("en"))
            shown = f"{decode} {cli.coded_value}" if decode != cli.coded_value else decode
            assert shows(text, shown), (item.oid, shown)
            checked += 1
    assert checked > 150


def test_forms_follow_the_protocol_order(mdv: m.MetaDataVersion, blank: PrintedDocument) -> None:
    """ODM 1.3.2 §3.1.2 Protocol: StudyEventRef then FormRef OrderNumber decide the order."""
    order = [
        fref.form_oid
        for se in mdv.study_events_in_order()
        for fref in sorted(se.form_refs, key=lambda r: r.order_number or 0)
    ]
    first_pages = [blank.page_map.forms[oid][0] for oid in order]
    assert first_pages == sorted(first_pages)
    assert len(set(first_pages)) == len(order)


def test_contents_give_each_forms_page(
    mdv: m.MetaDataVersion, blank: PrintedDocument, blank_texts: list[str]
) -> None:
    contents = blank_texts[0]
    assert shows(contents, "Contents")
    for oid, pages in blank.page_map.forms.items():
        title = normalise(mdv.form_defs[oid].description.get("en"))
        found = re.search(re.escape(title) + r"\s*\.*\s*(\d+)", contents)
        assert found is not None, title
        assert int(found.group(1)) == pages[0], title


def test_page_furniture_on_every_page(blank: PrintedDocument, blank_texts: list[str]) -> None:
    total = blank.page_count
    for number, text in enumerate(blank_texts, 1):
        assert shows(text, f"Page {number} of {total}")
        assert shows(text, "BTZ-RETREAT")
        assert shows(text.upper(), "SITE")
        assert shows(text.upper(), "SUBJECT")


def test_skip_logic_is_printed_in_words(blank: PrintedDocument, blank_texts: list[str]) -> None:
    """ODM 1.3.2 §3.1.4.6 CollectionExceptionConditionOID, as an instruction to the reader."""
    consent_page = blank_texts[blank.page_map.items["IT.IC_DAT"][0] - 1]
    assert shows(consent_page, "Answer only if question 1 is Yes (Y).")
    visit_page = blank_texts[blank.page_map.forms["F.LV"][0] - 1]
    assert shows(visit_page, "Complete this visit only if “Patient is eligible")
    assert shows(visit_page, "(form Eligibility: inclusion and exclusion criteria) is Yes (Y).")


def test_units_and_answer_hints(blank: PrintedDocument, blank_texts: list[str]) -> None:
    height = blank_texts[blank.page_map.items["IT.VS_HEIGHT"][0] - 1]
    assert shows(height, "cm")
    albumin = blank_texts[blank.page_map.items["IT.RF_ALB"][0] - 1]
    assert shows(albumin, "g/L") and shows(albumin, "g/dL")
    assert shows(blank_texts[blank.page_map.items["IT.IC_DAT"][0] - 1], "dd-MMM-yyyy")


def test_german_blank_crf(study: m.Study) -> None:
    """xml:lang="de" TranslatedText where present, the study language elsewhere."""
    printed = print_blank(study, lang="de")
    texts = page_texts(printed.pdf)
    consent = texts[printed.page_map.items["IT.IC_DAT"][0] - 1]
    assert shows(consent, "Einwilligungserklärung")
    assert shows(consent, "Nur beantworten, wenn Frage 1 Ja (Y) ist.")
    assert shows(
        texts[printed.page_map.items["IT.IE_IN01"][0] - 1],
        "Einschluss 1: Der Patient war zu Beginn",
    )
    assert shows(texts[0], f"Seite 1 von {printed.page_count}")
    assert shows(texts[0], "Inhalt")


HOSTILE = "<script>alert(1)</script> {{ 7*7 }} {% raw %}"


class _PrintedAt2049(datetime):
    """A clock at 20:49, whose printed time holds the 49 that an evaluated {{ 7*7 }} would."""

    @classmethod
    def now(cls, tz: tzinfo | None = None) -> _PrintedAt2049:
        return cls(2026, 12, 7, 20, 49, tzinfo=UTC)


def test_hostile_question_text_is_printed_as_text(monkeypatch: pytest.MonkeyPatch) -> None:
    """ODM text is data: markup and template syntax in a Question show as typed."""
    monkeypatch.setattr("renderers.print.build.datetime", _PrintedAt2049)
    item = (
        '<ItemDef OID="IT.A" Name="A" DataType="text" Length="5"><Question>'
        '<TranslatedText xml:lang="en">&lt;script&gt;alert(1)&lt;/script&gt; {{ 7*7 }} '
        "{% raw %}</TranslatedText></Question></ItemDef>"
    )
    study = load_odm(odm(one_item_study(item))).odm.study  # type: ignore[union-attr]
    assert study is not None
    html = render_html(DocumentBuilder(study).blank())
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; {{ 7*7 }} {% raw %}" in html
    text = " ".join(page_texts(print_blank(study).pdf))
    assert shows(text, HOSTILE)
    # {{ 7*7 }} was not evaluated anywhere; the print time (say 20:49) may hold a 49 itself
    assert not shows(re.sub(r"Printed \S+ \S+ UTC", "", text), "49")


def test_pages_render_to_png_artefacts(blank: PrintedDocument) -> None:
    """artifacts/printing/blank-N.png for a person to look at (CI keeps them)."""
    pngs = save_pngs(blank.pdf, "blank", first=1, last=3)
    assert len(pngs) == 3
    assert all(p.stat().st_size > 5_000 for p in pngs)


@pytest.mark.parametrize("kind", ["blank", "annotated"])
def test_unknown_metadata_version_is_a_clear_error(study: m.Study, kind: str) -> None:
    from renderers.print import UnknownMetaDataVersionError

    with pytest.raises(UnknownMetaDataVersionError, match="has no MetaDataVersion with OID 'X'"):
        DocumentBuilder(study, mdv_oid="X")
