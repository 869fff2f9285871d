"""static/oel.js evaluates the typed trees exactly as odm_engine's Python evaluator does."""

from __future__ import annotations

from datetime import date

from odm_engine.clinical import FormKey, GroupKey, ItemKey
from odm_engine.expressions.checker import Checker
from odm_engine.expressions.evaluator import DataIndex, Env, compile_node
from odm_engine.expressions.parser import SyntaxProblem, parse
from odm_engine.expressions.resolver import Context, StudyIndex
from odm_engine.expressions.typed import to_json
from odm_engine.expressions.values import to_text

from .helpers import load_study
from .jsrun import run_js

TYPES = {
    "IT.I": "integer", "IT.N": "float", "IT.T": "text", "IT.D": "partialDate", "IT.D2": "date",
    "IT.ID": "incompleteDate", "IT.B": "boolean", "IT.DT": "datetime", "IT.PDT": "partialDatetime",
    "IT.TM": "time", "IT.DUR": "durationDatetime", "IT.E": "integer",
}  # fmt: skip
ROW_TYPES = {"IT.RV": "integer", "IT.RT": "text", "IT.RD": "partialDate"}
VALUES = {
    "IT.I": "12", "IT.N": "2.75", "IT.T": "hello", "IT.D": "2019-03", "IT.D2": "2019-03-15",
    "IT.ID": "--03-15", "IT.B": "true", "IT.DT": "2019-03-15T10:30:00", "IT.PDT": "2019-03-15T10",
    "IT.TM": "10:30:00", "IT.DUR": "P1M",
}  # fmt: skip
ROWS = {
    "1": {"IT.RV": "1", "IT.RT": "a", "IT.RD": "2019"},
    "2": {"IT.RV": "5", "IT.RT": "b", "IT.RD": "2019-02-03"},
    "3": {"IT.RT": "c"},
}

EXPRESSIONS = [
    # arithmetic and null propagation
    "IT.I + 1", "IT.I * IT.N", "IT.I / 4", "IT.N - 0.5", "-IT.I", "IT.I / 0", "IT.E + 1",
    "IT.T + 'x'", "IT.E * 2 > 1",
    # text
    "len(IT.T)", "upper(IT.T)", "lower('ÄB')", "contains(IT.T, 'ell')", "starts_with(IT.T, 'he')",
    "ends_with(IT.T, 'lo')", "IT.T = 'hello'", "IT.T < 'world'",
    # dates, partial dates and unknown order
    "IT.D < @2019-06-01", "IT.D < @2019-03-15", "IT.D = @2019-03", "IT.D2 > IT.D",
    "IT.D2 >= @2019-03-15", "IT.ID < @2020", "IT.ID > @2019-03-15", "IT.D > @2018",
    "days_between(IT.D2, @2019-12-31)", "months_between(IT.D2, @2020-01-14)",
    "years_between(@1970-06-15, IT.D2)", "age(@1970, IT.D2)", "age(@1970-01-01, IT.D)",
    "days_between(IT.D, @2019-04-01)", "year(IT.D)", "month(IT.D)", "day(IT.D2)", "day(IT.D)",
    "impute(IT.D, 'first')", "impute(IT.D, 'middle')", "impute(IT.D, 'last')",
    "impute(@2020, 'middle')", "impute(@2020-02, 'last')", "impute(@2019, 'last')",
    "impute(IT.D2, 'last')", "impute(IT.ID, 'first')", "impute(IT.D, 'mid')",
    "impute(IT.DT, 'first')", "days_between(impute(IT.D, 'middle'), IT.D2)",
    "IT.D2 + @P1M", "IT.D2 - @P1Y2M", "@2019-01-31 + @P1M", "IT.D + @P1M", "IT.D2 + @P10D",
    "IT.DT + @PT2H", "IT.DT > @2019-03-15T10:00", "IT.DT > IT.D2", "IT.PDT < @2019-03-16",
    "IT.PDT = @2019-03-15T10:30", "IT.DT = IT.D2",
    # times and durations
    "IT.TM < @T12:00", "IT.TM = @T10:30", "IT.DUR > @P20D", "IT.DUR = @P30D",
    # three-valued logic
    "IT.B and IT.I > 3", "IT.E > 3 and false", "IT.E > 3 or true", "IT.E > 3 and true",
    "IT.E > 3 or false", "not (IT.E > 3)", "not IT.B", "is_missing(IT.E)", "is_present(IT.I)",
    "coalesce(IT.E, IT.I, 0)", "if(IT.B, 'yes', 'no')", "if(IT.E > 1, 1, 2)",
    "join(';', IT.T, if(IT.E > 1, 'x', null), 'z')", "join(';', if(IT.E > 1, 'x', null))",
    "join(',', if(IT.I > 1, 'a', null), if(IT.I > 100, 'b', null), if(IT.B, 'c', null))",
    "definitely(IT.E > 1)", "possibly(IT.E > 1)", "possibly(IT.I > 100)",
    # membership
    "IT.I in (1, 2, 12)", "IT.I not in (1, 2)", "IT.D in (@2019-03-15, @2020)",
    "IT.D in (@2019-03, @2020)", "IT.E in (1)", "IT.T not in ('a', 'b')",
    # numbers
    "round(IT.N, 1)", "round(2.5)", "round(-2.5)", "floor(IT.N)", "ceil(IT.N)", "abs(-IT.N)",
    "power(IT.I, 2)", "number('3.5') + 1", "text(IT.I) + 'x'", "text(IT.D2)", "text(IT.B)",
    "min(IT.I, 3, 7)", "max(IT.D2, @2019-03-16)", "min(IT.I, IT.E)", "max(IT.D, @2019-03-02)",
    # aggregates over the rows of a repeating group
    "count(IT.RV)", "sum(IT.RV)", "min(IT.RV)", "max(IT.RV)", "max(IT.RD)",
    "any(IT.RT = 'b')", "all(IT.RV > 0)", "all(IT.RV > 1)", "any(IT.RT = 'zz')", "count(IT.RT)",
    "any(IT.RV > IT.I)", "sum(IT.RV) + IT.I",
]  # fmt: skip


