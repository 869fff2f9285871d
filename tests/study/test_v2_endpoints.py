"""Bortezomib study version 2 (issue 17, items 3 and 9): endpoint derivations, their checks and
the missing-data reasons.

The study is metadata/bortezomib-retreatment-v2.xml. The derived endpoints are computed by the
engine's own form evaluation (odm_engine.checks.evaluate_subject, as the web save, `edc import`
and `edc check` do) for a subject built here, and compared with values worked out by hand in
the comments. Each check added for the endpoints has a probe that triggers it and the clean
subject, which does not. A "not done / unknown" reason answers the required-value query and
survives `edc import` + `edc export odm` (the storage round trip).
"""

from __future__ import annotations

from datetime import date
from functools import cache
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from cli import main
from odm_engine.checks import evaluate_subject
from odm_engine.clinical import ItemKey, SubjectSnapshot
from odm_engine.compiled_study import CompiledStudy
from odm_engine.exchange import read_clinical_data
from odm_engine.expressions import CheckPlan
from odm_engine.loader import load_odm

REPO = Path(__file__).resolve().parents[2]
STUDY = REPO / "metadata" / "bortezomib-retreatment-v2.xml"
TODAY = date(2025, 6, 1)

Data = dict[tuple[str, str, str], dict[str, str]]
"""(StudyEventOID, FormOID, ItemGroupOID) -> {ItemOID: value}."""


def clean() -> Data:
    """A patient who responded to both lines, progressed after re-treatment and is alive."""
    return {
        ("SE.ELIG", "F.IC", "IG.IC"): {"IT.IC_REQ": "Y", "IT.IC_DAT": "2024-04-10"},
        ("SE.ELIG", "F.IE", "IG.IE_IN"): {f"IT.IE_IN0{n}": "Y" for n in range(1, 8)},
        ("SE.ELIG", "F.IE", "IG.IE_EX"): {f"IT.IE_EX0{n}": "N" for n in range(1, 4)},
        ("SE.ELIG", "F.IE", "IG.IE_RES"): {"IT.IE_ELIG": "Y"},
        ("SE.DCV", "F.LV", "IG.LV"): {"IT.LV_LVDAT": "2024-03-01", "IT.LV_DCDAT": "2024-04-15"},
        ("SE.DCV", "F.DM", "IG.DM"): {"IT.DM_BRTHDAT": "1952-06", "IT.DM_SEX": "M"},
        ("SE.DCV", "F.RF", "IG.RF_STAGE"): {"IT.RF_ISS": "I", "IT.RF_RISS": "II"},
        ("SE.DCV", "F.RF", "IG.RF_FISH"): {
            "IT.RF_DEL17P": "NEG",
            "IT.RF_T414": "NEG",
            "IT.RF_T1416": "NEG",
            "IT.RF_GAIN1Q": "POS",
        },
        ("SE.DCV", "F.RF", "IG.RF_LAB"): {
            "IT.RF_B2MST": "Y",
            "IT.RF_B2M": "3.2",
            "IT.RF_ALBST": "Y",
            "IT.RF_ALB": "38",
            "IT.RF_LDHST": "Y",
            "IT.RF_LDH": "290",
            "IT.RF_LDHULN": "250",
            "IT.RF_CRCLST": "N",
            "IT.RF_CRCL_ND": "ND",
        },
        ("SE.DCV", "F.MM", "IG.MM"): {"IT.MM_DIAGDAT": "2013-05", "IT.MM_HCTYPE": "IGG"},
        ("SE.DCV", "F.L1", "IG.L1_TRT"): {
            "IT.L1_REG": "VTD",
            "IT.L1_ROUTE": "SC",
            "IT.L1_DOSE": "1.3",
            "IT.L1_SCHED": "BIW",
            "IT.L1_STDAT": "2013-06-10",
            "IT.L1_ENDAT": "2013-12-20",
            "IT.L1_CYC": "8",
            "IT.L1_CUMDOSE": "41.6",
            "IT.L1_STOP": "COMPLETED",
        },
        ("SE.DCV", "F.L1", "IG.L1_ASCT"): {
            "IT.L1_ASCT": "Y",
            "IT.L1_ASCTDAT": "2014-03",
            "IT.L1_MAINT": "LEN",
            "IT.L1_MAINTSTDAT": "2014-05",
            "IT.L1_MAINTENDAT": "2015-12",
        },
        ("SE.DCV", "F.L1", "IG.L1_RESP"): {
            "IT.L1_BOR": "VGPR",
            "IT.L1_RSPDAT": "2013-08",
            "IT.L1_BORDAT": "2014-04",
            "IT.L1_PDDAT": "2016-09",
        },
        ("SE.DCV", "F.L2", "IG.L2_TRT"): {
            "IT.L2_REG": "VD",
            "IT.L2_ROUTE": "SC",
            "IT.L2_DOSE": "1.3",
            "IT.L2_SCHED": "BIW",
            "IT.L2_STDAT": "2016-10-05",
            "IT.L2_ENDAT": "2017-03-15",
            "IT.L2_CYC": "6",
            "IT.L2_CUMDOSE": "28.6",
            "IT.L2_STOP": "COMPLETED",
        },
        ("SE.DCV", "F.L2", "IG.L2_ASCT"): {"IT.L2_ASCT": "N", "IT.L2_MAINT": "NONE"},
        ("SE.DCV", "F.L2", "IG.L2_RESP"): {
            "IT.L2_BOR": "PR",
            "IT.L2_RSPDAT": "2016-12",
            "IT.L2_BORDAT": "2017-01",
            "IT.L2_PDDAT": "2018-06",
        },
        ("SE.DCV", "F.STAT", "IG.ST_RESP"): {"IT.ST_PD": "Y", "IT.ST_LADAT": "2024-02-20"},
        ("SE.DCV", "F.STAT", "IG.ST_SUBTH"): {
            "IT.ST_SUBTH": "Y",
            "IT.ST_SUBTHSP": "DRd (daratumumab, lenalidomide, dexamethasone)",
            "IT.ST_SUBTHSTDAT": "2018-07",
        },
        ("SE.DCV", "F.STAT", "IG.ST_STATUS"): {
            "IT.ST_STATUS": "ALIVE",
            "IT.ST_LCDAT": "2024-03-01",
        },
    }


