"""Coverage of the bortezomib re-treatment study (issue 4) against what the protocol asks for.

The study is metadata/bortezomib-retreatment.xml; its examples are metadata/examples/. These
tests read the study through the real pipeline (load_odm -> compile_study -> evaluate) and
assert that every form, closed question, partial date and listed edit check is there, and that
the listed checks fire on the broken example exactly as its comments document.
"""

from __future__ import annotations

import json
import re
from datetime import date
from functools import cache
from pathlib import Path

import pytest
from lxml import etree

from odm_engine import model as m
from odm_engine.check_report import run_check
from odm_engine.findings import Severity
from odm_engine.loader import load_odm
from odm_engine.validate import check as validate

REPO = Path(__file__).resolve().parents[2]
STUDY = REPO / "metadata" / "bortezomib-retreatment.xml"
CLEAN = REPO / "metadata" / "examples" / "bortezomib-retreatment-clean.xml"
BROKEN = REPO / "metadata" / "examples" / "bortezomib-retreatment-broken.xml"
TODAY = date(2025, 6, 1)
"""A fixed 'today' so that the not-in-the-future checks do not depend on the clock."""

FORMS = {
    "F.IC": "Informed consent",
    "F.IE": "Eligibility",
    "F.LV": "Last visit",
    "F.DM": "Demographics and patient characteristics",
    "F.RF": "Predefined risk factors",
    "F.MM": "MM-related data",
    "F.L1": "First-line bortezomib therapy",
    "F.L2": "Second-line bortezomib therapy",
    "F.STAT": "Status after re-treatment",
    "F.MRU": "Medical resource utilisation",
    "F.ADR": "(Serious) adverse drug reactions",
    "F.EOS": "End of data collection",
}
BILINGUAL_FORMS = ("F.IC", "F.IE", "F.ADR")

OPEN_TEXT = {
    "IT.MH_OTHSP",
    "IT.L1_REGOTH",
    "IT.L2_REGOTH",
    "IT.ST_SUBTHSP",
    "IT.HO_TYPESP",
    "IT.ADR_TERM",
    "IT.DS_REASSP",
}
"""Free-text questions: every other text item is a closed question and needs a code list."""
OPEN_NUMBERS = {"IT.L1_CYC", "IT.L2_CYC", "IT.L2_TFI", "IT.HO_DAYS"}
"""Integer counts; every other integer item is a closed question (ECOG, CTCAE, line)."""

PARTIAL_DATES = {
    "IT.DM_BRTHDAT",
    "IT.MM_DIAGDAT",
    "IT.L1_ASCTDAT",
    "IT.L2_ASCTDAT",
    "IT.L1_BORDAT",
    "IT.L2_BORDAT",
    "IT.L1_PDDAT",
    "IT.L2_PDDAT",
    "IT.ST_PDDAT",
    "IT.ST_DTHDAT",
    "IT.HO_STDAT",
    "IT.HO_ENDAT",
    "IT.ADR_STDAT",
    "IT.ADR_ENDAT",
}
"""Dates a retrospective chart may hold only partly (the protocol allows year or month)."""
FULL_DATES = {
    "IT.IC_DAT",
    "IT.LV_LVDAT",
    "IT.LV_DCDAT",
    "IT.L1_STDAT",
    "IT.L1_ENDAT",
    "IT.L2_STDAT",
    "IT.L2_ENDAT",
    "IT.ST_LCDAT",
    "IT.DS_DAT",
}
"""Dates that must be complete: consent, study dates and the therapy dates the TFI uses."""

