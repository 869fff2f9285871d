"""Evaluation: null propagation, partial dates, repeating groups, cross-form references,
conditions, derivations and standard RangeChecks (ODM 1.3.2 §3.1.4.2 RangeCheck)."""

from __future__ import annotations

import pytest

from odm_engine.checks import evaluate_form, evaluate_subject
from odm_engine.clinical import FormKey, ItemKey, SubjectSnapshot
from odm_engine.expressions import CompileResult
from tests.expressions.helpers import (
    TODAY,
    compiled,
    condition,
    evaluate,
    item,
    key,
    messages,
    method,
    one_form,
    range_check,
    refs,
)


def truth(expression: str, data: dict[str, str], types: dict[str, str]) -> bool | None:
    """The value of a condition on IT.T given item values in the same row."""
    oids = list(types)
    body = one_form(
        refs(*oids, "IT.T", **{"IT.T": 'CollectionExceptionConditionOID="C.1"'}),
        "".join(item(o, t) for o, t in types.items()) + item("IT.T", "text"),
        condition("C.1", expression.replace("<", "&lt;").replace(">", "&gt;")),
    )
    result = compiled(body)
    assert messages(result) == []
    evaluation = evaluate(result, {key(k): v for k, v in data.items()})
    return evaluation.conditions[("C.1", key("IT.T"))]


@pytest.mark.parametrize(
    ("expression", "data", "expected"),
    [
        ("IT.A + 1 > 2", {}, None),  # null propagates through + and >
        ("IT.A > 2 or true", {}, True),  # Kleene or
        ("IT.A > 2 and false", {}, False),  # Kleene and
        ("not (IT.A > 2)", {}, None),
        ("is_missing(IT.A)", {}, True),
        ("is_present(IT.A)", {"IT.A": "3"}, True),
        ("coalesce(IT.A, 7) = 7", {}, True),
        ("IT.A in (1, 2, 3)", {"IT.A": "2"}, True),
        ("IT.A not in (1, 2)", {"IT.A": "2"}, False),
        ("IT.A in (1, 2)", {}, None),
        ("IT.A / 0 = 1", {"IT.A": "2"}, None),
        ("IT.A * 2 - 1 = 5", {"IT.A": "3"}, True),
        ("IT.A / 4 = 0.75", {"IT.A": "3"}, True),
        ("definitely(IT.A > 2)", {}, False),
        ("possibly(IT.A > 2)", {}, True),
        ("if(IT.A > 2, 'big', 'small') = 'big'", {"IT.A": "5"}, True),
    ],
)
def test_numbers_logic_and_nulls(
    expression: str, data: dict[str, str], expected: bool | None
) -> None:
    assert truth(expression, data, {"IT.A": "integer"}) is expected


@pytest.mark.parametrize(
    ("expression", "data", "expected"),
    [
        ("len(IT.S) = 5 and upper(IT.S) = 'HELLO'", {"IT.S": "hello"}, True),
        (
            "contains(lower(IT.S), 'ell') and starts_with(IT.S, 'he') and ends_with(IT.S, 'lo')",
            {"IT.S": "hello"},
            True,
        ),
        ("IT.S + '!' = 'hello!'", {"IT.S": "hello"}, True),
        ("number(IT.S) > 2", {"IT.S": "2.5"}, True),
        # join: the parts that are not null, separated; null when none is left
        (
            "join(';', IT.S, if(IT.S = 'x', 'no', null), 'IN03') = 'hello;IN03'",
            {"IT.S": "hello"},
            True,
        ),
        ("is_missing(join(';', if(IT.S = 'x', 'no', null)))", {"IT.S": "hello"}, True),
        ("join(',', IT.S, 'b') = 'b'", {}, True),  # a missing item is skipped, not null
        ("is_missing(IT.S + '')", {"IT.S": "hello"}, True),  # '' is null: + cannot skip a part
    ],
)
def test_string_functions(expression: str, data: dict[str, str], expected: bool | None) -> None:
    assert truth(expression, data, {"IT.S": "text"}) is expected


