"""A plain-text outline of a study: events -> forms -> item groups -> items, with counts."""

from __future__ import annotations

from collections.abc import Iterator

from odm_engine import model as m


def _flags(repeating: bool, mandatory: bool | None = None) -> str:
    marks = []
    if repeating:
        marks.append("repeating")
    if mandatory:
        marks.append("mandatory")
    return f" [{', '.join(marks)}]" if marks else ""


def describe(odm: m.ODM, lang: str | None = None) -> Iterator[str]:
    for study in odm.studies:
        gv = study.global_variables
        yield f"Study {study.oid}: {gv.study_name or '(no name)'}"
        if gv.protocol_name:
            yield f"  Protocol: {gv.protocol_name}"
        for mdv in study.metadata_versions:
            yield from _describe_mdv(mdv, lang)
    for admin in odm.admin_data:
        yield (
            f"AdminData: {len(admin.locations)} location(s), {len(admin.users)} user(s), "
            f"{len(admin.signature_defs)} signature definition(s)"
        )
        for loc in admin.locations.values():
            yield f"  Location {loc.oid}: {loc.name} ({loc.location_type or 'type not given'})"


def _describe_mdv(mdv: m.MetaDataVersion, lang: str | None) -> Iterator[str]:
    yield f"  MetaDataVersion {mdv.oid}: {mdv.name}"
    mandatory_events = {
        r.study_event_oid: r.mandatory
        for r in (mdv.protocol.study_event_refs if mdv.protocol else ())
    }
    for sed in mdv.study_events_in_order():
        yield (
            f"    Event {sed.oid}: {sed.name} ({sed.type})"
            f"{_flags(sed.repeating, mandatory_events.get(sed.oid))}"
        )
        for fr in sorted(sed.form_refs, key=lambda r: r.order_number or 0):
            form = mdv.form_defs.get(fr.form_oid)
            if form is None:
                yield f"      Form {fr.form_oid}: (not defined)"
                continue
            yield f"      Form {form.oid}: {form.name}{_flags(form.repeating, fr.mandatory)}"
            for gr in sorted(form.item_group_refs, key=lambda r: r.order_number or 0):
                group = mdv.item_group_defs.get(gr.item_group_oid)
                if group is None:
                    yield f"        Group {gr.item_group_oid}: (not defined)"
                    continue
                yield (
                    f"        Group {group.oid}: {group.name}"
                    f"{_flags(group.repeating, gr.mandatory)}"
                )
                for ir in sorted(group.item_refs, key=lambda r: r.order_number or 0):
                    item = mdv.item_defs.get(ir.item_oid)
                    if item is None:
                        yield f"          Item {ir.item_oid}: (not defined)"
                        continue
                    extra = f", codelist {item.code_list_oid}" if item.code_list_oid else ""
                    yield (
                        f"          Item {item.oid}: {item.question.get(lang) or item.name} "
                        f"({item.data_type}{extra}){_flags(False, ir.mandatory)}"
                    )
    range_checks = sum(len(i.range_checks) for i in mdv.item_defs.values())
    yield (
        f"    Counts: {len(mdv.study_event_defs)} events, {len(mdv.form_defs)} forms, "
        f"{len(mdv.item_group_defs)} item groups, {len(mdv.item_defs)} items, "
        f"{len(mdv.code_lists)} code lists, {len(mdv.condition_defs)} conditions, "
        f"{len(mdv.method_defs)} methods, {range_checks} range checks"
    )