# The edit checks the issue lists: key -> (check id, severity). "#RCn" is the n-th RangeCheck
# of the ItemDef; "#CodeList" the code-list check the engine derives from the CodeListRef.
LISTED_CHECKS = {
    "consent date required when consent is required": ("IT.IC_REQ#RC1", "hard"),
    "no date after the data-collection date": ("IT.ST_LCDAT#RC1", "hard"),
    "adult at first-line start": ("IT.DM_BRTHDAT#RC1", "soft"),
    "diagnosis before first-line start": ("IT.MM_DIAGDAT#RC1", "hard"),
    "end after start: therapy": ("IT.L1_ENDAT#RC1", "hard"),
    "end after start: resource": ("IT.HO_ENDAT#RC1", "hard"),
    "end after start: reaction": ("IT.ADR_ENDAT#RC1", "hard"),
    "first-line best response PR or better": ("IT.L1_BOR#RC1", "soft"),
    "treatment-free interval of at least 6 months": ("IT.L2_TFI#RC1", "soft"),
    "second-line cycles at least 3": ("IT.L2_CYC#RC1", "soft"),
    "dose between 0.7 and 1.6 mg/m2": ("IT.L2_DOSE#RC1", "soft"),
    "plausible height": ("IT.VS_HEIGHT#RC1", "soft"),
    "plausible weight": ("IT.VS_WEIGHT#RC1", "soft"),
    "plausible albumin, unit-aware": ("IT.RF_ALB#RC2", "soft"),
    "ECOG 0-4": ("IT.DM_ECOG#CodeList", "hard"),
    "death date present when status is dead": ("IT.ST_STATUS#RC1", "hard"),
    "cause of death present when status is dead": ("IT.ST_STATUS#RC2", "hard"),
    "death date after second-line start": ("IT.ST_DTHDAT#RC1", "hard"),
    "seriousness criteria required when serious": ("IT.ADR_SER#RC1", "hard"),
    "grade 5 reaction implies outcome fatal": ("IT.ADR_OUT#RC1", "hard"),
    "grade 5 reaction implies status dead (cross-form)": ("IT.ADR_GRADE#RC1", "soft"),
    "reaction onset not before first-line start": ("IT.ADR_STDAT#RC1", "soft"),
    "last contact not before any other date (cross-form)": ("IT.ST_LCDAT#RC2", "soft"),
    "not eligible blocks data collection": ("IT.IE_ELIG#RC1", "hard"),
}
# Only-when rules that are conditions, not checks: item -> ConditionDef that hides it.
SHOWN_ONLY_WHEN = {
    "IT.IC_DAT": "C.IC_NOT_REQUIRED",
    "IT.ST_DTHDAT": "C.ST_NOT_DEAD",
    "IT.ST_DTHCAUS": "C.ST_NOT_DEAD",
    **{
        f"IT.ADR_S{c}": "C.ADR_NOT_SERIOUS" for c in ("DTH", "LIFE", "HOSP", "DISAB", "CONG", "MIE")
    },
}
BREAKS = re.compile(r"Breaks check (IT\.[A-Z0-9_]+#(?:RC\d+|CodeList)) \((hard|soft) (\w+)\)")


@cache
def study() -> m.ODM:
    result = load_odm(STUDY.read_bytes(), path=str(STUDY))
    assert result.odm is not None, [f.format() for f in result.findings]
    return result.odm


def mdv() -> m.MetaDataVersion:
    version = study().studies[0].metadata_version()
    assert version is not None
    return version


def form_items(form_oid: str) -> list[m.ItemDef]:
    v = mdv()
    return [
        v.item_defs[ref.item_oid]
        for gref in v.form_defs[form_oid].item_group_refs
        for ref in v.item_group_defs[gref.item_group_oid].item_refs
    ]


def item_refs() -> dict[str, m.ItemRef]:
    return {r.item_oid: r for g in mdv().item_group_defs.values() for r in g.item_refs}


@cache
def results(path: Path) -> list[dict[str, str]]:
    code, lines, findings = run_check(
        STUDY.read_bytes(),
        path.read_bytes(),
        metadata_path=str(STUDY),
        data_path=str(path),
        output="json",
        today=TODAY,
    )
    assert code in (0, 1), lines
    assert not [f for f in findings if f.severity is Severity.ERROR]
    return json.loads(lines[0]) if lines else []


def documented_violations() -> set[tuple[str, str, str]]:
    """(subject key, check id, severity) from the comment in front of each SubjectData."""
    tree = etree.parse(str(BROKEN), etree.XMLParser(resolve_entities=False, no_network=True))
    expected = set()
    for subject in tree.iter("{http://www.cdisc.org/ns/odm/v1.3}SubjectData"):
        comment = subject.getprevious()
        assert isinstance(comment, etree._Comment), subject.get("SubjectKey")
        found = BREAKS.search(comment.text or "")
        assert found, f"{subject.get('SubjectKey')}: the comment names no broken check"
        expected.add((subject.get("SubjectKey"), found.group(1), found.group(2)))
    return expected


# --------------------------------------------------------------------------------------------


def test_study_validates_without_errors_or_warnings() -> None:
    """Issue 4 acceptance: `edc validate metadata/` gives zero errors and zero warnings."""
    report = validate(STUDY.read_bytes(), path=str(STUDY))
    assert [f.format() for f in report.findings if f.severity is not Severity.INFO] == []


def test_file_is_an_odm_132_snapshot() -> None:
    odm = study()
    assert (odm.file_type, odm.odm_version) == ("Snapshot", "1.3.2")
    assert len(odm.studies) == 1 and len(odm.studies[0].metadata_versions) == 1


