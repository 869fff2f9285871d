"""Repeating groups, skip logic (CollectionExceptionCondition), derived items, check results."""

from __future__ import annotations

import json
from dataclasses import dataclass

from odm_engine.clinical import FormKey, ItemKey, SubjectSnapshot
from renderers.html import FieldRef, FormState

from .helpers import render

YN = (
    '<CodeList OID="CL.YN" Name="YN" DataType="text">'
    '<CodeListItem CodedValue="Y"><Decode><TranslatedText xml:lang="en">Yes</TranslatedText>'
    '<TranslatedText xml:lang="de">Ja</TranslatedText></Decode></CodeListItem>'
    '<CodeListItem CodedValue="N"><Decode><TranslatedText xml:lang="en">No</TranslatedText>'
    '<TranslatedText xml:lang="de">Nein</TranslatedText></Decode></CodeListItem></CodeList>'
)

STUDY = f"""
<Protocol><StudyEventRef StudyEventOID="SE.1" Mandatory="Yes"/></Protocol>
<StudyEventDef OID="SE.1" Name="Visit" Repeating="No" Type="Scheduled">
  <FormRef FormOID="F.DM" Mandatory="Yes"/><FormRef FormOID="F.1" Mandatory="Yes"/></StudyEventDef>
<FormDef OID="F.DM" Name="Demography" Repeating="No">
  <ItemGroupRef ItemGroupOID="IG.DM" Mandatory="Yes"/></FormDef>
<FormDef OID="F.1" Name="Visit form" Repeating="No">
  <ItemGroupRef ItemGroupOID="IG.VS" Mandatory="Yes" OrderNumber="1"/>
  <ItemGroupRef ItemGroupOID="IG.AE" Mandatory="No" OrderNumber="2"/>
  <ItemGroupRef ItemGroupOID="IG.PREG" Mandatory="No" OrderNumber="3"
     CollectionExceptionConditionOID="COND.MALE"/></FormDef>
<ItemGroupDef OID="IG.DM" Name="Demography" Repeating="No">
  <ItemRef ItemOID="IT.SEX" Mandatory="Yes"/></ItemGroupDef>
<ItemGroupDef OID="IG.VS" Name="Vital signs" Repeating="No">
  <ItemRef ItemOID="IT.SMOKER" Mandatory="Yes" OrderNumber="1"/>
  <ItemRef ItemOID="IT.CIGS" Mandatory="Yes" OrderNumber="2"
     CollectionExceptionConditionOID="COND.NONSMOKER"/>
  <ItemRef ItemOID="IT.H" Mandatory="No" OrderNumber="3"/>
  <ItemRef ItemOID="IT.W" Mandatory="No" OrderNumber="4"/>
  <ItemRef ItemOID="IT.BMI" Mandatory="No" OrderNumber="5" MethodOID="MT.BMI"/></ItemGroupDef>
<ItemGroupDef OID="IG.AE" Name="Adverse events" Repeating="Yes">
  <ItemRef ItemOID="IT.TERM" Mandatory="Yes"/>
  <ItemRef ItemOID="IT.SER" Mandatory="Yes"/>
  <ItemRef ItemOID="IT.SDESC" Mandatory="No" CollectionExceptionConditionOID="COND.NOTSERIOUS"/>
</ItemGroupDef>
<ItemGroupDef OID="IG.PREG" Name="Pregnancy" Repeating="No">
  <ItemRef ItemOID="IT.PREG" Mandatory="Yes"/></ItemGroupDef>
<ItemDef OID="IT.SEX" Name="Sex" DataType="text" Length="1"/>
<ItemDef OID="IT.SMOKER" Name="Smoker" DataType="text" Length="1">
  <CodeListRef CodeListOID="CL.YN"/></ItemDef>
<ItemDef OID="IT.CIGS" Name="Cigarettes per day" DataType="integer" Length="3"/>
<ItemDef OID="IT.H" Name="Height" DataType="float" Length="5" SignificantDigits="1"/>
<ItemDef OID="IT.W" Name="Weight" DataType="float" Length="5" SignificantDigits="1"/>
<ItemDef OID="IT.BMI" Name="BMI" DataType="float" Length="5" SignificantDigits="1"/>
<ItemDef OID="IT.TERM" Name="Term" DataType="text" Length="100"/>
<ItemDef OID="IT.SER" Name="Serious" DataType="text" Length="1">
  <CodeListRef CodeListOID="CL.YN"/></ItemDef>
<ItemDef OID="IT.SDESC" Name="Why serious" DataType="text" Length="200"/>
<ItemDef OID="IT.PREG" Name="Pregnant" DataType="boolean"/>
{YN}
<ConditionDef OID="COND.NONSMOKER" Name="Not a smoker">
  <FormalExpression Context="OEL">IT.SMOKER != 'Y'</FormalExpression></ConditionDef>
<ConditionDef OID="COND.NOTSERIOUS" Name="Not serious">
  <FormalExpression Context="OEL">IT.SER = 'N'</FormalExpression></ConditionDef>
<ConditionDef OID="COND.MALE" Name="Male">
  <FormalExpression Context="OEL">IT.SEX = 'M'</FormalExpression></ConditionDef>
<MethodDef OID="MT.BMI" Name="BMI" Type="Computation">
  <FormalExpression Context="OEL">round(IT.W / (IT.H / 100 * (IT.H / 100)), 1)</FormalExpression>
</MethodDef>
"""

