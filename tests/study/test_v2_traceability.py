"""The traceability table of docs/study-bortezomib.md against version 2 of the study, and the
CDISC terminology of its code lists (issue 17, items 6 and the traceability deliverable).

The table is read from the markdown as a reader sees it: every backquoted OID in its Items,
Derivations and Checks columns must exist in metadata/bortezomib-retreatment-v2.xml (an item
on a form, a MethodDef some ItemRef uses, `IT.X#RCn` the n-th RangeCheck of IT.X).
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest

from odm_engine import model as m
from odm_engine.loader import load_path

REPO = Path(__file__).resolve().parents[2]
V2 = REPO / "metadata" / "bortezomib-retreatment-v2.xml"
DOC = REPO / "docs" / "study-bortezomib.md"

CHECK_REF = re.compile(r"^(IT\.[A-Za-z0-9_.]+)#RC(\d+)$")
OID = re.compile(r"^(IT|IG|F|SE|M|C|CL)\.[A-Za-z0-9_.]+$")

ENDPOINTS = (
    "time to progression",
    "progression-free survival",
    "overall survival",
    "duration of response",
    "time to next treatment",
    "treatment-free interval",
    "best response",
    "safety",
)
"""Endpoints of the synopsis' objectives (efficacy and safety of re-treatment): each needs a row."""

SYNOPSIS = (
    "informed consent",
    "eligibility",
    "last visit",
    "patient characteristics",
    "risk factors",
    "mm-related data",
    "first-line bortezomib",
    "second-line bortezomib",
    "status after re-treatment",
    "medical resource utilisation",
    "adverse drug reactions",
)
"""Data elements the synopsis lists for the CRF: each needs a row."""


@cache
def study() -> m.Study:
    result = load_path(str(V2))
    assert result.study is not None, result.findings
    return result.study


def mdv() -> m.MetaDataVersion:
    return study().metadata_versions[0]