def test_visit_structure() -> None:
    """ODM 1.3.2 §3.1.2 Protocol/StudyEventRef: four events, the ADR log is Type Common."""
    v = mdv()
    assert v.protocol is not None
    refs = {r.study_event_oid: r for r in v.protocol.study_event_refs}
    assert list(refs) == ["SE.ELIG", "SE.DCV", "SE.ADR", "SE.EOS"]
    assert [r.order_number for r in refs.values()] == [1, 2, 3, 4]
    assert v.study_event_defs["SE.ADR"].type == "Common"
    assert refs["SE.ELIG"].mandatory and refs["SE.EOS"].mandatory
    for gated in ("SE.DCV", "SE.ADR"):
        assert refs[gated].collection_exception_condition_oid == "C.NOT_ELIGIBLE"
        assert not refs[gated].mandatory  # enforced by the gate and the EOS checks instead
    placed = {f.form_oid for se in v.study_event_defs.values() for f in se.form_refs}
    assert placed == set(FORMS)


def test_every_form_of_the_protocol_exists() -> None:
    v = mdv()
    for oid, what in FORMS.items():
        assert oid in v.form_defs, f"missing form {oid} ({what})"


def test_therapy_forms_have_the_same_shape() -> None:
    """First- and second-line forms ask the same questions; F.L2 adds the derived TFI."""

    def shape(form: str) -> list[tuple[str, str, str | None]]:
        return [
            (i.oid.split("_", 1)[1], i.data_type, i.code_list_oid)
            for i in form_items(form)
            if i.oid != "IT.L2_TFI"
        ]

    assert shape("F.L1") == shape("F.L2")
    assert item_refs()["IT.L2_TFI"].method_oid == "M.L2_TFI"
    tfi = mdv().method_defs["M.L2_TFI"].formal_expressions[0]
    assert tfi.context == "OEL" and "[SE.DCV/F.L1/IT.L1_ENDAT]" in tfi.text


def test_eligibility_has_every_criterion_and_a_derived_gate() -> None:
    items = {i.oid for i in form_items("F.IE")}
    assert {f"IT.IE_IN0{n}" for n in range(1, 8)} <= items
    assert {f"IT.IE_EX0{n}" for n in range(1, 4)} <= items
    assert item_refs()["IT.IE_ELIG"].method_oid == "M.IE_ELIG"
    gate = mdv().condition_defs["C.NOT_ELIGIBLE"].formal_expressions[0].text
    assert "IT.IE_ELIG" in gate


def test_every_closed_question_has_a_code_list() -> None:
    v = mdv()
    for item in v.item_defs.values():
        closed = (item.data_type == "text" and item.oid not in OPEN_TEXT) or (
            item.data_type == "integer" and item.oid not in OPEN_NUMBERS
        )
        if closed:
            assert item.code_list_oid in v.code_lists, f"{item.oid} has no code list"
    meddra = v.code_lists[v.item_defs["IT.ADR_PT"].code_list_oid or ""]
    assert meddra.external_code_list is not None
    assert meddra.external_code_list.dictionary == "MedDRA"


def test_partial_dates_where_the_chart_allows_them() -> None:
    v = mdv()
    for oid in PARTIAL_DATES:
        assert v.item_defs[oid].data_type == "partialDate", oid
    for oid in FULL_DATES:
        assert v.item_defs[oid].data_type == "date", oid
    dates = {o for o, i in v.item_defs.items() if i.data_type in ("date", "partialDate")}
    assert dates == PARTIAL_DATES | FULL_DATES


def test_bilingual_forms_speak_english_and_german() -> None:
    v = mdv()
    for form in BILINGUAL_FORMS:
        assert set(v.form_defs[form].description.languages) == {"en", "de"}
        for item in form_items(form):
            assert set(item.question.languages) == {"en", "de"}, item.oid
            for rc in item.range_checks:
                assert set(rc.error_message.languages) == {"en", "de"}, item.oid
            code_list = v.item_code_list(item)
            if code_list is not None:
                for cli in code_list.items:
                    assert set(cli.decode.languages) == {"en", "de"}, code_list.oid
    for item in v.item_defs.values():
        assert item.question.get("en"), item.oid


def test_sdtm_annotations_and_sas_names() -> None:
    v = mdv()
    sas = [i.sas_field_name for i in v.item_defs.values()]
    assert all(s and len(s) <= 8 for s in sas)
    assert len(set(sas)) == len(sas)
    pattern = re.compile(r"^(SUPP)?[A-Z]{2}(\.[A-Z0-9]{1,8})?$")
    for group in v.item_group_defs.values():
        assert group.domain and group.sas_dataset_name, group.oid
        item_aliases = [
            a.name
            for r in group.item_refs
            for a in v.item_defs[r.item_oid].aliases
            if a.context == "SDTM"
        ]
        group_aliases = [a.name for a in group.aliases if a.context == "SDTM"]
        assert all(pattern.match(n) for n in item_aliases + group_aliases), group.oid
        if item_aliases:
            assert group_aliases == [group.domain], group.oid
    domains = {a.name for g in v.item_group_defs.values() for a in g.aliases}
    assert {"DM", "DS", "IE", "MH", "EC", "RS", "AE", "HO", "VS", "LB"} <= domains
    assert ("SDTM", "DM.SEX") in {(a.context, a.name) for a in v.item_defs["IT.DM_SEX"].aliases}


