"""Foreign dialects translated to OEL: REDCap, OpenEDC (expr-eval) and simple ODM XPath."""

from __future__ import annotations

import pytest

from odm_engine.expressions.foreign import Translated, Untranslatable, translate
from tests.expressions.helpers import compiled, evaluate, item, key, load, messages, one_form, refs

ITEMS = (
    item("diabetic", "boolean")
    + item("weight", "float")
    + item("height", "float")
    + item("dob", "date")
    + item("visit", "date")
    + item("sex", "text")
    + item("score", "integer")
    + item("opt___1", "boolean")
)
OIDS = ("diabetic", "weight", "height", "dob", "visit", "sex", "score", "opt___1")


def mdv():  # type: ignore[no-untyped-def]
    return load(one_form(refs(*OIDS), ITEMS))[0]


@pytest.mark.parametrize(
    ("context", "text", "oel"),
    [
        ("redcap:BranchingLogic", "[diabetic] = 1", "not definitely(diabetic = true)"),
        (
            "redcap:BranchingLogic",
            "[sex] = 'F' and [score] >= '3'",
            "not (definitely(sex = 'F') and definitely(score >= 3))",
        ),
        (
            "redcap:BranchingLogic",
            "[sex] <> '' or [score] = ''",
            "not (is_present(sex) or is_missing(score))",
        ),
        ("redcap:BranchingLogic", "[sex] <> 'M'", "not possibly(sex != 'M')"),
        ("redcap:BranchingLogic", "[opt(1)] = '1'", "not definitely(opt___1 = true)"),
        (
            "redcap:Calculation",
            "round(([weight]*10000)/(([height])^(2)),1)",
            "round(weight * 10000 / power(height, 2), 1)",
        ),
        (
            "redcap:Calculation",
            "rounddown(datediff([visit],[dob],'y','mdy'))",
            "floor(abs(days_between(visit, dob)) / 365.2425)",
        ),
        (
            "redcap:Calculation",
            "datediff([dob],[visit],'d','ymd',true)",
            "days_between(dob, visit)",
        ),
        ("OpenEDC", '!(sex == "Female")', "not definitely(sex = 'Female')"),
        ("OpenEDC", '!(diabetic == "1")', "not definitely(diabetic = true)"),
        ("OpenEDC", "weight / height ^ 2", "weight / power(height, 2)"),
        ("OpenEDC", "IG.1-score * 4 + 1", "[IG.1/score] * 4 + 1"),
        ("OpenEDC", "score > 2 && sex != 'M'", "definitely(score > 2) and possibly(sex != 'M')"),
        ("XPath", "../ItemData[@ItemOID='diabetic'][@Value='false']", "diabetic = false"),
        (
            "XPath",
            "../ItemGroupData[@ItemGroupOID='IG.1']/ItemData[@ItemOID='score'][@Value > 90]",
            "[IG.1/score] > 90",
        ),
        (
            "XPath",
            "../FormData[@FormOID='F.1']/ItemGroupData[@ItemGroupOID='IG.1']/ItemData[@ItemOID='sex'][@Value='M']",
            "[F.1/IG.1/sex] = 'M'",
        ),
    ],
)
def test_translations(context: str, text: str, oel: str) -> None:
    result = translate(context, text, mdv(), kind="condition")
    assert isinstance(result, Translated)
    assert result.text == oel


@pytest.mark.parametrize(
    ("context", "text", "reason"),
    [
        (
            "redcap:BranchingLogic",
            "[record-name] = '1'",
            "[record-name] is a REDCap smart variable or piping with no ODM item",
        ),
        (
            "redcap:Calculation",
            "sum([weight], [height])",
            "function sum() with 2 arguments has no OEL equivalent",
        ),
        ("redcap:BranchingLogic", "[nope] = 1", "[nope] names no field of this project"),
        ("OpenEDC", "score > 2 ? 1 : 0", "unexpected '?'"),
        (
            "XPath",
            "//ItemData[@ItemOID='x']",
            "only ../[FormData/][ItemGroupData/]ItemData[@ItemOID='...'][@Value op value] is "
            "understood",
        ),
    ],
)
def test_untranslatable(context: str, text: str, reason: str) -> None:
    result = translate(context, text, mdv(), kind="condition")
    assert isinstance(result, Untranslatable) and result.reason == reason


def test_redcap_branching_logic_hides_the_field_like_redcap() -> None:
    body = one_form(
        refs("diabetic", "dtype"),
        item("diabetic", "boolean")
        + item("dtype", "text", attrs=' redcap:BranchingLogic="[diabetic] = 1"'),
    )
    result = compiled(body)
    assert messages(result) == []
    assert [m.split(": ", 1)[1] for m in messages(result, severity="info")] == [
        "ODM-EXPR-112 info: BRANCHING dtype: REDCap expression '[diabetic] = 1' "
        '(Context="redcap:BranchingLogic") is evaluated as the OEL expression: not '
        "definitely(diabetic = true)"
    ]
    assert key("dtype") in evaluate(result, {key("diabetic"): "0"}).hidden
    assert key("dtype") in evaluate(result, {}).hidden  # REDCap: empty is not 1, so hidden
    assert key("dtype") not in evaluate(result, {key("diabetic"): "1"}).hidden


def test_untranslatable_redcap_is_a_warning_and_the_item_shows() -> None:
    body = one_form(
        refs("a", "b"), item("a") + item("b", attrs=' redcap:BranchingLogic="[event-name] = 1"')
    )
    result = compiled(body)
    assert [m.split(": ", 1)[1] for m in messages(result, severity="warning")] == [
        "ODM-EXPR-111 warning: BRANCHING b: REDCap expression '[event-name] = 1' "
        '(Context="redcap:BranchingLogic") cannot be translated: [event-name] is a REDCap smart '
        "variable or piping with no ODM item. It is kept but not evaluated and the item simply "
        'shows. Rewrite it in Context="OEL".'
    ]
    assert evaluate(result, {key("a"): "1"}).hidden == set()


def test_redcap_calculation_derives() -> None:
    body = one_form(
        refs("w", "h", "bmi"),
        item("w", "float")
        + item("h", "float")
        + item("bmi", "float", attrs=' redcap:Calculation="round([w]/([h]*[h]),1)"'),
    )
    result = compiled(body)
    assert evaluate(result, {key("w"): "80", key("h"): "2"}).derived == {key("bmi"): "20"}
