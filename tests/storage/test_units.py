"""Units of measure: the unit chosen with a value is stored, audited, checked against the
ItemDef's MeasurementUnitRefs, and used by unit-aware range checks."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from odm_engine.clinical import FormKey, ItemKey
from odm_engine.entry_validation import EnteredValue
from storage.audit import history
from storage.bulk import BulkWriter
from storage.engine import write_transaction
from storage.errors import BulkRejectedError, NotFoundError, ReasonRequiredError
from storage.models import Role
from storage.studies import load_study
from storage.subjects import create_subject, find_subject, stored_items
from storage.users import add_user, set_role
from storage.writes import SaveResult
from tests.conftest import odm
from tests.storage.helpers import save

UNITS = """
<MeasurementUnit OID="MU.G_L" Name="g/L"><Symbol><TranslatedText xml:lang="en">g/L</TranslatedText></Symbol></MeasurementUnit>
<MeasurementUnit OID="MU.G_DL" Name="g/dL"><Symbol><TranslatedText xml:lang="en">g/dL</TranslatedText></Symbol></MeasurementUnit>
<MeasurementUnit OID="MU.KG" Name="kg"><Symbol><TranslatedText xml:lang="en">kg</TranslatedText></Symbol></MeasurementUnit>
"""  # noqa: E501 - one unit per line reads best
BODY = """
<Protocol><StudyEventRef StudyEventOID="SE.1" Mandatory="Yes"/></Protocol>
<StudyEventDef OID="SE.1" Name="Visit" Repeating="No" Type="Scheduled">
  <FormRef FormOID="F.LAB" Mandatory="Yes"/>
</StudyEventDef>
<FormDef OID="F.LAB" Name="Lab" Repeating="No">
  <ItemGroupRef ItemGroupOID="IG.LAB" Mandatory="Yes"/>
</FormDef>
<ItemGroupDef OID="IG.LAB" Name="Lab" Repeating="No">
  <ItemRef ItemOID="IT.ALB" Mandatory="No"/>
  <ItemRef ItemOID="IT.WT" Mandatory="No"/>
</ItemGroupDef>
<ItemDef OID="IT.ALB" Name="ALB" DataType="float" Length="5" SignificantDigits="1">
  <Question><TranslatedText xml:lang="en">Albumin</TranslatedText></Question>
  <MeasurementUnitRef MeasurementUnitOID="MU.G_L"/>
  <MeasurementUnitRef MeasurementUnitOID="MU.G_DL"/>
  <RangeCheck Comparator="LE" SoftHard="Hard">
    <CheckValue>60</CheckValue>
    <MeasurementUnitRef MeasurementUnitOID="MU.G_L"/>
    <ErrorMessage><TranslatedText xml:lang="en">Albumin above 60 g/L.</TranslatedText>
    </ErrorMessage>
  </RangeCheck>
</ItemDef>
<ItemDef OID="IT.WT" Name="WT" DataType="float" Length="5" SignificantDigits="1">
  <Question><TranslatedText xml:lang="en">Weight</TranslatedText></Question>
  <MeasurementUnitRef MeasurementUnitOID="MU.KG"/>
