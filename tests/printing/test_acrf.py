"""The SDTM-annotated CRF: annotations read back from the PDF on the page the page map names,
domain boxes, bookmarks by form and by domain, the page map file, and Define-XML page
references that land on the annotation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from lxml import etree

from odm_engine import model as m
from renderers.define import DefineOptions, write_define
from renderers.print import PageMapError, load_page_map, page_map_path
from tests.printing.conftest import STUDY_FILE, Acrf, outline, save_pngs, shows, squash

DEF = "http://www.cdisc.org/ns/def/v2.1"
ODM = m.ODM_NS


def _expected(item: m.ItemDef, group: m.ItemGroupDef) -> list[str]:
    """The annotation text the CDISC MSG convention gives for the item's SDTM aliases."""
    where = " and ".join(a.name for a in item.aliases if a.context == "SDTM.WHERE")
    out = []
    for alias in (a for a in item.aliases if a.context == "SDTM"):
        dataset, _, variable = alias.name.rpartition(".")
        dataset = dataset or (group.domain or "")
        if dataset.startswith("SUPP"):
            qnam = where.split("=", 1)[1].strip()
            out.append(f"{qnam} in {dataset}")
        else:
            out.append(f"{variable} when {where}" if where else variable)
    return out or ["[NOT SUBMITTED]"]


def _placed(mdv: m.MetaDataVersion) -> list[tuple[m.FormDef, m.ItemGroupDef, m.ItemDef]]:
    out = []
    for se in mdv.study_events_in_order():
        for fref in se.form_refs:
            form = mdv.form_defs[fref.form_oid]
            for gref in form.item_group_refs:
                group = mdv.item_group_defs[gref.item_group_oid]
                out += [(form, group, mdv.item_defs[r.item_oid]) for r in group.item_refs]
    return out


def test_every_annotation_stands_on_the_mapped_page(mdv: m.MetaDataVersion, acrf: Acrf) -> None:
    """CDISC MSG 2.0 §3.1.3: each collected item annotated with its SDTM variable."""
    pages = load_page_map(acrf.pages_path)
    variables: set[str] = set()
    not_submitted = 0
    for _form, group, item in _placed(mdv):
        assert item.oid in pages, item.oid
        for text in _expected(item, group):
            assert any(shows(acrf.texts[p - 1], text) for p in pages[item.oid]), (item.oid, text)
            not_submitted += text == "[NOT SUBMITTED]"
        variables |= {a.name.rpartition(".")[2] for a in item.aliases if a.context == "SDTM"}
    assert not_submitted >= 5
    every_text = " ".join(acrf.texts)
    for variable in variables - {"QVAL"}:
        assert shows(every_text, variable), variable


def test_domain_boxes_head_each_form(mdv: m.MetaDataVersion, acrf: Acrf) -> None:
    """Domain boxes at the top of the form, from the item groups' SDTM alias or Domain."""
    data = json.loads(acrf.pages_path.read_text(encoding="utf-8"))
    assert data["domains"]["DS"][0] == data["forms"]["F.IC"][0]
    first_page = acrf.texts[data["forms"]["F.IC"][0] - 1]
    assert shows(first_page, "DS = Disposition")
    l1 = acrf.texts[data["forms"]["F.L1"][0] - 1]
    for box in ("EC = Exposure as Collected", "PR = Procedures", "CM = Concomitant/Prior"):
        assert shows(l1, box), box
    page = squash(first_page)
    assert page.index(squash("DS = Disposition")) < page.index(squash("Informed consent 1."))


def test_bookmarks_per_form_and_per_domain(mdv: m.MetaDataVersion, acrf: Acrf) -> None:
    marks = outline(acrf.pdf)
    data = json.loads(acrf.pages_path.read_text(encoding="utf-8"))
    titles: dict[str, tuple[int, int]] = {}
    for depth, title, page in marks:
        titles.setdefault(title, (depth, page))  # first: the tree by visit
    for oid, form_pages in data["forms"].items():
        title = mdv.form_defs[oid].description.get("en")
        assert titles[title] == (1, form_pages[0]), title
    assert ("SDTM domains" in titles) and titles["SDTM domains"][0] == 0
    start = [t for _, t, _ in marks].index("SDTM domains")
    domains = [(t, p) for d, t, p in marks[start + 1 :] if d == 1]
    assert ("DS = Disposition", data["domains"]["DS"][0]) in domains
    assert len(domains) == len(data["domains"])