def test_albumin_is_unit_aware() -> None:
    """ODM 1.3.2 §3.1.9.4 RangeCheck/MeasurementUnitRef: albumin in g/dL or g/L."""
    alb = mdv().item_defs["IT.RF_ALB"]
    assert set(alb.measurement_unit_oids) == {"MU.G_DL", "MU.G_L"}
    assert alb.range_checks and all(
        rc.measurement_unit_oid and rc.is_soft for rc in alb.range_checks
    )


def test_conditionally_collected_items_are_not_mandatory() -> None:
    refs = item_refs()
    for oid, condition in SHOWN_ONLY_WHEN.items():
        assert refs[oid].collection_exception_condition_oid == condition, oid
    for ref in refs.values():
        if ref.collection_exception_condition_oid or ref.method_oid:
            assert not ref.mandatory, ref.item_oid


def test_at_least_30_edit_checks_each_with_a_message() -> None:
    checks = [(i, rc) for i in mdv().item_defs.values() for rc in i.range_checks]
    assert len(checks) >= 30
    for item, rc in checks:
        assert rc.error_message.get("en"), item.oid
        for fe in rc.formal_expressions:
            assert fe.context == "OEL", item.oid
    assert {rc.soft_hard for _, rc in checks} == {"Hard", "Soft"}


def test_no_date_after_the_data_collection_date() -> None:
    """Every date is checked (hard) against the date of data collection or today."""
    for item in mdv().item_defs.values():
        if item.data_type not in ("date", "partialDate"):
            continue
        guards = [
            rc
            for rc in item.range_checks
            for fe in rc.formal_expressions
            if "IT.LV_DCDAT" in fe.text or "today()" in fe.text
        ]
        assert guards and all(rc.soft_hard == "Hard" for rc in guards), item.oid


def test_every_listed_check_is_defined() -> None:
    v = mdv()
    for what, (check_id, severity) in LISTED_CHECKS.items():
        oid, which = check_id.split("#")
        item = v.item_defs[oid]
        if which == "CodeList":
            assert item.code_list_oid, what
            continue
        rc = item.range_checks[int(which[2:]) - 1]
        assert rc.soft_hard.lower() == severity, what


def test_admin_data_sites_countries_and_signature() -> None:
    odm = study()
    admin = odm.admin_data[0]
    sites = [loc for loc in admin.locations.values() if loc.location_type == "Site"]
    assert len(sites) >= 6
    mdv_oid = mdv().oid
    for loc in admin.locations.values():
        assert [r.metadata_version_oid for r in loc.metadata_version_refs] == [mdv_oid]
    root = etree.parse(str(STUDY)).getroot()
    ns = {"odm": "http://www.cdisc.org/ns/odm/v1.3"}
    countries = {
        user.findtext("odm:Address/odm:Country", namespaces=ns)
        for user in root.iterfind("odm:AdminData/odm:User", ns)
        if user.find("odm:LocationRef", ns).get("LocationOID") in {s.oid for s in sites}
    }
    assert len(countries) >= 4
    assert admin.signature_defs
    assert b"assword" not in STUDY.read_bytes()


def test_clean_example_passes_every_check() -> None:
    """Issue 4 acceptance: `edc check` on the clean example reports nothing."""
    tree = etree.parse(str(CLEAN))
    assert len(tree.findall(".//{http://www.cdisc.org/ns/odm/v1.3}SubjectData")) == 10
    assert results(CLEAN) == []


def test_broken_example_reports_exactly_the_documented_violations() -> None:
    """Issue 4 acceptance: each broken subject fails the one check its comment names."""
    actual = {(r["subject"], r["check"], r["severity"]) for r in results(BROKEN)}
    assert actual == documented_violations()
    assert len(results(BROKEN)) == len(actual)


@pytest.mark.parametrize("what", sorted(LISTED_CHECKS))
def test_listed_check_fires_on_the_broken_example(what: str) -> None:
    check_id, severity = LISTED_CHECKS[what]
    fired = {(r["check"], r["severity"]) for r in results(BROKEN)}
    assert (check_id, severity) in fired


def test_broken_messages_are_german_on_bilingual_forms() -> None:
    _, lines, _ = run_check(
        STUDY.read_bytes(), BROKEN.read_bytes(), output="json", lang="de", today=TODAY
    )
    rows = {r["check"]: r["message"] for r in json.loads(lines[0])}
    assert rows["IT.IC_REQ#RC1"].startswith("Nach den lokalen Vorschriften")
    assert rows["IT.ADR_OUT#RC1"].startswith("Eine Reaktion mit Grad 5")
