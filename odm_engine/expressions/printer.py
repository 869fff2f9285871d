"""Print a syntax tree back to OEL text that parses to the same tree.

Parentheses are written only where precedence needs them, so translated foreign expressions
read the way a designer would write them.
"""

from __future__ import annotations

import re

from odm_engine.expressions.ast import Binary, Expr, InList, Literal, Ref, Unary

KEYWORDS = frozenset({"and", "or", "not", "in", "true", "false", "null"})
_BARE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*")
_LEVEL = {"or": 1, "and": 2, "=": 4, "!=": 4, "<": 4, "<=": 4, ">": 4, ">=": 4}
_LEVEL.update({"+": 5, "-": 5, "*": 6, "/": 6})
_ATOM = 8


def _level(node: Expr) -> int:
    if isinstance(node, Binary):
        return _LEVEL[node.op]
    if isinstance(node, InList):
        return 4
    if isinstance(node, Unary):
        return 3 if node.op == "not" else 7
    return _ATOM


def _quote(text: str) -> str:
    body = text.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n").replace("\t", "\\t")
    return f"'{body}'"


def format_ref(path: tuple[str, ...]) -> str:
    """``IT.AGE`` when the OID can stand bare, else ``[SE/F/IG/IT]``."""
    if len(path) == 1 and _BARE.fullmatch(path[0]) and path[0] not in KEYWORDS:
        return path[0]
    return "[" + "/".join(path) + "]"


def _wrap(node: Expr, minimum: int) -> str:
    text = to_text(node)
    return f"({text})" if _level(node) < minimum else text


def to_text(node: Expr) -> str:
    """OEL text for ``node``."""
    if isinstance(node, Literal):
        if node.type == "text":
            return _quote(node.text)
        if node.type in ("date", "datetime", "time", "duration"):
            return "@" + node.text
        return node.text
    if isinstance(node, Ref):
        return format_ref(node.path)
    if isinstance(node, Unary):
        if node.op == "not":
            return "not " + _wrap(node.operand, 3)
        return "-" + _wrap(node.operand, 7)
    if isinstance(node, Binary):
        level = _LEVEL[node.op]
        if level == 4:
            return f"{_wrap(node.left, 5)} {node.op} {_wrap(node.right, 5)}"
        return f"{_wrap(node.left, level)} {node.op} {_wrap(node.right, level + 1)}"
    if isinstance(node, InList):
        keyword = "not in" if node.negated else "in"
        options = ", ".join(to_text(o) for o in node.options)
        return f"{_wrap(node.operand, 5)} {keyword} ({options})"
    args = ", ".join(to_text(a) for a in node.args)
    return f"{node.name}({args})"
