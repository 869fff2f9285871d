"""``edc design`` on the CDISC CDASH library (3,416 elements): export to .xlsx and import back.

Targets (issue 21): ``design.export`` (ODM -> sheets -> .xlsx file) and ``design.import``
(.xlsx file -> sheets -> ODM bytes) each under 1 s. The baseline, measured in the same run,
is a bare lxml parse of the same file (``etree.fromstring``): the least any tool reading the
study must do. The import row also checks that the round trip gave back as many elements (the tests
compare them one by one).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from bench.common import Row, best_of, corpus_dir

FILE = "cdisc_odm13/cdisc-cdash-odm-1_3_1.xml"


def run() -> list[Row]:
    corpus = corpus_dir()
    if corpus is None:
        print("skipped: set EDC_CORPUS to the shared corpus")
        return []
    from lxml import etree

    from odm_engine.design_sheets import from_sheets, to_sheets
    from renderers.xlsx import read_workbook, write_workbook

    data = (corpus / FILE).read_bytes()
    elements = sum(1 for _ in etree.fromstring(data).iter())
    baseline = best_of(lambda: etree.fromstring(data), 7)
    with tempfile.TemporaryDirectory() as tmp:
        book = Path(tmp) / "cdash.xlsx"

        def export() -> None:
            result = to_sheets(data)
            assert result.sheets is not None
            write_workbook(result.sheets, book)

        def import_() -> bytes:
            xml = from_sheets(read_workbook(book)).xml
            assert xml is not None
            return xml

        ours_export = best_of(export, 3)
        ours_import = best_of(import_, 3)
        back = import_()
    same = sum(1 for _ in etree.fromstring(back).iter()) == elements
    return [
        Row(
            f"design.export CDASH -> xlsx ({elements} elements)",
            ours_export,
            baseline,
            "s",
            "<1 s",
            met=ours_export < 1.0,
        ),
        Row(
            "design.import xlsx -> ODM",
            ours_import,
            baseline,
            "s",
            "<1 s",
            met=ours_import < 1.0 and same,
            note="" if same else "round trip lost elements",
        ),
    ]