def table_rows(markdown: str) -> list[list[str]]:
    """The rows (cells) of the first table under the '## Traceability' heading."""
    section = markdown.split("\n## Traceability\n", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        if not line.startswith("|"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if set("".join(cells)) <= set("-: ") or cells[0].startswith("Synopsis element"):
            continue
        rows.append(cells)
    return rows


def references(cells: list[str]) -> list[str]:
    """The backquoted OIDs and check references of a row's Items, Derivations, Checks."""
    return [ref for cell in cells[1:] for ref in re.findall(r"`([^`]+)`", cell)]


def on_a_form(v: m.MetaDataVersion) -> set[str]:
    groups = {ref.item_group_oid for f in v.form_defs.values() for ref in f.item_group_refs}
    return {
        r.item_oid for g in groups if g in v.item_group_defs for r in v.item_group_defs[g].item_refs
    }


def unknown_references(markdown: str, v: m.MetaDataVersion) -> list[str]:
    """Every reference in the table that the metadata does not define, as written."""
    collected = on_a_form(v)
    used_methods = {
        r.method_oid for g in v.item_group_defs.values() for r in g.item_refs if r.method_oid
    }
    spaces = {
        "IT": collected,
        "IG": set(v.item_group_defs),
        "F": set(v.form_defs),
        "SE": set(v.study_event_defs),
        "M": set(v.method_defs) & used_methods,
        "C": set(v.condition_defs),
        "CL": set(v.code_lists),
    }
    unknown = []
    for row in table_rows(markdown):
        for ref in references(row):
            check = CHECK_REF.match(ref)
            if check:
                item = v.item_defs.get(check.group(1))
                if (
                    item is None
                    or check.group(1) not in collected
                    or len(item.range_checks) < int(check.group(2))
                ):
                    unknown.append(ref)
            elif not OID.match(ref) or ref not in spaces[ref.split(".", 1)[0]]:
                unknown.append(ref)
    return unknown


def test_every_oid_and_check_in_the_table_exists_in_version_2() -> None:
    doc = DOC.read_text(encoding="utf-8")
    rows = table_rows(doc)
    assert len(rows) >= 20
    assert sum(len(references(r)) for r in rows) >= 150
    assert unknown_references(doc, mdv()) == []


def unnamed(markdown: str, v: m.MetaDataVersion) -> list[str]:
    """The RangeChecks and MethodDefs of ``v`` that no row of the table names."""
    named = {ref for row in table_rows(markdown) for ref in references(row)}
    checks = [
        f"{oid}#RC{n}"
        for oid, item in v.item_defs.items()
        for n in range(1, len(item.range_checks) + 1)
    ]
    return [ref for ref in [*checks, *v.method_defs] if ref not in named]


def test_every_check_and_derivation_of_version_2_is_traced() -> None:
    doc = DOC.read_text(encoding="utf-8")
    assert unnamed(doc, mdv()) == []
    dropped = doc.replace("`IT.ADR_REL#RC2`, ", "").replace(", `M.ST_OSCNSR`", "")
    assert unnamed(dropped, mdv()) == ["IT.ADR_REL#RC2", "M.ST_OSCNSR"]


def test_a_missing_oid_or_check_is_reported() -> None:
    head = "| Synopsis element or endpoint | Items | Derivations | Checks |"
    doc = (
        f"# x\n\n## Traceability\n\n{head}\n|---|---|---|---|\n"
        "| Age | `IT.L1_AGE`, `IT.NOPE` | `M.L1_AGE`, `M.NOPE` |"
        " `IT.ADR_REL#RC1`, `IT.ADR_REL#RC9` |\n"
        "| Other | `IG.ADR` | `M.ST_OS` | `IT.ST_TTP#RC1`, `C.NOPE`, `X.Y` |\n"
    )
    assert unknown_references(doc, mdv()) == [
        "IT.NOPE",
        "M.NOPE",
        "IT.ADR_REL#RC9",
        "IT.ST_TTP#RC1",
        "C.NOPE",
        "X.Y",
    ]


def test_every_synopsis_element_and_endpoint_has_a_row_with_items() -> None:
    rows = table_rows(DOC.read_text(encoding="utf-8"))
    for wanted in SYNOPSIS + ENDPOINTS:
        matching = [r for r in rows if wanted in r[0].lower()]
        assert matching, f"no traceability row for {wanted!r}"
        assert any(re.search(r"`(IT|IG)\.", r[1]) for r in matching), wanted
    for endpoint in ENDPOINTS[:6]:
        row = next(r for r in rows if endpoint in r[0].lower())
        assert "`M." in row[2], f"{endpoint}: no derivation"


# CDISC Controlled Terminology: code lists by name -> NCI code, and terms checked per list.
CT_LISTS = {
    r"^No / Yes": "C66742",
    r"^Sex$": "C66731",
    r"^Route of administration$": "C66729",
    r"^Action taken": "C66767",
    r"^Outcome": "C66768",
    r"^Reason data collection not completed$": "C66727",
    r"^Bortezomib schedule$": "C71113",
}
CT_TERMS = {
    "C66742": {"Y": "C49488", "N": "C49487"},
    "C66731": {"M": "C20197", "F": "C16576"},
    "C66729": {"IV": "C38276", "SC": "C38299"},
    "C66768": {"FATAL": "C48275", "NOTREC": "C49494", "UNK": "C17998", "RECOVERED": "C49498"},
    "C71113": {"BIW": "C64497", "QW": "C64526"},
    "C66727": {"NOTELIG": "C49628", "CONSWD": "C49634"},
}
CTCAE = {"1": "C41338", "2": "C41339", "3": "C41340", "4": "C41337", "5": "C48275"}
"""NCI codes of the CTCAE grades (the AE grade list; the neuropathy list shares 1-4)."""
SUBMISSION = {
    "C66729": {"IV": "INTRAVENOUS", "SC": "SUBCUTANEOUS"},
    "C66767": {
        "REDUCED": "DOSE REDUCED",
        "WITHDRAWN": "DRUG WITHDRAWN",
        "NONE": "DOSE NOT CHANGED",
    },
    "C66768": {"RECOVERED": "RECOVERED/RESOLVED", "NOTREC": "NOT RECOVERED/NOT RESOLVED"},
    "C66727": {"NOTELIG": "SCREEN FAILURE", "CONSWD": "WITHDRAWAL BY SUBJECT"},
    "C71113": {"BIW": "2 TIMES PER WEEK", "QW": "1 TIME PER WEEK"},
}


def alias(aliases: tuple[m.Alias, ...], context: str) -> list[str]:
    return [a.name for a in aliases if a.context == context]


def ct_lists() -> dict[str, m.CodeList]:
    found = {}
    for cl in mdv().code_lists.values():
        for pattern, code in CT_LISTS.items():
            if re.search(pattern, cl.name, re.IGNORECASE):
                found.setdefault(code, cl)
                assert alias(cl.aliases, "nci:ExtCodeID") == [code], cl.oid
    return found


def test_code_lists_named_as_a_ct_list_carry_its_nci_code() -> None:
    found = ct_lists()
    assert set(found) == set(CT_LISTS.values())


@pytest.mark.parametrize("code", sorted(CT_TERMS))
def test_ct_terms_carry_their_nci_code(code: str) -> None:
    items = {i.coded_value: i for i in ct_lists()[code].items}
    for coded, term in CT_TERMS[code].items():
        assert alias(items[coded].aliases, "nci:ExtCodeID") == [term], (code, coded)


@pytest.mark.parametrize("code", sorted(SUBMISSION))
def test_coded_values_keep_version_1_and_name_the_ct_submission_value(code: str) -> None:
    items = {i.coded_value: i for i in ct_lists()[code].items}
    for coded, value in SUBMISSION[code].items():
        assert alias(items[coded].aliases, "CDISC submission value") == [value], (code, coded)


def test_ctcae_grades_carry_their_nci_code() -> None:
    for oid, grades in (("CL.CTCAE", "12345"), ("CL.PNGR", "1234")):
        items = {i.coded_value: i for i in mdv().code_lists[oid].items}
        assert {g: alias(items[g].aliases, "nci:ExtCodeID") for g in grades} == {
            g: [CTCAE[g]] for g in grades
        }


def test_every_unit_is_ucum() -> None:
    definitions = study().basic_definitions
    assert definitions is not None
    units = definitions.measurement_units
    ucum = {oid: alias(u.aliases, "UCUM") for oid, u in units.items()}
    assert all(len(v) == 1 for v in ucum.values()), ucum
    assert (
        ucum["MU.MONTHS"] == ["mo"] and ucum["MU.DAYS"] == ["d"] and ucum["MU.MG_M2"] == ["mg/m2"]
    )


UNIT_CODES = {
    "MU.CM": "C49668",
    "MU.KG": "C28252",
    "MU.MG_M2": "C67402",
    "MU.MG_L": "C64572",
    "MU.G_DL": "C64783",
    "MU.G_L": "C42576",
    "MU.U_L": "C67456",
    "MU.ML_MIN": "C64777",
    "MU.MG_M2_WK": "C88148",
    "MU.MONTHS": "C29846",
    "MU.DAYS": "C25301",
}
"""NCI codes of the units in the CDISC Unit codelist (C71620), checked against NCI EVS."""


def test_every_unit_carries_its_nci_unit_code() -> None:
    definitions = study().basic_definitions
    assert definitions is not None
    units = definitions.measurement_units
    codes = {oid: alias(u.aliases, "nci:ExtCodeID") for oid, u in units.items()}
    assert codes == {oid: [code] for oid, code in UNIT_CODES.items()}
