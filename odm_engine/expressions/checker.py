"""Type-check a syntax tree in the place it is used and turn it into a typed tree.

Problems are collected as :class:`Problem` (catalogue code, message, offset in the source);
the compiler turns them into located findings. A node with a problem gets type ``error`` and
its parents stay quiet, so one mistake gives one message.
"""

from __future__ import annotations

from odm_engine import model as m
from odm_engine.expressions import values
from odm_engine.expressions.ast import Binary, Call, Expr, InList, Literal, Ref, Unary
from odm_engine.expressions.functions import type_call
from odm_engine.expressions.printer import to_text
from odm_engine.expressions.problems import ARTICLE, Problem, ProblemLog
from odm_engine.expressions.resolver import Context, StudyIndex
from odm_engine.expressions.typed import AGGREGATES, TNode

NUMERIC = frozenset({"integer", "number"})
DATES = frozenset({"date", "datetime"})
ORDERED = NUMERIC | DATES | {"text", "time", "duration"}

# name -> (minimum arguments, maximum or None, usage shown when the count is wrong)
SIGNATURES: dict[str, tuple[int, int | None, str]] = {
    "is_missing": (1, 1, "is_missing(x)"),
    "is_present": (1, 1, "is_present(x)"),
    "today": (0, 0, "today()"),
    "days_between": (2, 2, "days_between(a, b) gives b - a in days"),
    "months_between": (2, 2, "months_between(a, b) gives whole months from a to b"),
    "years_between": (2, 2, "years_between(a, b) gives whole years from a to b"),
    "age": (2, 2, "age(birth, at) gives whole years"),
    "year": (1, 1, "year(d)"),
    "month": (1, 1, "month(d)"),
    "day": (1, 1, "day(d)"),
    "impute": (2, 2, "impute(d, 'first' | 'middle' | 'last') completes a partial date"),
    "coalesce": (1, None, "coalesce(a, b, ...)"),
    "join": (2, None, "join(separator, a, b, ...) joins the texts that are not null"),
    "len": (1, 1, "len(s)"),
    "lower": (1, 1, "lower(s)"),
    "upper": (1, 1, "upper(s)"),
    "contains": (2, 2, "contains(s, t)"),
    "starts_with": (2, 2, "starts_with(s, t)"),
    "ends_with": (2, 2, "ends_with(s, t)"),
    "definitely": (1, 1, "definitely(condition)"),
    "possibly": (1, 1, "possibly(condition)"),
    "number": (1, 1, "number(x)"),
    "text": (1, 1, "text(x)"),
    "if": (3, 3, "if(condition, then, else)"),
    "round": (1, 2, "round(x) or round(x, digits)"),
    "floor": (1, 1, "floor(x)"),
    "ceil": (1, 1, "ceil(x)"),
    "abs": (1, 1, "abs(x)"),
    "power": (2, 2, "power(x, y)"),
    "count": (1, 1, "count(x) over a repeating group"),
    "any": (1, 1, "any(condition) over a repeating group"),
    "all": (1, 1, "all(condition) over a repeating group"),
    "sum": (1, 1, "sum(x) over a repeating group"),
    "min": (1, None, "min(x) over a repeating group, or min(a, b, ...)"),
    "max": (1, None, "max(x) over a repeating group, or max(a, b, ...)"),
}
_VERB = {"+": "add", "-": "subtract", "*": "multiply by", "/": "divide by"}


