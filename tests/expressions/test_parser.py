"""OEL syntax: parsing, located syntax problems, printing (docs/expressions.md §Syntax)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from odm_engine.expressions import SyntaxProblem, parse, to_text
from odm_engine.expressions.ast import Binary, Call, Expr, InList, Literal, Ref, Unary


def ok(text: str) -> Expr:
    tree = parse(text)
    assert not isinstance(tree, SyntaxProblem), tree
    return tree


def test_precedence_and_associativity() -> None:
    assert ok("a or b and not c = 1") == Binary(
        "or",
        Ref(("a",)),
        Binary("and", Ref(("b",)), Unary("not", Binary("=", Ref(("c",)), Literal("integer", "1")))),
    )
    assert ok("1 - 2 - 3") == Binary(
        "-", Binary("-", Literal("integer", "1"), Literal("integer", "2")), Literal("integer", "3")
    )


@pytest.mark.parametrize(
    ("text", "literal"),
    [
        ("12", Literal("integer", "12")),
        ("1.5", Literal("number", "1.5")),
        ("'it\\'s'", Literal("text", "it's")),
        ('"x"', Literal("text", "x")),
        ("true", Literal("boolean", "true")),
        ("null", Literal("null", "null")),
        ("@2019-03-15", Literal("date", "2019-03-15")),
        ("@2019-03", Literal("date", "2019-03")),
        ("@2019", Literal("date", "2019")),
        ("@2019-03-15T10:30", Literal("datetime", "2019-03-15T10:30")),
        ("@T10:30", Literal("time", "T10:30")),
        ("@P6M", Literal("duration", "P6M")),
    ],
)
def test_literals_of_every_type(text: str, literal: Literal) -> None:
    assert ok(text) == literal


def test_references_bare_and_bracketed() -> None:
    assert ok("IT.AGE") == Ref(("IT.AGE",))
    assert ok("[SE.DCV/F.THER1/IT.THER_START]") == Ref(("SE.DCV", "F.THER1", "IT.THER_START"))
    assert ok("[IT.weird-oid]") == Ref(("IT.weird-oid",))
    assert ok("android") == Ref(("android",))  # a keyword prefix is still an OID


def test_in_and_calls() -> None:
    assert ok("x not in ('A', 'B')") == InList(
        Ref(("x",)), (Literal("text", "A"), Literal("text", "B")), True
    )
    assert ok("today()") == Call("today", ())


@pytest.mark.parametrize(
    ("text", "message", "column"),
    [
        ("a == 3", "unexpected '=' at column 4; OEL writes equality as a single '='", 4),
        ("a & b", "unexpected character '&' at column 3; write 'and'", 3),
        (
            "@2019-13-01",
            "'@2019-13-01' is not a date, datetime, time or duration: write @2019-03-15, "
            "@2019-03, @2019, @2019-03-15T10:30, @T10:30 or @P6M",
            1,
        ),
        (
            "[a//b]",
            "[a//b] is not a path: write [StudyEventOID/FormOID/ItemGroupOID/ItemOID] with one "
            "to four OIDs separated by '/'",
            1,
        ),
        ("   ", "the expression is empty", 1),
    ],
)
def test_syntax_problems_are_located(text: str, message: str, column: int) -> None:
    problem = parse(text)
    assert problem == SyntaxProblem(message, 1, column)


def test_syntax_problem_line_in_multiline_text() -> None:
    problem = parse("a = 1 and\n b = ")
    assert isinstance(problem, SyntaxProblem)
    assert problem.line == 2


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_parser_never_raises(text: str) -> None:
    result = parse(text)
    if isinstance(result, SyntaxProblem):
        assert result.line >= 1 and result.column >= 1 and result.message


_names = st.sampled_from(["IT.A", "b", "IT.X_1", "or_x"]).map(lambda n: Ref((n,)))
_paths = st.lists(st.sampled_from(["SE.1", "F-1", "IG.2", "IT.Z"]), min_size=2, max_size=4).map(
    lambda p: Ref(tuple(p))
)
_literals = st.one_of(
    st.integers(0, 10**6).map(lambda i: Literal("integer", str(i))),
    st.decimals(0, 1000, places=2).map(lambda d: Literal("number", f"{d:.2f}")),
    st.text(max_size=5).map(lambda s: Literal("text", s)),
    st.sampled_from(
        [
            Literal("boolean", "true"),
            Literal("null", "null"),
            Literal("date", "2019-03"),
            Literal("duration", "P6M"),
        ]
    ),
)


def _trees(children: st.SearchStrategy[Expr]) -> st.SearchStrategy[Expr]:
    ops = st.sampled_from(["or", "and", "=", "!=", "<", ">=", "+", "-", "*", "/"])
    return st.one_of(
        st.builds(Binary, ops, children, children),
        st.builds(Unary, st.sampled_from(["not", "-"]), children),
        st.builds(
            InList, children, st.lists(children, min_size=1, max_size=3).map(tuple), st.booleans()
        ),
        st.builds(
            Call,
            st.sampled_from(["f", "age", "coalesce"]),
            st.lists(children, max_size=3).map(tuple),
        ),
    )


@settings(max_examples=300, deadline=None)
@given(st.recursive(st.one_of(_names, _paths, _literals), _trees, max_leaves=12))
def test_print_then_parse_gives_the_same_tree(tree: Expr) -> None:
    assert ok(to_text(tree)) == tree


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="ab1 ()+-*/=<>notandr'[]@.,", max_size=30))
def test_round_trip_of_whatever_parses(text: str) -> None:
    tree = parse(text)
    if not isinstance(tree, SyntaxProblem):
        assert ok(to_text(tree)) == tree
