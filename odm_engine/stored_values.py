"""Would a value stored under one metadata version still be valid under another?

Pure per-value logic behind ``storage.impact`` (the impact of a new version on stored data,
issue 16): storage streams each distinct stored value once and asks :class:`StoredValueChecker`
about it; only items whose rules for a value changed need asking (:func:`changed_items`).
The checks are the engine's own, so a value the report calls invalid is one entry would refuse:
the DataType registry's reader with Length and SignificantDigits (``expressions.values.read_item``,
as ``checks`` uses it), the item's coded values as the check plan compiled them, and the hard
Comparator RangeChecks (``checks.constant_range_failures``). Expression RangeChecks read the
rest of a subject's data: ``odm_engine.stored_checks`` holds those against whole subjects.

Structure: :func:`form_structure_changes` says how a FormDef's groups and items differ between
two versions, the part of "forms whose structure changed" that needs no database.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from odm_engine import model as m
from odm_engine.checks import constant_range_failures
from odm_engine.datatypes import REGISTRY, DataTypeProblem, canonical_checker
from odm_engine.expressions import CheckPlan
from odm_engine.expressions import values as expr_values
from odm_engine.expressions.plan import ItemPlan

KINDS = (
    "removed_item",
    "unreachable",
    "type",
    "length",
    "significant_digits",
    "code",
    "hard_check",
)
"""What can be wrong with a stored value under a new version, in the order reports list them:
its ItemDef is gone; its ItemDef is kept but no longer reachable where the value is stored (the
event, form or group no longer references it); it no longer reads as the new DataType; it is
longer than the new Length; it has more decimals than the new SignificantDigits; it is not a
coded value of the new CodeList; it fails a new or tightened hard RangeCheck."""


@dataclass(frozen=True, slots=True)
class ValueVerdict:
    """Why one stored value of an item is invalid under the new version."""

    kind: str
    """One of :data:`KINDS` (never ``removed_item``/``unreachable``: those need its place)."""
    message: str
    """One line: what is wrong and how to fix it."""


@dataclass(frozen=True, slots=True)
class FormStructureChange:
    """How a FormDef's groups and items differ between two versions."""

    form_oid: str
    groups_added: tuple[str, ...] = ()
    groups_removed: tuple[str, ...] = ()
    items_added: tuple[str, ...] = ()
    """``ItemGroupOID/ItemOID`` of ItemRefs the new version adds to the form."""
    items_removed: tuple[str, ...] = ()
    order_changed: bool = False
    """Same groups and items, in another order or with a group's Repeating changed."""
    removed: bool = False
    """The new version has no FormDef of this OID at all."""

    def describe(self) -> str:
        if self.removed:
            return f"FormDef {self.form_oid} is gone"
        parts = [
            f"{label} {', '.join(oids)}"
            for label, oids in (
                ("groups added:", self.groups_added),
                ("groups removed:", self.groups_removed),
                ("items added:", self.items_added),
                ("items removed:", self.items_removed),
            )
            if oids
        ]
        if self.order_changed:
            parts.append("groups or items reordered, or a group's Repeating changed")
        return "; ".join(parts)


def value_rules(mdv: m.MetaDataVersion, item: m.ItemDef) -> tuple[object, ...]:
    """What decides whether a stored value of ``item`` is valid, as plain comparable data
    (source lines and wording left out): DataType, Length, SignificantDigits, the coded values,
    the hard Comparator RangeChecks and the item's units (range checks convert to them)."""
    code_list = mdv.item_code_list(item)
    codes = (
        (code_list.data_type, tuple(sorted(code_list.coded_values)))
        if code_list is not None and code_list.items
        else None
    )
    hard = tuple(
        (rc.comparator, rc.check_values, rc.measurement_unit_oid)
        for rc in item.range_checks
        if rc.comparator and not rc.is_soft
    )
    return (
        item.data_type,
        item.length,
        item.significant_digits,
        codes,
        hard,
        item.measurement_unit_oids,
    )


