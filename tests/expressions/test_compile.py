"""compile_study: the exact finding for each kind of mistake, located at the expression."""

from __future__ import annotations

from tests.expressions.helpers import (
    compiled,
    condition,
    item,
    messages,
    method,
    one_form,
    range_check,
    refs,
)

CODES = (
    '<CodeList OID="CL.YN" Name="YN" DataType="text">'
    "<CodeListItem "
    'CodedValue="Y"><Decode><TranslatedText>Yes</TranslatedText></Decode></CodeListItem>'
    "<CodeListItem "
    'CodedValue="N"><Decode><TranslatedText>No</TranslatedText></Decode></CodeListItem>'
    "</CodeList>"
)
ITEMS = (
    item("IT.DTHDAT", "date")
    + item("IT.AGE")
    + item("IT.NAME", "text")
    + item("IT.SERIOUS", "text", '<CodeListRef CodeListOID="CL.YN"/>')
    + item("IT.X", "text")
)


def study(expression: str, *, extra: str = "") -> list[str]:
    body = one_form(
        refs(
            "IT.DTHDAT",
            "IT.AGE",
            "IT.NAME",
            "IT.SERIOUS",
            "IT.X",
            **{"IT.X": 'CollectionExceptionConditionOID="C.DEATH"'},
        ),
        ITEMS + CODES,
        condition("C.DEATH", expression) + extra,
    )
    return [m.split(": ", 1)[1] for m in messages(compiled(body))]


def test_valid_condition_has_no_findings() -> None:
    assert study("is_present(IT.DTHDAT) and IT.AGE &gt;= 18") == []


def test_date_compared_with_number_names_both() -> None:
    assert study("IT.DTHDAT = 3") == [
        "ODM-EXPR-103 error: CONDITION C.DEATH: 'IT.DTHDAT' is a date; cannot compare with "
        "number 3."
    ]


def test_finding_carries_the_formal_expression_line() -> None:
    body = one_form(
        refs("IT.DTHDAT", "IT.X", **{"IT.X": 'CollectionExceptionConditionOID="C.DEATH"'}),
        item("IT.DTHDAT", "date") + item("IT.X", "text"),
        condition("C.DEATH", "IT.DTHDAT = 3"),
    )
    result = compiled(body)
    (found,) = result.findings
    assert (found.path, found.oid) == ("study.xml", "C.DEATH")
    assert found.line is not None and found.line > 1


def test_date_minus_number() -> None:
    assert study("IT.DTHDAT - 3 &gt; IT.DTHDAT") == [
        "ODM-EXPR-103 error: CONDITION C.DEATH: 'IT.DTHDAT' is a date; cannot subtract number 3."
    ]


def test_code_list_value_not_in_code_list() -> None:
    assert study("IT.SERIOUS = 'Yes'") == [
        "ODM-EXPR-108 error: CONDITION C.DEATH: 'IT.SERIOUS' uses code list CL.YN (Y, N); "
        "'Yes' is not one of its coded values; use one of the coded values."
    ]
    assert study("IT.SERIOUS in ('Y', 'X')")[0].endswith(
        "'X' is not one of its coded values; use one of the coded values."
    )


def test_unknown_oid() -> None:
    assert study("IT.NOPE = 1") == [
        "ODM-EXPR-102 error: CONDITION C.DEATH: 'IT.NOPE' names no ItemDef; add the ItemDef or "
        "correct the OID."
    ]


def test_wrong_argument_count_and_unknown_function() -> None:
    assert study("days_between(IT.DTHDAT) &gt; 3") == [
        "ODM-EXPR-104 error: CONDITION C.DEATH: days_between() takes 2 arguments, found 1: "
        "days_between(a, b) gives b - a in days."
    ]
    assert study("frobnicate(IT.AGE)") == [
        "ODM-EXPR-105 error: CONDITION C.DEATH: 'frobnicate' is not an OEL function; see "
        "docs/expressions.md for the list."
    ]


def test_syntax_error() -> None:
    assert study("IT.AGE &gt;") == [
        "ODM-EXPR-101 error: CONDITION C.DEATH: syntax error: the expression ends too early; "
        "expected an operand, an operator or a closing parenthesis. Correct the expression "
        "(OEL syntax: docs/expressions.md)."
    ]


def test_condition_must_be_boolean_and_null_comparison() -> None:
    assert study("IT.AGE + 1") == [
        "ODM-EXPR-110 error: CONDITION C.DEATH: a condition must give true or false, but "
        "`IT.AGE + 1` gives an integer; write a comparison such as `IT.AGE + 1 = ...`."
    ]
    assert study("IT.AGE = null") == [
        "ODM-EXPR-103 error: CONDITION C.DEATH: comparing with null always gives unknown; "
        "write is_missing(IT.AGE)."
    ]


def test_unknown_context_is_a_warning() -> None:
    body = one_form(
        refs("IT.X", **{"IT.X": 'CollectionExceptionConditionOID="C.1"'}),
        item("IT.X", "text"),
        condition("C.1", "whatever", context="js"),
    )
    result = compiled(body)
    assert messages(result) == []
    assert [m.split(": ", 1)[1] for m in messages(result, severity="warning")] == [
        'ODM-EXPR-001 warning: ConditionDef C.1: FormalExpression Context="js" is not understood '
        'by this engine; the expression is kept but not evaluated. Write it in Context="OEL".'
    ]


