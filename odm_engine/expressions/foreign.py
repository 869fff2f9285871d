"""Translate other EDCs' expressions into OEL where their meaning is clear.

- REDCap ``redcap:BranchingLogic`` (show the field when true) and ``redcap:Calculation``;
- OpenEDC ``Context="OpenEDC"`` (expr-eval syntax, item OIDs and ``ItemGroupOID-ItemOID``);
- the simple ODM XPath predicates CDISC's examples use (``../ItemData[@ItemOID='X'][@Value='1']``).

REDCap and OpenEDC treat an empty field as a value that compares unequal to everything, so
their comparisons are two-valued: ``=`` and ordering become ``definitely(...)``, ``!=``
becomes ``possibly(...)``. Literals compared with an item take the item's type (a REDCap
yes/no field's ``1`` is OEL ``true``). Anything else is :class:`Untranslatable` with a reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from odm_engine import model as m
from odm_engine.expressions import values
from odm_engine.expressions.ast import Binary, Call, Expr, Literal, Ref, Unary, depth
from odm_engine.expressions.parser import MAX_DEPTH
from odm_engine.expressions.printer import to_text
from odm_engine.profiles.redcap import NAMESPACE as REDCAP_NS


@dataclass(frozen=True, slots=True)
class Translated:
    dialect: str
    text: str


@dataclass(frozen=True, slots=True)
class Untranslatable:
    dialect: str | None
    """None when the Context is not a known dialect at all."""
    reason: str


class _Fail(Exception):
    pass


_TOO_DEEP = f"it nests more than {MAX_DEPTH} levels deep"


def dialect_name(context: str) -> str:
    lowered = context.lower()
    if lowered.startswith("redcap:"):
        return "REDCap"
    if lowered == "openedc":
        return "OpenEDC"
    if lowered == "xpath":
        return "XPath"
    return context


def translate(
    context: str, text: str, mdv: m.MetaDataVersion, *, kind: str
) -> Translated | Untranslatable:
    dialect = dialect_name(context)
    lowered = context.lower()
    try:
        if lowered == "xpath":
            return Translated(dialect, _xpath(text, mdv))
        if lowered in ("openedc", "redcap:branchinglogic", "redcap:calculation"):
            tree = _Parser(text, mdv, redcap=lowered != "openedc").parse()
            if depth(tree) > MAX_DEPTH:
                raise _Fail(_TOO_DEEP)
            if lowered == "redcap:branchinglogic":
                tree = Unary("not", tree)
            return Translated(dialect, to_text(tree))
    except _Fail as exc:
        return Untranslatable(dialect, str(exc))
    return Untranslatable(None, f"Context {context!r} is not a known dialect")


# -- literal typing ------------------------------------------------------------------
def _typed(lit: Literal, item: m.ItemDef | None) -> Expr:
    """``lit`` as a literal of the item's type when the text reads as one."""
    if item is None or lit.type == "null":
        return lit
    kind = values.oel_type(item.data_type)
    text = lit.text
    if kind == "boolean" and text.lower() in ("1", "0", "true", "false"):
        return Literal("boolean", "true" if text.lower() in ("1", "true") else "false")
    if kind in ("integer", "number") and re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", text):
        if "." in text:
            return Literal("number", text)
        return (
            Unary("-", Literal("integer", text[1:]))
            if text.startswith("-")
            else Literal("integer", str(int(text)))
        )
    if kind == "text" and lit.type != "text":
        return Literal("text", text)
    if kind == "date" and re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
        return Literal("date", text)
    return lit


# -- XPath ---------------------------------------------------------------------------
_XPATH = re.compile(
    r"\s*(?:\.\./)+"
    r"(?:FormData\[@FormOID='(?P<form>[^']+)'\]/)?"
    r"(?:ItemGroupData\[@ItemGroupOID='(?P<group>[^']+)'\]/)?"
    r"ItemData\[@ItemOID='(?P<item>[^']+)'\]"
    r"(?P<preds>(?:\[@Value\s*(?:=|!=|<=|>=|<|>)\s*(?:'[^']*'|-?[0-9.]+)\s*\])+)\s*"
)
_PRED = re.compile(r"\[@Value\s*(=|!=|<=|>=|<|>)\s*('[^']*'|-?[0-9.]+)\s*\]")