def where(item_oid: str) -> tuple[str, str, str]:
    """The (event, form, group) of an item in the study (each item sits in one group)."""
    for (event, form), groups in _places().items():
        for group, items in groups.items():
            if item_oid in items:
                return event, form, group
    raise KeyError(item_oid)


@cache
def _places() -> dict[tuple[str, str], dict[str, set[str]]]:
    mdv = plan().mdv
    out: dict[tuple[str, str], dict[str, set[str]]] = {}
    for event in mdv.study_event_defs.values():
        for fref in event.form_refs:
            form = mdv.form_defs[fref.form_oid]
            out[(event.oid, form.oid)] = {
                g.item_group_oid: {
                    r.item_oid for r in mdv.item_group_defs[g.item_group_oid].item_refs
                }
                for g in form.item_group_refs
            }
    return out


def change(data: Data, **values: str | None) -> Data:
    """``data`` with items set (or removed with None); the place is found from the study."""
    out = {k: dict(v) for k, v in data.items()}
    for item_oid, value in values.items():
        oid = "IT." + item_oid
        group = out.setdefault(where(oid), {})
        if value is None:
            group.pop(oid, None)
        else:
            group[oid] = value
    return out


@cache
def plan() -> CheckPlan:
    loaded = load_odm(STUDY.read_bytes(), path=str(STUDY))
    assert loaded.study is not None
    mdv = loaded.study.metadata_version()
    assert mdv is not None
    return CompiledStudy.of(loaded.study, mdv).plan


def snapshot(data: Data) -> SubjectSnapshot:
    values = {
        ItemKey(event, "", form, "", group, "", item): value
        for (event, form, group), items in data.items()
        for item, value in items.items()
    }
    return SubjectSnapshot("DE01-901", "LOC.DE01", values)