@pytest.mark.parametrize(
    ("expression", "data", "expected"),
    [
        # partial dates: 2019-03 may or may not be before 2019-03-15 -> unknown
        ("IT.P < @2019-03-15", {"IT.P": "2019-03"}, None),
        ("IT.P < @2019-04-01", {"IT.P": "2019-03"}, True),
        ("IT.P > @2019-02-28", {"IT.P": "2019-03"}, True),
        ("IT.P = @2019", {"IT.P": "2019-03"}, None),
        ("possibly(IT.P < @2019-03-15)", {"IT.P": "2019-03"}, True),
        ("definitely(IT.P < @2019-03-15)", {"IT.P": "2019-03"}, False),
        ("days_between(IT.D, @2019-03-15) = 14", {"IT.D": "2019-03-01"}, True),
        ("months_between(IT.D, @2019-03-15) = 0", {"IT.D": "2019-02-16"}, True),
        ("months_between(IT.D, @2019-03-15) = 1", {"IT.D": "2019-02-15"}, True),
        ("age(IT.D, @2020-06-01) = 49", {"IT.D": "1970-06-02"}, True),
        ("age(IT.P, @2020-12-31) = 1", {"IT.P": "2019-03"}, True),  # same at both extremes
        ("age(IT.P, @2020-03-15) = 1", {"IT.P": "2019-03"}, None),  # 0 or 1: unknown
        ("age(IT.D, today()) = 54", {"IT.D": "1970-01-01"}, True),
        ("year(IT.D) = 1970 and month(IT.D) = 6", {"IT.D": "1970-06-02"}, True),
        ("IT.D + @P6M = @1971-01-31", {"IT.D": "1970-07-31"}, True),
        ("IT.D + @P1M = @1970-02-28", {"IT.D": "1970-01-31"}, True),
        # impute: a partial date completed by a stated rule (docs/expressions.md)
        ("impute(IT.P, 'first') = @2019-03-01", {"IT.P": "2019-03"}, True),
        ("impute(IT.P, 'middle') = @2019-03-15", {"IT.P": "2019-03"}, True),
        ("impute(IT.P, 'last') = @2019-02-28", {"IT.P": "2019-02"}, True),
        ("impute(IT.P, 'middle') = @2019-07-01", {"IT.P": "2019"}, True),
        ("impute(IT.P, 'last') = @2019-12-31", {"IT.P": "2019"}, True),
        ("impute(IT.P, 'first') = @2019-03-09", {"IT.P": "2019-03-09"}, True),  # complete: kept
        ("is_missing(impute(IT.P, 'mid'))", {"IT.P": "2019"}, True),  # unknown rule: null
        (
            "days_between(impute(IT.P, 'first'), IT.D) = 14",
            {"IT.P": "2019-03", "IT.D": "2019-03-15"},
            True,
        ),
    ],
)
def test_dates(expression: str, data: dict[str, str], expected: bool | None) -> None:
    types = {"IT.P": "partialDate", "IT.D": "date"}
    assert truth(expression, data, types) is expected


REPEATING = f"""<Protocol><StudyEventRef StudyEventOID="SE.1" Mandatory="Yes"/></Protocol>
<StudyEventDef OID="SE.1" Name="V" Repeating="No" Type="Scheduled">
<FormRef FormOID="F.1" Mandatory="Yes"/><FormRef FormOID="F.DM" Mandatory="Yes"/></StudyEventDef>
<FormDef OID="F.1" Name="AE" Repeating="No"><ItemGroupRef ItemGroupOID="IG.1" Mandatory="Yes"/>
<ItemGroupRef ItemGroupOID="IG.AE" Mandatory="No"/></FormDef>
<FormDef OID="F.DM" Name="DM" Repeating="No"><ItemGroupRef ItemGroupOID="IG.DM" Mandatory="Yes"/>
</FormDef>
<ItemGroupDef OID="IG.1" Name="G" Repeating="No">{
    refs(
        "IT.ANY",
        "IT.N",
        "IT.MAXGR",
        "IT.SUM",
        "IT.ALL",
        **{
            "IT.ANY": 'MethodOID="M.ANY"',
            "IT.N": 'MethodOID="M.N"',
            "IT.MAXGR": 'MethodOID="M.MAX"',
            "IT.SUM": 'MethodOID="M.SUM"',
            "IT.ALL": 'MethodOID="M.ALL"',
        },
    )
}</ItemGroupDef>
<ItemGroupDef OID="IG.AE" Name="AE" Repeating="Yes">{
    refs(
        "IT.SER",
        "IT.GRADE",
        "IT.START",
        "IT.OUT",
        **{"IT.OUT": 'CollectionExceptionConditionOID="C.OUT"'},
    )
}</ItemGroupDef>
<ItemGroupDef OID="IG.DM" Name="DM" Repeating="No">{refs("IT.BRTHDT")}</ItemGroupDef>
{item("IT.ANY", "boolean")}{item("IT.N")}{item("IT.MAXGR")}{item("IT.SUM")}{
    item("IT.ALL", "boolean")
}
{item("IT.SER", "text")}{item("IT.GRADE")}{
    item(
        "IT.START",
        "date",
        range_check("IT.START &gt;= [F.DM/IT.BRTHDT]", message="AE start is before birth"),
    )
}
{item("IT.OUT", "text")}{item("IT.BRTHDT", "date")}
{condition("C.OUT", "IT.SER != 'Y'")}
{method("M.ANY", "any(IT.SER = 'Y')")}{method("M.N", "count(IT.GRADE)")}{
    method("M.MAX", "max(IT.GRADE)")
}
{method("M.SUM", "sum(IT.GRADE * 2)")}{method("M.ALL", "all(IT.GRADE &lt; 3)")}"""