def changed_items(old: m.MetaDataVersion, new: m.MetaDataVersion) -> frozenset[str]:
    """ItemOIDs defined in both versions whose :func:`value_rules` differ: the only items
    whose stored values can have become invalid (values of items ``new`` drops are found by
    their place, not their value)."""
    return frozenset(
        oid
        for oid, item in new.item_defs.items()
        if oid in old.item_defs and value_rules(old, old.item_defs[oid]) != value_rules(new, item)
    )


class StoredValueChecker:
    """Checks stored values against one compiled MetaDataVersion, one distinct value at a time."""

    def __init__(self, plan: CheckPlan, *, lang: str | None = None) -> None:
        self._plan = plan
        self._lang = lang
        self._items: dict[str, ItemPlan] = {}
        for form in plan.forms.values():
            for group in form.groups:
                for item_plan in group.items:
                    self._items.setdefault(item_plan.item.oid, item_plan)
        self._fast: dict[str, Callable[[str], object] | None] = {}

    def verdict(self, item_oid: str, text: str, unit: str | None = None) -> ValueVerdict | None:
        """Why ``text`` (stored with MeasurementUnitOID ``unit``) is not a valid value of
        ``item_oid`` under the plan's version, or None when it is valid. None as well for an
        item no form of the version references: such values are found by their place."""
        item_plan = self._items.get(item_oid)
        if item_plan is None:
            return None
        if item_oid not in self._fast:
            self._fast[item_oid] = _fast_check(item_plan)
        fast = self._fast[item_oid]
        item = item_plan.item
        if fast is not None:
            checked = fast(text)
            if isinstance(checked, DataTypeProblem):
                return _type_verdict(item, text, checked.message)
            return None
        value, problem = expr_values.read_item(
            item.data_type, text, item.length, item.significant_digits
        )
        if problem is not None:
            return _type_verdict(item, text, problem)
        if item_plan.code_values is not None and not any(
            expr_values.compare(value, c) == 0 for c in item_plan.code_values
        ):
            codes = ", ".join(str(c) for c in item_plan.code_values[:10])
            return ValueVerdict(
                "code",
                f"{item.oid}: {text!r} is not a coded value of CodeList {item.code_list_oid} "
                f"({codes}). Correct the value to one of its codes, or keep the code in the "
                "new version.",
            )
        entered = unit or item_plan.default_unit
        for rule, message in constant_range_failures(
            self._plan, item_plan, value, text, entered, lang=self._lang
        ):
            return ValueVerdict(
                "hard_check",
                f"{item.oid} = {text!r} fails the new hard RangeCheck {rule.check_id}: "
                f"{message} Correct the value, or make the check soft or looser in the new "
                "version.",
            )
        return None


def _fast_check(item_plan: ItemPlan) -> Callable[[str], object] | None:
    """For an item with nothing but its DataType and limits to hold a value to (no coded
    values, no hard Comparator RangeCheck): the registry's canonical checker, which gives a
    str for every valid value (answering plainly canonical ones without parsing them: the
    bulk import's fast path) and else the reader's DataTypeProblem. None for any other
    item."""
    item = item_plan.item
    if item_plan.code_values is not None or item.data_type not in REGISTRY:
        return None
    if any(not r.soft and r.expression is None for r in item_plan.range_rules):
        return None
    return canonical_checker(
        item.data_type, length=item.length, significant_digits=item.significant_digits
    )


def _type_verdict(item: m.ItemDef, text: str, problem: str) -> ValueVerdict:
    """The verdict on ``text`` that the registry's reader refused with ``problem``."""
    kind = _type_kind(item, text)
    what = {
        "type": f"DataType {item.data_type}",
        "length": f"Length {item.length}",
        "significant_digits": f"SignificantDigits {item.significant_digits}",
    }[kind]
    return ValueVerdict(kind, f"{item.oid} under the new {what}: {problem}")


