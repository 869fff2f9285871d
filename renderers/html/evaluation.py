"""Skip logic and derivations for the first page view, from the study's check plan.

The page must be right before any script runs: items whose CollectionExceptionCondition is
true are rendered hidden with their values cleared, derived items show their computed value.
This runs the plan's compiled conditions and MethodDefs once, in the order the engine does
(group conditions, item conditions row by row, then derivations with dependencies first),
clearing hidden values as it goes so later expressions see them as missing. The save path
(``odm_engine.checks``) stays the authority; this only decides what the page shows.

It also collects the values the browser cannot read from the page (references to other forms,
``level`` ``event`` or ``study``) into the ``outside`` list of the client data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import InvalidOperation
from typing import Any

from odm_engine.clinical import FormKey, GroupKey, ItemKey
from odm_engine.expressions import Bound, CheckPlan
from odm_engine.expressions.evaluator import DataIndex, Env
from odm_engine.expressions.values import to_text
from renderers.html.naming import FieldRef
from renderers.html.view import FormState


@dataclass(slots=True)
class Outcome:
    hidden: set[FieldRef] = field(default_factory=set)
    hidden_groups: set[str] = field(default_factory=set)
    derived: dict[FieldRef, str] = field(default_factory=dict)
    outside: list[dict[str, Any]] = field(default_factory=list)


def _run(bound: Bound, env: Env) -> object:
    try:
        return bound.fn(env)
    except (ArithmeticError, InvalidOperation, TypeError, ValueError):
        return None  # the save path reports it; the page shows the item


def evaluate(
    plan: CheckPlan,
    form_key: FormKey,
    state: FormState,
    rows: Mapping[str, list[tuple[str, bool]]],
) -> Outcome:
    """What the first view of the form shows, given the values in ``state``."""
    outcome = Outcome(hidden=set(state.not_collected))
    form_plan = plan.forms.get(form_key.form_oid)
    raw: dict[ItemKey, str] = {}
    if state.subject is not None:
        raw.update((k, v) for k, v in state.subject.values.items() if k.form_key != form_key)
    for ref, text in state.values.items():
        raw[_item_key(form_key, ref.ig_oid, ref.ig_repeat_key, ref.item_oid)] = text
    data = DataIndex(raw, plan.data_types)
    event = (form_key.study_event_oid, form_key.study_event_repeat_key)
    if form_plan is None:
        return outcome

    def env_for(ig_oid: str, key: str) -> Env:
        group = GroupKey(*event, form_key.form_oid, form_key.form_repeat_key, ig_oid, key)
        return Env(data, event=event, form=form_key, group=group)

    for ref in state.not_collected:
        data.set(_item_key(form_key, ref.ig_oid, ref.ig_repeat_key, ref.item_oid), None)
    for group in form_plan.groups:
        gid = group.group.oid
        keys = [k for k, _ in rows.get(gid, [("", False)])]
        if group.condition is not None and _run(group.condition, env_for(gid, keys[0])) is True:
            outcome.hidden_groups.add(gid)
            for key in keys:
                for item in group.items:
                    data.set(_item_key(form_key, gid, key, item.item.oid), None)
            continue
        for item in group.items:
            if item.condition is None:
                continue
            for key in keys:
                if _run(item.condition, env_for(gid, key)) is True:
                    outcome.hidden.add(FieldRef(gid, key, item.item.oid))
                    data.set(_item_key(form_key, gid, key, item.item.oid), None)
    methods = {
        (g.group.oid, i.item.oid): i.method
        for g in form_plan.groups
        for i in g.items
        if i.method is not None
    }
    for gid, item_oid in form_plan.derivation_order:
        bound = methods.get((gid, item_oid))
        if bound is None or gid in outcome.hidden_groups:
            continue
        for key, _ in rows.get(gid, []):
            ref = FieldRef(gid, key, item_oid)
            if ref in outcome.hidden:
                continue
            derived = to_text(_run(bound, env_for(gid, key)))
            data.set(_item_key(form_key, gid, key, item_oid), derived)
            if derived is not None:
                outcome.derived[ref] = derived
    outcome.outside = _outside(form_plan, data, Env(data, event=event, form=form_key))
    return outcome


def _item_key(form_key: FormKey, ig_oid: str, key: str, item_oid: str) -> ItemKey:
    return ItemKey(
        form_key.study_event_oid,
        form_key.study_event_repeat_key,
        form_key.form_oid,
        form_key.form_repeat_key,
        ig_oid,
        key,
        item_oid,
    )


def _outside(form_plan: Any, data: DataIndex, env: Env) -> list[dict[str, Any]]:
    """Values of items outside this form that its conditions and derivations read."""
    bounds: list[Bound] = []
    for group in form_plan.groups:
        if group.condition is not None:
            bounds.append(group.condition)
        for item in group.items:
            bounds.extend(b for b in (item.condition, item.method) if b is not None)
    out: list[dict[str, Any]] = []
    seen: set[tuple[str | None, str, str, str, str]] = set()
    for bound in bounds:
        for p in bound.tree.refs():
            ident = (p.study_event_oid, p.form_oid, p.item_group_oid, p.item_oid, p.level)
            if p.level not in ("event", "study") or ident in seen:
                continue
            seen.add(ident)
            texts = [data.text(g, p.item_oid) for g in data.groups(p, env)]
            out.append({
                "event": p.study_event_oid,
                "form": p.form_oid,
                "group": p.item_group_oid,
                "item": p.item_oid,
                "level": p.level,
                "values": texts,
            })  # fmt: skip
    return out