def run(data: Data) -> tuple[dict[str, str | None], list[tuple[str, str, str, str]]]:
    """(derived ItemOID -> value, [(ItemOID, kind, severity, message)]) of every form."""
    results = evaluate_subject(plan(), snapshot(data), today=TODAY)
    derived: dict[str, str | None] = {}
    fired = []
    for evaluation in results.values():
        derived.update({k.item_oid: v for k, v in evaluation.derived.items()})
        fired += [
            (r.item_key.item_oid, r.kind, r.severity, r.message) for r in evaluation.check_results
        ]
    return derived, fired


ENDPOINTS = (
    "IT.L1_AGE IT.L1_DI IT.L1_ENDALL IT.L1_DOR IT.L2_DI IT.L2_TFI IT.ST_PDDAT IT.ST_TTP "
    "IT.ST_TTPCNSR IT.ST_PFS IT.ST_PFSCNSR IT.ST_OS IT.ST_OSCNSR IT.ST_L2DOR IT.ST_L2DORCNSR "
    "IT.ST_TTNT IT.ST_TTNTCNSR IT.RF_RISSD"
).split()


def endpoints(data: Data) -> dict[str, str | None]:
    derived, _ = run(data)
    return {oid: derived.get(oid) for oid in ENDPOINTS}


def test_endpoints_of_the_clean_subject_equal_the_hand_computation() -> None:
    assert endpoints(clean()) == {
        # birth 1952-06 is imputed to 1952-06-15 ('middle'); on 2013-06-10 the 61st birthday
        # has not come yet: 2013 - 1952 - 1 = 60 (without imputation the age is 60 or 61)
        "IT.L1_AGE": "60",
        # 2013-06-10 .. 2013-12-20 = 20 + 31 + 31 + 30 + 31 + 30 + 20 = 193 days; +1 = 194
        # days = 27.714 weeks; 41.6 / 27.714 = 1.5010 -> 1.50 mg/m2/week
        "IT.L1_DI": "1.50",
        # latest of bortezomib end 2013-12-20, transplant 2014-03 -> 2014-03-31 ('last'),
        # maintenance end 2015-12 -> 2015-12-31 ('last'): 2015-12-31
        "IT.L1_ENDALL": "2015-12-31",
        # response 2013-08 -> 2013-08-01, progression 2016-09 -> 2016-09-01 ('first'):
        # 365 + 365 + 366 (2016 leap) to 2016-08-01, + 31 = 1127 days
        "IT.L1_DOR": "1127",
        # 2016-10-05 .. 2017-03-15 = 26 + 30 + 31 + 31 + 28 + 15 = 161 days; +1 = 162 days
        # = 23.143 weeks; 28.6 / 23.143 = 1.2358 -> 1.24
        "IT.L2_DI": "1.24",
        # 2015-12-31 -> 2016-10-05: 10 calendar months, less one as the 5th < the 31st = 9
        "IT.L2_TFI": "9",
        # the one progression date, carried over from the second-line form
        "IT.ST_PDDAT": "2018-06",
        # second-line start 2016-10-05 to progression 2018-06 -> 2018-06-01: 365 to
        # 2017-10-05, then 26 + 30 + 31 + 31 + 28 + 31 + 30 + 31 + 1 = 239: 604, an event (0)
        "IT.ST_TTP": "604",
        "IT.ST_TTPCNSR": "0",
        # progression (2018-06-01) comes before any death (none): 604, an event
        "IT.ST_PFS": "604",
        "IT.ST_PFSCNSR": "0",
        # alive: to the last contact 2024-03-01: 7 * 365 + 1 (29 Feb 2020) = 2556 to
        # 2023-10-05, then 26 + 30 + 31 + 31 + 29 + 1 = 148: 2704, censored (1)
        "IT.ST_OS": "2704",
        "IT.ST_OSCNSR": "1",
        # first second-line response 2016-12 -> 2016-12-01 to 2018-06-01: 365 + 31 + 31 +
        # 28 + 31 + 30 + 31 = 547, an event
        "IT.ST_L2DOR": "547",
        "IT.ST_L2DORCNSR": "0",
        # next therapy 2018-07 -> 2018-07-01: 604 + 30 (June) = 634, an event
        "IT.ST_TTNT": "634",
        "IT.ST_TTNTCNSR": "0",
        # ISS I, no high-risk FISH, but LDH 290 > ULN 250: R-ISS II
        "IT.RF_RISSD": "II",
    }