FORM = FormKey("SE.1", "", "F.1", "")


def ref(ig: str, key: str, item: str) -> FieldRef:
    return FieldRef(ig, key, item)


def test_repeating_group_is_a_table_with_one_row_per_repeat_key() -> None:
    """ODM 1.3.2 §3.1.3 ItemGroupDef Repeating="Yes": rows keyed by ItemGroupRepeatKey."""
    state = FormState(
        values={ref("IG.AE", "1", "IT.TERM"): "Headache", ref("IG.AE", "3", "IT.TERM"): "Rash"}
    )
    doc = render(STUDY, state=state)
    group = doc.xpath("//fieldset[@data-group='IG.AE']")[0]
    assert group.get("data-repeating") == "true"
    assert group.xpath(".//th[@scope='col']/@data-item") == ["IT.TERM", "IT.SER", "IT.SDESC"]
    rows = group.xpath(".//table/tbody/tr[@class='row']")
    assert [r.get("data-key") for r in rows] == ["1", "3"]
    assert rows[1].xpath(".//input[@name='IG.AE[3].IT.TERM']/@value") == ["Rash"]
    assert [r.get("data-saved") for r in rows] == ["true", "true"]
    assert rows[0].xpath(".//input[@name='IG.AE[1]:remove'][@disabled]/@value") == ["1"]
    assert rows[0].xpath(".//button[@data-action='remove-row']")


def test_repeating_group_has_an_add_row_template() -> None:
    doc = render(STUDY)
    group = doc.xpath("//fieldset[@data-group='IG.AE']")[0]
    template = group.xpath("./template[@class='row-template']/tr")
    assert len(template) == 1
    assert template[0].xpath(".//@name") == [
        "IG.AE[%ROW%].IT.TERM", "IG.AE[%ROW%].IT.SER", "IG.AE[%ROW%].IT.SER",
        "IG.AE[%ROW%].IT.SDESC",
    ]  # fmt: skip
    assert group.xpath("./button[@data-action='add-row']/text()") == ["Add row"]
    # no saved rows: one new row to start with, which has no remove marker
    rows = group.xpath(".//tbody/tr")
    assert [(r.get("data-key"), r.get("data-saved")) for r in rows] == [("1", "false")]
    assert not rows[0].xpath(".//input[contains(@name, ':remove')]")


def test_condition_true_hides_and_clears_the_item() -> None:
    """ODM 1.3.2 §3.1.4.1 CollectionExceptionConditionOID: true means not collected."""
    state = FormState(
        values={ref("IG.VS", "", "IT.SMOKER"): "N", ref("IG.VS", "", "IT.CIGS"): "20"},
        form_key=FORM,
    )
    doc = render(STUDY, state=state)
    field = doc.xpath("//div[@data-item='IT.CIGS']")[0]
    assert field.get("hidden") is not None
    assert field.get("data-condition") == "COND.NONSMOKER"
    cigs = field.xpath(".//input[@name='IG.VS[].IT.CIGS']")[0]
    assert (cigs.get("value"), cigs.get("disabled")) == ("", "disabled")


def test_condition_false_or_unknown_shows_the_item() -> None:
    for smoker in ("Y", None):
        values = {ref("IG.VS", "", "IT.CIGS"): "20"}
        if smoker:
            values[ref("IG.VS", "", "IT.SMOKER")] = smoker
        doc = render(STUDY, state=FormState(values=values, form_key=FORM))
        field = doc.xpath("//div[@data-item='IT.CIGS']")[0]
        assert field.get("hidden") is None
        assert field.xpath(".//input/@value") == ["20"]
        assert not field.xpath(".//input[@disabled]")


def test_condition_in_a_repeating_group_is_per_row() -> None:
    state = FormState(
        values={
            ref("IG.AE", "1", "IT.SER"): "N",
            ref("IG.AE", "1", "IT.SDESC"): "stale",
            ref("IG.AE", "2", "IT.SER"): "Y",
            ref("IG.AE", "2", "IT.SDESC"): "hospital",
        },
        form_key=FORM,
    )
    doc = render(STUDY, state=state)
    hidden = doc.xpath("//tbody//div[@data-item='IT.SDESC'][@hidden]/@data-key")
    assert hidden == ["1"]
    assert doc.xpath("//input[@name='IG.AE[1].IT.SDESC']/@value") == [""]
    assert doc.xpath("//input[@name='IG.AE[2].IT.SDESC']/@value") == ["hospital"]


