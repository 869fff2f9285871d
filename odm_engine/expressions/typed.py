"""The typed, resolved tree the checker produces: what the evaluators (Python and, later, the
browser's JavaScript) run.

Every node has an ``op`` and a ``type``. ``to_json`` gives plain JSON-serialisable data:

``{"op": "lit", "type": "date", "value": "2019-03"}``
``{"op": "ref", "type": "integer", "item": "IT.AGE", "group": "IG.DM", "form": "F.DM",
"event": null, "level": "row", "many": false}``
``{"op": ">=", "type": "boolean", "args": [...]}`` and likewise for ``and or not neg + - * /
= != < <= > >= in notin`` and every function (``{"op": "age", ...}``). Aggregates carry the
rows they iterate over as ``"rows": <ref>``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from odm_engine.expressions import values
from odm_engine.expressions.resolver import Placement

AGGREGATES = frozenset({"count", "any", "all", "sum", "min", "max"})


@dataclass(frozen=True, slots=True)
class TNode:
    op: str
    type: str
    args: tuple[TNode, ...] = ()
    value: object = None
    """Literal: the runtime value."""
    ref: Placement | None = None
    """Reference: where it reads. Aggregate: whose rows it iterates over."""
    rows: tuple[str | None, str, str, str] | None = None
    """Set while the node still denotes one value per row of a repeating source."""

    def refs(self) -> list[Placement]:
        out: list[Placement] = []
        stack = [self]
        while stack:
            node = stack.pop()
            if node.op == "ref" and node.ref is not None:
                out.append(node.ref)
            stack.extend(node.args)
        return out


def _ref_json(p: Placement) -> dict[str, Any]:
    return {
        "item": p.item_oid,
        "group": p.item_group_oid,
        "form": p.form_oid,
        "event": p.study_event_oid,
        "level": p.level,
        "many": p.many,
    }


def to_json(node: TNode) -> dict[str, Any]:
    """Plain data for the browser: the same tree, evaluated the same way in JavaScript."""
    out: dict[str, Any] = {"op": node.op, "type": node.type}
    if node.op == "lit":
        out["value"] = values.to_text(node.value)
    elif node.op == "ref" and node.ref is not None:
        out.update(_ref_json(node.ref))
    else:
        out["args"] = [to_json(a) for a in node.args]
        if node.ref is not None:
            out["rows"] = _ref_json(node.ref)
    return out
