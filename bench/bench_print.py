"""Printing the example study's blank CRF to PDF with WeasyPrint (issue 9).

Target: the blank CRF of metadata/bortezomib-retreatment.xml (4 events, 12 forms, ~115 items)
prints in under 10 s, metadata load included. Baseline, measured in the same run: WeasyPrint
rendering a minimal one-page HTML document, i.e. the fixed cost of the PDF engine.
"""

from __future__ import annotations

from pathlib import Path

from bench.common import Row, best_of

STUDY = Path(__file__).resolve().parents[1] / "metadata" / "bortezomib-retreatment.xml"
MINIMAL = "<!DOCTYPE html><html><body><h1>CRF</h1><p>One page.</p></body></html>"


def _blank(data: bytes) -> int:
    from odm_engine.loader import load_odm
    from renderers.print import print_blank

    study = load_odm(data, path=str(STUDY)).odm.study  # type: ignore[union-attr]
    assert study is not None
    return print_blank(study).page_count


def _minimal() -> bytes:
    from weasyprint import HTML

    pdf = HTML(string=MINIMAL).write_pdf()
    assert pdf is not None
    return pdf


def run() -> list[Row]:
    data = STUDY.read_bytes()
    _minimal()  # import WeasyPrint and load fonts once, as a long-running process would
    baseline = best_of(_minimal, 3)
    pages = _blank(data)
    ours = best_of(lambda: _blank(data), 3)
    return [
        Row(
            f"blank CRF of the study ({pages} pages)",
            ours,
            baseline,
            "s",
            "<10 s",
            met=ours < 10,
            note=f"{ours / pages:.2f} s/page",
        )
    ]