def test_endpoints_of_a_patient_who_died_without_progression() -> None:
    """Censoring: no progression, death 2019-03, no next therapy."""
    data = change(
        clean(),
        L2_PDDAT=None,
        ST_PD="N",
        ST_LADAT="2019-01-15",
        ST_SUBTH="N",
        ST_SUBTHSP=None,
        ST_SUBTHSTDAT=None,
        ST_STATUS="DEAD",
        ST_DTHDAT="2019-03",
        ST_DTHCAUS="MM",
        ST_LCDAT="2019-02-20",
    )
    got = endpoints(data)
    assert {k: got[k] for k in ENDPOINTS if k.startswith("IT.ST_")} == {
        "IT.ST_PDDAT": None,
        # no progression: censored at the last disease assessment 2019-01-15: 730 to
        # 2018-10-05, then 31 + 30 + 31 to 2019-01-05, + 10 = 832
        "IT.ST_TTP": "832",
        "IT.ST_TTPCNSR": "1",
        # death 2019-03 -> 2019-03-01: 730 + 26 + 30 + 31 + 31 + 28 + 1 = 877, an event
        "IT.ST_PFS": "877",
        "IT.ST_PFSCNSR": "0",
        "IT.ST_OS": "877",
        "IT.ST_OSCNSR": "0",
        # response 2016-12-01 to the last assessment 2019-01-15: 730 + 31 + 14 = 775, censored
        "IT.ST_L2DOR": "775",
        "IT.ST_L2DORCNSR": "1",
        # death before any next therapy: 877, an event
        "IT.ST_TTNT": "877",
        "IT.ST_TTNTCNSR": "0",
    }


def test_an_event_without_its_date_leaves_the_endpoint_empty() -> None:
    """Progression 'Yes' with the date unknown (reason given): TTP, PFS and DoR are not
    guessed; OS and TTNT do not depend on it."""
    got = endpoints(change(clean(), L2_PDDAT=None, L2_PDDAT_ND="UNK"))
    assert [got[k] for k in ("IT.ST_TTP", "IT.ST_PFS", "IT.ST_L2DOR")] == [None] * 3
    assert [got[k] for k in ("IT.ST_PFSCNSR", "IT.ST_OS", "IT.ST_TTNT")] == [None, "2704", "634"]


def test_maintenance_without_its_end_date_leaves_the_tfi_empty() -> None:
    """The TFI runs from the end of all first-line therapy, not from the last bortezomib."""
    got = endpoints(change(clean(), L1_MAINTENDAT=None, L1_MAINTENDAT_ND="UNK"))
    assert (got["IT.L1_ENDALL"], got["IT.L2_TFI"]) == (None, None)
    # without maintenance or transplant, it is the last bortezomib dose 2013-12-20: to
    # 2016-10-05 is 3 * 12 + (10 - 12) = 34 calendar months, less one as the 5th < the 20th: 33
    got = endpoints(change(clean(), L1_MAINT="NONE", L1_MAINTSTDAT=None, L1_MAINTENDAT=None,
                           L1_ASCT="N", L1_ASCTDAT=None))  # fmt: skip
    assert (got["IT.L1_ENDALL"], got["IT.L2_TFI"]) == ("2013-12-20", "33")


# --------------------------------------------------------------------------------------------
# Checks: each probe triggers one check; the clean subject triggers none of them.

Probe = tuple[str, dict[str, str | None], str, str, str]
"""(name, changed values, ItemOID the check is on, severity, a fragment of its message)."""

