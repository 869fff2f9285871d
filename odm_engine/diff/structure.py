"""The study's structure: definitions added, removed or changed, and the references that hold
them together (StudyEventRef, FormRef, ItemGroupRef, ItemRef) added, removed, moved under
another parent, reordered or changed (Mandatory, CollectionExceptionConditionOID, MethodOID).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from odm_engine import model as m
from odm_engine.diff import parts
from odm_engine.diff.changes import ChangeLog, show

Where = dict[str, list[str]]
"""Child OID -> the OIDs of the parents that reference it, in document order."""


@dataclass(frozen=True, slots=True)
class DefKind:
    """How one kind of definition is compared: its attributes, its texts, anything else."""

    element: str
    attributes: parts.Attributes
    texts: parts.Attributes = (("Description", "description"),)
    more: Callable[[ChangeLog, Any, Any], None] | None = None


def _item_more(log: ChangeLog, old: m.ItemDef, new: m.ItemDef) -> None:
    parts.range_checks(log, new.oid, old.range_checks, new.range_checks)


def _expression_more(
    log: ChangeLog, old: m.ConditionDef | m.MethodDef, new: m.ConditionDef | m.MethodDef
) -> None:
    element = "ConditionDef" if isinstance(new, m.ConditionDef) else "MethodDef"
    owner = parts.Owner(element, new.oid)
    parts.expressions(log, owner, old.formal_expressions, new.formal_expressions)


EVENT = DefKind(
    "StudyEventDef",
    (("Name", "name"), ("Repeating", "repeating"), ("Type", "type"), ("Category", "category")),
)
FORM = DefKind("FormDef", (("Name", "name"), ("Repeating", "repeating")))
GROUP = DefKind(
    "ItemGroupDef",
    (
        ("Name", "name"),
        ("Repeating", "repeating"),
        ("IsReferenceData", "is_reference_data"),
        ("SASDatasetName", "sas_dataset_name"),
        ("Domain", "domain"),
        ("Origin", "origin"),
        ("Role", "role"),
        ("Purpose", "purpose"),
        ("Comment", "comment"),
    ),
)
ITEM = DefKind(
    "ItemDef",
    (
        ("Name", "name"),
        ("DataType", "data_type"),
        ("Length", "length"),
        ("SignificantDigits", "significant_digits"),
        ("CodeListOID", "code_list_oid"),
        ("MeasurementUnitRef", "measurement_unit_oids"),
        ("SASFieldName", "sas_field_name"),
        ("SDSVarName", "sds_var_name"),
        ("Origin", "origin"),
        ("Comment", "comment"),
    ),
    (("Question", "question"), ("Description", "description")),
    _item_more,
)
CODE_LIST = DefKind(
    "CodeList",
    (("Name", "name"), ("DataType", "data_type"), ("SASFormatName", "sas_format_name")),
    more=parts.codes,
)
CONDITION = DefKind("ConditionDef", (("Name", "name"),), more=_expression_more)
METHOD = DefKind("MethodDef", (("Name", "name"), ("Type", "type")), more=_expression_more)
UNIT = DefKind("MeasurementUnit", (("Name", "name"),), (("Symbol", "symbol"),))


def definitions(
    log: ChangeLog,
    kind: DefKind,
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    where: tuple[Where, Where] = ({}, {}),
) -> None:
    """Definitions of one kind keyed by OID: added (in its first parent), removed, changed."""
    for oid, definition in new.items():
        before = old.get(oid)
        if before is None:
            parent = where[1].get(oid, [None])[0]
            log.presence("added", kind.element, oid, f" ({definition.name})", parent)
            continue
        owner = parts.Owner(kind.element, oid)
        parts.attributes(log, owner, before, definition, kind.attributes)
        for odm_name, field in kind.texts:
            parts.texts(log, owner, odm_name, getattr(before, field), getattr(definition, field))
        if kind.more is not None:
            kind.more(log, before, definition)
        parts.aliases(log, owner, before.aliases, definition.aliases)
    for oid, definition in old.items():
        if oid not in new:
            parent = where[0].get(oid, [None])[0]
            log.presence("removed", kind.element, oid, f" ({definition.name})", parent)


@dataclass(frozen=True, slots=True)
class RefKind:
    """One kind of reference: its element, the field naming its child, its other attributes."""

    element: str
    child: str
    attributes: parts.Attributes


_COMMON: parts.Attributes = (
    ("Mandatory", "mandatory"),
    ("CollectionExceptionConditionOID", "collection_exception_condition_oid"),
)
EVENT_REF = RefKind("StudyEventRef", "study_event_oid", _COMMON)
FORM_REF = RefKind("FormRef", "form_oid", _COMMON)
GROUP_REF = RefKind("ItemGroupRef", "item_group_oid", _COMMON)
ITEM_REF = RefKind(
    "ItemRef",
    "item_oid",
    (
        *_COMMON,
        ("MethodOID", "method_oid"),
        ("ImputationMethodOID", "imputation_method_oid"),
        ("KeySequence", "key_sequence"),
        ("Role", "role"),
        ("RoleCodeListOID", "role_code_list_oid"),
    ),
)

Parents = Mapping[str, Sequence[Any]]
"""Parent OID -> its references of one kind (a group's ItemRefs...)."""


def where(kind: RefKind, parents: Parents) -> Where:
    found: Where = {}
    for parent, refs in parents.items():
        for ref in refs:
            listed = found.setdefault(getattr(ref, kind.child), [])
            if parent not in listed:
                listed.append(parent)
    return found


def references(
    log: ChangeLog,
    kind: RefKind,
    parents: tuple[Parents, Parents],
    children: tuple[Mapping[str, object], Mapping[str, object]],
    places: tuple[Where, Where],
) -> None:
    """References of one kind: to a child defined in both versions, moved to another parent,
    added to or removed from a parent that is in both; then, parent by parent, the order and
    the attributes of the references both versions hold."""
    (old_where, new_where), (old_defs, new_defs) = places, children
    for child in (*new_where, *(c for c in old_where if c not in new_where)):
        if child not in old_defs or child not in new_defs:
            continue  # the definition itself is reported added or removed
        was, now = old_where.get(child, []), new_where.get(child, [])
        gone = [p for p in was if p not in now]
        came = [p for p in now if p not in was]
        if gone and came:
            log.moved(kind.element, child, ", ".join(gone), ", ".join(came))
            continue
        for parent in came:
            if parent in parents[0]:
                log.presence("added", kind.element, child, "", parent)
        for parent in gone:
            if parent in parents[1]:
                log.presence("removed", kind.element, child, "", parent)
    for parent, refs in parents[1].items():
        if parent in parents[0]:
            _same_parent(log, kind, parent, parents[0][parent], refs)


def _order(kind: RefKind, refs: Sequence[Any], keep: Mapping[str, Any]) -> list[str]:
    """The children in ``keep`` in the order a form shows them: OrderNumber, then document."""
    ranked = sorted(
        enumerate(refs),
        key=lambda p: (p[1].order_number is None, p[1].order_number or 0, p[0]),
    )
    return [getattr(ref, kind.child) for _, ref in ranked if getattr(ref, kind.child) in keep]


def _same_parent(
    log: ChangeLog, kind: RefKind, parent: str, old: Sequence[Any], new: Sequence[Any]
) -> None:
    before = {getattr(ref, kind.child): ref for ref in reversed(old)}
    after = {getattr(ref, kind.child): ref for ref in reversed(new)}
    common = {child: ref for child, ref in after.items() if child in before}
    old_order, new_order = _order(kind, old, common), _order(kind, new, common)
    for child in new_order:
        was, now = before[child], after[child]
        at, to = old_order.index(child), new_order.index(child)
        if at != to:  # a renumbering that keeps the order is no move
            numbered = was.order_number != now.order_number
            log.value(
                kind.element,
                child,
                "OrderNumber" if numbered else "position",
                show(was.order_number) if numbered else str(at + 1),
                show(now.order_number) if numbered else str(to + 1),
                parent=parent,
                kind="moved",
            )
        for odm_name, field in kind.attributes:
            one, other = show(getattr(was, field)), show(getattr(now, field))
            if one != other:
                log.value(kind.element, child, odm_name, one, other, parent=parent)
