"""The type checker's problem log: what the checker and the function typer both write to.

:class:`Checker` (``checker.py``) and ``type_call`` (``functions.py``) report type problems
the same way; the log lives here so neither module imports the other's internals.
"""

from __future__ import annotations

from dataclasses import dataclass

from odm_engine.expressions.ast import Expr, Literal, Ref
from odm_engine.expressions.printer import to_text
from odm_engine.expressions.typed import TNode

ARTICLE = {
    "integer": "an integer",
    "number": "a number",
    "text": "a text",
    "boolean": "a boolean",
    "date": "a date",
    "datetime": "a datetime",
    "time": "a time",
    "duration": "a duration",
    "null": "null",
}


@dataclass(frozen=True, slots=True)
class Problem:
    code: str
    message: str
    pos: int


class ProblemLog:
    """Collects :class:`Problem` (catalogue code, message, offset in the source)."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def fail(self, expr: Expr, code: str, message: str) -> TNode:
        """Record a problem at ``expr``; the node it gives has type ``error``."""
        self.problems.append(Problem(code, message, expr.pos))
        return TNode("error", "error")

    def describe(self, expr: Expr, node: TNode) -> tuple[str, str]:
        """(``'IT.X' is a date``, ``'IT.X' (a date)``) style phrases for messages."""
        kind = ARTICLE.get(node.type, node.type)
        if isinstance(expr, Ref):
            name = to_text(expr)
            return f"'{name}' is {kind}", f"'{name}' ({kind})"
        if isinstance(expr, Literal):
            noun = {"integer": "number", "null": ""}.get(expr.type, expr.type)
            text = to_text(expr)
            return f"{text} is {kind}", f"{noun} {text}".strip()
        text = to_text(expr)
        return f"`{text}` gives {kind}", f"`{text}` ({kind})"

    def mismatch(self, left: Expr, lt: TNode, verb: str, right: Expr, rt: TNode) -> TNode:
        """``left`` and ``right`` cannot be combined by ``verb``: a problem at ``right``."""
        subject, _ = self.describe(left, lt)
        _, obj = self.describe(right, rt)
        return self.fail(right, "ODM-EXPR-103", f"{subject}; cannot {verb} {obj}")
