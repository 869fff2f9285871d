"""Printing fixtures: the example study printed once per session, and PDF reading helpers."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

import pytest
from click.testing import CliRunner
from pypdf import PdfReader

from odm_engine import model as m
from odm_engine.loader import load_odm
from renderers.print import PrintedDocument, print_blank
from tests.conftest import REPO

STUDY_FILE = REPO / "metadata" / "bortezomib-retreatment.xml"
ARTIFACTS = REPO / "artifacts" / "printing"


def normalise(text: str) -> str:
    """Whitespace (line breaks of wrapped text) folded to single spaces; a line broken after
    a hyphen ("second-|line") joined again."""
    return re.sub(r"\s+", " ", re.sub(r"(?<=\S)-\n", "-", text)).strip()


def squash(text: str) -> str:
    """The characters of ``text`` without any whitespace or soft hyphen: what a reader sees,
    wherever the fonts of this machine made the PDF break a line (a cell narrower than a word
    breaks inside it: "(investigat" / "or)")."""
    return re.sub(r"[\s\u00ad]+", "", text)


def shows(text: str, phrase: str) -> bool:
    """``phrase`` stands in the extracted ``text``, its words in order, line breaks aside."""
    return squash(phrase) in squash(text)


def page_texts(pdf: bytes) -> list[str]:
    """The extracted text of every page, normalised; index 0 is page 1."""
    return [normalise(p.extract_text() or "") for p in PdfReader(BytesIO(pdf)).pages]


def outline(pdf: bytes) -> list[tuple[int, str, int]]:
    """The PDF bookmarks as (depth, title, 1-based page), in order."""
    reader = PdfReader(BytesIO(pdf))
    out: list[tuple[int, str, int]] = []

    def walk(nodes: list[object], depth: int) -> None:
        for node in nodes:
            if isinstance(node, list):
                walk(node, depth + 1)
            else:
                out.append((depth, node.title, reader.get_destination_page_number(node) + 1))  # type: ignore[attr-defined]

    walk(reader.outline, 0)
    return out


def save_pngs(pdf: bytes, name: str, *, first: int = 1, last: int = 4) -> list[Path]:
    """Render pages to artifacts/printing/NAME-N.png with pdftoppm (CI artefacts)."""
    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        pytest.skip("pdftoppm is not installed: apt-get install poppler-utils")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    source = ARTIFACTS / f"{name}.pdf"
    source.write_bytes(pdf)
    for old in ARTIFACTS.glob(f"{name}-*.png"):
        old.unlink()
    subprocess.run(
        [pdftoppm, "-png", "-r", "60", "-f", str(first), "-l", str(last), str(source),
         str(ARTIFACTS / name)],
        check=True,
        timeout=120,
    )  # fmt: skip
    return sorted(ARTIFACTS.glob(f"{name}-*.png"))


@pytest.fixture(scope="session")
def study() -> m.Study:
    result = load_odm(STUDY_FILE.read_bytes(), path=str(STUDY_FILE))
    assert result.odm is not None and result.odm.study is not None
    return result.odm.study


@pytest.fixture(scope="session")
def mdv(study: m.Study) -> m.MetaDataVersion:
    found = study.metadata_version()
    assert found is not None
    return found


@pytest.fixture(scope="session")
def blank(study: m.Study) -> PrintedDocument:
    return print_blank(study)


@pytest.fixture(scope="session")
def blank_texts(blank: PrintedDocument) -> list[str]:
    return page_texts(blank.pdf)


@dataclass(frozen=True)
class Acrf:
    pdf_path: Path
    pages_path: Path
    pdf: bytes
    texts: list[str]


@pytest.fixture(scope="session")
def acrf(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Acrf]:
    """``edc print acrf`` with the default metadata (the example study), as a user runs it."""
    from cli import main

    out = tmp_path_factory.mktemp("acrf") / "acrf.pdf"
    result = CliRunner().invoke(main, ["print", "acrf", "-o", str(out)])
    assert result.exit_code == 0, result.output
    pdf = out.read_bytes()
    yield Acrf(out, out.with_name("acrf.pages.json"), pdf, page_texts(pdf))
