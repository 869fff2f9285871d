"""Every FormDef of the CDISC example files renders, with an input for every ItemRef."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import html as lxml_html

from odm_engine.loader import load_odm
from renderers.html import FormRenderer, field_name

FILES = [
    "cdisc_odm13/cdisc-cdash-odm-1_3_1.xml",
    "cdisc_odm13/cdisc-protocol-metadata-1_3_2-multilingual.xml",
]


@pytest.mark.parametrize("name", FILES)
@pytest.mark.parametrize("lang", ["en", "de"])
def test_every_form_renders_with_an_input_per_item_ref(corpus: Path, name: str, lang: str) -> None:
    path = corpus / name
    result = load_odm(path.read_bytes(), path=str(path))
    assert result.study is not None, result.findings
    renderer = FormRenderer(result.study)
    mdv = renderer.builder.mdv
    assert mdv.form_defs
    for form in mdv.form_defs.values():
        doc = lxml_html.fragment_fromstring(str(renderer.form_html(form.oid, lang=lang)))
        names = set(doc.xpath("//input/@name | //select/@name | //textarea/@name"))
        for gref in form.item_group_refs:
            group = mdv.item_group_defs[gref.item_group_oid]
            key = "1" if group.repeating else ""
            for iref in group.item_refs:
                wanted = field_name(group.oid, key, iref.item_oid)
                assert wanted in names, f"{name}: {form.oid} has no input {wanted}"
        assert not doc.xpath("//script[not(@type='application/json')]")


def test_multilingual_questions_follow_the_language(corpus: Path) -> None:
    path = corpus / FILES[1]
    study = load_odm(path.read_bytes(), path=str(path)).study
    assert study is not None
    renderer = FormRenderer(study)
    labels = {}
    for lang in ("en", "de", "fr"):
        doc = lxml_html.fragment_fromstring(str(renderer.form_html("F_BASELINE", lang=lang)))
        labels[lang] = [" ".join(x.text_content().split()) for x in doc.xpath("//label[@for]")]
    assert labels["en"] != labels["de"] != labels["fr"]
    assert len(labels["en"]) == len(labels["de"])
