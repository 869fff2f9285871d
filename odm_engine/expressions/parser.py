"""Parse OEL text into the syntax tree; every failure is a located SyntaxProblem, never a raise.

The grammar is ``grammar.lark`` (LALR, contextual lexer). The parser is built once, lazily.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources
from typing import cast

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import (
    LarkError,
    UnexpectedCharacters,
    UnexpectedEOF,
    UnexpectedToken,
)

from odm_engine.expressions.ast import Binary, Call, Expr, InList, Literal, Ref, Unary

MAX_LENGTH = 10_000
"""Longer expressions are refused: no study needs them and they only cost time."""

MAX_DEPTH = 100
"""Deeper expressions are refused before parsing (docs/expressions.md §Nesting): each operator
counts one level inside its parentheses, each pair of parentheses or function call one more."""
_TOO_DEEP = (
    f"the expression nests more than {MAX_DEPTH} levels deep (each operator counts one level "
    "inside its parentheses, each pair of parentheses or function call one more); split it "
    "into several conditions or derived items"
)

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


_NO_STACK = SyntaxProblem(
    "the expression was not parsed: the calling code left too little stack; call parse from a "
    "shallower place",
    1,
    1,
)
"""Built in advance: when the stack is exhausted there is no room left to build it."""


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


def _grammar() -> str:
    return resources.files("odm_engine.expressions").joinpath("grammar.lark").read_text()


@cache
def _parser() -> Lark:
    # The transformer runs inside the LALR loop: no parse tree, no recursion over one.
    return Lark(_grammar(), parser="lalr", lexer="contextual", transformer=_ToAst())


@cache
def _scanner() -> Lark:
    return Lark(_grammar(), parser=None, lexer="basic")


_OPERATORS = frozenset({"OR", "AND", "NOT", "IN", "COMPARE", "ADD_OP", "MUL_OP", "MINUS"})


def _too_deep(text: str) -> int | None:
    """Offset of the token at which ``text`` nests deeper than MAX_DEPTH, else None.

    One pass over the tokens, no recursion. A group (the whole text, or the inside of a pair
    of parentheses) is as deep as its operators plus its deepest inner group plus one: an
    upper bound on the depth of the tree it becomes, whatever the precedence. For the groups
    open around the current token, ``outer`` keeps (c, a) such that the whole text is at
    least max(c, a + depth of the innermost group so far) deep.
    """
    groups = [[0, 0]]  # per open group: [operators so far, deepest closed inner group + 1]
    outer = [(0, 0)]
    try:
        for token in _scanner().lex(text):
            if token.type in _OPERATORS:
                groups[-1][0] += 1
            elif token.type == "LPAR":
                (ops, inner), (c, a) = groups[-1], outer[-1]
                outer.append((max(c, a + ops + inner), a + ops + 1))
                groups.append([0, 0])
            elif token.type == "RPAR" and len(groups) > 1:
                ops, inner = groups.pop()
                outer.pop()
                groups[-1][1] = max(groups[-1][1], 1 + ops + inner)
            else:
                continue
            (ops, inner), (c, a) = groups[-1], outer[-1]
            if max(c, a + ops + inner) > MAX_DEPTH:
                return token.start_pos or 0
    except LarkError:
        return None  # the parser reports the character it cannot read
    return None


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
        deep = _too_deep(text)
        if deep is not None:
            return SyntaxProblem(_TOO_DEEP, *_line_col(text, deep))
        # lark types parse() as giving a Tree; with transformer=_ToAst it gives our Expr
        result = cast(Expr, _parser().parse(text))
    except _LiteralError as exc:
        line, col = _line_col(text, exc.pos)
        return SyntaxProblem(str(exc), line, col)
    except LarkError as exc:
        return _problem(text, exc)
    except RecursionError:  # the caller left parse almost no stack
        return _NO_STACK
    return result
