"""OEL's functions: the argument types each accepts and what each computes.

Typing (``type_call``) runs at compile time; ``SCALAR`` holds the run-time implementations of
the functions whose arguments are evaluated eagerly (``if``, ``coalesce``, ``definitely``,
``possibly``, ``is_missing`` and the aggregates are evaluated by the evaluator itself).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal, InvalidOperation

from odm_engine.expressions import values
from odm_engine.expressions.ast import Call
from odm_engine.expressions.problems import ProblemLog
from odm_engine.expressions.typed import TNode

_TEXT_FUNCS = {"len": "integer", "lower": "text", "upper": "text"}
_TEXT_PAIRS = {"contains", "starts_with", "ends_with"}
_DATE_PAIRS = {"days_between", "months_between", "years_between", "age"}
_NUMERIC = frozenset({"integer", "number"})
_DATES = frozenset({"date", "datetime"})


def type_call(checker: ProblemLog, expr: Call, args: tuple[TNode, ...]) -> str | TNode:
    """The result type of ``expr`` given its typed arguments, or an error node."""
    name = expr.name
    types = [a.type for a in args]

    def need(index: int, allowed: frozenset[str] | set[str], what: str) -> TNode | None:
        if types[index] in allowed or types[index] == "null":
            return None
        subject, _ = checker.describe(expr.args[index], args[index])
        return checker.fail(expr.args[index], "ODM-EXPR-103", f"{subject}; {name}() needs {what}")

    checks: list[TNode | None] = []
    if name in ("is_missing", "is_present"):
        return "boolean"
    if name == "today":
        return "date"
    if name in _DATE_PAIRS:
        checks = [need(0, _DATES, "dates"), need(1, _DATES, "dates")]
        result = "integer"
    elif name in ("year", "month", "day"):
        checks = [need(0, _DATES, "a date")]
        result = "integer"
    elif name == "impute":
        checks = [need(0, _DATES, "a date"), need(1, {"text"}, "'first', 'middle' or 'last'")]
        result = "date"
    elif name == "join":
        checks = [need(i, {"text"}, "texts") for i in range(len(args))]
        result = "text"
    elif name in _TEXT_FUNCS:
        checks = [need(0, {"text"}, "a text")]
        result = _TEXT_FUNCS[name]
    elif name in _TEXT_PAIRS:
        checks = [need(0, {"text"}, "texts"), need(1, {"text"}, "texts")]
        result = "boolean"
    elif name in ("definitely", "possibly"):
        checks = [need(0, {"boolean"}, "a condition")]
        result = "boolean"
    elif name == "number":
        checks = [need(0, _NUMERIC | {"text"}, "a text or a number")]
        result = "number"
    elif name == "text":
        result = "text"
    elif name in ("round", "floor", "ceil", "abs", "power"):
        checks = [need(i, _NUMERIC, "numbers") for i in range(len(args))]
        result = "number"
        if name in ("floor", "ceil") or (name == "round" and len(args) == 1):
            result = "integer"
        if name == "abs":
            result = types[0]
    elif name == "if":
        checks = [need(0, {"boolean"}, "a condition first")]
        common = _common(types[1:])
        if common is None:
            return checker.mismatch(expr.args[1], args[1], "mix it with", expr.args[2], args[2])
        result = common
    else:  # coalesce, min, max with several arguments
        common = _common(types)
        if common is None:
            return checker.mismatch(expr.args[0], args[0], "mix it with", expr.args[1], args[1])
        result = common
    for problem in checks:
        if problem is not None:
            return problem
    return result


def _common(types: list[str]) -> str | None:
    known = {t for t in types if t != "null"}
    if not known:
        return "null"
    if len(known) == 1:
        return known.pop()
    if known <= _NUMERIC:
        return "number"
    if known <= _DATES:
        return "date"
    return None


def _round(x: object, digits: object = None) -> object:
    if not isinstance(x, int | Decimal) or not isinstance(digits, int | Decimal | None):
        return None
    exponent = Decimal(1).scaleb(-int(digits or 0))
    try:
        result = Decimal(x).quantize(exponent, rounding=ROUND_HALF_UP)
    except InvalidOperation:
        return None
    return int(result) if digits is None else result


def _rounding(mode: str) -> Callable[[object], object]:
    def apply(x: object) -> object:
        if not isinstance(x, int | Decimal):
            return None
        return int(Decimal(x).to_integral_value(rounding=mode))

    return apply


def _power(x: object, y: object) -> object:
    if not isinstance(x, int | Decimal) or not isinstance(y, int | Decimal):
        return None
    try:
        result = Decimal(x) ** Decimal(y)
    except (InvalidOperation, OverflowError, ArithmeticError):
        return None
    return result if result.is_finite() else None


def _number(x: object) -> object:
    if isinstance(x, int | Decimal):
        return Decimal(x)
    value = values.from_text("number", str(x))
    return value


def _text(x: object) -> object:
    return values.to_text(x)


def _abs(x: object) -> object:
    return abs(x) if isinstance(x, int | Decimal) else None


def _len(x: object) -> object:
    return len(x) if isinstance(x, str) else None


def _str2(f: Callable[[str, str], bool]) -> Callable[[object, object], object]:
    def apply(a: object, b: object) -> object:
        return f(a, b) if isinstance(a, str) and isinstance(b, str) else None

    return apply


def _date_diff(unit: str) -> Callable[[object, object], object]:
    return lambda a, b: values.date_difference(unit, a, b)


def _extreme(pick: int) -> Callable[..., object]:
    def apply(*items: object) -> object:
        best: object = None
        for item in items:
            if item is None:
                return None
            order = values.compare(item, best) if best is not None else pick
            if order is None:
                return None
            if best is None or order == pick:
                best = item
        return best

    return apply


SCALAR: dict[str, Callable[..., object]] = {
    "days_between": _date_diff("days"),
    "months_between": _date_diff("months"),
    "years_between": _date_diff("years"),
    "age": _date_diff("years"),
    "year": lambda d: values.date_part("year", d),
    "month": lambda d: values.date_part("month", d),
    "day": lambda d: values.date_part("day", d),
    "impute": values.impute_date,
    "len": _len,
    "lower": lambda s: s.lower() if isinstance(s, str) else None,
    "upper": lambda s: s.upper() if isinstance(s, str) else None,
    "contains": _str2(lambda a, b: b in a),
    "starts_with": _str2(str.startswith),
    "ends_with": _str2(str.endswith),
    "number": _number,
    "text": _text,
    "round": _round,
    "floor": _rounding(ROUND_FLOOR),
    "ceil": _rounding(ROUND_CEILING),
    "abs": _abs,
    "power": _power,
    "min": _extreme(-1),
    "max": _extreme(1),
}
"""Null in, null out: the evaluator returns null without calling these when an argument is."""
