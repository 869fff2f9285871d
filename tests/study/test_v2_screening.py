"""Version 2 of the bortezomib study (issue 17, items 1, 2 and 4): screen failures, the consent
gate and the date-order checks, each proven by a probe subject that triggers it and one that
does not.

Every probe is the baseline subject DE01-001 of the clean example
(metadata/examples/bortezomib-retreatment-v2-clean.xml) or its screen failure DE01-004 with a
few values changed, written as ODM ClinicalData here
and checked by the engine as ``edc check`` does (``run_check``). What a probe adds to its
baseline's findings is compared with the exact (check id, severity) pairs expected, so the
findings of items other helpers are still adding to the study do not hide or fake a result. A
triggering probe must add at least the findings listed (a change may rightly break a rule of
another item too: a later transplant also shortens the treatment-free interval); the broken
example, a fixed file, must give exactly its documented findings for these checks.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from datetime import date
from functools import cache
from pathlib import Path

import pytest
from lxml import etree

from odm_engine.check_report import run_check
from odm_engine.findings import Severity

REPO = Path(__file__).resolve().parents[2]
STUDY = REPO / "metadata" / "bortezomib-retreatment-v2.xml"
CLEAN = REPO / "metadata" / "examples" / "bortezomib-retreatment-v2-clean.xml"
BROKEN = REPO / "metadata" / "examples" / "bortezomib-retreatment-v2-broken.xml"
TODAY = date(2025, 6, 1)
NS = "http://www.cdisc.org/ns/odm/v1.3"
Q = f"{{{NS}}}"
BASE, SCREEN_FAILURE = "DE01-001", "DE01-004"

Changes = Mapping[str, str | None]
"""What a probe changes in its baseline subject. Keys: ``IT.X`` (the item, in the only or first
group row holding it), ``IT.X@2`` (in the row with ItemGroupRepeatKey 2), ``IG.G/IT.X`` (set,
adding the ItemData to group IG.G when it is missing), ``?IT.X`` (change or remove the item
only if the subject has it), ``-SE.X`` or ``-F.X`` (drop the study event or form). A value of
None removes the ItemData."""


@cache
def _clean() -> etree._ElementTree:
    return etree.parse(str(CLEAN), etree.XMLParser(resolve_entities=False, no_network=True))


def subject(key: str, base: str = BASE, changes: Changes | None = None) -> etree._Element:
    """A copy of subject ``base`` of the clean example, renamed ``key``, with ``changes``."""
    found = _clean().find(f".//{Q}SubjectData[@SubjectKey='{base}']")
    assert found is not None, base
    new = copy.deepcopy(found)
    new.set("SubjectKey", key)
    for what, value in (changes or {}).items():
        _apply(new, what, value)
    return new


def _apply(subj: etree._Element, what: str, value: str | None) -> None:
    if what.startswith("-"):
        tag = "StudyEventData" if what.startswith("-SE.") else "FormData"
        attr = "StudyEventOID" if tag == "StudyEventData" else "FormOID"
        gone = subj.find(f".//{Q}{tag}[@{attr}='{what[1:]}']")
        assert gone is not None, what
        gone.getparent().remove(gone)
        return
    optional = what.startswith("?")
    group_oid, _, item = what.lstrip("?").rpartition("/")
    item, _, repeat = item.partition("@")
    rows = (
        subj.iter(f"{Q}ItemGroupData")
        if not group_oid
        else subj.iterfind(f".//{Q}ItemGroupData[@ItemGroupOID='{group_oid}']")
    )
    for row in rows:
        if repeat and row.get("ItemGroupRepeatKey") != repeat:
            continue
        data = row.find(f"{Q}ItemData[@ItemOID='{item}']")
        if data is None and (optional or not group_oid):
            continue
        if value is None:
            row.remove(data)
        elif data is None:
            etree.SubElement(row, f"{Q}ItemData", ItemOID=item, Value=value)
        else:
            data.set("Value", value)
        return
    assert optional, f"{what}: no such item in the subject"


def odm(*subjects: etree._Element) -> bytes:
    """An ODM file holding ``subjects`` under version 2."""
    root = etree.Element(
        f"{Q}ODM",
        nsmap={None: NS},
        FileType="Snapshot",
        FileOID="PROBE",
        CreationDateTime="2025-06-01T10:00:00",
        ODMVersion="1.3.2",
    )
    clinical = etree.SubElement(
        root, f"{Q}ClinicalData", StudyOID="ST.BTZ_RETREAT", MetaDataVersionOID="MDV.BTZ_RETREAT.2"
    )
    clinical.extend(subjects)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def check_rows(data: bytes, path: str = "probe.xml") -> list[dict[str, str]]:
    code, lines, findings = run_check(
        STUDY.read_bytes(),
        data,
        metadata_path=str(STUDY),
        data_path=path,
        output="json",
        today=TODAY,
    )
    assert code in (0, 1), lines
    assert not [f for f in findings if f.severity is Severity.ERROR]
    return json.loads(lines[0]) if lines else []


def found(rows: list[dict[str, str]], key: str) -> set[tuple[str, str]]:
    return {(r["check"], r["severity"]) for r in rows if r["subject"] == key}


def added(changes: Changes, base: str = BASE) -> set[tuple[str, str]]:
    """The (check, severity) pairs the probe reports that its baseline does not."""
    rows = check_rows(odm(subject("BASE", base), subject("PROBE", base, changes)))
    return found(rows, "PROBE") - found(rows, "BASE")


# (name, baseline, changes that trigger, exact findings added, changes that do not trigger)
SF = SCREEN_FAILURE
L2_EARLY = {
    # first line ends with the last bortezomib dose (no transplant, no maintenance), so the
    # treatment-free interval runs from IT.L1_ENDAT 2013-12-20 whatever else ends first line
    "IT.L1_ASCT": "N", "IT.L1_ASCTDAT": None, "IT.L1_MAINT": "NONE",
    "?IT.L1_MAINTSTDAT": None, "?IT.L1_MAINTENDAT": None,
    "IT.L1_BORDAT": "2014-01", "?IT.L1_RSPDAT": "2014-01", "IT.L1_PDDAT": "2014-03",
    "IT.L2_ENDAT": "2014-09-01",
}  # fmt: skip
EARLY_PD = {"IT.L1_BORDAT": "2013-10", "?IT.L1_RSPDAT": "2013-10", "IT.L1_ASCTDAT": "2013-11"}
DEAD = {"IT.ST_STATUS": "DEAD", "IG.ST_STATUS/IT.ST_DTHCAUS": "MM"}
DEATH_2018 = {
    **DEAD, "IG.ST_STATUS/IT.ST_DTHDAT": "2018-06-20", "IT.ST_LCDAT": "2018-06-20",
    "?IT.ST_LADAT": "2018-06-20", "?IT.ST_SUBTHSTDAT": "2018-06-10",
}  # fmt: skip
PROBES: list[tuple[str, str, Changes, set[tuple[str, str]], Changes]] = [
    # item 1: eligibility confirmed against the collected data, on the eligibility form
    ("IT.IE_IN03#RC1", BASE, {"IT.L1_BOR": "SD"},
     {("IT.IE_IN03#RC1", "soft"), ("IT.L1_BOR#RC1", "soft")}, {"IT.L1_BOR": "PR"}),
    ("IT.IE_IN05#RC1", BASE, {"IT.L2_CYC": "2", "IT.L2_ENDAT": "2016-11-20"},
     {("IT.IE_IN05#RC1", "soft"), ("IT.L2_CYC#RC1", "soft")},
     {"IT.L2_CYC": "3", "IT.L2_ENDAT": "2016-11-20"}),
    ("IT.IE_IN06#RC1", BASE, {**L2_EARLY, "IT.L2_STDAT": "2014-04-01", "IT.L2_TFI": "3"},
     {("IT.IE_IN06#RC1", "soft"), ("IT.L2_TFI#RC1", "soft")},
     {**L2_EARLY, "IT.L2_STDAT": "2014-06-20", "IT.L2_TFI": "6", "IT.L2_ENDAT": "2014-11-20",
      "IT.L1_PDDAT": "2014-05"}),
    # item 1: the end-of-study form agrees with the derived eligibility
    ("IT.DS_REAS#RC2", BASE,
     {"IT.DS_COMPL": "N", "IG.DS/IT.DS_REAS": "NOTELIG"}, {("IT.DS_REAS#RC2", "hard")},
     {"IT.DS_COMPL": "N", "IG.DS/IT.DS_REAS": "NODATA"}),
    ("IT.DS_REAS#RC3", SF, {"IT.DS_REAS": "CONSWD", "IT.DS_IEFAIL": None},
     {("IT.DS_REAS#RC3", "hard")}, {}),
    ("IT.DS_COMPL#RC2", SF, {"IT.DS_COMPL": "Y", "IT.DS_REAS": None, "IT.DS_IEFAIL": None},
     {("IT.DS_COMPL#RC1", "hard"), ("IT.DS_COMPL#RC2", "hard")}, {}),
    # item 1: the derived result and the failed criteria follow the answers
    ("M.IE_ELIG", SF, {"IT.IE_ELIG": "Y"}, {("M.IE_ELIG", "soft")}, {}),
    ("M.IE_FAIL", SF, {"IT.IE_IN06": "N"},
     {("M.IE_FAIL", "soft"), ("M.DS_IEFAIL", "soft")},
     {"IT.IE_IN06": "N", "IT.IE_FAIL": "IN03;IN06", "IT.DS_IEFAIL": "IN03;IN06"}),
    # item 2: no consent form at all
    ("IT.DS_COMPL#RC4", SF, {"-F.IC": None, "-F.IE": None},
     {("IT.DS_COMPL#RC4", "hard"), ("F.IC#Mandatory", "soft")}, {}),
    # item 4: date order and consistency
    ("IT.MM_DIAGDAT#RC3", BASE, {"IT.MM_DIAGDAT": "1952-03"}, {("IT.MM_DIAGDAT#RC3", "hard")},
     {"IT.MM_DIAGDAT": "1952-05"}),
    ("IT.L1_ASCTDAT#RC3", BASE, {"IT.L1_ASCTDAT": "2016-11"},
     {("IT.L1_ASCTDAT#RC3", "hard"), ("IT.L1_ASCTDAT#RC4", "soft")},
     {"IT.L1_ASCTDAT": "2016-10-01"}),
    ("IT.L1_ASCTDAT#RC4", BASE, {"IT.L1_ASCTDAT": "2016-10-01"},
     {("IT.L1_ASCTDAT#RC4", "soft")}, {"IT.L1_ASCTDAT": "2016-08"}),
    ("IT.L1_PDDAT#RC4", BASE, {**EARLY_PD, "IT.L1_PDDAT": "2013-11"},
     {("IT.L1_PDDAT#RC4", "soft")}, {**EARLY_PD, "IT.L1_PDDAT": "2013-11", "IT.L1_STOP": "PD"}),
    ("IT.L1_STOP#RC1", BASE, {"IT.L1_STOP": "PD"}, {("IT.L1_STOP#RC1", "soft")},
     {**EARLY_PD, "IT.L1_STOP": "PD", "IT.L1_PDDAT": "2013-12-28"}),
    ("IT.L1_CYC#RC2", BASE, {"IT.L1_CYC": "2"}, {("IT.L1_CYC#RC2", "soft")}, {"IT.L1_CYC": "5"}),
    ("IT.L2_CYC#RC3", BASE, {"IT.L2_CYC": "20"}, {("IT.L2_CYC#RC3", "soft")}, {"IT.L2_CYC": "12"}),
    ("IT.ST_LCDAT#RC3", BASE, {**DEAD, "IG.ST_STATUS/IT.ST_DTHDAT": "2023-05-10"},
     {("IT.ST_LCDAT#RC3", "hard")}, {**DEAD, "IG.ST_STATUS/IT.ST_DTHDAT": "2024-03-01"}),
    ("IT.L1_MAINTSTDAT#RC3", BASE,
     {"IG.L1_ASCT/IT.L1_MAINTSTDAT": "2016-10-10", "IG.L1_ASCT/IT.L1_MAINTENDAT": "2016-12"},
     {("IT.L1_MAINTSTDAT#RC3", "hard")},
     {"IG.L1_ASCT/IT.L1_MAINTSTDAT": "2016-10-04", "IG.L1_ASCT/IT.L1_MAINTENDAT": "2016-12"}),
    ("IT.ST_SUBTHSTDAT#RC3", BASE, {**DEATH_2018, "IG.ST_SUBTH/IT.ST_SUBTHSTDAT": "2018-07"},
     {("IT.ST_SUBTHSTDAT#RC3", "hard")},
     {**DEATH_2018, "IG.ST_SUBTH/IT.ST_SUBTHSTDAT": "2018-06-10"}),
    ("IT.L2_PDDAT#RC4", BASE, {**DEATH_2018, "IT.L2_PDDAT": "2018-07"},
     {("IT.L2_PDDAT#RC4", "hard")}, {**DEATH_2018, "IT.L2_PDDAT": "2018-05"}),
    ("IT.ADR_STDAT#RC1", BASE, {"IT.ADR_STDAT@1": "2013-05"}, {("IT.ADR_STDAT#RC1", "hard")},
     {"IT.ADR_STDAT@1": "2013-06-10"}),
    ("IT.ADR_STDAT#RC2", BASE, {"IT.ADR_STDAT@2": "2016-09-20"}, {("IT.ADR_STDAT#RC2", "hard")},
     {"IT.ADR_STDAT@2": "2016-10-05"}),
    ("IT.ADR_STDAT#RC4", BASE, {"IT.ADR_STDAT@1": "2016-10-10", "IT.ADR_ENDAT@1": "2016-12"},
     {("IT.ADR_STDAT#RC4", "soft")}, {"IT.ADR_STDAT@1": "2016-10-04", "IT.ADR_ENDAT@1": "2016-12"}),
]  # fmt: skip


@pytest.mark.parametrize(
    ("check", "base", "trigger", "expected", "quiet"),
    [pytest.param(*p, id=p[0]) for p in PROBES],
)
def test_each_check_has_a_probe_that_fires_it_and_one_that_does_not(
    check: str, base: str, trigger: Changes, expected: set[tuple[str, str]], quiet: Changes
) -> None:
    assert expected <= added(trigger, base)
    assert check in {c for c, _ in expected}
    assert check not in {c for c, _ in added(quiet, base)}


def test_the_clean_v2_example_breaks_none_of_these_checks() -> None:
    mine = {p[0] for p in PROBES} | {"C.NOT_ENROLLED", "C.NO_CONSENT"}
    rows = check_rows(CLEAN.read_bytes(), str(CLEAN))
    assert [r for r in rows if r["check"] in mine or r["subject"] == SF] == []


def _hidden_forms(rows: list[dict[str, str]], key: str) -> dict[str, set[str]]:
    """Form OID -> the ConditionDefs that report its values as not collected."""
    out: dict[str, set[str]] = {}
    for r in rows:
        if r["subject"] == key and r["kind"] == "condition":
            out.setdefault(r["form_oid"], set()).add(r["check"])
    return out


DATA_FORMS = {"F.LV", "F.DM", "F.RF", "F.MM", "F.L1", "F.L2", "F.STAT", "F.MRU", "F.ADR"}


def test_a_screen_failure_opens_only_the_end_of_study_form() -> None:
    """The screen failure with the baseline's data collection visit and ADR log added: every
    value there is reported as not collected (C.NOT_ENROLLED); the screening forms and the end
    of study are collected; the hard gate of version 1 is gone (no finding on F.IE)."""
    base = subject("X", BASE)
    sf = subject("SF", SF, {"IT.IC_DAT": "2024-04-10"})  # consented before data collection
    for event in ("SE.DCV", "SE.ADR"):
        sf.insert(2, copy.deepcopy(base.find(f"{Q}StudyEventData[@StudyEventOID='{event}']")))
    rows = check_rows(odm(sf))
    assert _hidden_forms(rows, "SF") == {form: {"C.NOT_ENROLLED"} for form in DATA_FORMS}
    assert not [r for r in rows if r["form_oid"] in ("F.IC", "F.IE", "F.EOS")]


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"IT.IC_DAT": None}, id="consent-required-no-date"),
        pytest.param({"IT.IC_DAT": "2024-04-16"}, id="consent-after-data-collection"),
        pytest.param({"-F.IC": None}, id="no-consent-form"),
    ],
)
def test_without_consent_only_the_consent_and_end_of_study_forms_are_collected(
    changes: Changes,
) -> None:
    rows = check_rows(odm(subject("NC", BASE, changes), subject("OK", BASE)))
    hidden = _hidden_forms(rows, "NC")
    assert hidden == {"F.IE": {"C.NO_CONSENT"}, **{f: {"C.NOT_ENROLLED"} for f in DATA_FORMS}}
    assert _hidden_forms(rows, "OK") == {}
    checks = found(rows, "NC")
    if "IT.IC_DAT" in changes and changes["IT.IC_DAT"] is None:
        assert ("IT.IC_REQ#RC1", "soft") in checks  # saved with a query, not refused
    elif "IT.IC_DAT" in changes:
        assert ("IT.IC_DAT#RC1", "hard") in checks
    else:
        assert ("IT.DS_COMPL#RC4", "hard") in checks


def test_consent_not_required_opens_data_entry() -> None:
    rows = check_rows(odm(subject("NR", BASE, {"IT.IC_REQ": "N", "IT.IC_DAT": None})))
    assert _hidden_forms(rows, "NR") == {}


BREAKS = re.compile(r"Breaks check ([A-Z]+\.[A-Z0-9_]+(?:#\w+)?) \((hard|soft) (\w+)\)")
GATE = {"C.NOT_ENROLLED", "C.NO_CONSENT", "IT.IC_REQ#RC1", "IT.IC_DAT#RC1"}
"""The consent gate's conditions and the consent checks, documented in the broken example."""


def test_broken_v2_example_reports_every_documented_violation() -> None:
    """Each subject of the broken example is documented by the comment in front of it: the
    checks it breaks. Of the checks listed in PROBES, exactly the documented ones fire."""
    tree = etree.parse(str(BROKEN), etree.XMLParser(resolve_entities=False, no_network=True))
    documented: set[tuple[str, str, str]] = set()
    for subj in tree.iter(f"{Q}SubjectData"):
        comment = subj.getprevious()
        assert isinstance(comment, etree._Comment), subj.get("SubjectKey")
        breaks = BREAKS.findall(comment.text or "")
        assert breaks, f"{subj.get('SubjectKey')}: the comment names no broken check"
        documented |= {(subj.get("SubjectKey"), check, sev) for check, sev, _ in breaks}
    mine = GATE | {check for _, _, _, expected, _ in PROBES for check, _ in expected}
    rows = check_rows(BROKEN.read_bytes(), str(BROKEN))
    actual = {(r["subject"], r["check"], r["severity"]) for r in rows if r["check"] in mine}
    assert actual == {d for d in documented if d[1] in mine}
    assert {p[0] for p in PROBES} <= {d[1] for d in documented}