PROBES: list[Probe] = [
    ("progression yes without its date", {"L2_PDDAT": None}, "IT.ST_PD", "hard",
     "enter the date of progression on the second-line form"),
    ("progression date but not answered yes", {"ST_PD": "N"}, "IT.ST_PD", "hard",
     "The second-line form records a date of progression"),
    ("progression before second-line start", {"L2_PDDAT": "2016-09", "L2_BORDAT": None,
     "L2_BORDAT_ND": "UNK", "L2_RSPDAT": None, "L2_RSPDAT_ND": "UNK"}, "IT.L2_PDDAT", "hard",
     "before the start of second-line bortezomib"),
    ("cumulative dose above 8 doses per cycle", {"L1_CUMDOSE": "90"}, "IT.L1_CUMDOSE", "soft",
     "higher than 8 administrations per cycle"),
    ("second-line cumulative dose too high", {"L2_CUMDOSE": "70"}, "IT.L2_CUMDOSE", "soft",
     "higher than 8 administrations per cycle"),
    ("cumulative dose missing", {"L1_CUMDOSE": None}, "IT.L1_DOSE", "soft",
     "Enter the cumulative first-line dose"),
    ("second-line cumulative dose missing", {"L2_CUMDOSE": None}, "IT.L2_DOSE", "soft",
     "Enter the cumulative second-line dose"),
    ("first response before start", {"L1_RSPDAT": "2013-05"}, "IT.L1_RSPDAT", "hard",
     "date of first response is before the first-line start"),
    ("first response after best response", {"L1_RSPDAT": "2014-06"}, "IT.L1_RSPDAT", "hard",
     "first response (PR or better) is dated after the best response"),
    ("second-line first response after best", {"L2_RSPDAT": "2017-03"}, "IT.L2_RSPDAT", "hard",
     "first response (PR or better) is dated after the best response"),
    ("first response date missing", {"L1_RSPDAT": None}, "IT.L1_BOR", "soft",
     "Enter the date of first response"),
    ("best response date missing", {"L1_BORDAT": None}, "IT.L1_BOR", "soft",
     "Enter the date of best response"),
    ("progression date missing", {"L1_PDDAT": None}, "IT.L1_BOR", "soft",
     "Enter the date of progression or relapse after first line"),
    ("second-line first response date missing", {"L2_RSPDAT": None}, "IT.L2_BOR", "soft",
     "Enter the date of first response"),
    ("second-line best response date missing", {"L2_BORDAT": None}, "IT.L2_BOR", "soft",
     "Enter the date of best response"),
    ("maintenance start missing", {"L1_MAINTSTDAT": None}, "IT.L1_MAINT", "soft",
     "Enter the start date of maintenance"),
    ("maintenance end missing", {"L1_MAINTENDAT": None}, "IT.L1_MAINT", "soft",
     "Enter the end date of maintenance"),
    ("maintenance before first line", {"L1_MAINTSTDAT": "2013-01"}, "IT.L1_MAINTSTDAT", "hard",
     "Maintenance starts before first-line bortezomib"),
    ("maintenance ends before it starts", {"L1_MAINTENDAT": "2014-02"}, "IT.L1_MAINTENDAT",
     "hard", "Maintenance ends before it starts"),
    ("maintenance into second line", {"L1_MAINTENDAT": "2016-11"}, "IT.L1_MAINTENDAT", "soft",
     "going on after second-line bortezomib started"),
    ("transplant without date or reason", {"L1_ASCTDAT": None}, "IT.L1_ASCT", "hard",
     "enter the transplant date"),
    ("last assessment before second line", {"ST_LADAT": "2016-09-30"}, "IT.ST_LADAT", "hard",
     "last disease assessment is before the start of second-line"),
    ("last assessment after last contact", {"ST_LADAT": "2024-03-05"}, "IT.ST_LADAT", "hard",
     "last disease assessment is after the date of last contact"),
    ("last assessment before progression", {"ST_LADAT": "2018-01-10"}, "IT.ST_LADAT", "soft",
     "before the documented progression"),
    ("last assessment after data collection", {"ST_LADAT": "2024-04-20", "ST_LCDAT": "2024-04-20",
     "LV_DCDAT": "2024-04-16"}, "IT.ST_LADAT", "hard", "after the date of data collection"),
    ("next therapy before second line", {"ST_SUBTHSTDAT": "2016-09"}, "IT.ST_SUBTHSTDAT", "hard",
     "subsequent therapy starts before second-line bortezomib"),
    ("next therapy start missing", {"ST_SUBTHSTDAT": None}, "IT.ST_SUBTH", "soft",
     "Enter the start date of the subsequent therapy"),
    ("death without date or reason", {"ST_STATUS": "DEAD", "ST_DTHCAUS": "MM"}, "IT.ST_STATUS",
     "hard", "enter the date of death"),
    ("R-ISS differs from the derived stage", {"RF_RISS": "I"}, "IT.RF_RISS", "soft",
     "differs from the stage that follows"),
    ("LDH without its upper limit", {"RF_LDHULN": None}, "IT.RF_LDHST", "soft",
     "Enter the upper limit of normal of the LDH assay"),
    ("implausible LDH upper limit", {"RF_LDHULN": "25"}, "IT.RF_LDHULN", "soft",
     "outside the plausible range of 100 to 1000"),
    ("lab not available without reason", {"RF_CRCL_ND": None}, "IT.RF_CRCLST", "soft",
     "creatinine clearance result is not available: give the reason"),
    ("FISH not available without reason", {"RF_DEL17P": "NA", "RF_RISS": "NA"}, "IT.RF_DEL17P",
     "soft", "FISH del(17p) result is not available: give the reason"),
    ("staging not available without reason", {"RF_ISS": "NA", "RF_RISS": "NA"}, "IT.RF_ISS",
     "soft", "ISS stage is not available: give the reason"),
]  # fmt: skip


