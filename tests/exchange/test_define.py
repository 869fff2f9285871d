"""Define-XML 2.1 generated from the study metadata (renderers.define)."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from odm_engine.loader import load_odm
from odm_engine.safexml import make_parser
from odm_engine.xsd import schema
from renderers.define import DefineOptions, write_define
from tests.exchange.helpers import vs_study

NS = {
    "odm": "http://www.cdisc.org/ns/odm/v1.3",
    "def": "http://www.cdisc.org/ns/def/v2.1",
    "xlink": "http://www.w3.org/1999/xlink",
}


def _define(**options: object) -> etree._Element:
    result = load_odm(vs_study(), path="vs.xml")
    assert result.odm is not None
    out = write_define(
        result.odm,
        DefineOptions(creation_datetime="2026-01-01T00:00:00", **options),  # type: ignore[arg-type]
    )
    return etree.fromstring(out, make_parser())


def _one(root: etree._Element, xpath: str) -> etree._Element:
    found = root.xpath(xpath, namespaces=NS)
    assert len(found) == 1, f"{xpath}: {len(found)} matches"
    return found[0]


def test_output_passes_the_define_21_schema() -> None:
    """Define-XML 2.1 schema (define2-1-0.xsd shipped with odmlib)."""
    root = _define(crf_pages={"IT.SEX": [3], "IT.BRTHDAT": [3, 4]})
    xsd = schema("define-2.1")
    assert xsd.validate(root), xsd.error_log


def test_stylesheet_instruction_heads_the_document() -> None:
    result = load_odm(vs_study())
    assert result.odm is not None
    out = write_define(result.odm)
    pi = etree.fromstring(out, make_parser()).getroottree().getroot().getprevious()
    while pi is not None and not isinstance(pi, etree._ProcessingInstruction):
        pi = pi.getprevious()
    assert pi is not None
    assert pi.target == "xml-stylesheet"
    assert pi.text == 'type="text/xsl" href="define2-1.xsl"'


def test_one_dataset_per_item_group_with_key_variables_first() -> None:
    root = _define()
    dm = _one(root, "//odm:ItemGroupDef[@OID='IG.DM']")
    assert dm.get("SASDatasetName") == "DM"
    assert dm.get("Repeating") == "No"
    oids = [r.get("ItemOID") for r in dm.findall("odm:ItemRef", NS)]
    assert oids[:8] == [
        "IT.EDC.STUDYID",
        "IT.EDC.USUBJID",
        "IT.EDC.SITEID",
        "IT.EDC.SUBJID",
        "IT.EDC.VISITOID",
        "IT.EDC.VISITRK",
        "IT.EDC.FORMOID",
        "IT.EDC.FORMRK",
    ]
    # items in OrderNumber order, each with units followed by its unit column (issue 19)
    assert oids[8:] == [
        "IT.SEX",
        "IT.BRTHDAT",
        "IT.HEIGHT",
        "IT.HEIGHT.UNIT",
        "IT.WEIGHT",
        "IT.WEIGHT.UNIT",
        "IT.BMI",
    ]
    vs = _one(root, "//odm:ItemGroupDef[@OID='IG.VS']")
    assert _one(vs, "odm:ItemRef[@ItemOID='IT.EDC.IGRK']").get("KeySequence") == "7"
    keys = {r.get("ItemOID"): r.get("KeySequence") for r in dm.findall("odm:ItemRef", NS)}
    assert (keys["IT.EDC.STUDYID"], keys["IT.EDC.USUBJID"], keys["IT.EDC.SUBJID"]) == (
        "1",
        "2",
        None,
    )
    assert _one(dm, "odm:Alias").get("Name") == "DM"
    assert _one(dm, "def:leaf").get(f"{{{NS['xlink']}}}href") == "dm.json"


def test_item_defs_carry_types_lengths_sas_names_labels_and_units() -> None:
    """Define-XML 2.1 §5.3.9 ItemDef: Name, DataType, Length, SignificantDigits, SASFieldName."""
    root = _define()
    height = _one(root, "//odm:ItemDef[@OID='IT.HEIGHT']")
    assert (height.get("Name"), height.get("DataType")) == ("HEIGHT", "float")
    assert (height.get("Length"), height.get("SignificantDigits")) == ("5", "1")
    assert _one(height, "odm:Description/odm:TranslatedText").text == "Height"
    assert _one(height, "odm:MeasurementUnitRef").get("MeasurementUnitOID") == "MU.CM"
    assert (
        _one(root, "//odm:MeasurementUnit[@OID='MU.CM']/odm:Symbol/odm:TranslatedText").text == "cm"
    )
    birth = _one(root, "//odm:ItemDef[@OID='IT.BRTHDAT']")
    assert birth.get("DataType") == "date" and birth.get("Length") is None
    assert _one(birth, "odm:Alias[@Context='SDTM']").get("Name") == "DM.BRTHDTC"
    comment_oid = birth.get(f"{{{NS['def']}}}CommentOID")
    comment = _one(root, f"//def:CommentDef[@OID='{comment_oid}']")
    assert _one(comment, "odm:Description/odm:TranslatedText").text == "Day may be unknown"


def test_code_lists_with_decodes_and_enumerations() -> None:
    root = _define()
    female = _one(root, "//odm:CodeList[@OID='CL.SEX']/odm:CodeListItem[@CodedValue='F']")
    assert _one(female, "odm:Decode/odm:TranslatedText").text == "Female"
    assert _one(female, "odm:Alias").get("Name") == "C16576"
    units = root.xpath(
        "//odm:CodeList[@OID='CL.HTU']/odm:EnumeratedItem/@CodedValue", namespaces=NS
    )
    assert units == ["cm", "in"]


def test_origins_collected_with_crf_pages_and_derived_with_method() -> None:
    root = _define(crf_pages={"IT.BRTHDAT": [3, 4]})
    origin = _one(root, "//odm:ItemDef[@OID='IT.BRTHDAT']/def:Origin")
    assert origin.get("Type") == "Collected"
    page = _one(origin, "def:DocumentRef[@leafID='LF.acrf']/def:PDFPageRef")
    assert (page.get("PageRefs"), page.get("Type")) == ("3 4", "PhysicalRef")
    assert _one(root, "//def:AnnotatedCRF/def:DocumentRef").get("leafID") == "LF.acrf"
    bmi = _one(root, "//odm:ItemDef[@OID='IT.BMI']/def:Origin")
    assert bmi.get("Type") == "Derived"
    assert _one(root, "//odm:ItemRef[@ItemOID='IT.BMI']").get("MethodOID") == "MT.BMI"
    expr = _one(root, "//odm:MethodDef[@OID='MT.BMI']/odm:FormalExpression")
    assert expr.get("Context") == "OEL" and expr.text.startswith("IT.WEIGHT /")


def test_no_crf_pages_means_no_annotated_crf() -> None:
    root = _define()
    assert not root.xpath("//def:AnnotatedCRF | //def:PDFPageRef", namespaces=NS)


def test_value_level_metadata_from_collection_exception_conditions() -> None:
    """The unit item applies only to some tests: a where clause per negated condition."""
    root = _define()
    unit = _one(root, "//odm:ItemDef[@OID='IT.VSORRESU_BP']")
    vl_oid = _one(unit, "def:ValueListRef").get("ValueListOID")
    ref = _one(root, f"//def:ValueListDef[@OID='{vl_oid}']/odm:ItemRef")
    wc_oid = _one(ref, "def:WhereClauseRef").get("WhereClauseOID")
    check = _one(root, f"//def:WhereClauseDef[@OID='{wc_oid}']/odm:RangeCheck")
    assert check.get("Comparator") == "IN"
    assert check.get(f"{{{NS['def']}}}ItemOID") == "IT.VSTESTCD"
    assert [v.text for v in check] == ["SYSBP", "DIABP"]
    ht = _one(root, "//def:WhereClauseDef[@OID='WC.IT.VSORRESU_HT.1']/odm:RangeCheck")
    assert (ht.get("Comparator"), ht[0].text) == ("EQ", "HEIGHT")
    vlm_item = _one(root, f"//odm:ItemDef[@OID='{ref.get('ItemOID')}']")
    assert _one(vlm_item, "odm:CodeListRef").get("CodeListOID") == "CL.BPU"


def _stylesheet(corpus: Path) -> etree.XSLT:
    data = (corpus / "define_xml" / "stylesheets" / "define2-1.xsl").read_bytes()
    return etree.XSLT(
        etree.fromstring(data, make_parser()), access_control=etree.XSLTAccessControl.DENY_ALL
    )


def test_renders_to_html_with_the_cdisc_stylesheet(corpus: Path) -> None:
    html = _stylesheet(corpus)(_define(crf_pages={"IT.SEX": [3]}).getroottree())
    page = etree.fromstring(bytes(html), etree.HTMLParser())
    text = " ".join(page.itertext())
    assert "Vital signs" in text and "Demographics" in text
    for name in ("SUBJID", "VSTESTCD", "BRTHDAT"):
        assert name in text
    assert "Systolic BP" in text  # a decode from the code list table
    assert page.xpath("//a[contains(@href, 'dm.json')]")
    assert page.xpath("//a[contains(@href, 'acrf.pdf')]")


@pytest.mark.parametrize(
    "name",
    [
        "cdisc_odm13/cdisc-cdash-odm-1_3_1.xml",
        "redcap/redcap-repeating-events-extended-large.xml",
        "openclinica/openclinica3-extract-multisite.xml",
        "medidata_rave/rave-mediflex-metadata.xml",
        "openedc/openedc-example-metadata.xml",
    ],
)
def test_corpus_metadata_gives_valid_define(corpus: Path, name: str) -> None:
    result = load_odm((corpus / name).read_bytes(), path=name)
    assert result.odm is not None
    root = etree.fromstring(write_define(result.odm), make_parser())
    xsd = schema("define-2.1")
    assert xsd.validate(root), xsd.error_log
    assert str(_stylesheet(corpus)(root.getroottree()))


BORTEZOMIB = Path(__file__).parents[2] / "metadata" / "bortezomib-retreatment.xml"


def test_raw_datasets_borrow_no_sdtm_domain_and_keep_their_form_titles(corpus: Path) -> None:
    """Issue 19 defect 6: raw EDC datasets carry no Domain (the stylesheet took DSIC and DS
    for split DS datasets and titled DSIC "Informed consent, End of data collection"); the
    SDTM mapping stays in the Alias annotations."""
    result = load_odm(BORTEZOMIB.read_bytes(), path=BORTEZOMIB.name)
    assert result.odm is not None
    mdv = result.odm.studies[0].metadata_versions[0]
    root = etree.fromstring(write_define(result.odm), make_parser())
    groups = root.xpath("//odm:ItemGroupDef", namespaces=NS)
    assert groups
    html = etree.fromstring(bytes(_stylesheet(corpus)(root.getroottree())), etree.HTMLParser())
    text = " ".join(" ".join(html.itertext()).split())
    for ig in groups:
        assert ig.get("Domain") is None, ig.get("OID")
        title = " ".join(mdv.item_group_defs[ig.get("OID")].description.get().split())
        assert ig.findtext("odm:Description/odm:TranslatedText", namespaces=NS) == title
        assert f"{ig.get('Name')} ({title})" in text


def test_standards_and_a_class_on_every_dataset() -> None:
    """Issue 19 defect 5: def:Standards (with the NCI CT version), def:Class on every
    ItemGroupDef, every def:StandardOID resolves; the file stays schema-valid."""
    root = _define(ct_version="2024-12-20")
    assert schema("define-2.1").validate(root)
    mdv = _one(root, "//odm:MetaDataVersion")
    standards = mdv.find("def:Standards", NS)
    assert standards is not None and mdv.index(standards) == 0
    ct = _one(standards, "def:Standard[@Type='CT']")
    assert (ct.get("Name"), ct.get("Version"), ct.get("Status")) == (
        "CDISC/NCI",
        "2024-12-20",
        "Final",
    )
    groups = root.xpath("//odm:ItemGroupDef", namespaces=NS)
    classes = {ig.get("OID"): _one(ig, "def:Class").get("Name") for ig in groups}
    assert classes == {"IG.DM": "SPECIAL PURPOSE", "IG.VS": "FINDINGS"}
    defined = {s.get("OID") for s in standards.findall("def:Standard", NS)}
    for el in root.xpath("//*[@def:StandardOID]", namespaces=NS):
        assert el.get(f"{{{NS['def']}}}StandardOID") in defined


def test_the_command_line_names_the_terminology_version(tmp_path: Path) -> None:
    """`edc export define --ct-version`: the CT Standard is Final with that version; a value
    that is no release date is a usage error (exit 2) that says what to write."""
    from click.testing import CliRunner

    from cli import main

    source = tmp_path / "vs.xml"
    source.write_bytes(vs_study())
    out = tmp_path / "define.xml"
    args = ["export", "define", "--metadata", str(source), "-o", str(out)]
    done = CliRunner().invoke(main, [*args, "--ct-version", "2024-12-20"])
    assert done.exit_code == 0, done.output
    ct = _one(etree.fromstring(out.read_bytes(), make_parser()), "//def:Standard[@Type='CT']")
    assert (ct.get("Version"), ct.get("Status")) == ("2024-12-20", "Final")
    refused = CliRunner().invoke(main, [*args, "--ct-version", "2024-13-01"])
    assert refused.exit_code == 2
    assert "--ct-version: '2024-13-01' is not a CDISC controlled terminology version" in (
        refused.output
    )
    assert "YYYY-MM-DD" in refused.output


def test_key_variables_are_as_long_as_what_they_hold() -> None:
    """Issue 19 defect 10: no key variable is Length 100: STUDYID is as long as the protocol
    name, VISITOID and FORMOID as the longest OID, a repeat key of a non-repeating level 1;
    without data, SubjectKey and site number take documented defaults."""
    root = _define()
    lengths = {
        el.get("Name"): int(el.get("Length"))
        for el in root.xpath("//odm:ItemDef[starts-with(@OID, 'IT.EDC.')]", namespaces=NS)
    }
    assert lengths["STUDYID"] == len("T-1")
    assert lengths["VISITOID"] == max(len("SE.BASE"), len("SE.FU"))
    assert lengths["FORMOID"] == len("F.VS")
    assert (lengths["SITEID"], lengths["SUBJID"]) == (10, 20)
    assert lengths["USUBJID"] == 3 + 1 + 10 + 1 + 20
    assert 100 not in lengths.values()