</ItemDef>
"""
ADMIN = """<AdminData StudyOID="S.1"><Location OID="SITE.1" Name="Site" LocationType="Site">
<MetaDataVersionRef StudyOID="S.1" MetaDataVersionOID="MDV.1" EffectiveDate="2026-01-01"/>
</Location></AdminData>"""
LAB = FormKey("SE.1", "", "F.LAB", "")
ALB = ("IG.LAB", "", "IT.ALB")
WT = ("IG.LAB", "", "IT.WT")


@pytest.fixture
def lab(engine: Engine) -> Engine:
    with write_transaction(engine) as conn:
        result = load_study(conn, odm(BODY, units=UNITS, admin=ADMIN), path="lab.xml")
        assert result.status == "stored", [f.format() for f in result.findings]
        add_user(conn, "ivy", "Hazel-Orchard-12")
        set_role(conn, "ivy", "S.1", Role.INVESTIGATOR, site_oid="SITE.1")
        create_subject(
            conn, study="S.1", subject_key="001", site_oid="SITE.1", user="ivy",
            role=Role.INVESTIGATOR,
        )  # fmt: skip
    return engine


def _save(
    engine: Engine,
    values: dict[tuple[str, str, str], str],
    units: dict[tuple[str, str, str], str],
    *,
    version: int,
    reason: str | None = None,
) -> SaveResult:
    return save(engine, values, version=version, reason=reason, form=LAB, units=units)


def _stored(engine: Engine) -> dict[str, tuple[str | None, str | None]]:
    with engine.connect() as conn:
        items = stored_items(conn, find_subject(conn, "S.1", "001").id)
    return {k.item_oid: (row[1], row[3]) for k, row in items.items()}


def _trail(engine: Engine) -> list[tuple[str, str, str | None, str | None, str | None]]:
    with engine.connect() as conn:
        rows = history(conn, "S.1", "001", item_oid="IT.ALB")
    return [(r.transaction_type, r.new_value or "", r.old_unit, r.new_unit, r.reason) for r in rows]


def test_the_chosen_unit_is_stored_and_audited_with_the_value(lab: Engine) -> None:
    result = _save(lab, {ALB: "4.1", WT: "70"}, {ALB: "MU.G_DL"}, version=0)
    assert result.saved
    assert _stored(lab) == {"IT.ALB": ("4.1", "MU.G_DL"), "IT.WT": ("70", None)}
    assert _trail(lab) == [("Insert", "4.1", None, "MU.G_DL", None)]


def test_changing_only_the_unit_is_an_update_that_needs_a_reason(lab: Engine) -> None:
    assert _save(lab, {ALB: "4.1"}, {ALB: "MU.G_DL"}, version=0).saved
    with pytest.raises(ReasonRequiredError):
        _save(lab, {ALB: "4.1"}, {ALB: "MU.G_L"}, version=1)
    result = _save(lab, {ALB: "4.1"}, {ALB: "MU.G_L"}, version=1, reason="Unit was g/L")
    assert result.saved and [c.key.item_oid for c in result.changes] == ["IT.ALB"]
    assert _stored(lab)["IT.ALB"] == ("4.1", "MU.G_L")
    assert _trail(lab)[-1] == ("Update", "4.1", "MU.G_DL", "MU.G_L", "Unit was g/L")


def test_a_value_saved_without_a_unit_keeps_the_unit_stored_with_it(lab: Engine) -> None:
    _save(lab, {ALB: "4.1"}, {ALB: "MU.G_DL"}, version=0)
    _save(lab, {ALB: "4.2"}, {}, version=1, reason="Typo")
    assert _stored(lab)["IT.ALB"] == ("4.2", "MU.G_DL")


def test_a_unit_the_item_does_not_have_is_a_hard_error_and_nothing_is_saved(
    lab: Engine,
) -> None:
    result = _save(lab, {ALB: "4.1", WT: "70"}, {ALB: "MU.KG", WT: "MU.G_L"}, version=0)
    assert not result.saved
    assert sorted(r.check_id for r in result.hard_failures) == ["IT.ALB#Unit", "IT.WT#Unit"]
    assert _stored(lab) == {}


def test_range_checks_convert_the_value_to_the_unit_of_the_check(lab: Engine) -> None:
    """LE 60 g/L: 5 g/dL is 50 g/L (saved), 7 g/dL is 70 g/L (refused), 59 g/L is saved."""
    assert _save(lab, {ALB: "5"}, {ALB: "MU.G_DL"}, version=0).saved
    refused = _save(lab, {ALB: "7"}, {ALB: "MU.G_DL"}, version=1, reason="Re-measured")
    assert not refused.saved and [r.message for r in refused.hard_failures] == [
        "Albumin above 60 g/L."
    ]
    assert _save(lab, {ALB: "59"}, {ALB: "MU.G_L"}, version=1, reason="Unit g/L").saved


def _import(
    engine: Engine,
    values: dict[tuple[str, str, str], EnteredValue],
    units: dict[tuple[str, str, str], str],
    *,
    subject: str = "001",
    reason: str | None = None,
) -> None:
    """Import one subject's lab values through the bulk path (as ``edc import`` does)."""
    with write_transaction(engine) as conn:
        writer = BulkWriter(
            conn, study="S.1", user="dan", role=Role.DATA_MANAGER, source="import:F:1",
            reason=reason,
        )  # fmt: skip
        writer.add_subject(
            subject,
            "SITE.1",
            [(ItemKey(*LAB, *k), v) for k, v in values.items()],
            {ItemKey(*LAB, *k): u for k, u in units.items()},
        )
        writer.finish()


