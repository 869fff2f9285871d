"""SDTM annotations of the bortezomib study, version 2 (issue 17, item 7), as the aCRF prints them.

Reads metadata/bortezomib-retreatment-v2.xml through the loader and asks
renderers.print.sdtm.item_annotations what a reviewer reads beside each item: rows of the
medical-resource table go to HO, PR (transfusions) or CM (growth factors) by their type, the
consent date is also DM.RFICDTC, first- and second-line items carry their EPOCH, and every
collected item has a CDASH name.
"""

from __future__ import annotations

import dataclasses

import pytest

from odm_engine import model as m
from renderers.print import sdtm
from tests.study.test_v2_traceability import mdv


def group_of(item_oid: str) -> m.ItemGroupDef:
    for group in mdv().item_group_defs.values():
        if any(ref.item_oid == item_oid for ref in group.item_refs):
            return group
    raise AssertionError(f"{item_oid} is in no item group")


def texts(item_oid: str) -> list[str]:
    item = mdv().item_defs[item_oid]
    return [a.text for a in sdtm.item_annotations(item, group_of(item_oid))]


def domains(item_oid: str) -> list[str]:
    item = mdv().item_defs[item_oid]
    return [a.domain for a in sdtm.item_annotations(item, group_of(item_oid))]


def test_transfusions_go_to_pr_and_growth_factors_to_cm_not_ho() -> None:
    hospital = "HOTYPE in (HOSP, ER, OUTPT, OTHER)"
    assert texts("IT.HO_TYPE") == [
        f"HOTERM when {hospital}",
        "PRTRT when HOTYPE = TRANSF",
        "CMTRT when HOTYPE = GF",
    ]
    assert domains("IT.HO_STDAT") == ["HO", "PR", "CM"]
    assert texts("IT.HO_ADR") == [
        f"HOADR in SUPPHO when {hospital}",
        "PRADR in SUPPPR when HOTYPE = TRANSF",
        "CMADR in SUPPCM when HOTYPE = GF",
    ]


def test_resource_days_are_an_iso_8601_duration() -> None:
    assert texts("IT.HO_DAYS")[0] == "HODUR when HOTYPE in (HOSP, ER, OUTPT, OTHER)"
    assert "ISO 8601" in (mdv().item_defs["IT.HO_DAYS"].comment or "")


def test_consent_date_is_the_ds_event_and_dm_rficdtc() -> None:
    assert texts("IT.IC_DAT") == ["DSSTDTC when DSDECOD = INFORMED CONSENT OBTAINED", "RFICDTC"]
    assert domains("IT.IC_DAT") == ["DS", "DM"]


def test_lost_to_follow_up_and_death_are_disposition_and_dm() -> None:
    assert "DSDECOD when STATUS = LTFU" in texts("IT.ST_STATUS")
    assert "DTHFL when STATUS = DEAD" in texts("IT.ST_STATUS")
    assert "DSSTDTC when STATUS = LTFU" in texts("IT.ST_LCDAT")
    assert domains("IT.DS_COMPL") == ["DS"]


@pytest.mark.parametrize("line, epoch", [("L1", "FIRST-LINE"), ("L2", "SECOND-LINE")])
def test_first_and_second_line_items_carry_their_epoch(line: str, epoch: str) -> None:
    submitted = 0
    for oid in mdv().item_defs:
        if not oid.startswith(f"IT.{line}_"):
            continue
        found = (
            texts(oid)
            if any(
                ref.item_oid == oid for g in mdv().item_group_defs.values() for ref in g.item_refs
            )
            else []
        )
        for text in found:
            if text == "[NOT SUBMITTED]" or text.startswith(("MHTOXGR", "AGE ")):
                continue  # medical history at second-line start, DM.AGE: no treatment epoch
            submitted += 1
            assert f"EPOCH = {epoch} TREATMENT" in text, (oid, text)
    assert submitted >= 10


def test_progression_after_second_line_is_mapped_once() -> None:
    """One RS record: ST_PD is its result, L2_PDDAT its date; the derived ST_PDDAT is not
    submitted again."""
    assert texts("IT.ST_PD") == ["RSORRES when RSTESTCD = PROGRESS"]
    assert texts("IT.L2_PDDAT") == [
        "RSDTC when RSTESTCD = PROGRESS and EPOCH = SECOND-LINE TREATMENT"
    ]
    assert texts("IT.ST_PDDAT") == ["[NOT SUBMITTED]"]


def test_a_target_condition_joins_the_shared_one_and_a_qnam_leads() -> None:
    """The engine rule on a plain item: shared SDTM.WHERE first (QNAM names the qualifier),
    then the target's own condition."""
    base = mdv().item_defs["IT.MM_HCTYPE"]
    item = dataclasses.replace(
        base,
        aliases=(
            m.Alias(context="SDTM", name="SUPPMH.QVAL when MHCAT = PRIMARY DIAGNOSIS; MH.MHTERM"),
            m.Alias(context="SDTM.WHERE", name="QNAM = MMHCTYPE"),
        ),
    )
    got = [a.text for a in sdtm.item_annotations(item, group_of("IT.MM_HCTYPE"))]
    assert got == [
        "MMHCTYPE in SUPPMH when MHCAT = PRIMARY DIAGNOSIS",
        "MHTERM when QNAM = MMHCTYPE",
    ]
    own_qnam = dataclasses.replace(
        base,
        aliases=(
            m.Alias(context="SDTM", name="SUPPMH.QVAL when QNAM = MMHCTYPE"),
            m.Alias(context="SDTM.WHERE", name="MHCAT = PRIMARY DIAGNOSIS"),
        ),
    )
    got = [a.text for a in sdtm.item_annotations(own_qnam, group_of("IT.MM_HCTYPE"))]
    assert got == ["MMHCTYPE in SUPPMH when MHCAT = PRIMARY DIAGNOSIS"]  # a target's QNAM too


def test_age_at_first_line_start_is_dm_age() -> None:
    assert texts("IT.L1_AGE") == ["AGE when AGEU = YEARS"]
    assert domains("IT.L1_AGE") == ["DM"]


def collected() -> list[str]:
    """Items on a form that the site enters (not derived)."""
    used = {ref.item_oid: ref for g in mdv().item_group_defs.values() for ref in g.item_refs}
    return [
        oid
        for oid, item in mdv().item_defs.items()
        if oid in used and not used[oid].method_oid and (item.origin or "") != "Derived"
    ]


def test_every_collected_item_has_a_cdash_name() -> None:
    items = collected()
    assert len(items) > 100
    missing = [
        oid
        for oid in items
        if not [a for a in mdv().item_defs[oid].aliases if a.context == "CDASH"]
    ]
    assert missing == []
    cdash = {
        oid: next(a.name for a in mdv().item_defs[oid].aliases if a.context == "CDASH")
        for oid in items
    }
    assert cdash["IT.L2_STDAT"] == "ECSTDAT"  # EC
    assert cdash["IT.MH_NEURO"] == "MHOCCUR"  # MH
    assert cdash["IT.IE_IN01"] == "IEORRES"  # IE
    assert cdash["IT.ADR_STDAT"] == "AESTDAT"
    assert all(name == name.upper() and " " not in name for name in cdash.values())