def test_derivation_cycle() -> None:
    body = one_form(
        refs("IT.A", "IT.B", **{"IT.A": 'MethodOID="M.A"', "IT.B": 'MethodOID="M.B"'}),
        item("IT.A") + item("IT.B"),
        method("M.A", "IT.B + 1") + method("M.B", "IT.A * 2"),
    )
    result = compiled(body)
    assert [m.split(": ", 1)[1] for m in messages(result)] == [
        "ODM-EXPR-109 error: METHOD M.A: derivations form a cycle (IT.A -> IT.B -> IT.A); none "
        "of them is computed. Break the cycle: a derived item cannot depend on itself."
    ]
    assert result.plan.forms["F.1"].derivation_order == ()


def test_method_type_must_fit_item() -> None:
    body = one_form(
        refs("IT.A", "IT.D", **{"IT.A": 'MethodOID="M.A"'}),
        item("IT.A") + item("IT.D", "date"),
        method("M.A", "IT.D"),
    )
    assert [m.split(": ", 1)[1] for m in messages(compiled(body))] == [
        "ODM-EXPR-110 error: METHOD M.A: the derivation gives a date but the item is an integer."
    ]


def test_repeating_reference_outside_aggregate() -> None:
    body = f"""<Protocol><StudyEventRef StudyEventOID="SE.1" Mandatory="Yes"/></Protocol>
<StudyEventDef OID="SE.1" Name="V" Repeating="No" Type="Scheduled">
<FormRef FormOID="F.1" Mandatory="Yes"/></StudyEventDef>
<FormDef OID="F.1" Name="F" Repeating="No"><ItemGroupRef ItemGroupOID="IG.1" Mandatory="Yes"/>
<ItemGroupRef ItemGroupOID="IG.AE" Mandatory="No"/></FormDef>
<ItemGroupDef OID="IG.1" Name="G" Repeating="No">
{refs("IT.X", **{"IT.X": 'CollectionExceptionConditionOID="C.1"'})}
</ItemGroupDef>
<ItemGroupDef OID="IG.AE" Name="AE" Repeating="Yes">{refs("IT.SER")}</ItemGroupDef>
{item("IT.X", "text")}{item("IT.SER", "text")}{condition("C.1", "IT.SER = 'Y'")}"""
    assert [m.split(": ", 1)[1] for m in messages(compiled(body))] == [
        "ODM-EXPR-107 error: CONDITION C.1: 'IT.SER' has one value per repeat of F.1/IG.AE; use it "
        "inside count(), any(), all(), min(), max() or sum()."
    ]


def test_ambiguous_reference() -> None:
    body = f"""<Protocol>
<StudyEventRef StudyEventOID="SE.1" Mandatory="Yes"/>
<StudyEventRef StudyEventOID="SE.2" Mandatory="Yes"/>
</Protocol>
<StudyEventDef OID="SE.1" Name="V" Repeating="No" Type="Scheduled">
<FormRef FormOID="F.VS" Mandatory="Yes"/></StudyEventDef>
<StudyEventDef OID="SE.2" Name="W" Repeating="No" Type="Scheduled">
<FormRef FormOID="F.VS" Mandatory="Yes"/><FormRef FormOID="F.X" Mandatory="Yes"/></StudyEventDef>
<FormDef OID="F.VS" Name="F" Repeating="No"><ItemGroupRef ItemGroupOID="IG.VS" Mandatory="Yes"/>
</FormDef>
<FormDef OID="F.X" Name="X" Repeating="No"><ItemGroupRef ItemGroupOID="IG.X" Mandatory="Yes"/>
</FormDef>
<ItemGroupDef OID="IG.VS" Name="G" Repeating="No">{refs("IT.W")}</ItemGroupDef>
<ItemGroupDef OID="IG.X" Name="G" Repeating="No">
{refs("IT.X", **{"IT.X": 'CollectionExceptionConditionOID="C.1"'})}
</ItemGroupDef>
{item("IT.X", "text")}{item("IT.W")}{condition("C.1", "[SE.1/F.VS/IT.W] &gt; 100 or IT.W &gt; 100")}
{condition("C.2", "IT.W &gt; 3")}"""
    assert [m.split(": ", 1)[1] for m in messages(compiled(body))] == [
        "ODM-EXPR-106 error: CONDITION C.2: 'IT.W' is collected in several places "
        "(SE.1/F.VS/IG.VS, "
        "SE.2/F.VS/IG.VS); name one with a path such as [SE.1/F.VS/IG.VS/IT.W]."
    ]


def test_range_check_expression_is_compiled_with_its_id() -> None:
    body = one_form(refs("IT.AGE"), item("IT.AGE", extra=range_check("IT.AGE &gt; 'x'")))
    assert [m.split(": ", 1)[1] for m in messages(compiled(body))] == [
        "ODM-EXPR-103 error: RANGECHECK IT.AGE#RC1: 'IT.AGE' is an integer; cannot compare "
        "with text 'x'."
    ]
