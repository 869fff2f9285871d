"""Parse OEL text into the syntax tree; every failure is a located SyntaxProblem, never a raise.

The grammar is ``grammar.lark`` (LALR, contextual lexer). The parser is built once, lazily.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import (
    LarkError,
    UnexpectedCharacters,
    UnexpectedEOF,
    UnexpectedToken,
    VisitError,
)

from odm_engine.expressions.ast import Binary, Call, Expr, InList, Literal, Ref, Unary

MAX_LENGTH = 10_000
"""Longer expressions are refused: no study needs them and they only cost time."""

_DATE = re.compile(r"[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?")
_DATETIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?(Z|[+-][0-9]{2}:[0-9]{2})?"
)
_TIME = re.compile(r"T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?")
_DURATION = re.compile(
    r"P(?!$)([0-9]+Y)?([0-9]+M)?([0-9]+W)?([0-9]+D)?(T(?=[0-9])([0-9]+H)?([0-9]+M)?([0-9]+S)?)?"
)
_TOKEN_NAMES = {
    "OR": "'or'",
    "AND": "'and'",
    "NOT": "'not'",
    "IN": "'in'",
    "COMPARE": "a comparison",
    "ADD_OP": "'+' or '-'",
    "MUL_OP": "'*' or '/'",
    "MINUS": "'-'",
    "NAME": "an OID or function",
    "PATH": "a [path]",
    "INT": "a number",
    "DECIMAL": "a number",
    "STRING": "a text in quotes",
    "TEMPORAL": "a date @...",
    "TRUE": "true",
    "FALSE": "false",
    "NULL": "null",
    "LPAR": "'('",
    "RPAR": "')'",
    "COMMA": "','",
    "$END": "the end",
}


@dataclass(frozen=True, slots=True)
class SyntaxProblem:
    """Why ``text`` is not an OEL expression, with the 1-based line and column in ``text``."""

    message: str
    line: int
    column: int


class _LiteralError(ValueError):
    def __init__(self, message: str, pos: int) -> None:
        super().__init__(message)
        self.pos = pos


def _unescape(body: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), body)


def _valid_date(text: str) -> bool:
    parts = [int(p) for p in text[:10].split("-")]
    parts += [1] * (3 - len(parts))
    try:
        date(parts[0], parts[1], parts[2])
    except ValueError:
        return False
    return True


def _valid_time(text: str) -> bool:
    hours, minutes = int(text[0:2]), int(text[3:5])
    seconds = int(text[6:8]) if len(text) >= 8 and text[5] == ":" else 0
    return hours < 24 and minutes < 60 and seconds < 60


def temporal_type(text: str) -> str | None:
    """The OEL type of a temporal literal body (without ``@``), or None when malformed."""
    if _DATE.fullmatch(text):
        return "date" if _valid_date(text) else None
    if _DATETIME.fullmatch(text):
        return "datetime" if _valid_date(text) and _valid_time(text[11:]) else None
    if _TIME.fullmatch(text):
        return "time" if _valid_time(text[1:]) else None
    if _DURATION.fullmatch(text):
        return "duration"
    return None


@v_args(inline=True)
class _ToAst(Transformer[Token, Expr]):
    def binary(self, left: Expr, op: Token, right: Expr) -> Expr:
        return Binary(str(op), left, right, op.start_pos or 0)

    def unary(self, op: Token, operand: Expr) -> Expr:
        return Unary(str(op), operand, op.start_pos or 0)

    def in_list(self, operand: Expr, op: Token, args: tuple[Expr, ...]) -> Expr:
        return InList(operand, args, False, op.start_pos or 0)

    def not_in_list(self, operand: Expr, op: Token, _in: Token, args: tuple[Expr, ...]) -> Expr:
        return InList(operand, args, True, op.start_pos or 0)

    def arguments(self, *args: Expr) -> tuple[Expr, ...]:
        return args

    def call(self, name: Token, args: tuple[Expr, ...] | None) -> Expr:
        return Call(str(name), args or (), name.start_pos or 0)

    def bare_ref(self, name: Token) -> Expr:
        return Ref((str(name),), name.start_pos or 0)

    def path_ref(self, token: Token) -> Expr:
        pos = token.start_pos or 0
        parts = tuple(str(token)[1:-1].split("/"))
        if len(parts) > 4 or any(not p for p in parts):
            raise _LiteralError(
                f"{token} is not a path: write [StudyEventOID/FormOID/ItemGroupOID/ItemOID] "
                "with one to four OIDs separated by '/'",
                pos,
            )
        return Ref(parts, pos)

    def integer(self, token: Token) -> Expr:
        return Literal("integer", str(int(token)), token.start_pos or 0)

    def number(self, token: Token) -> Expr:
        return Literal("number", str(token), token.start_pos or 0)

    def text(self, token: Token) -> Expr:
        return Literal("text", _unescape(str(token)[1:-1]), token.start_pos or 0)

    def temporal(self, token: Token) -> Expr:
        body = str(token)[1:]
        kind = temporal_type(body)
        if kind is None:
            raise _LiteralError(
                f"'{token}' is not a date, datetime, time or duration: write @2019-03-15, "
                "@2019-03, @2019, @2019-03-15T10:30, @T10:30 or @P6M",
                token.start_pos or 0,
            )
        return Literal(kind, body, token.start_pos or 0)

    def true(self, token: Token) -> Expr:
        return Literal("boolean", "true", token.start_pos or 0)

    def false(self, token: Token) -> Expr:
        return Literal("boolean", "false", token.start_pos or 0)

    def null(self, token: Token) -> Expr:
        return Literal("null", "null", token.start_pos or 0)


@cache
def _parser() -> Lark:
    grammar = resources.files("odm_engine.expressions").joinpath("grammar.lark").read_text()
    return Lark(grammar, parser="lalr", lexer="contextual", propagate_positions=False)


def _line_col(text: str, pos: int) -> tuple[int, int]:
    line = text.count("\n", 0, pos) + 1
    return line, pos - (text.rfind("\n", 0, pos) + 1) + 1


def _expected(tokens: set[str]) -> str:
    names = sorted({_TOKEN_NAMES.get(t, t) for t in tokens if not t.startswith("__")})
    if not names:
        return ""
    if len(names) > 6:
        return "; expected an operand, an operator or a closing parenthesis"
    return "; expected " + ", ".join(names)


def _problem(text: str, exc: LarkError) -> SyntaxProblem:
    if isinstance(exc, UnexpectedEOF):
        line, col = _line_col(text, len(text))
        return SyntaxProblem(
            "the expression ends too early" + _expected(set(exc.expected)), line, col
        )
    if isinstance(exc, UnexpectedToken):
        pos = exc.token.start_pos or 0
        line, col = _line_col(text, pos)
        if exc.token.type == "$END":
            return SyntaxProblem(
                "the expression ends too early" + _expected(set(exc.expected)), line, col
            )
        hint = ""
        if str(exc.token) == "=" and text[max(pos - 1, 0) : pos + 1] == "==":
            hint = "; OEL writes equality as a single '='"
        return SyntaxProblem(
            f"unexpected '{exc.token}' at column {col}" + (hint or _expected(set(exc.expected))),
            line,
            col,
        )
    if isinstance(exc, UnexpectedCharacters):
        pos = exc.pos_in_stream or 0
        line, col = _line_col(text, pos)
        char = text[pos] if pos < len(text) else ""
        hint = {
            "&": "; write 'and'",
            "|": "; write 'or'",
            "!": "; write 'not' or '!='",
            "^": "; write power(x, y)",
        }.get(char, "")
        return SyntaxProblem(f"unexpected character {char!r} at column {col}{hint}", line, col)
    return SyntaxProblem(f"cannot parse: {exc}", 1, 1)


def parse(text: str) -> Expr | SyntaxProblem:
    """Parse ``text``; a SyntaxProblem with line and column when it is not valid OEL."""
    if not text.strip():
        return SyntaxProblem("the expression is empty", 1, 1)
    if len(text) > MAX_LENGTH:
        return SyntaxProblem(f"the expression is longer than {MAX_LENGTH} characters", 1, 1)
    try:
        tree = _parser().parse(text)
        result: Expr = _ToAst().transform(tree)
    except VisitError as exc:
        inner = exc.orig_exc
        if isinstance(inner, _LiteralError):
            line, col = _line_col(text, inner.pos)
            return SyntaxProblem(str(inner), line, col)
        raise
    except LarkError as exc:
        return _problem(text, exc)
    except RecursionError:
        return SyntaxProblem("the expression is nested too deeply", 1, 1)
    return result