def _type_kind(item: m.ItemDef, text: str) -> str:
    """Which of the item's limits refuses ``text``: its DataType, Length or SignificantDigits."""
    if item.length is None and item.significant_digits is None:
        return "type"
    _value, problem = expr_values.read_item(item.data_type, text, None, None)
    if problem is not None:
        return "type"
    _value, problem = expr_values.read_item(item.data_type, text, item.length, None)
    return "length" if problem is not None else "significant_digits"


def _structure(
    mdv: m.MetaDataVersion, form: m.FormDef
) -> tuple[tuple[str, bool, tuple[str, ...]], ...]:
    shape = []
    for ref in form.item_group_refs:
        group = mdv.item_group_defs.get(ref.item_group_oid)
        items = tuple(r.item_oid for r in group.item_refs) if group else ()
        shape.append((ref.item_group_oid, bool(group and group.repeating), items))
    return tuple(shape)


def form_structure_changes(
    old: m.MetaDataVersion, new: m.MetaDataVersion, form_oid: str
) -> FormStructureChange | None:
    """How FormDef ``form_oid``'s groups and items differ from ``old`` to ``new``; None when
    they do not (or ``old`` does not define the form either)."""
    before_def = old.form_defs.get(form_oid)
    after_def = new.form_defs.get(form_oid)
    if before_def is None:
        return None
    if after_def is None:
        return FormStructureChange(form_oid, removed=True)
    before, after = _structure(old, before_def), _structure(new, after_def)
    if before == after:
        return None
    groups_before = [g for g, _r, _i in before]
    groups_after = [g for g, _r, _i in after]
    items_before = [f"{g}/{i}" for g, _r, items in before for i in items]
    items_after = [f"{g}/{i}" for g, _r, items in after for i in items]
    added_groups = tuple(g for g in groups_after if g not in groups_before)
    removed_groups = tuple(g for g in groups_before if g not in groups_after)
    added_items = tuple(i for i in items_after if i not in items_before)
    removed_items = tuple(i for i in items_before if i not in items_after)
    return FormStructureChange(
        form_oid,
        groups_added=added_groups,
        groups_removed=removed_groups,
        items_added=added_items,
        items_removed=removed_items,
        order_changed=not (added_groups or removed_groups or added_items or removed_items),
    )


def place_verdict(
    mdv: m.MetaDataVersion, event: str, form: str, group: str, item: str
) -> ValueVerdict | None:
    """Why a value stored at (StudyEventOID, FormOID, ItemGroupOID, ItemOID) has no place in
    ``mdv`` (``removed_item`` or ``unreachable``), or None when ``mdv`` still reaches it.
    Walks event, form, group, then item, and names the first link that is gone."""
    if item not in mdv.item_defs:
        return ValueVerdict(
            "removed_item",
            f"ItemDef {item} is not in the new version: its values stay stored and audited, "
            "shown read-only as not in the current version. Keep the ItemDef if it is still "
            "collected.",
        )
    event_def = mdv.study_event_defs.get(event)
    form_def = mdv.form_defs.get(form)
    group_def = mdv.item_group_defs.get(group)
    why = None
    if event_def is None and event:
        why = f"StudyEventDef {event} is gone"
    elif event_def is not None and all(r.form_oid != form for r in event_def.form_refs):
        why = f"StudyEventDef {event} no longer references FormDef {form}"
    elif form_def is None:
        why = f"FormDef {form} is gone"
    elif all(r.item_group_oid != group for r in form_def.item_group_refs):
        why = f"FormDef {form} no longer references ItemGroupDef {group}"
    elif group_def is None:
        why = f"ItemGroupDef {group} is gone"
    elif all(r.item_oid != item for r in group_def.item_refs):
        why = f"ItemGroupDef {group} no longer references ItemDef {item}"
    if why is None:
        return None
    return ValueVerdict(
        "unreachable",
        f"{item} at {event}/{form}/{group}: {why} in the new version, so the value would be "
        "shown read-only. Keep the reference, or move the value where the new version "
        "collects it.",
    )