def fired_on(data: Data, item_oid: str, severity: str, fragment: str) -> bool:
    _, fired = run(data)
    return any(
        item == item_oid and sev == severity and kind == "range" and fragment in message
        for item, kind, sev, message in fired
    )


@pytest.mark.parametrize(("name", "values", "item", "severity", "fragment"), PROBES)
def test_probe_triggers_its_check_and_the_clean_subject_does_not(
    name: str, values: dict[str, str | None], item: str, severity: str, fragment: str
) -> None:
    assert not fired_on(clean(), item, severity, fragment), name
    assert fired_on(change(clean(), **values), item, severity, fragment), name


NEAR_MISSES: list[Probe] = [
    ("progression yes, date unknown with its reason", {"L2_PDDAT": None, "L2_PDDAT_ND": "UNK"},
     "IT.ST_PD", "hard", "enter the date of progression on the second-line form"),
    ("no progression and no date", {"L2_PDDAT": None, "ST_PD": "N"}, "IT.ST_PD", "hard",
     "The second-line form records a date of progression"),
    ("progression unknown and no date", {"L2_PDDAT": None, "ST_PD": "U"}, "IT.ST_PD", "hard",
     "The second-line form records a date of progression"),
    ("cumulative dose at exactly 8 doses per cycle", {"L1_CUMDOSE": "83.2"}, "IT.L1_CUMDOSE",
     "soft", "higher than 8 administrations per cycle"),
    ("cumulative dose not done", {"L1_CUMDOSE": None, "L1_CUMDOSE_ND": "ND"}, "IT.L1_DOSE",
     "soft", "Enter the cumulative first-line dose"),
    ("first response in the month of the start", {"L1_RSPDAT": "2013-06"}, "IT.L1_RSPDAT",
     "hard", "date of first response is before the first-line start"),
    ("first response in the month of the best", {"L1_RSPDAT": "2014-04"}, "IT.L1_RSPDAT",
     "hard", "first response (PR or better) is dated after the best response"),
    ("no second-line response: no first response date", {"L2_BOR": "SD", "L2_RSPDAT": None},
     "IT.L2_BOR", "soft", "Enter the date of first response"),
    ("no maintenance: no maintenance dates", {"L1_MAINT": "NONE", "L1_MAINTSTDAT": None,
     "L1_MAINTENDAT": None}, "IT.L1_MAINT", "soft", "Enter the end date of maintenance"),
    ("maintenance ends in the month of second-line start", {"L1_MAINTENDAT": "2016-10"},
     "IT.L1_MAINTENDAT", "soft", "going on after second-line bortezomib started"),
    ("transplant date unknown with its reason", {"L1_ASCTDAT": None, "L1_ASCTDAT_ND": "UNK"},
     "IT.L1_ASCT", "hard", "enter the transplant date"),
    ("death date unknown with its reason", {"ST_STATUS": "DEAD", "ST_DTHCAUS": "MM",
     "ST_DTHDAT_ND": "UNK"}, "IT.ST_STATUS", "hard", "enter the date of death"),
    ("last assessment on the day of last contact", {"ST_LADAT": "2024-03-01"}, "IT.ST_LADAT",
     "hard", "last disease assessment is after the date of last contact"),
    ("last assessment in the month of progression", {"ST_LADAT": "2018-06-20"}, "IT.ST_LADAT",
     "soft", "before the documented progression"),
    ("no next therapy: no start date", {"ST_SUBTH": "N", "ST_SUBTHSP": None,
     "ST_SUBTHSTDAT": None}, "IT.ST_SUBTH", "soft", "Enter the start date of the subsequent"),
    ("R-ISS not available", {"RF_RISS": "NA", "RF_RISS_ND": "ND"}, "IT.RF_RISS", "soft",
     "differs from the stage that follows"),
    ("R-ISS not derivable without LDH", {"RF_RISS": "I", "RF_LDHST": "N", "RF_LDH": None,
     "RF_LDHULN": None, "RF_LDH_ND": "ND"}, "IT.RF_RISS", "soft",
     "differs from the stage that follows"),
    ("FISH not done, with its reason", {"RF_DEL17P": "NA", "RF_DEL17P_ND": "ND", "RF_RISS": "NA",
     "RF_RISS_ND": "ND"}, "IT.RF_DEL17P", "soft", "is not available: give the reason"),
]  # fmt: skip
"""Values next to each check's limit, or a reason instead of the value: none fires."""


