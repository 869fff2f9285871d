"""Value-level metadata: where an item's meaning depends on another item of its group.

The rule (declared, documented in docs/import-export.md): an ItemRef with a
CollectionExceptionConditionOID whose ConditionDef is an OEL comparison on items of the same
item group is collected only when the condition is false. Negating the condition gives the
where clause(s) under which the item applies: ``not (VSTESTCD in ("SYSBP", "DIABP"))`` as
exception becomes ``VSTESTCD IN (SYSBP, DIABP)``. Several where clauses on one ItemRef mean
"any of them" (Define-XML 2.1 §5.3.8.3). Conditions the rule cannot express (functions,
arithmetic, items of other groups) give no value-level metadata.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import product

from odm_engine import model as m
from odm_engine.expressions import ast
from odm_engine.expressions.parser import parse

_COMPARATORS = {"=": "EQ", "!=": "NE", "<": "LT", "<=": "LE", ">": "GT", ">=": "GE"}
_NEGATED = {
    "EQ": "NE",
    "NE": "EQ",
    "LT": "GE",
    "GE": "LT",
    "GT": "LE",
    "LE": "GT",
    "IN": "NOTIN",
    "NOTIN": "IN",
}
_SWAPPED = {"EQ": "EQ", "NE": "NE", "LT": "GT", "GT": "LT", "LE": "GE", "GE": "LE"}
_MAX_CLAUSES = 16


@dataclass(frozen=True, slots=True)
class Comparison:
    item_oid: str
    comparator: str
    values: tuple[str, ...]


Clause = tuple[Comparison, ...]
"""A conjunction of comparisons: one def:WhereClauseDef."""


def where_clauses(
    ref: m.ItemRef, group: m.ItemGroupDef, mdv: m.MetaDataVersion
) -> tuple[Clause, ...]:
    """The where clauses (any of which applies) under which ``ref``'s item is collected."""
    oid = ref.collection_exception_condition_oid
    condition = mdv.condition_defs.get(oid) if oid else None
    if condition is None:
        return ()
    members = {r.item_oid for r in group.item_refs} - {ref.item_oid}
    for expression in condition.formal_expressions:
        tree = parse(expression.text)
        if isinstance(tree, ast.Literal | ast.Ref | ast.Unary | ast.Binary | ast.InList):
            clauses = _dnf(tree, negate=True, members=members)
            if clauses:
                return tuple(clauses)
    return ()


def _dnf(node: ast.Expr, *, negate: bool, members: set[str]) -> list[Clause] | None:
    """``node`` (or its negation) in disjunctive normal form, or None if not expressible."""
    if isinstance(node, ast.Unary) and node.op == "not":
        return _dnf(node.operand, negate=not negate, members=members)
    if isinstance(node, ast.Binary) and node.op in ("and", "or"):
        left = _dnf(node.left, negate=negate, members=members)
        right = _dnf(node.right, negate=negate, members=members)
        if left is None or right is None:
            return None
        conjunctive = (node.op == "and") != negate
        if not conjunctive:
            out = left + right
        else:
            out = [a + b for a, b in product(left, right)]
        return out if len(out) <= _MAX_CLAUSES else None
    comparison = _comparison(node, members)
    if comparison is None:
        return None
    if negate:
        comparison = Comparison(
            comparison.item_oid, _NEGATED[comparison.comparator], comparison.values
        )
    return [(comparison,)]


def _comparison(node: ast.Expr, members: set[str]) -> Comparison | None:
    if isinstance(node, ast.InList):
        if not isinstance(node.operand, ast.Ref) or node.operand.item_oid not in members:
            return None
        values = []
        for option in node.options:
            if not isinstance(option, ast.Literal) or option.type == "null":
                return None
            values.append(option.text)
        return Comparison(node.operand.item_oid, "NOTIN" if node.negated else "IN", tuple(values))
    if isinstance(node, ast.Binary) and node.op in _COMPARATORS:
        comparator = _COMPARATORS[node.op]
        left, right = node.left, node.right
        if isinstance(right, ast.Ref) and isinstance(left, ast.Literal):
            left, right, comparator = right, left, _SWAPPED[comparator]
        if (
            isinstance(left, ast.Ref)
            and left.item_oid in members
            and isinstance(right, ast.Literal)
            and right.type != "null"
        ):
            return Comparison(left.item_oid, comparator, (right.text,))
    return None
