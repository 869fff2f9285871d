"""Safety data of the bortezomib study, version 2 (issue 17, item 5): MedDRA coding with its
version, causality per suspected drug of the regimen, the pharmacovigilance report, 'not graded
/ unknown' answers and the neuropathy grade at second-line start, each check proven by a probe
subject that triggers it and one that does not.

The probes are subject DE01-001 of the clean v2 example with a few values changed (the probe
helpers of tests/study/test_v2_screening.py), checked as ``edc check`` does. Its first reaction
(row 1) started in first line (regimen VTD: bortezomib, thalidomide, dexamethasone), its second
(row 2, serious) in second line (VD: bortezomib, dexamethasone).
"""

from __future__ import annotations

import pytest
from lxml import etree

from tests.study.test_v2_screening import BASE, Q, added, check_rows, found, odm, subject

UNRATED = {
    "IG.ADR/IT.ADR_RELDEX@1": None,
    "IG.ADR/IT.ADR_RELTHAL@1": None,
    "IG.ADR/IT.ADR_RELDEX@2": None,
}
"""The clean subject rates every drug of each reaction's regimen; these changes remove them."""

MEDDRA = ("LLT", "LLTCD", "PTCD", "SOC", "SOCCD", "MDRVER")
UNCODED = {f"IG.ADR/IT.ADR_{item}@{row}": None for item in MEDDRA for row in (1, 2)}
"""The clean subject's two reactions are coded whole; these changes leave only the PT."""

PROBES = [
    # a reaction no drug is at least possibly related to is not an adverse drug reaction
    (
        "IT.ADR_REL#RC1",
        {
            "IT.ADR_REL@1": "UNLIKELY",
            "IG.ADR/IT.ADR_RELDEX@1": "UNASSESSABLE",
            "IG.ADR/IT.ADR_RELTHAL@1": "UNLIKELY",
        },
        {("IT.ADR_REL#RC1", "hard")},
        {"IT.ADR_REL@1": "UNLIKELY", "IG.ADR/IT.ADR_RELDEX@1": "PROBABLE"},
    ),
    # a serious reaction not reported to pharmacovigilance; a reported one without reference
    (
        "IT.ADR_PVREP#RC1",
        {"IG.ADR/IT.ADR_PVREP@2": "N"},
        {("IT.ADR_PVREP#RC1", "soft")},
        {"IG.ADR/IT.ADR_PVREP@2": "Y", "IG.ADR/IT.ADR_PVREF@2": "DE-BTZ-2016-00042"},
    ),
    (
        "IT.ADR_PVREP#RC2",
        {"IG.ADR/IT.ADR_PVREP@2": "Y", "IG.ADR/IT.ADR_PVREF@2": None},
        {("IT.ADR_PVREP#RC2", "soft")},
        {"IG.ADR/IT.ADR_PVREP@2": "Y", "IG.ADR/IT.ADR_PVREF@2": "DE-BTZ-2016-00042"},
    ),
    # MedDRA codes have 8 digits; the version is written 27.1
    (
        "IT.ADR_LLTCD#RC1",
        {"IG.ADR/IT.ADR_LLTCD@1": "1003442"},
        {("IT.ADR_LLTCD#RC1", "hard")},
        {"IG.ADR/IT.ADR_LLTCD@1": "10034620"},
    ),
    (
        "IT.ADR_MDRVER#RC1",
        {"IG.ADR/IT.ADR_MDRVER@1": "27"},
        {("IT.ADR_MDRVER#RC1", "hard")},
        {"IG.ADR/IT.ADR_MDRVER@1": "27.1"},
    ),
]


@pytest.mark.parametrize("name, trigger, expected, quiet", PROBES, ids=[p[0] for p in PROBES])
def test_probe_triggers_the_check_and_its_twin_does_not(
    name: str, trigger: dict[str, str], expected: set[tuple[str, str]], quiet: dict[str, str]
) -> None:
    assert expected <= added(trigger)
    assert not {f for f in added(quiet) if f[0] == name}


