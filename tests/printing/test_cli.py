"""``edc print blank`` and ``edc print acrf``: files written, located messages and exit 2 for
bad input, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main
from tests.conftest import odm, one_item_study

ITEM = (
    '<ItemDef OID="IT.A" Name="A" DataType="integer" Length="3">'
    '<Question><TranslatedText xml:lang="en">How many?</TranslatedText></Question>'
    '<Alias Context="SDTM" Name="XX.XXORRES"/></ItemDef>'
)


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.xml"
    path.write_bytes(odm(one_item_study(ITEM)))
    return path


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["print", *args])
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def test_blank_writes_a_pdf(tiny: Path, tmp_path: Path) -> None:
    out = tmp_path / "crf.pdf"
    code, output = _run("blank", "-o", str(out), "--metadata", str(tiny))
    assert code == 0, output
    assert out.read_bytes().startswith(b"%PDF-")
    assert f"{out}: blank CRF written, 2 pages" in output


def test_acrf_writes_the_page_map_beside_the_pdf(tiny: Path, tmp_path: Path) -> None:
    out = tmp_path / "acrf.pdf"
    code, output = _run("acrf", "-o", str(out), "--metadata", str(tiny))
    assert code == 0, output
    pages = json.loads((tmp_path / "acrf.pages.json").read_text(encoding="utf-8"))
    assert pages["items"] == {"IT.A": [2]}
    assert pages["domains"] == {"XX": [2]}
    assert f"{tmp_path / 'acrf.pages.json'}: page map of 1 items written" in output


def test_missing_metadata_file(tmp_path: Path) -> None:
    code, output = _run("blank", "-o", str(tmp_path / "x.pdf"), "--metadata", "nope.xml")
    assert (code, output.strip()) == (2, "Error: nope.xml: no such file")


def test_metadata_without_a_study(tmp_path: Path) -> None:
    bad = tmp_path / "bad.xml"
    bad.write_bytes(b"<notodm/>")
    code, output = _run("acrf", "-o", str(tmp_path / "x.pdf"), "--metadata", str(bad))
    assert code == 2
    assert f"Error: {bad}: no ODM Study with metadata could be read" in output


def test_unwritable_output(tiny: Path, tmp_path: Path) -> None:
    out = tmp_path / "missing-dir" / "crf.pdf"
    code, output = _run("blank", "-o", str(out), "--metadata", str(tiny))
    assert (code, output.strip()) == (2, f"Error: {out}: cannot write: No such file or directory")