def test_page_map_file_format(acrf: Acrf) -> None:
    """docs/printing.md: the page map written beside the PDF."""
    assert page_map_path(acrf.pdf_path) == acrf.pages_path
    data = json.loads(acrf.pages_path.read_text(encoding="utf-8"))
    assert data["format"] == "odm-edc/crf-page-map" and data["version"] == 1
    assert data["kind"] == "acrf" and data["document"] == "acrf.pdf"
    assert data["study_oid"] == "ST.BTZ_RETREAT"
    assert data["page_count"] == len(acrf.texts)
    assert all(1 <= p <= data["page_count"] for v in data["items"].values() for p in v)


def test_define_xml_page_references_land_on_the_annotation(
    study: m.Study, mdv: m.MetaDataVersion, acrf: Acrf
) -> None:
    """Define-XML 2.1 def:PDFPageRef (PhysicalRef) from the page map point at the page
    where the item's annotation stands."""
    pages = load_page_map(acrf.pages_path)
    odm_model = m.ODM(studies=(study,))
    xml = write_define(odm_model, DefineOptions(crf_pages=pages), study_oid=study.oid)
    root = etree.fromstring(xml)
    groups = {i.oid: g for _f, g, i in _placed(mdv)}
    checked = 0
    for item_def in root.iter(f"{{{ODM}}}ItemDef"):
        oid = item_def.get("OID", "").removesuffix(".VLM")
        ref = item_def.find(f"{{{DEF}}}Origin/{{{DEF}}}DocumentRef/{{{DEF}}}PDFPageRef")
        if ref is None:
            continue
        assert ref.get("Type") == "PhysicalRef"
        refs = [int(p) for p in ref.get("PageRefs", "").split()]
        assert refs == pages[oid]
        text = _expected(mdv.item_defs[oid], groups[oid])[0]
        assert all(shows(acrf.texts[p - 1], text) for p in refs), (oid, refs, text)
        checked += 1
    assert checked >= 80


def test_load_page_map_reads_a_plain_object_too(tmp_path: Path) -> None:
    plain = tmp_path / "plain.json"
    plain.write_text('{"IT.A": [3, 2, 3], "IT.B": 7}', encoding="utf-8")
    assert load_page_map(plain) == {"IT.A": [2, 3], "IT.B": [7]}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[1, 2]", "{path}: expected a JSON object of item OID -> pages."),
        ('{"IT.A": ["x"]}', "{path}: the pages of 'IT.A' must be a list of page numbers from 1, "
         'found ["x"]. Write the map again with `edc print acrf`.'),
        ('{"format": "other", "version": 1, "items": {}}',
         "{path}: format 'other' version 1 is not 'odm-edc/crf-page-map' version 1."),
        ("{", "{path}: not JSON (Expecting property name enclosed in double quotes: line 1 "
         "column 2 (char 1)). Expected a page map."),
    ],
)  # fmt: skip
def test_load_page_map_errors_say_where_and_what(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "bad.pages.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(PageMapError) as caught:
        load_page_map(path)
    assert str(caught.value) == message.format(path=path)


def test_acrf_pages_render_to_png_artefacts(acrf: Acrf) -> None:
    data = json.loads(acrf.pages_path.read_text(encoding="utf-8"))
    first = data["forms"]["F.L1"][0]
    pngs = save_pngs(acrf.pdf, "acrf", first=first, last=first + 1)
    assert len(pngs) == 2


def test_edc_export_define_after_print_acrf_points_at_the_annotations(
    acrf: Acrf, tmp_path: Path
) -> None:
    """The data manager's path: `edc print acrf`, then `edc export define --acrf acrf.pdf`."""
    from click.testing import CliRunner

    from cli import main

    out = tmp_path / "define.xml"
    result = CliRunner().invoke(
        main,
        [
            "export",
            "define",
            "-o",
            str(out),
            "--metadata",
            str(STUDY_FILE),
            "--acrf",
            str(acrf.pdf_path),
        ],
    )
    assert result.exit_code == 0, result.output
    pages = load_page_map(acrf.pages_path)
    refs = {
        item.get("OID"): [int(p) for p in ref.get("PageRefs", "").split()]
        for item in etree.fromstring(out.read_bytes()).iter(f"{{{ODM}}}ItemDef")
        for ref in item.iterfind(f"{{{DEF}}}Origin/{{{DEF}}}DocumentRef/{{{DEF}}}PDFPageRef")
    }
    assert len(refs) >= 80
    for oid, pdf_pages in refs.items():
        assert pdf_pages == pages[oid.removesuffix(".VLM")]