def test_every_drug_of_the_regimen_is_asked_for_and_then_quiet() -> None:
    """The soft regimen check is per reaction row: row 1 (VTD) asks for thalidomide and
    dexamethasone, row 2 (VD) for dexamethasone; rated (the clean subject), they are quiet."""
    no_thal = {"IG.ADR/IT.ADR_RELTHAL@1": None}
    rows = check_rows(
        odm(
            subject("UNRATED", BASE, UNRATED),
            subject("ASKED", BASE, no_thal),
            subject("RATED", BASE),
        )
    )
    for key, rows_asked in (("UNRATED", 2), ("ASKED", 1)):
        asked = [r for r in rows if r["subject"] == key and r["check"] == "IT.ADR_REL#RC2"]
        assert len(asked) == rows_asked and {r["severity"] for r in asked} == {"soft"}
    assert ("IT.ADR_REL#RC2", "soft") not in found(rows, "RATED")


def test_the_coding_is_asked_for_whole_and_then_quiet() -> None:
    coded = {
        **UNCODED,
        "IG.ADR/IT.ADR_LLT@1": "Peripheral sensory neuropathy",
        "IG.ADR/IT.ADR_LLTCD@1": "10034620",
        "IG.ADR/IT.ADR_PTCD@1": "10034620",
        "IG.ADR/IT.ADR_SOC@1": "Nervous system disorders",
        "IG.ADR/IT.ADR_SOCCD@1": "10029205",
        "IG.ADR/IT.ADR_MDRVER@1": "27.1",
    }
    rows = check_rows(odm(subject("UNCODED", BASE, UNCODED), subject("CODED", BASE, coded)))
    uncoded = [r for r in rows if r["subject"] == "UNCODED" and r["check"] == "IT.ADR_PT#RC1"]
    coded_rows = [r for r in rows if r["subject"] == "CODED" and r["check"] == "IT.ADR_PT#RC1"]
    assert len(uncoded) == 2 and len(coded_rows) == 1  # row 2 is still uncoded


def test_not_graded_and_unknown_are_answers() -> None:
    """'NG' for the grade, 'UNK' for the action taken, 'U' for ongoing: saved without a hard
    finding (v1 integer grades read the same as text)."""
    unknown = {"IT.ADR_GRADE@1": "NG", "IT.ADR_ACN@1": "UNK", "IT.ADR_ONGO@2": "U"}
    new = added(unknown)
    assert not [f for f in new if f[1] == "hard"], new


def with_neuropathy_grade(grade: str, comorbidity: str) -> etree._Element:
    probe = subject(f"PN{grade}{comorbidity}", BASE, {"IT.MH_NEURO": comorbidity})
    form = probe.find(f".//{Q}FormData[@FormOID='F.L2']")
    assert form is not None
    for old in form.findall(f"{Q}ItemGroupData[@ItemGroupOID='IG.L2_PN']"):
        form.remove(old)
    group = etree.SubElement(form, f"{Q}ItemGroupData", ItemGroupOID="IG.L2_PN")
    etree.SubElement(group, f"{Q}ItemData", ItemOID="IT.L2_PNGR", Value=grade)
    return probe


@pytest.mark.parametrize(
    "grade, comorbidity, check",
    [("2", "N", "IT.L2_PNGR#RC1"), ("0", "Y", "IT.L2_PNGR#RC2")],
)
def test_neuropathy_grade_agrees_with_the_comorbidity(
    grade: str, comorbidity: str, check: str
) -> None:
    agreeing = "Y" if comorbidity == "N" else "N"
    rows = check_rows(
        odm(with_neuropathy_grade(grade, comorbidity), with_neuropathy_grade(grade, agreeing))
    )
    assert (check, "soft") in found(rows, f"PN{grade}{comorbidity}")
    assert (check, "soft") not in found(rows, f"PN{grade}{agreeing}")
    assert ("IT.L2_PNGR#Mandatory", "soft") not in found(rows, f"PN{grade}{agreeing}")