def _repeating() -> CompileResult:
    result = compiled(REPEATING)
    assert messages(result) == []
    return result


def ae(row: str, item_oid: str) -> ItemKey:
    return key(item_oid, "IG.AE", row)


def test_aggregates_over_repeating_group_rows() -> None:
    data = {
        ae("1", "IT.SER"): "N",
        ae("1", "IT.GRADE"): "1",
        ae("2", "IT.SER"): "Y",
        ae("2", "IT.GRADE"): "3",
        ae("3", "IT.SER"): "N",
    }
    derived = evaluate(_repeating(), data).derived
    assert {k.item_oid: v for k, v in derived.items()} == {
        "IT.ANY": "true",
        "IT.N": "2",
        "IT.MAXGR": "3",
        "IT.SUM": "8",
        "IT.ALL": "false",
    }


def test_aggregates_over_no_rows() -> None:
    derived = evaluate(_repeating(), {}).derived
    assert {k.item_oid: v for k, v in derived.items()} == {
        "IT.ANY": "false",
        "IT.N": "0",
        "IT.MAXGR": None,
        "IT.SUM": "0",
        "IT.ALL": "true",
    }


def test_condition_in_repeating_group_is_per_row() -> None:
    data = {
        ae("1", "IT.SER"): "N",
        ae("1", "IT.OUT"): "x",
        ae("2", "IT.SER"): "Y",
        ae("2", "IT.OUT"): "y",
    }
    evaluation = evaluate(_repeating(), data)
    # C.OUT: not collected unless the AE is serious, decided row by row
    assert ae("1", "IT.OUT") in evaluation.hidden and ae("2", "IT.OUT") not in evaluation.hidden
    assert [(r.check_id, r.kind, r.item_key, r.severity) for r in evaluation.check_results] == [
        ("C.OUT", "condition", ae("1", "IT.OUT"), "soft")
    ]


def test_cross_form_reference_in_range_check() -> None:
    brth = ItemKey("SE.1", "", "F.DM", "", "IG.DM", "", "IT.BRTHDT")
    data = {
        brth: "1990-05-01",
        ae("1", "IT.START"): "1989-01-01",
        ae("2", "IT.START"): "2020-01-01",
    }
    results = evaluate(_repeating(), data).check_results
    assert [(r.check_id, r.kind, r.item_key, r.severity, r.message) for r in results] == [
        ("IT.START#RC1", "range", ae("1", "IT.START"), "hard", "AE start is before birth")
    ]
    # no birth date: unknown, so the check does not fire
    assert evaluate(_repeating(), {ae("1", "IT.START"): "1989-01-01"}).check_results == []


def test_hidden_item_is_cleared_and_not_required() -> None:
    body = one_form(
        refs(
            "IT.SEX",
            "IT.PREG",
            **{"IT.PREG": 'Mandatory="Yes" CollectionExceptionConditionOID="C.MALE"'},
        ).replace('Mandatory="No" Mandatory="Yes"', 'Mandatory="Yes"'),
        item("IT.SEX", "text") + item("IT.PREG", "boolean"),
        condition("C.MALE", "IT.SEX = 'M'"),
    )
    result = compiled(body)
    male = evaluate(result, {key("IT.SEX"): "M"})
    assert key("IT.PREG") in male.hidden and male.check_results == []
    female = evaluate(result, {key("IT.SEX"): "F"})
    assert [(r.check_id, r.kind, r.severity) for r in female.check_results] == [
        ("IT.PREG#Mandatory", "mandatory", "soft")
    ]
    unknown = evaluate(result, {})
    assert key("IT.PREG") not in unknown.hidden  # unknown: collected


