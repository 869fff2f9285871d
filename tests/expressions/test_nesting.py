"""OEL nesting limit (docs/expressions.md §Nesting): over-deep expressions are refused with a
located SyntaxProblem before any tree is built, whatever stack the caller leaves; expressions
within the limit parse whatever stack the caller leaves."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Callable

import pytest

from odm_engine.expressions import SyntaxProblem, foreign, parse
from odm_engine.expressions.ast import Binary, Call, Expr, Unary
from odm_engine.expressions.parser import MAX_DEPTH
from tests.conftest import REPO
from tests.expressions.helpers import item, load, one_form, refs
from tests.expressions.test_evaluate import truth

TOO_DEEP = (
    f"the expression nests more than {MAX_DEPTH} levels deep (each operator counts one level "
    "inside its parentheses, each pair of parentheses or function call one more); split it "
    "into several conditions or derived items"
)


def chain(n: int) -> str:
    return "1" + " + 1" * n


def test_a_chain_at_the_limit_parses_and_one_operator_more_is_refused_at_that_operator() -> None:
    assert isinstance(parse(chain(MAX_DEPTH)), Binary)
    # the 101st '+' is at column 3 + 4 * 100
    assert parse(chain(MAX_DEPTH + 1)) == SyntaxProblem(TOO_DEEP, 1, 3 + 4 * MAX_DEPTH)


@pytest.mark.parametrize(
    ("text", "column"),
    [
        ("(" * (MAX_DEPTH + 1) + "1" + ")" * (MAX_DEPTH + 1), MAX_DEPTH + 1),
        ("not " * (MAX_DEPTH + 1) + "true", 4 * MAX_DEPTH + 1),
        ("-" * (MAX_DEPTH + 1) + "1", MAX_DEPTH + 1),
        ("abs(" * (MAX_DEPTH + 1) + "1" + ")" * (MAX_DEPTH + 1), 4 * MAX_DEPTH + 4),
    ],
)
def test_deep_parentheses_calls_and_prefix_chains_are_refused_where_they_get_too_deep(
    text: str, column: int
) -> None:
    assert parse(text) == SyntaxProblem(TOO_DEEP, 1, column)


def test_operators_after_a_deep_group_count_towards_its_depth() -> None:
    """``(x) + 1 + ...`` puts the group under every later '+': (((x) + 1) + 1)."""
    inner = "(" + chain(50) + ")"
    assert isinstance(parse(inner + " + 1" * 49), Binary)
    assert parse(inner + " + 1" * 50) == SyntaxProblem(TOO_DEEP, 1, len(inner) + 4 * 49 + 2)


def test_deep_text_inside_strings_and_paths_is_not_counted() -> None:
    text = "'" + "(" * 500 + " + " * 500 + "' = [IT.A]"
    tree = parse(text)
    assert isinstance(tree, Binary)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        (" or ".join(["IT.A = 2"] * 32 + ["IT.A = 1"]), True),  # 65 levels
        ("not " * (MAX_DEPTH - 2) + "(IT.A > 0)", True),  # 98 nots, the parentheses, the >
        ("abs(" * 50 + chain(49).replace("1", "IT.A", 1) + ")" * 50 + " = 50", True),
        (chain(MAX_DEPTH - 1).replace("1", "IT.A", 1) + " > 0", True),
    ],
)
def test_the_deepest_accepted_shapes_compile_and_evaluate_from_a_normal_stack(
    expression: str, expected: bool
) -> None:
    """The limit is what the checker, evaluator and printer (recursive) can walk."""
    assert truth(expression, {"IT.A": "1"}, {"IT.A": "integer"}) is expected


def _with_headroom(frames: int, fn: Callable[[], object]) -> object:
    """Call ``fn`` with only about ``frames`` Python frames left below the recursion limit."""
    here, frame = 0, sys._getframe()
    while frame is not None:
        here, frame = here + 1, frame.f_back

    def dive(k: int) -> object:
        return fn() if k <= 0 else dive(k - 1)

    return dive(sys.getrecursionlimit() - here - frames)


def _depth(tree: Expr) -> int:
    deepest, todo = 0, [(tree, 1)]
    while todo:
        node, d = todo.pop()
        deepest = max(deepest, d)
        if isinstance(node, Binary):
            todo += [(node.left, d + 1), (node.right, d + 1)]
        elif isinstance(node, Unary):
            todo.append((node.operand, d + 1))
        elif isinstance(node, Call):
            todo += [(a, d + 1) for a in node.args]
    return deepest


@pytest.mark.parametrize("headroom", [40, 60, 120])
def test_parse_answers_from_a_deep_caller_stack(headroom: int) -> None:
    parse("1")  # the first call builds the parser, which needs a deeper stack than parsing
    at_limit = _with_headroom(headroom, lambda: parse(chain(MAX_DEPTH)))
    assert isinstance(at_limit, Binary)
    assert _depth(at_limit) == MAX_DEPTH + 1
    nested = _with_headroom(headroom, lambda: parse("(" * 3000 + "1" + ")" * 3000))
    assert nested == SyntaxProblem(TOO_DEEP, 1, MAX_DEPTH + 1)
    for text in (chain(992), "not " * 2000 + "true", "- " * 3000 + "1"):
        result = _with_headroom(headroom, lambda text=text: parse(text))
        assert isinstance(result, SyntaxProblem)
        assert result.message == TOO_DEEP


def test_parse_never_raises_however_little_stack_is_left() -> None:
    """Down to the few frames parse itself needs: an answer, never a RecursionError."""
    parse("1")
    for headroom in range(12, 40):
        for text in (chain(MAX_DEPTH), chain(992), "(" * 3000 + "1" + ")" * 3000):
            result = _with_headroom(headroom, lambda text=text: parse(text))
            assert isinstance(result, Binary | SyntaxProblem), (headroom, type(result))


def test_parse_in_a_thread_with_a_small_stack() -> None:
    """A 64 KiB thread stack (a small web server worker) parses and refuses without a crash:
    the parse itself is iterative, so the C stack stays shallow."""
    script = textwrap.dedent(
        f"""
        import threading
        from odm_engine.expressions import parse
        threading.stack_size(64 * 1024)
        out = []
        def run():
            for text in ("1" + " + 1" * {MAX_DEPTH}, "1" + " + 1" * 992,
                         "(" * 3000 + "1" + ")" * 3000, "not " * 2000 + "true"):
                result = parse(text)
                out.append(type(result).__name__)
        thread = threading.Thread(target=run)
        thread.start()
        thread.join()
        print(" ".join(out))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        check=False,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["Binary", "SyntaxProblem", "SyntaxProblem", "SyntaxProblem"]


@pytest.mark.parametrize("context", ["OpenEDC", "redcap:BranchingLogic", "redcap:Calculation"])
@pytest.mark.parametrize(
    "text",
    [
        "(" * 3000 + "1" + ")" * 3000,
        "1" + " + 1" * 3000,
        "not " * 3000 + "true",
        "2" + " ^ 2" * 3000,
        "- " * (MAX_DEPTH + 1) + "1",
    ],
)
def test_foreign_expressions_nested_too_deep_are_untranslatable_not_a_crash(
    context: str, text: str
) -> None:
    mdv, _ = load(one_form(refs("IT.A"), item("IT.A")))
    result = foreign.translate(context, text, mdv, kind="condition")
    assert result == foreign.Untranslatable(
        foreign.dialect_name(context), f"it nests more than {MAX_DEPTH} levels deep"
    )


def test_foreign_expressions_at_the_limit_still_translate() -> None:
    mdv, _ = load(one_form(refs("IT.A"), item("IT.A")))
    result = foreign.translate("OpenEDC", chain(MAX_DEPTH - 2), mdv, kind="condition")
    assert isinstance(result, foreign.Translated)
    assert isinstance(parse(result.text), Binary)
