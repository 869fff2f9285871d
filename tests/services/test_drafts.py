"""services.drafts.changed_forms: the forms a site would see differently, found from the
diff's changes (a form's own definition, its groups and items, and the code lists,
conditions, methods and units they use)."""

from __future__ import annotations

import pytest

from odm_engine import model as m
from odm_engine.diff import diff_study
from odm_engine.loader import load_odm
from services.drafts import changed_forms
from tests.conftest import odm

BODY = """<Protocol><StudyEventRef StudyEventOID="SE.1" Mandatory="Yes"/></Protocol>
<StudyEventDef OID="SE.1" Name="Visit" Repeating="No" Type="Scheduled">
  <FormRef FormOID="F.B" Mandatory="Yes"/><FormRef FormOID="F.A" Mandatory="Yes"/>
</StudyEventDef>
<FormDef OID="F.A" Name="A" Repeating="No">
  <ItemGroupRef ItemGroupOID="IG.A" Mandatory="Yes"/></FormDef>
<FormDef OID="F.B" Name="B" Repeating="No">
  <ItemGroupRef ItemGroupOID="IG.B" Mandatory="Yes"/></FormDef>
<ItemGroupDef OID="IG.A" Name="GA" Repeating="No">
  <ItemRef ItemOID="IT.SEX" Mandatory="Yes"/>
  <ItemRef ItemOID="IT.NOTE" Mandatory="No" CollectionExceptionConditionOID="C.MALE"/>
</ItemGroupDef>
<ItemGroupDef OID="IG.B" Name="GB" Repeating="No">
  <ItemRef ItemOID="IT.W" Mandatory="Yes"/></ItemGroupDef>
<ItemDef OID="IT.SEX" Name="Sex" DataType="text" Length="1">
  <CodeListRef CodeListOID="CL.SEX"/></ItemDef>
<ItemDef OID="IT.NOTE" Name="Note" DataType="text" Length="20"/>
<ItemDef OID="IT.W" Name="Weight" DataType="integer" Length="3"/>
<CodeList OID="CL.SEX" Name="Sex" DataType="text">
  <CodeListItem CodedValue="M">
    <Decode><TranslatedText xml:lang="en">Male</TranslatedText></Decode></CodeListItem>
</CodeList>
<ConditionDef OID="C.MALE" Name="Male">
  <Description><TranslatedText xml:lang="en">Male</TranslatedText></Description>
  <FormalExpression Context="OEL">IT.SEX == "M"</FormalExpression>
</ConditionDef>"""


def _mdv(body: str) -> tuple[m.Study, m.MetaDataVersion]:
    study = load_odm(odm(body)).study
    assert study is not None
    mdv = study.metadata_version()
    assert mdv is not None
    return study, mdv


@pytest.mark.parametrize(
    ("old", "new", "forms"),
    [
        (">Male</TranslatedText></Decode>", ">Man</TranslatedText></Decode>", ("F.A",)),
        ('IT.SEX == "M"', 'IT.SEX != "M"', ("F.A",)),
        ('Name="Weight" DataType="integer"', 'Name="Weight" DataType="float"', ("F.B",)),
        ('<FormDef OID="F.B" Name="B"', '<FormDef OID="F.B" Name="Bee"', ("F.B",)),
        ('<ItemRef ItemOID="IT.W" Mandatory="Yes"/>', "", ("F.B",)),
        ('Name="Visit"', 'Name="First visit"', ()),
        ('IT.SEX == "M"', 'IT.SEX == "F"', ("F.A",)),
    ],
)
def test_the_forms_a_change_reaches_in_the_order_sites_meet_them(
    old: str, new: str, forms: tuple[str, ...]
) -> None:
    assert BODY.count(old) == 1
    (study1, before), (study2, after) = _mdv(BODY), _mdv(BODY.replace(old, new))
    changes = diff_study(study1, study2).changes
    assert changes  # each case is a change
    assert changed_forms(changes, before, after) == forms


def test_both_forms_in_protocol_order_and_a_removed_form_is_left_out() -> None:
    both = BODY.replace('Name="GA"', 'Name="GA2"').replace('Name="GB"', 'Name="GB2"')
    (study1, before), (study2, after) = _mdv(BODY), _mdv(both)
    assert changed_forms(diff_study(study1, study2).changes, before, after) == ("F.B", "F.A")
    gone = BODY.replace('<FormRef FormOID="F.B" Mandatory="Yes"/>', "").replace(
        '<FormDef OID="F.B" Name="B" Repeating="No">\n  <ItemGroupRef ItemGroupOID="IG.B" '
        'Mandatory="Yes"/></FormDef>',
        "",
    )
    (study3, without) = _mdv(gone)
    assert changed_forms(diff_study(study1, study3).changes, before, without) == ()