def test_derived_partial_date_equal_to_the_stored_one_is_not_reported() -> None:
    """A derivation copying a partial date (2018-06) finds the stored 2018-06 the same value,
    although the order of two partial dates of one month is unknown; 2018-07 differs."""
    body = one_form(
        refs("IT.P", "IT.C", **{"IT.C": 'MethodOID="M.C"'}),
        item("IT.P", "partialDate") + item("IT.C", "partialDate"),
        method("M.C", "IT.P"),
    )
    result = compiled(body)
    same = evaluate(result, {key("IT.P"): "2018-06", key("IT.C"): "2018-06"})
    assert same.derived == {key("IT.C"): "2018-06"} and same.check_results == []
    stale = evaluate(result, {key("IT.P"): "2018-06", key("IT.C"): "2018-07"})
    assert [(r.check_id, r.kind) for r in stale.check_results] == [("M.C", "method")]


def test_derivation_feeds_checks_and_reports_stale_value() -> None:
    body = one_form(
        refs("IT.W", "IT.H", "IT.BMI", **{"IT.BMI": 'MethodOID="M.BMI"'}),
        item("IT.W", "float")
        + item("IT.H", "float")
        + item(
            "IT.BMI",
            "float",
            range_check("IT.BMI &lt; 40", soft="Soft"),
            attrs=' SignificantDigits="1"',
        ),
        method("M.BMI", "IT.W / power(IT.H, 2)"),
    )
    result = compiled(body)
    assert messages(result) == []
    evaluation = evaluate(result, {key("IT.W"): "150", key("IT.H"): "1.80", key("IT.BMI"): "22.0"})
    assert evaluation.derived == {key("IT.BMI"): "46.3"}
    assert [(r.check_id, r.kind, r.severity) for r in evaluation.check_results] == [
        ("M.BMI", "method", "soft"),
        ("IT.BMI#RC1", "range", "soft"),
    ]
    json = result.plan.to_client_json("F.1")
    assert json["derivations"][0]["expr"]["op"] == "/"
    assert json["derivations"][0]["expr"]["args"][1] == {
        "op": "power",
        "type": "number",
        "args": [
            {
                "op": "ref",
                "type": "number",
                "item": "IT.H",
                "group": "IG.1",
                "form": "F.1",
                "event": None,
                "level": "row",
                "many": False,
            },
            {"op": "lit", "type": "integer", "value": "2"},
        ],
    }


UNITS = """<MeasurementUnit OID="MU.KG" Name="Kilograms"><Symbol>
<TranslatedText xml:lang="en">kg</TranslatedText></Symbol></MeasurementUnit>
<MeasurementUnit OID="MU.LB" Name="Pounds"><Symbol>
<TranslatedText xml:lang="en">lbs</TranslatedText></Symbol></MeasurementUnit>
<MeasurementUnit OID="MU.GDL" Name="g/dL"><Symbol>
<TranslatedText xml:lang="en">g/dL</TranslatedText></Symbol></MeasurementUnit>
<MeasurementUnit OID="MU.GL" Name="g/L"><Symbol><TranslatedText xml:lang="en">g/L</TranslatedText>
</Symbol></MeasurementUnit>
<MeasurementUnit OID="MU.X" Name="widgets"/>"""


def _comparator_study(
    comparator: str, values: str, unit: str, entered: str = "MU.LB", dtype: str = "integer"
) -> CompileResult:
    checks = "".join(f"<CheckValue>{v}</CheckValue>" for v in values.split(","))
    rc = (
        f'<RangeCheck Comparator="{comparator}" SoftHard="Soft">{checks}'
        f'<MeasurementUnitRef MeasurementUnitOID="{unit}"/></RangeCheck>'
    )
    extra = f'<MeasurementUnitRef MeasurementUnitOID="{entered}"/>{rc}'
    return compiled(one_form(refs("IT.WT"), item("IT.WT", dtype, extra)), units=UNITS)


@pytest.mark.parametrize(
    ("comparator", "values", "unit", "entered_value", "fires"),
    [
        ("LT", "150", "MU.KG", "340", True),  # 340 lb = 154.2 kg
        ("LT", "150", "MU.KG", "320", False),  # 145.1 kg
        ("GE", "100", "MU.LB", "99", True),
        ("EQ", "100", "MU.LB", "100", False),
        ("NE", "100", "MU.LB", "100", True),
        ("IN", "1,2,3", "MU.LB", "4", True),
        ("NOTIN", "1,2,3", "MU.LB", "2", True),
        ("LT", "150", "MU.X", "999", False),  # unknown conversion: never fires
    ],
)
def test_standard_range_checks_with_unit_conversion(
    comparator: str, values: str, unit: str, entered_value: str, fires: bool
) -> None:
    result = _comparator_study(comparator, values, unit)
    failed = evaluate(result, {key("IT.WT"): entered_value}).check_results
    assert bool(failed) is fires
    if fires:
        assert failed[0].check_id == "IT.WT#RC1" and failed[0].severity == "soft"