@pytest.mark.parametrize(("name", "values", "item", "severity", "fragment"), NEAR_MISSES)
def test_near_miss_does_not_trigger_the_check(
    name: str, values: dict[str, str | None], item: str, severity: str, fragment: str
) -> None:
    # a fragment that named no check (reworded message, typo) would make this test pass always
    checks = [
        rc
        for rc in plan().mdv.item_defs[item].range_checks
        if rc.soft_hard.lower() == severity
        and any(t.lang == "en" and fragment in t.text for t in rc.error_message.translations)
    ]
    assert len(checks) == 1, (name, len(checks))
    assert not fired_on(change(clean(), **values), item, severity, fragment), name


def test_the_clean_subject_fails_no_check_of_the_endpoint_forms() -> None:
    """No range check, hidden value or stale derivation on F.RF, F.L1, F.L2 and F.STAT (the
    values or reasons these forms ask for are range checks here, so they are included)."""
    results = evaluate_subject(plan(), snapshot(clean()), today=TODAY)
    found = [
        (r.item_key.item_oid, r.kind, r.message)
        for form, evaluation in results.items()
        if form.form_oid in ("F.RF", "F.L1", "F.L2", "F.STAT")
        for r in evaluation.check_results
        if r.kind in ("range", "condition", "method")
    ]
    assert found == []


# --------------------------------------------------------------------------------------------
# Missing-data reasons (item 9): docs/study-bortezomib.md, "Missing data".


def test_a_reason_answers_the_required_value_query() -> None:
    """The date is asked for (soft); 'unknown' answers it, hides the date and satisfies the
    check; a date and a reason together are a finding (the hidden date still has a value)."""
    missing = change(clean(), L1_RSPDAT=None)
    assert fired_on(missing, "IT.L1_BOR", "soft", "Enter the date of first response")
    answered = change(missing, L1_RSPDAT_ND="UNK")
    assert not fired_on(answered, "IT.L1_BOR", "soft", "Enter the date of first response")
    results = evaluate_subject(plan(), snapshot(answered), today=TODAY)
    hidden = {k.item_oid for e in results.values() for k in e.hidden if isinstance(k, ItemKey)}
    assert "IT.L1_RSPDAT" in hidden
    _, fired = run(change(clean(), L1_RSPDAT_ND="UNK"))
    assert [(i, k) for i, k, _, _ in fired if i == "IT.L1_RSPDAT"] == [
        ("IT.L1_RSPDAT", "condition")
    ]


