"""Issue 19: the Define-XML a data manager exports, read by an independent tool, defineutils
(CDISC Define-XML 2.1 utilities: its own copy of the Define-XML 2.1 schema, validated with
xmlschema rather than lxml, and the CDISC define2-1.xsl stylesheet it ships)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from lxml import etree

from cli import main
from odm_engine.loader import load_odm
from odm_engine.safexml import make_parser

definehtml = pytest.importorskip("defineutils.definehtml", reason="pip install defineutils")
validate = pytest.importorskip("defineutils.validate", reason="pip install defineutils")

METADATA = Path(__file__).parents[2] / "metadata" / "bortezomib-retreatment.xml"
NS = {"odm": "http://www.cdisc.org/ns/odm/v1.3", "def": "http://www.cdisc.org/ns/def/v2.1"}


def _edc(url: str, *args: str) -> str:
    result = CliRunner().invoke(main, list(args), env={"EDC_DATABASE_URL": url})
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def define(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`edc export define --ct-version` of the bortezomib study holding the demo data."""
    folder = tmp_path_factory.mktemp("define-readers")
    url = f"sqlite:///{folder / 'edc.db'}"
    _edc(url, "db", "upgrade")
    _edc(url, "study", "load", str(METADATA))
    _edc(url, "demo", "seed")
    out = folder / "define.xml"
    _edc(url, "export", "define", "-o", str(out), "--ct-version", "2024-12-20")
    return out


def test_defineutils_validates_the_export(define: Path) -> None:
    message = validate.DefineSchemaValidator(define).validate_define_file()
    assert message.endswith("is valid")


def _html_text(define: Path) -> str:
    html = definehtml.DefineHtml(define).transform_to_html_string()
    assert html, "the define2-1.xsl stylesheet gave no page"
    page = etree.fromstring(html, etree.HTMLParser())
    return " ".join(" ".join(page.itertext()).split())


def test_the_stylesheet_titles_every_dataset_with_its_own_form(define: Path) -> None:
    """Each dataset shows as "NAME (its item group's title)"; none is merged with another
    under a borrowed SDTM Domain (defect 6)."""
    root = etree.fromstring(define.read_bytes(), make_parser())
    text = _html_text(define)
    result = load_odm(METADATA.read_bytes())
    assert result.odm is not None
    mdv = result.odm.studies[0].metadata_versions[0]
    groups = root.xpath("//odm:ItemGroupDef", namespaces=NS)
    assert len(groups) == len(mdv.item_group_defs)
    for ig in groups:
        title = " ".join(mdv.item_group_defs[ig.get("OID")].description.get().split())
        assert f"{ig.get('Name')} ({title})" in text
    assert "2024-12-20" in text  # the terminology version in the Standards table


def test_the_key_variables_are_the_sponsors_identifiers(define: Path) -> None:
    """Defect 10, as the stylesheet shows it: USUBJID is listed, and no key variable is
    described with a made-up Length of 100."""
    text = _html_text(define)
    assert "USUBJID" in text and "Unique Subject Identifier" in text
    root = etree.fromstring(define.read_bytes(), make_parser())
    lengths = {
        el.get("Name"): el.get("Length")
        for el in root.xpath("//odm:ItemDef[starts-with(@OID, 'IT.EDC.')]", namespaces=NS)
    }
    assert lengths["STUDYID"] == str(len("BTZ-RETREAT-NIS-001"))
    assert lengths["SUBJID"] == str(len("AT01-001"))
    assert lengths["SITEID"] == "4"
    assert "100" not in lengths.values()
    assert re.search(r"\bVISITOID\b", text)