def test_group_condition_reading_another_form_hides_the_whole_group() -> None:
    """An ItemGroupRef condition on a value from another form of the same event."""
    subject = SubjectSnapshot(
        "S-001", values={ItemKey("SE.1", "", "F.DM", "", "IG.DM", "", "IT.SEX"): "M"}
    )
    doc = render(STUDY, state=FormState.from_snapshot(subject, FORM))
    group = doc.xpath("//fieldset[@data-group='IG.PREG']")[0]
    assert (group.get("hidden"), group.get("disabled")) == ("", "disabled")
    plan = json.loads(doc.xpath("//script[@type='application/json']")[0].text)
    assert plan["outside"] == [
        {"event": None, "form": "F.DM", "group": "IG.DM", "item": "IT.SEX", "level": "event",
         "values": ["M"]},
    ]  # fmt: skip
    female = SubjectSnapshot(
        "S-002", values={ItemKey("SE.1", "", "F.DM", "", "IG.DM", "", "IT.SEX"): "F"}
    )
    doc = render(STUDY, state=FormState.from_snapshot(female, FORM))
    assert doc.xpath("//fieldset[@data-group='IG.PREG']/@hidden") == []


def test_caller_can_mark_items_not_collected() -> None:
    state = FormState(
        values={ref("IG.VS", "", "IT.H"): "180"},
        not_collected=frozenset({ref("IG.VS", "", "IT.H")}),
    )
    field = render(STUDY, state=state).xpath("//div[@data-item='IT.H']")[0]
    assert field.get("hidden") is not None
    assert field.xpath(".//input/@value") == [""]


def test_derived_item_is_read_only_and_computed() -> None:
    """ODM 1.3.2 §3.1.4.1 ItemRef MethodOID: derived, shown read-only."""
    state = FormState(
        values={ref("IG.VS", "", "IT.H"): "180", ref("IG.VS", "", "IT.W"): "81"}, form_key=FORM
    )
    doc = render(STUDY, state=state)
    field = doc.xpath("//div[@data-item='IT.BMI']")[0]
    assert (field.get("data-method"), field.get("data-widget")) == ("MT.BMI", "derived")
    bmi = field.xpath(".//input[@name='IG.VS[].IT.BMI']")[0]
    assert (bmi.get("readonly"), bmi.get("aria-readonly")) == ("readonly", "true")
    assert bmi.get("value") == "25"


def test_client_plan_carries_conditions_and_derivations() -> None:
    doc = render(STUDY)
    container = doc.xpath("//div[@class='edc-form']")[0]
    script = doc.xpath("//script[@type='application/json'][@id=$i]", i=container.get("data-plan"))
    plan = json.loads(script[0].text)
    assert plan["version"] == 1
    assert plan["form"] == "F.1"
    conditions = {(c["group"], c["item"], c["id"]) for c in plan["conditions"]}
    assert conditions == {
        ("IG.VS", "IT.CIGS", "COND.NONSMOKER"),
        ("IG.AE", "IT.SDESC", "COND.NOTSERIOUS"),
        ("IG.PREG", None, "COND.MALE"),
    }
    (bmi,) = plan["derivations"]
    assert (bmi["group"], bmi["item"], bmi["expr"]["op"]) == ("IG.VS", "IT.BMI", "round")
    assert set(plan["messages"]) >= {"date.syntax", "date.gap", "remove_row", "undo_remove"}


@dataclass(frozen=True)
class Result:
    check_id: str
    item_key: ItemKey | None
    severity: str
    message: str
    kind: str = "range"


def test_check_results_are_shown_next_to_their_field() -> None:
    """Hard checks are errors, soft checks queries; results of no field go on top."""
    key = ItemKey("SE.1", "", "F.1", "", "IG.AE", "2", "IT.TERM")
    results = [
        Result("RC1", key, "hard", "Term is required."),
        Result("RC2", key.group_key.item("IT.SER"), "soft", "Serious without description?"),
        Result("RC3", None, "soft", "Form looks incomplete."),
    ]
    state = FormState(
        values={ref("IG.AE", "2", "IT.TERM"): ""}, check_results=results, form_key=FORM
    )
    doc = render(STUDY, state=state, lang="de")
    term = doc.xpath("//div[@data-field='IG.AE[2].IT.TERM']")[0]
    assert term.xpath(".//li[@class='message error']/text()") == [" Term is required."]
    assert term.xpath(".//li[@class='message error']/strong/text()") == ["Fehler:"]
    assert term.xpath(".//li[@class='message error']/@role") == ["alert"]
    entry = term.xpath(".//input[@name='IG.AE[2].IT.TERM']")[0]
    assert entry.get("aria-invalid") == "true"
    assert term.xpath(".//li/@id")[0] in entry.get("aria-describedby").split()
    serious = doc.xpath("//div[@data-field='IG.AE[2].IT.SER']")[0]
    assert serious.xpath(".//li[@class='message query']/strong/text()") == ["Rückfrage:"]
    top = doc.xpath("//ul[contains(@class, 'form-messages')]/li/text()")
    assert top == [" Form looks incomplete."]