def test_reason_code_list_is_the_study_definition() -> None:
    code_list = plan().mdv.code_lists["CL.ND"]
    assert [(i.coded_value, i.decode.get("en", None)) for i in code_list.items] == [
        ("ND", "Not done"),
        ("UNK", "Unknown (done or happened, but not in the records)"),
        ("NA", "Not applicable"),
    ]


def _edc(*args: str, db: str) -> Result:
    return CliRunner().invoke(main, [*args], env={"EDC_DATABASE_URL": db}, catch_exceptions=False)


def _odm(data: Data) -> bytes:
    """The subject as an ODM 1.3.2 ClinicalData file of the v2 study."""
    body = "".join(
        f'<StudyEventData StudyEventOID="{event}"><FormData FormOID="{form}">'
        f'<ItemGroupData ItemGroupOID="{group}">'
        + "".join(f'<ItemData ItemOID="{i}" Value="{v}"/>' for i, v in items.items())
        + "</ItemGroupData></FormData></StudyEventData>"
        for (event, form, group), items in data.items()
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<ODM xmlns="http://www.cdisc.org/ns/odm/v1.3" FileType="Snapshot" FileOID="F.T" '
        'CreationDateTime="2026-12-07T12:00:00" ODMVersion="1.3.2">'
        '<ClinicalData StudyOID="ST.BTZ_RETREAT" MetaDataVersionOID="MDV.BTZ_RETREAT.2">'
        '<SubjectData SubjectKey="DE01-901"><SiteRef LocationOID="LOC.DE01"/>'
        f"{body}</SubjectData></ClinicalData></ODM>"
    ).encode()


def test_not_done_reason_survives_import_and_odm_export(tmp_path: Path) -> None:
    """Storage round trip: the reason is an ordinary coded ItemData, so `edc import` stores it
    with its audit row and `edc export odm` writes it back; the exported data still satisfy the
    required-value check through the reason."""
    db = f"sqlite:///{tmp_path / 'edc.db'}"
    source = tmp_path / "subject.xml"
    source.write_bytes(_odm(change(clean(), L1_CUMDOSE=None, L1_CUMDOSE_ND="ND")))
    for args in (
        ("db", "upgrade"),
        ("study", "load", str(STUDY)),
        ("user", "add", "dm", "--password", "import-manager-pw"),
        ("user", "set-role", "dm", "data_manager", "--study", "ST.BTZ_RETREAT"),
        ("import", str(source), "--user", "dm", "--reason", "probe"),
    ):
        result = _edc(*args, db=db)
        assert result.exit_code == 0, (args, result.output)
    out = tmp_path / "export.xml"
    result = _edc("export", "odm", "-o", str(out), db=db)
    assert result.exit_code == 0, result.output
    exported = {
        (i.key.item_oid, i.value) for s in read_clinical_data(out.read_bytes()) for i in s.items()
    }
    assert ("IT.L1_CUMDOSE_ND", "ND") in exported
    assert not any(oid == "IT.L1_CUMDOSE" for oid, _ in exported)
    # the import stored the endpoints it derived (the clean subject's, computed by hand above;
    # the first-line dose intensity is empty without the cumulative dose)
    derived = {oid: value for oid, value in exported if oid in ENDPOINTS}
    assert {k: derived.get(k) for k in ("IT.ST_PFS", "IT.ST_OS", "IT.L2_TFI", "IT.L1_DI")} == {
        "IT.ST_PFS": "604",
        "IT.ST_OS": "2704",
        "IT.L2_TFI": "9",
        "IT.L1_DI": None,
    }
    back: Data = {}
    for subject in read_clinical_data(out.read_bytes()):
        for item in subject.items():
            k = item.key
            if item.value is not None:
                back.setdefault((k.study_event_oid, k.form_oid, k.item_group_oid), {})[
                    k.item_oid
                ] = item.value
    assert not fired_on(back, "IT.L1_DOSE", "soft", "Enter the cumulative first-line dose")
    assert fired_on(
        change(back, L1_CUMDOSE_ND=None), "IT.L1_DOSE", "soft", "Enter the cumulative first-line"
    )