def test_generated_message_names_units_and_conversion_warning() -> None:
    result = _comparator_study("LT", "150", "MU.KG")
    (failed,) = evaluate(result, {key("IT.WT"): "340"}).check_results
    assert (
        failed.message == "IT.WT must be less than 150 kg (340 lbs entered); 340 is not. "
        "Correct the value or confirm it."
    )
    warned = _comparator_study("LT", "150", "MU.X")
    assert [m.split(": ", 1)[1] for m in messages(warned, severity="warning")] == [
        "ODM-EXPR-113 warning: RangeCheck IT.WT#RC1 on IT.WT: its CheckValue is in MU.X but "
        "the item "
        "is entered in MU.LB, and no conversion between them is known; the check is not applied to "
        "values in MU.LB. Give the CheckValue in MU.LB."
    ]


def test_entered_unit_from_item_data_overrides_default() -> None:
    result = _comparator_study("LE", "1.6", "MU.GDL", entered="MU.GDL", dtype="float")
    k = key("IT.WT")
    assert evaluate(result, {k: "15"}, entered_units={k: "MU.GL"}).check_results == []  # 1.5 g/dL
    assert len(evaluate(result, {k: "17"}, entered_units={k: "MU.GL"}).check_results) == 1


def test_datatype_and_codelist_results() -> None:
    codes = (
        '<CodeList OID="CL.YN" Name="YN" DataType="integer"><CodeListItem CodedValue="0"><Decode>'
        "<TranslatedText>No</TranslatedText></Decode></CodeListItem><CodeListItem "
        'CodedValue="1"><Decode>'
        "<TranslatedText>Yes</TranslatedText></Decode></CodeListItem></CodeList>"
    )
    result = compiled(
        one_form(
            refs("IT.A", "IT.B"),
            item("IT.A") + item("IT.B", extra='<CodeListRef CodeListOID="CL.YN"/>'),
            codes,
        )
    )
    results = evaluate(result, {key("IT.A"): "x1", key("IT.B"): "2"}).check_results
    assert [(r.check_id, r.kind, r.severity) for r in results] == [
        ("IT.A#DataType", "datatype", "hard"),
        ("IT.B#CodeList", "codelist", "hard"),
    ]
    assert results[1].message == "IT.B: 2 is not a coded value of CL.YN. Choose one of its values."


def test_evaluate_subject_covers_every_form_and_repeating_events() -> None:
    body = f"""<Protocol><StudyEventRef StudyEventOID="SE.V" Mandatory="Yes"/></Protocol>
<StudyEventDef OID="SE.V" Name="Visit" Repeating="Yes" Type="Scheduled">
<FormRef FormOID="F.VS" Mandatory="Yes"/></StudyEventDef>
<FormDef OID="F.VS" Name="VS" Repeating="No"><ItemGroupRef ItemGroupOID="IG.VS" Mandatory="Yes"/>
</FormDef>
<ItemGroupDef OID="IG.VS" Name="VS" Repeating="No">{refs("IT.SYS", "IT.DIA")}</ItemGroupDef>
{item("IT.SYS", extra=range_check("IT.SYS &gt; IT.DIA", message="Systolic must exceed diastolic"))}
{item("IT.DIA")}
<ConditionDef OID="C.N" Name="n">
<FormalExpression Context="OEL">count([SE.V/F.VS/IT.SYS]) &gt; 2</FormalExpression>
</ConditionDef>"""
    result = compiled(body)
    assert messages(result) == []
    v = lambda rk, oid: ItemKey("SE.V", rk, "F.VS", "", "IG.VS", "", oid)  # noqa: E731
    snapshot = SubjectSnapshot(
        "001",
        None,
        {
            v("1", "IT.SYS"): "120",
            v("1", "IT.DIA"): "80",
            v("2", "IT.SYS"): "70",
            v("2", "IT.DIA"): "80",
        },
    )
    evaluations = evaluate_subject(result.plan, snapshot, today=TODAY)
    failed = [r for e in evaluations.values() for r in e.check_results]
    assert [(r.item_key, r.message) for r in failed] == [
        (v("2", "IT.SYS"), "Systolic must exceed diastolic")
    ]
    single = evaluate_form(result.plan, snapshot, FormKey("SE.V", "1", "F.VS", ""), today=TODAY)
    assert single.check_results == []
