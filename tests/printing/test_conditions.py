"""Skip logic in words: conditions read out as instructions, English and German, with the
OEL text when there are no words for it. No PDF is made here: the view model is checked."""

from __future__ import annotations

import pytest

from odm_engine.loader import load_odm
from renderers.print import DocumentBuilder
from renderers.print.view import DocumentView, ItemView
from tests.conftest import odm

CODES = """
<CodeList OID="CL.NYU" Name="NYU" DataType="text">
  <CodeListItem CodedValue="Y"><Decode><TranslatedText xml:lang="en">Yes</TranslatedText>
    <TranslatedText xml:lang="de">Ja</TranslatedText></Decode></CodeListItem>
  <CodeListItem CodedValue="N"><Decode><TranslatedText xml:lang="en">No</TranslatedText>
    <TranslatedText xml:lang="de">Nein</TranslatedText></Decode></CodeListItem>
  <CodeListItem CodedValue="U"><Decode><TranslatedText xml:lang="en">Unknown</TranslatedText>
    </Decode></CodeListItem>
</CodeList>
"""


def _study(condition: str, *, other_form: bool = False) -> str:
    return f"""
<Protocol><StudyEventRef StudyEventOID="SE.1" Mandatory="Yes"/></Protocol>
<StudyEventDef OID="SE.1" Name="Visit" Repeating="No" Type="Scheduled">
  <FormRef FormOID="F.2" Mandatory="Yes" OrderNumber="1"/>
  <FormRef FormOID="F.1" Mandatory="Yes" OrderNumber="2"/>
</StudyEventDef>
<FormDef OID="F.1" Name="Form one" Repeating="No">
  <ItemGroupRef ItemGroupOID="IG.1" Mandatory="Yes"/></FormDef>
<FormDef OID="F.2" Name="Gate form" Repeating="No">
  <ItemGroupRef ItemGroupOID="IG.2" Mandatory="Yes"/></FormDef>
<ItemGroupDef OID="IG.1" Name="G1" Repeating="No">
  {"" if other_form else '<ItemRef ItemOID="IT.GATE" Mandatory="Yes" OrderNumber="1"/>'}
  <ItemRef ItemOID="IT.AGE" Mandatory="No" OrderNumber="2"/>
  <ItemRef ItemOID="IT.X" Mandatory="No" OrderNumber="3" CollectionExceptionConditionOID="C.1"/>
</ItemGroupDef>
<ItemGroupDef OID="IG.2" Name="G2" Repeating="No">
  {'<ItemRef ItemOID="IT.GATE" Mandatory="Yes"/>' if other_form else ""}
  <ItemRef ItemOID="IT.Z" Mandatory="No"/>
</ItemGroupDef>
<ItemDef OID="IT.GATE" Name="GATE" DataType="text" Length="1">
  <Question><TranslatedText xml:lang="en">Was the sample taken?</TranslatedText>
  <TranslatedText xml:lang="de">Wurde die Probe entnommen?</TranslatedText></Question>
  <CodeListRef CodeListOID="CL.NYU"/></ItemDef>
<ItemDef OID="IT.AGE" Name="AGE" DataType="integer" Length="3">
  <Question><TranslatedText xml:lang="en">Age</TranslatedText></Question></ItemDef>
<ItemDef OID="IT.X" Name="X" DataType="text" Length="10">
  <Question><TranslatedText xml:lang="en">Sample number</TranslatedText></Question></ItemDef>
<ItemDef OID="IT.Z" Name="Z" DataType="date">
  <Question><TranslatedText xml:lang="en">Birth date</TranslatedText></Question></ItemDef>
{CODES}
<ConditionDef OID="C.1" Name="Skip">
  <FormalExpression Context="OEL">{condition}</FormalExpression></ConditionDef>
"""


def _item(doc: DocumentView, oid: str) -> ItemView:
    for event in doc.events:
        for form in event.forms:
            for group in form.groups:
                for entry in group.entries:
                    for item in entry.items:
                        if item.item_oid == oid:
                            return item
    raise AssertionError(oid)


def _instruction(condition: str, *, lang: str | None = None, other_form: bool = False) -> str:
    result = load_odm(odm(_study(condition, other_form=other_form)))
    assert result.odm is not None and result.odm.study is not None, result.findings
    doc = DocumentBuilder(result.odm.study, lang=lang).blank()
    return _item(doc, "IT.X").instruction


@pytest.mark.parametrize(
    ("condition", "words"),
    [
        ("not definitely(IT.GATE = 'Y')", "Answer only if question 1 is Yes (Y)."),
        ("IT.GATE = 'N'", "Do not answer if question 1 is No (N)."),
        ("IT.GATE != 'Y'", "Do not answer if question 1 is not Yes (Y)."),
        ("IT.AGE &lt; 18", "Do not answer if question 2 is less than 18."),
        ("IT.AGE &gt;= 65", "Do not answer if question 2 is at least 65."),
        (
            "not (IT.GATE in ('Y', 'U'))",
            "Answer only if question 1 is one of Yes (Y) or Unknown (U).",
        ),
        ("is_missing(IT.GATE)", "Do not answer if question 1 is not answered."),
        (
            "not definitely(IT.GATE = 'Y') and not definitely(IT.AGE &gt; 17)",
            "Answer only if question 1 is Yes (Y) or question 2 is more than 17.",
        ),
        (
            "IT.GATE = 'N' or (IT.AGE &lt; 18 and is_present(IT.AGE))",
            "Do not answer if question 1 is No (N) or (question 2 is less than 18 and "
            "question 2 is answered).",
        ),
    ],
)
def test_condition_in_english(condition: str, words: str) -> None:
    """ODM 1.3.2 §3.1.4.6 CollectionExceptionCondition: true means not collected."""
    assert _instruction(condition) == words


def test_condition_in_german() -> None:
    assert (
        _instruction("not definitely(IT.GATE = 'Y')", lang="de")
        == "Nur beantworten, wenn Frage 1 Ja (Y) ist."
    )


def test_reference_to_another_form_quotes_the_question() -> None:
    assert _instruction("not definitely(IT.GATE = 'Y')", other_form=True) == (
        "Answer only if “Was the sample taken?” (form Gate form) is Yes (Y)."
    )


def test_no_words_falls_back_to_the_oel_text() -> None:
    assert _instruction("years_between(IT.Z, today()) &lt; 18", other_form=True) == (
        "Do not answer if the condition years_between(IT.Z, today()) < 18 holds."
    )
