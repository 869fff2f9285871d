"""A plain-text outline of a study: events -> forms -> item groups -> items, with counts.

Each item line carries what a designer checks first: DataType, units (their symbols), code
list, Mandatory, the MethodDef that derives it, the ConditionDef that hides it, and its
RangeChecks; a group, form or event line names its own condition. ``edc explain OID`` says
any of them in words.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from odm_engine import model as m
from odm_engine.explain import unit_symbols


def _flags(repeating: bool, mandatory: bool | None = None, hidden_by: str | None = None) -> str:
    marks = []
    if repeating:
        marks.append("repeating")
    if mandatory:
        marks.append("mandatory")
    if hidden_by:
        marks.append(f"hidden when {hidden_by} is true")
    return f" [{', '.join(marks)}]" if marks else ""


def _hides(ref: m.StudyEventRef | m.ItemGroupRef | None) -> str | None:
    return ref.collection_exception_condition_oid if ref is not None else None


def _range_check(rc: m.RangeCheck) -> str:
    """``GT 20 soft``; ``expression hard`` for a FormalExpression RangeCheck."""
    test = f"{rc.comparator} {', '.join(rc.check_values)}" if rc.comparator else "expression"
    unit = f" {rc.measurement_unit_oid}" if rc.measurement_unit_oid else ""
    return f"{test}{unit} {rc.soft_hard.lower()}"


def _definitions(mdv: m.MetaDataVersion) -> Iterator[str]:
    """Each ConditionDef and MethodDef with its expression, for the OIDs the items name."""
    for title, table in (
        ("Conditions (true hides what names them)", mdv.condition_defs),
        ("Derivations", mdv.method_defs),
    ):
        if table:
            yield f"    {title}:"
        for oid, definition in table.items():
            oel = next((f.text for f in definition.formal_expressions), "(no expression)")
            yield f"      {oid}: {oel}"


def _item_line(
    item: m.ItemDef, ref: m.ItemRef, units: Mapping[str, m.MeasurementUnit], lang: str | None
) -> str:
    details = [item.data_type]
    if item.measurement_unit_oids:
        details.append("units " + ", ".join(unit_symbols(item, units, lang)))
    if item.code_list_oid:
        details.append(f"codelist {item.code_list_oid}")
    marks = []
    if ref.mandatory:
        marks.append("mandatory")
    if ref.method_oid:
        marks.append(f"derived by {ref.method_oid}")
    if ref.collection_exception_condition_oid:
        marks.append(f"hidden when {ref.collection_exception_condition_oid} is true")
    if item.range_checks:
        marks.append("checks " + "; ".join(_range_check(rc) for rc in item.range_checks))
    flags = f" [{', '.join(marks)}]" if marks else ""
    return f"Item {item.oid}: {item.question.get(lang) or item.name} ({', '.join(details)}){flags}"


def describe(odm: m.ODM, lang: str | None = None) -> Iterator[str]:
    for study in odm.studies:
        gv = study.global_variables
        yield f"Study {study.oid}: {gv.study_name or '(no name)'}"
        if gv.protocol_name:
            yield f"  Protocol: {gv.protocol_name}"
        units = study.basic_definitions.measurement_units
        for mdv in study.metadata_versions:
            yield from _describe_mdv(mdv, lang, units)
    for admin in odm.admin_data:
        yield (
            f"AdminData: {len(admin.locations)} location(s), {len(admin.users)} user(s), "
            f"{len(admin.signature_defs)} signature definition(s)"
        )
        for loc in admin.locations.values():
            yield f"  Location {loc.oid}: {loc.name} ({loc.location_type or 'type not given'})"


def _describe_mdv(
    mdv: m.MetaDataVersion, lang: str | None, units: Mapping[str, m.MeasurementUnit]
) -> Iterator[str]:
    yield f"  MetaDataVersion {mdv.oid}: {mdv.name}"
    event_refs = {
        r.study_event_oid: r for r in (mdv.protocol.study_event_refs if mdv.protocol else ())
    }
    for sed in mdv.study_events_in_order():
        ref = event_refs.get(sed.oid)
        yield (
            f"    Event {sed.oid}: {sed.name} ({sed.type})"
            f"{_flags(sed.repeating, bool(ref and ref.mandatory), _hides(ref))}"
        )
        for fr in sorted(sed.form_refs, key=lambda r: r.order_number or 0):
            form = mdv.form_defs.get(fr.form_oid)
            if form is None:
                yield f"      Form {fr.form_oid}: (not defined)"
                continue
            flags = _flags(form.repeating, fr.mandatory, fr.collection_exception_condition_oid)
            yield f"      Form {form.oid}: {form.name}{flags}"
            for gr in sorted(form.item_group_refs, key=lambda r: r.order_number or 0):
                group = mdv.item_group_defs.get(gr.item_group_oid)
                if group is None:
                    yield f"        Group {gr.item_group_oid}: (not defined)"
                    continue
                yield (
                    f"        Group {group.oid}: {group.name}"
                    f"{_flags(group.repeating, gr.mandatory, _hides(gr))}"
                )
                for ir in sorted(group.item_refs, key=lambda r: r.order_number or 0):
                    item = mdv.item_defs.get(ir.item_oid)
                    if item is None:
                        yield f"          Item {ir.item_oid}: (not defined)"
                        continue
                    yield f"          {_item_line(item, ir, units, lang)}"
    yield from _definitions(mdv)
    range_checks = sum(len(i.range_checks) for i in mdv.item_defs.values())
    yield (
        f"    Counts: {len(mdv.study_event_defs)} events, {len(mdv.form_defs)} forms, "
        f"{len(mdv.item_group_defs)} item groups, {len(mdv.item_defs)} items, "
        f"{len(mdv.code_lists)} code lists, {len(mdv.condition_defs)} conditions, "
        f"{len(mdv.method_defs)} methods, {range_checks} range checks"
    )