@pytest.fixture
def lab_dm(lab: Engine) -> Engine:
    with write_transaction(lab) as conn:
        add_user(conn, "dan", "Copper-Meadow-56")
        set_role(conn, "dan", "S.1", Role.DATA_MANAGER)
    return lab


@pytest.mark.parametrize("subject", ["001", "002"])  # stored subject, new subject
def test_an_import_keeps_the_unit_given_with_a_value_and_audits_it(
    lab_dm: Engine, subject: str
) -> None:
    _import(lab_dm, {ALB: "4.1", WT: "70"}, {ALB: "MU.G_DL"}, subject=subject)
    with lab_dm.connect() as conn:
        items = stored_items(conn, find_subject(conn, "S.1", subject).id)
        rows = history(conn, "S.1", subject)
    assert {k.item_oid: (r[1], r[3]) for k, r in items.items()} == {
        "IT.ALB": ("4.1", "MU.G_DL"),
        "IT.WT": ("70", None),
    }
    trail = {(r.key.item_oid, r.transaction_type, r.new_value, r.new_unit) for r in rows}
    assert ("IT.ALB", "Insert", "4.1", "MU.G_DL") in trail
    assert ("IT.WT", "Insert", "70", None) in trail


def test_an_import_that_changes_only_the_unit_is_an_update_with_both_units(
    lab_dm: Engine,
) -> None:
    assert _save(lab_dm, {ALB: "4.1"}, {ALB: "MU.G_DL"}, version=0).saved
    with pytest.raises(BulkRejectedError) as refused:
        _import(lab_dm, {ALB: "4.1"}, {ALB: "MU.G_L"})
    assert "give a reason for change" in refused.value.problems[0].message
    _import(lab_dm, {ALB: "4.1"}, {ALB: "MU.G_L"}, reason="Source says g/L")
    assert _stored(lab_dm)["IT.ALB"] == ("4.1", "MU.G_L")
    assert _trail(lab_dm)[-1] == ("Update", "4.1", "MU.G_DL", "MU.G_L", "Source says g/L")
    _import(lab_dm, {ALB: "4.3"}, {}, reason="Re-measured")  # no unit given: the stored one
    assert _stored(lab_dm)["IT.ALB"] == ("4.3", "MU.G_L")
    _import(lab_dm, {ALB: "4.3"}, {}, reason="Same again")  # nothing changes: nothing written
    assert len(_trail(lab_dm)) == 3


def test_an_import_with_a_unit_the_item_does_not_have_writes_nothing(lab_dm: Engine) -> None:
    with pytest.raises(BulkRejectedError) as refused:
        _import(lab_dm, {ALB: "4.1", WT: "70"}, {WT: "MU.G_L"}, subject="002")
    assert [p.check_id for p in refused.value.problems] == ["IT.WT#Unit"]
    assert "'MU.G_L' is not a unit of IT.WT (MU.KG)" in refused.value.problems[0].message
    with lab_dm.connect() as conn, pytest.raises(NotFoundError):
        find_subject(conn, "S.1", "002")


def test_an_imported_unit_is_converted_for_the_range_check(lab_dm: Engine) -> None:
    """LE 60 g/L: 7 g/dL (70 g/L) is refused on import as it is on the form."""
    with pytest.raises(BulkRejectedError) as refused:
        _import(lab_dm, {ALB: "7"}, {ALB: "MU.G_DL"})
    assert [p.message for p in refused.value.problems] == ["Albumin above 60 g/L."]
    _import(lab_dm, {ALB: "5"}, {ALB: "MU.G_DL"})
    assert _stored(lab_dm)["IT.ALB"] == ("5", "MU.G_DL")
