"""A derivation that reads a derived item of another form: the import stores the value the web
save path gives (each form saved after the forms its derivations read), whatever the order of
the forms in the file or their OIDs (issue 17: the bortezomib study's treatment-free interval
reads the derived end of all first-line therapy)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine

from odm_engine.checks import evaluate_subject, sources_first
from odm_engine.clinical import FormKey, ItemKey, SubjectSnapshot
from odm_engine.compiled_study import CompiledStudy
from odm_engine.entry_validation import MetadataValidator
from odm_engine.loader import load_odm
from storage.bulk import BulkWriter
from storage.engine import write_transaction
from storage.models import Role
from storage.studies import current_metadata
from storage.subjects import create_subject, subject_snapshot
from tests.storage.conftest import MANAGER, study_xml
from tests.storage.helpers import save, study_for_manager

# F.A (first in OID order) reads IT.Z_D, which F.Z derives: the import must derive F.Z first.
CHAIN_BODY = """
<Protocol><StudyEventRef StudyEventOID="SE.V" Mandatory="Yes" OrderNumber="1"/></Protocol>
<StudyEventDef OID="SE.V" Name="Visit" Repeating="No" Type="Scheduled">
  <FormRef FormOID="F.A" Mandatory="No" OrderNumber="1"/>
  <FormRef FormOID="F.Z" Mandatory="No" OrderNumber="2"/>
</StudyEventDef>
<FormDef OID="F.A" Name="Reader" Repeating="No">
  <ItemGroupRef ItemGroupOID="IG.A" Mandatory="No"/>
</FormDef>
<FormDef OID="F.Z" Name="Source" Repeating="No">
  <ItemGroupRef ItemGroupOID="IG.Z" Mandatory="No"/>
</FormDef>
<ItemGroupDef OID="IG.A" Name="Reader" Repeating="No">
  <ItemRef ItemOID="IT.A_X" Mandatory="No" OrderNumber="1"/>
  <ItemRef ItemOID="IT.A_D" Mandatory="No" OrderNumber="2" MethodOID="M.A_D"/>
</ItemGroupDef>
<ItemGroupDef OID="IG.Z" Name="Source" Repeating="No">
  <ItemRef ItemOID="IT.Z_X" Mandatory="No" OrderNumber="1"/>
  <ItemRef ItemOID="IT.Z_D" Mandatory="No" OrderNumber="2" MethodOID="M.Z_D"/>
</ItemGroupDef>
<ItemDef OID="IT.A_X" Name="A_X" DataType="integer" Length="4"/>
<ItemDef OID="IT.A_D" Name="A_D" DataType="integer" Length="6"/>
<ItemDef OID="IT.Z_X" Name="Z_X" DataType="integer" Length="4"/>
<ItemDef OID="IT.Z_D" Name="Z_D" DataType="integer" Length="6"/>
<MethodDef OID="M.Z_D" Name="Z doubled" Type="Computation">
  <Description><TranslatedText xml:lang="en">Twice Z_X</TranslatedText></Description>
  <FormalExpression Context="OEL">IT.Z_X * 2</FormalExpression>
</MethodDef>
<MethodDef OID="M.A_D" Name="A plus derived Z" Type="Computation">
  <Description><TranslatedText xml:lang="en">A_X plus the derived Z_D</TranslatedText></Description>
  <FormalExpression Context="OEL">[SE.V/F.Z/IT.Z_D] + IT.A_X</FormalExpression>
</MethodDef>
"""
FORM_A, FORM_Z = FormKey("SE.V", "", "F.A", ""), FormKey("SE.V", "", "F.Z", "")


@pytest.fixture
def chain_study(engine: Engine) -> Engine:
    return study_for_manager(engine, CHAIN_BODY, "chain.xml")


def _key(form: FormKey, item: str) -> ItemKey:
    return ItemKey(*form, f"IG.{item[3]}", "", item)


def _stored(engine: Engine, subject: str) -> dict[str, str]:
    with engine.connect() as conn:
        snapshot = subject_snapshot(conn, "S.1", subject)
    return {k.item_oid: v for k, v in snapshot.values.items()}


def _import(engine: Engine, subject: str, items: list[tuple[ItemKey, Any]]) -> None:
    with write_transaction(engine) as conn:
        validator = MetadataValidator.for_odm(current_metadata(conn, "S.1").odm, "S.1")
        writer = BulkWriter(
            conn,
            study="S.1",
            user=MANAGER,
            role=Role.DATA_MANAGER,
            source="import:test",
            reason="bulk",
            validator=validator,
        )
        writer.add_subject(subject, "SITE.1", items)
        writer.finish()


@pytest.mark.parametrize("z_first", [True, False], ids=["source-first", "reader-first"])
def test_import_derives_across_forms_as_the_web_save_does(
    chain_study: Engine, z_first: bool
) -> None:
    with write_transaction(chain_study) as conn:
        create_subject(
            conn, study="S.1", subject_key="WEB", site_oid="SITE.1", user=MANAGER,
            role=Role.DATA_MANAGER,
        )  # fmt: skip
    web = {"user": MANAGER, "role": Role.DATA_MANAGER, "subject": "WEB"}
    assert save(chain_study, {("IG.Z", "", "IT.Z_X"): "5"}, form=FORM_Z, **web).saved
    assert save(chain_study, {("IG.A", "", "IT.A_X"): "1"}, form=FORM_A, **web).saved
    assert _stored(chain_study, "WEB") == {
        "IT.Z_X": "5", "IT.Z_D": "10", "IT.A_X": "1", "IT.A_D": "11",
    }  # fmt: skip
    items = [(_key(FORM_A, "IT.A_X"), "1"), (_key(FORM_Z, "IT.Z_X"), "5")]
    _import(chain_study, "IMP", items[::-1] if z_first else items)
    assert _stored(chain_study, "IMP") == _stored(chain_study, "WEB")


def test_edc_check_derives_the_chain_in_the_same_order() -> None:
    """``evaluate_subject`` (``edc check``) evaluates F.Z before F.A too: the derived value
    F.A gets reads F.Z's, as the import stores it."""
    loaded = load_odm(study_xml(CHAIN_BODY))
    assert loaded.study is not None
    mdv = loaded.study.metadata_version()
    assert mdv is not None
    plan = CompiledStudy.of(loaded.study, mdv).plan
    assert plan.forms["F.A"].reads_derived_of == {"F.Z"} and not plan.forms["F.Z"].reads_derived_of
    values = {_key(FORM_A, "IT.A_X"): "1", _key(FORM_Z, "IT.Z_X"): "5"}
    results = evaluate_subject(plan, SubjectSnapshot("S", "SITE.1", values))
    assert list(results) == [FORM_Z, FORM_A]
    assert results[FORM_A].derived == {_key(FORM_A, "IT.A_D"): "11"}


def test_sources_first_puts_a_form_after_its_sources_and_breaks_a_cycle() -> None:
    """The order both the import and ``edc check`` derive in: file order otherwise; forms
    reading each other's derived items (a cycle) each placed once."""
    a, b, c = (FormKey("SE.V", "", oid, "") for oid in ("F.A", "F.B", "F.C"))
    c2 = FormKey("SE.V", "", "F.C", "2")
    assert sources_first([a, b, c], {}) == [a, b, c]
    assert sources_first([a, b, c, c2], {"F.A": frozenset({"F.C"})}) == [c, c2, a, b]
    cycle = {"F.A": frozenset({"F.B"}), "F.B": frozenset({"F.A"})}
    assert sources_first([a, b, c], cycle) == [b, a, c]