class Checker(ProblemLog):
    """Checks expressions used at one :class:`Context` of one MetaDataVersion."""

    def __init__(self, index: StudyIndex, ctx: Context) -> None:
        super().__init__()
        self.index = index
        self.mdv: m.MetaDataVersion = index.mdv
        self.ctx = ctx

    # -- entry points -------------------------------------------------------------------
    def check(self, expr: Expr, *, want: str | None = None, use: str = "") -> TNode:
        """Typed tree for ``expr``; ``want`` is the type its use needs (boolean for checks)."""
        node = self._node(expr)
        if node.type == "error":
            return node
        if node.rows is not None:
            return self.fail(expr, "ODM-EXPR-107", self._list_message(expr, node))
        if want == "boolean" and node.type not in ("boolean", "null"):
            return self.fail(
                expr,
                "ODM-EXPR-110",
                f"{use} must give true or false, but `{to_text(expr)}` gives "
                f"{ARTICLE[node.type]}; write a comparison such as `{to_text(expr)} = ...`",
            )
        if want is not None and want != "boolean" and not _assignable(node.type, want):
            return self.fail(
                expr,
                "ODM-EXPR-110",
                f"{use} gives {ARTICLE[node.type]} but the item is {ARTICLE[want]}",
            )
        return node

    # -- helpers ------------------------------------------------------------------------
    def _list_message(self, expr: Expr, node: TNode) -> str:
        ref = next((r for r in node.refs() if r.many), None)
        where = ref.describe() if ref else "a repeating group"
        name = ref.item_oid if ref else to_text(expr)
        return (
            f"'{name}' has one value per repeat of {where}; use it inside "
            f"count(), any(), all(), min(), max() or sum()"
        )

    @staticmethod
    def _rows(*nodes: TNode) -> tuple[str | None, str, str, str] | str | None:
        found = {n.rows for n in nodes if n.rows is not None}
        if len(found) > 1:
            return "mixed"
        return found.pop() if found else None

    def _combine(self, expr: Expr, op: str, type_: str, args: tuple[TNode, ...]) -> TNode:
        rows = self._rows(*args)
        if rows == "mixed":
            return self.fail(
                expr,
                "ODM-EXPR-107",
                f"`{to_text(expr)}` combines the rows of two different repeating groups; "
                "aggregate each one separately",
            )
        assert not isinstance(rows, str)
        return TNode(op, type_, args, rows=rows)

    # -- nodes --------------------------------------------------------------------------
    def _node(self, expr: Expr) -> TNode:
        if isinstance(expr, Literal):
            value = values.from_text(expr.type, expr.text) if expr.type != "null" else None
            return TNode("lit", expr.type, value=value)
        if isinstance(expr, Ref):
            return self._ref(expr)
        if isinstance(expr, Unary):
            return self._unary(expr)
        if isinstance(expr, Binary):
            return self._binary(expr)
        if isinstance(expr, InList):
            return self._in(expr)
        return self._call(expr)

    def _ref(self, expr: Ref) -> TNode:
        placed = self.index.resolve(expr.path, self.ctx)
        if isinstance(placed, str):
            code = "ODM-EXPR-102" if expr.item_oid not in self.mdv.item_defs else "ODM-EXPR-106"
            return self.fail(expr, code, placed)
        item = self.mdv.item_defs[placed.item_oid]
        type_ = values.oel_type(item.data_type)
        return TNode("ref", type_, ref=placed, rows=placed.source if placed.many else None)

    def _unary(self, expr: Unary) -> TNode:
        arg = self._node(expr.operand)
        if arg.type == "error":
            return arg
        if expr.op == "not":
            if arg.type not in ("boolean", "null"):
                subject, _ = self.describe(expr.operand, arg)
                return self.fail(expr, "ODM-EXPR-103", f"{subject}; 'not' needs true or false")
            return self._combine(expr, "not", "boolean", (arg,))
        if arg.type not in NUMERIC | {"null"}:
            subject, _ = self.describe(expr.operand, arg)
            return self.fail(expr, "ODM-EXPR-103", f"{subject}; cannot negate it")
        return self._combine(expr, "neg", arg.type, (arg,))

    def _binary(self, expr: Binary) -> TNode:
        left, right = self._node(expr.left), self._node(expr.right)
        if left.type == "error" or right.type == "error":
            return TNode("error", "error")
        lt, rt, op = left.type, right.type, expr.op
        if op in ("and", "or"):
            for side, node in ((expr.left, left), (expr.right, right)):
                if node.type not in ("boolean", "null"):
                    subject, _ = self.describe(side, node)
                    return self.fail(side, "ODM-EXPR-103", f"{subject}; '{op}' needs true or false")
            return self._combine(expr, op, "boolean", (left, right))
        if op in ("=", "!=", "<", "<=", ">", ">="):
            if "null" in (lt, rt):
                other = expr.left if rt == "null" else expr.right
                return self.fail(
                    expr,
                    "ODM-EXPR-103",
                    f"comparing with null always gives unknown; write is_missing({to_text(other)})"
                    if op == "="
                    else "comparing with null always gives unknown; write "
                    f"is_present({to_text(other)})",
                )
            if not _comparable(lt, rt) or (op not in ("=", "!=") and lt not in ORDERED):
                return self.mismatch(expr.left, left, "compare with", expr.right, right)
            if not self._codes_ok(expr.left, left, (expr.right,), (right,)):
                return TNode("error", "error")
            if not self._codes_ok(expr.right, right, (expr.left,), (left,)):
                return TNode("error", "error")
            return self._combine(expr, op, "boolean", (left, right))
        result = _arithmetic(op, lt, rt)
        if result is None:
            if lt in DATES and rt in DATES and op == "-":
                subject, _ = self.describe(expr.left, left)
                return self.fail(
                    expr,
                    "ODM-EXPR-103",
                    f"{subject}; cannot subtract dates, write days_between("
                    f"{to_text(expr.right)}, {to_text(expr.left)}) or months_between(...)",
                )
            return self.mismatch(expr.left, left, _VERB[op], expr.right, right)
        return self._combine(expr, op, result, (left, right))

    def _in(self, expr: InList) -> TNode:
        operand = self._node(expr.operand)
        options = tuple(self._node(o) for o in expr.options)
        if operand.type == "error" or any(o.type == "error" for o in options):
            return TNode("error", "error")
        for src, opt in zip(expr.options, options, strict=True):
            if opt.type == "null" or not _comparable(operand.type, opt.type):
                return self.mismatch(expr.operand, operand, "compare with", src, opt)
        if not self._codes_ok(expr.operand, operand, expr.options, options):
            return TNode("error", "error")
        op = "notin" if expr.negated else "in"
        return self._combine(expr, op, "boolean", (operand, *options))

    def _codes_ok(
        self, ref_expr: Expr, ref: TNode, others: tuple[Expr, ...], nodes: tuple[TNode, ...]
    ) -> bool:
        """A literal compared with a code-listed item must be one of its coded values."""
        if ref.op != "ref" or ref.ref is None:
            return True
        item = self.mdv.item_defs[ref.ref.item_oid]
        code_list = self.mdv.item_code_list(item)
        if code_list is None or not code_list.items or code_list.external_code_list:
            return True
        coded = [values.from_text(ref.type, c) for c in code_list.coded_values]
        for expr, node in zip(others, nodes, strict=True):
            if node.op != "lit" or node.value is None:
                continue
            if not any(values.compare(node.value, c) == 0 for c in coded):
                shown = ", ".join(code_list.coded_values[:12])
                more = ", ..." if len(code_list.coded_values) > 12 else ""
                self.problems.append(
                    Problem(
                        "ODM-EXPR-108",
                        f"'{to_text(ref_expr)}' uses code list {code_list.oid} ({shown}{more}); "
                        f"{to_text(expr)} is not one of its coded values",
                        expr.pos,
                    )
                )
                return False
        return True

    def _call(self, expr: Call) -> TNode:
        sig = SIGNATURES.get(expr.name)
        if sig is None:
            return self.fail(
                expr,
                "ODM-EXPR-105",
                f"'{expr.name}' is not an OEL function; see docs/expressions.md for the list",
            )
        low, high, usage = sig
        count = len(expr.args)
        if count < low or (high is not None and count > high):
            if high == low:
                wanted = f"{low} argument" + ("s" if low != 1 else "")
            elif high is None:
                wanted = f"at least {low} argument" + ("s" if low != 1 else "")
            else:
                wanted = f"{low} to {high} arguments"
            return self.fail(
                expr,
                "ODM-EXPR-104",
                f"{expr.name}() takes {wanted}, found {count}: {usage}",
            )
        args = tuple(self._node(a) for a in expr.args)
        if any(a.type == "error" for a in args):
            return TNode("error", "error")
        if expr.name in AGGREGATES and not (expr.name in ("min", "max") and count > 1):
            return self._aggregate(expr, args)
        result = type_call(self, expr, args)
        if isinstance(result, TNode):
            return result
        return self._combine(expr, expr.name, result, args)

    def _aggregate(self, expr: Call, args: tuple[TNode, ...]) -> TNode:
        arg = args[0]
        if arg.rows is None:
            return self.fail(
                expr,
                "ODM-EXPR-107",
                f"{expr.name}() needs a reference into a repeating item group, form or event; "
                f"`{to_text(expr.args[0])}` has only one value here",
            )
        if expr.name in ("any", "all") and arg.type not in ("boolean", "null"):
            subject, _ = self.describe(expr.args[0], arg)
            return self.fail(expr, "ODM-EXPR-103", f"{subject}; {expr.name}() needs a condition")
        if expr.name == "sum" and arg.type not in NUMERIC:
            subject, _ = self.describe(expr.args[0], arg)
            return self.fail(expr, "ODM-EXPR-103", f"{subject}; sum() needs numbers")
        if expr.name in ("min", "max") and arg.type not in ORDERED:
            subject, _ = self.describe(expr.args[0], arg)
            return self.fail(
                expr, "ODM-EXPR-103", f"{subject}; {expr.name}() needs values in order"
            )
        type_ = {"count": "integer", "any": "boolean", "all": "boolean"}.get(expr.name, arg.type)
        many = next(r for r in arg.refs() if r.many and r.source == arg.rows)
        return TNode(expr.name, type_, (arg,), ref=many)


def _comparable(a: str, b: str) -> bool:
    return a == b or {a, b} <= NUMERIC or {a, b} <= DATES


def _assignable(value: str, target: str) -> bool:
    if value in ("null", target):
        return True
    if target == "number" and value == "integer":
        return True
    return target == "text"


def _arithmetic(op: str, a: str, b: str) -> str | None:
    if "null" in (a, b):
        other = b if a == "null" else a
        return other if other in NUMERIC | {"text"} | DATES else ("number" if a == b else None)
    if a in NUMERIC and b in NUMERIC:
        if op == "/" or "number" in (a, b):
            return "number"
        return "integer"
    if op == "+" and a == b == "text":
        return "text"
    if op in ("+", "-") and a in DATES and b == "duration":
        return a
    if op == "+" and a == "duration" and b in DATES:
        return b
    return None
