"""Issue 19, defect 10 (labels): every variable label is at most 40 characters (SAS, the
Define-XML and Dataset-JSON conventions), shortened at a word boundary."""

from __future__ import annotations

import json
from pathlib import Path

from lxml import etree

from odm_engine.loader import load_odm
from odm_engine.safexml import make_parser
from renderers.define import DefineOptions, write_define
from renderers.tabular import write_dataset_json
from tests.exchange.helpers import vs_study

NS = {"odm": "http://www.cdisc.org/ns/odm/v1.3"}
LONG = "Height of the subject measured standing without shoes at screening"


def test_every_label_is_at_most_40_characters_cut_at_a_word(tmp_path: Path) -> None:
    study = vs_study().replace(
        b'<TranslatedText xml:lang="en">Height</TranslatedText>',
        f'<TranslatedText xml:lang="en">{LONG}</TranslatedText>'.encode(),
    )
    assert LONG.encode() in study
    result = load_odm(study, path="vs.xml")
    assert result.odm is not None
    define = etree.fromstring(
        write_define(result.odm, DefineOptions(creation_datetime="2026-01-01T00:00:00")),
        make_parser(),
    )
    labels = {
        d.get("OID"): d.findtext("odm:Description/odm:TranslatedText", namespaces=NS)
        for d in define.iterfind(".//odm:ItemDef", NS)
    }
    assert labels and all(0 < len(text or "") <= 40 for text in labels.values()), labels
    assert labels["IT.HEIGHT"] == "Height of the subject measured standing"
    write_dataset_json(tmp_path, result.odm, [])
    for path in tmp_path.glob("*.json"):
        for column in json.loads(path.read_text(encoding="utf-8"))["columns"]:
            assert 0 < len(column["label"]) <= 40, column
            assert column["label"] == labels[column["itemOID"]]
