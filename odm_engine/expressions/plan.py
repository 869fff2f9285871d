"""The check plan: every condition, range check and derivation of a study, compiled once.

``compile_study`` builds it; ``odm_engine.checks`` evaluates it against a subject's data;
``CheckPlan.to_client_json`` hands skip logic and derivations to the browser as plain data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from odm_engine import model as m
from odm_engine.expressions.evaluator import Fn
from odm_engine.expressions.typed import TNode, to_json


@dataclass(frozen=True, slots=True)
class Bound:
    """One expression compiled for one place of use."""

    id: str
    """ConditionDef or MethodDef OID, ``IT.X#RC1`` for a RangeCheck, ``IT.X#redcap:...``."""
    kind: str
    """``condition``, ``range`` or ``method``."""
    text: str
    """The OEL text (a foreign expression's translation)."""
    tree: TNode
    fn: Fn = field(compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class RangeRule:
    """One RangeCheck of an item: a Comparator with CheckValues, or an expression."""

    check_id: str
    soft: bool
    error_message: m.Text
    comparator: str | None = None
    check_values: tuple[object, ...] = ()
    check_texts: tuple[str, ...] = ()
    unit_oid: str | None = None
    expression: Bound | None = None


@dataclass(frozen=True, slots=True)
class ItemPlan:
    item: m.ItemDef
    mandatory: bool
    code_values: tuple[object, ...] | None
    condition: Bound | None = None
    method: Bound | None = None
    range_rules: tuple[RangeRule, ...] = ()
    default_unit: str | None = None


@dataclass(frozen=True, slots=True)
class GroupPlan:
    group: m.ItemGroupDef
    mandatory: bool
    condition: Bound | None
    items: tuple[ItemPlan, ...]


@dataclass(frozen=True, slots=True)
class FormPlan:
    form: m.FormDef
    groups: tuple[GroupPlan, ...]
    derivation_order: tuple[tuple[str, str], ...]
    """(ItemGroupOID, ItemOID) of derived items, dependencies first."""
    reads_derived_of: frozenset[str] = frozenset()
    """FormOIDs of the other forms whose derived items the derivations of this form read: a
    save derives those forms first (``edc import`` orders a subject's forms by it)."""


@dataclass(frozen=True, slots=True)
class CheckPlan:
    mdv: m.MetaDataVersion
    forms: Mapping[str, FormPlan]
    form_conditions: Mapping[tuple[str, str], Bound]
    """(StudyEventOID, FormOID) -> FormRef condition."""
    event_conditions: Mapping[str, Bound]
    units: Mapping[str, m.MeasurementUnit]
    default_lang: str | None
    data_types: Mapping[str, str]

    def to_client_json(self, form_oid: str) -> dict[str, Any]:
        """Skip logic and derivations of a form as JSON-serialisable data (typed trees)."""
        plan = self.forms.get(form_oid)
        out: dict[str, Any] = {"form": form_oid, "conditions": [], "derivations": []}
        if plan is None:
            return out
        for group in plan.groups:
            gid = group.group.oid
            if group.condition is not None:
                out["conditions"].append(_entry(group.condition, gid, None))
            for item in group.items:
                if item.condition is not None:
                    out["conditions"].append(_entry(item.condition, gid, item.item.oid))
        methods = {
            (g.group.oid, i.item.oid): i.method
            for g in plan.groups
            for i in g.items
            if i.method is not None
        }
        for key in plan.derivation_order:
            bound = methods.get(key)
            if bound is not None:
                out["derivations"].append(_entry(bound, key[0], key[1]))
        return out


def _entry(bound: Bound, group: str, item: str | None) -> dict[str, Any]:
    return {
        "id": bound.id,
        "group": group,
        "item": item,
        "oel": bound.text,
        "expr": to_json(bound.tree),
    }