def _study_body() -> str:
    def items(types: dict[str, str]) -> str:
        return "".join(
            f'<ItemDef OID="{oid}" Name="{oid}" DataType="{dt}"'
            + (' Length="50"' if dt == "text" else "")
            + "/>"
            for oid, dt in types.items()
        )

    def refs(types: dict[str, str]) -> str:
        return "".join(f'<ItemRef ItemOID="{oid}" Mandatory="No"/>' for oid in types)

    return (
        '<Protocol><StudyEventRef StudyEventOID="SE.1" Mandatory="Yes"/></Protocol>'
        '<StudyEventDef OID="SE.1" Name="V" Repeating="No" Type="Scheduled">'
        '<FormRef FormOID="F.1" Mandatory="Yes"/></StudyEventDef>'
        '<FormDef OID="F.1" Name="F" Repeating="No">'
        '<ItemGroupRef ItemGroupOID="IG.1" Mandatory="Yes"/>'
        '<ItemGroupRef ItemGroupOID="IG.R" Mandatory="No"/></FormDef>'
        f'<ItemGroupDef OID="IG.1" Name="G" Repeating="No">{refs(TYPES)}</ItemGroupDef>'
        f'<ItemGroupDef OID="IG.R" Name="R" Repeating="Yes">{refs(ROW_TYPES)}</ItemGroupDef>'
        + items(TYPES)
        + items(ROW_TYPES)
    )


def test_javascript_evaluator_agrees_with_python() -> None:
    """Same tree, same data, same canonical result (or both null) for every expression."""
    mdv = load_study(_study_body()).metadata_versions[0]
    checker = Checker(StudyIndex(mdv), Context("F.1", "IG.1"))
    trees = []
    for text in EXPRESSIONS:
        expr = parse(text)
        assert not isinstance(expr, SyntaxProblem), (text, expr)
        trees.append(checker.check(expr))
        assert not checker.problems, (text, checker.problems)
    form = FormKey("SE.1", "", "F.1", "")
    raw = {ItemKey("SE.1", "", "F.1", "", "IG.1", "", k): v for k, v in VALUES.items()}
    for key, row in ROWS.items():
        raw.update({ItemKey("SE.1", "", "F.1", "", "IG.R", key, k): v for k, v in row.items()})
    data = DataIndex(raw, {**TYPES, **ROW_TYPES})
    env = Env(
        data, event=("SE.1", ""), form=form, group=GroupKey("SE.1", "", "F.1", "", "IG.1", ""),
        today=date.today(),
    )  # fmt: skip
    python = [to_text(compile_node(tree)(env)) for tree in trees]
    js_data = {
        "IG.1": [{"key": "", "values": VALUES}],
        "IG.R": [{"key": k, "values": v} for k, v in ROWS.items()],
    }
    js = run_js(
        {"mode": "oel", "group": "IG.1", "data": js_data, "trees": [to_json(t) for t in trees]}
    )
    mismatches = [
        (text, p, j) for text, p, j in zip(EXPRESSIONS, python, js, strict=True) if p != j
    ]
    assert mismatches == []
    # the suite exercises unknown results, not only known ones
    assert python.count(None) >= 10