def _xpath(text: str, mdv: m.MetaDataVersion) -> str:
    match = _XPATH.fullmatch(text)
    if match is None:
        raise _Fail(
            "only ../[FormData/][ItemGroupData/]ItemData[@ItemOID='...'][@Value op value] "
            "is understood"
        )
    path = tuple(p for p in (match["form"], match["group"], match["item"]) if p)
    ref = Ref(path)
    item = mdv.item_defs.get(match["item"])
    out: Expr | None = None
    for op, raw in _PRED.findall(match["preds"]):
        lit = Literal("text", raw[1:-1]) if raw.startswith("'") else _number(raw)
        test = Binary(op, ref, _typed(lit, item))
        out = test if out is None else Binary("and", out, test)
    assert out is not None
    return to_text(out)


def _number(raw: str) -> Literal:
    try:
        Decimal(raw)
    except ArithmeticError:
        raise _Fail(f"{raw} is not a number") from None
    return Literal("number" if "." in raw else "integer", raw)


# -- REDCap and OpenEDC (expr-eval) ---------------------------------------------------
_TOKEN = re.compile(
    r"\s*(?:(?P<num>[0-9]+(?:\.[0-9]+)?)|(?P<str>'[^']*'|\"[^\"]*\")"
    r"|(?P<ref>(?:\[[^\[\]]+\])+)|(?P<name>[A-Za-z_][A-Za-z0-9_.]*(?:-[A-Za-z_][A-Za-z0-9_.]*)?)"
    r"|(?P<op><>|!=|==|<=|>=|&&|\|\||[-+*/^=<>!(),%?:]))"
)
_COMPARE = {"=": "=", "==": "=", "<>": "!=", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_LEVELS = {
    "or": 1,
    "||": 1,
    "and": 2,
    "&&": 2,
    **dict.fromkeys(_COMPARE, 4),
    "+": 5,
    "-": 5,
    "*": 6,
    "/": 6,
    "^": 8,
}


class _Parser:
    """A small precedence-climbing parser for REDCap logic and expr-eval."""

    def __init__(self, text: str, mdv: m.MetaDataVersion, *, redcap: bool) -> None:
        self.mdv = mdv
        self.redcap = redcap
        self.tokens: list[tuple[str, str]] = []
        pos = 0
        text = text.strip()
        while pos < len(text):
            match = _TOKEN.match(text, pos)
            if match is None or match.end() == pos:
                raise _Fail(f"cannot read {text[pos : pos + 12]!r}")
            kind = match.lastgroup or ""
            value = match.group(kind)
            if kind == "name" and value.lower() in ("and", "or", "not"):
                kind, value = "op", value.lower()
            if kind == "name" and "-" in value and not self._is_path(value):
                head, tail = value.split("-", 1)
                self.tokens += [("name", head), ("op", "-"), ("name", tail)]
            else:
                self.tokens.append((kind, value))
            pos = match.end()
        self.i = 0
        self.depth = 0

    def _is_path(self, name: str) -> bool:
        group, item = name.split("-", 1)
        return group in self.mdv.item_group_defs and item in self.mdv.item_defs

    def peek(self) -> tuple[str, str]:
        return self.tokens[self.i] if self.i < len(self.tokens) else ("end", "")

    def take(self) -> tuple[str, str]:
        token = self.peek()
        self.i += 1
        return token

    def parse(self) -> Expr:
        if not self.tokens:
            raise _Fail("the expression is empty")
        out = self.expr(0)
        if self.peek()[0] != "end":
            raise _Fail(f"unexpected {self.peek()[1]!r}")
        return out

    def expr(self, floor: int) -> Expr:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _Fail(_TOO_DEEP)
        try:
            return self._expr(floor)
        finally:
            self.depth -= 1

    def _expr(self, floor: int) -> Expr:
        left = self.unary()
        while True:
            kind, op = self.peek()
            level = _LEVELS.get(op) if kind == "op" else None
            if level is None or level <= floor:
                return left
            self.take()
            right = self.expr(level if op != "^" else level - 1)
            left = self.combine(op, left, right)

    def combine(self, op: str, left: Expr, right: Expr) -> Expr:
        if op in ("or", "||"):
            return Binary("or", left, right)
        if op in ("and", "&&"):
            return Binary("and", left, right)
        if op == "^":
            return Call("power", (left, right))
        if op not in _COMPARE:
            return Binary(op, left, right)
        oel = _COMPARE[op]
        for a, b in ((left, right), (right, left)):
            if (
                isinstance(a, Ref)
                and isinstance(b, Literal)
                and b.text == ""
                and oel in ("=", "!=")
            ):
                return Call("is_missing" if oel == "=" else "is_present", (a,))
        left, right = self._coerce(left, right), self._coerce(right, left)
        test = Binary(oel, left, right)
        return Call("possibly" if oel == "!=" else "definitely", (test,))

    def _coerce(self, lit: Expr, other: Expr) -> Expr:
        if isinstance(lit, Literal) and isinstance(other, Ref):
            return _typed(lit, self.mdv.item_defs.get(other.item_oid))
        return lit

    def unary(self) -> Expr:
        kind, value = self.peek()
        if kind == "op" and value in ("not", "!"):
            self.take()
            return Unary("not", self.expr(3))
        if kind == "op" and value == "-":
            self.take()
            return Unary("-", self.expr(7))
        return self.atom()

    def atom(self) -> Expr:
        kind, value = self.take()
        if kind == "num":
            return Literal("number" if "." in value else "integer", value)
        if kind == "str":
            return Literal("text", value[1:-1])
        if kind == "ref" and self.redcap:
            return self.redcap_ref(value)
        if kind == "name" and self.peek() == ("op", "("):
            return self.call(value)
        if kind == "name" and value.lower() in ("true", "false"):
            return Literal("boolean", value.lower())
        if kind == "name" and not self.redcap:
            return Ref(tuple(value.split("-", 1)))
        if kind == "op" and value == "(":
            inner = self.expr(0)
            if self.take() != ("op", ")"):
                raise _Fail("a parenthesis is not closed")
            return inner
        raise _Fail(f"unexpected {value or 'end'!r}")

    def redcap_ref(self, text: str) -> Expr:
        parts = re.findall(r"\[([^\[\]]+)\]", text)
        event = None
        if len(parts) == 2:
            event = next(
                (e for e in (parts[0], f"Event.{parts[0]}") if e in self.mdv.study_event_defs), None
            )
            if event is None:
                raise _Fail(f"[{parts[0]}] names no StudyEventDef")
        elif len(parts) != 1:
            raise _Fail(f"{text} is not a field reference")
        name = parts[-1]
        checkbox = re.fullmatch(r"([A-Za-z0-9_]+)\(([^()]+)\)", name)
        if checkbox is not None:
            name = f"{checkbox[1]}___{checkbox[2]}"
        if not re.fullmatch(r"[A-Za-z0-9_.]+", name):
            raise _Fail(f"[{parts[-1]}] is a REDCap smart variable or piping with no ODM item")
        item = self._redcap_item(name)
        return Ref((event, item) if event else (item,))

    def _redcap_item(self, variable: str) -> str:
        if variable in self.mdv.item_defs:
            return variable
        for item in self.mdv.item_defs.values():
            if item.ext_attribute(REDCAP_NS, "Variable") == variable:
                return item.oid
        raise _Fail(f"[{variable}] names no field of this project")

    def arguments(self) -> list[Expr]:
        self.take()  # (
        args: list[Expr] = []
        if self.peek() == ("op", ")"):
            self.take()
            return args
        while True:
            args.append(self.expr(0))
            _, value = self.take()
            if value == ")":
                return args
            if value != ",":
                raise _Fail("a function call is not closed")

    def call(self, name: str) -> Expr:
        args = self.arguments()
        lowered = name.lower()
        if lowered == "datediff" and self.redcap:
            return self.datediff(args)
        simple = {
            "abs": "abs",
            "round": "round",
            "roundup": "ceil",
            "rounddown": "floor",
            "floor": "floor",
            "ceil": "ceil",
        }
        if lowered in simple and (len(args) == 1 or (lowered == "round" and len(args) == 2)):
            return Call(simple[lowered], tuple(args))
        if (
            lowered in ("rounddown", "roundup")
            and len(args) == 2
            and args[1] == Literal("integer", "0")
        ):
            return Call(simple[lowered], (args[0],))
        if lowered == "if" and self.redcap and len(args) == 3:
            return Call("if", tuple(args))
        raise _Fail(f"function {name}() with {len(args)} arguments has no OEL equivalent")

    def datediff(self, args: list[Expr]) -> Expr:
        if len(args) < 3 or not isinstance(args[2], Literal):
            raise _Fail("datediff() needs two dates and a unit")
        unit = args[2].text
        signed = any(a == Literal("boolean", "true") for a in args[3:])
        days: Expr = Call("days_between", (args[0], args[1]))
        if not signed:
            days = Call("abs", (days,))
        per_day = {
            "d": None,
            "h": ("*", "24"),
            "m": ("*", "1440"),
            "s": ("*", "86400"),
            "M": ("/", "30.44"),
            "y": ("/", "365.2425"),
        }
        if unit not in per_day:
            raise _Fail(f"datediff() unit {unit!r} is not one of y, M, d, h, m, s")
        scale = per_day[unit]
        if scale is None:
            return days
        op, amount = scale
        return Binary(op, days, Literal("number" if "." in amount else "integer", amount))
