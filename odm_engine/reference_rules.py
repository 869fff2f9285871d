"""Reference rules: every OID an ODM file uses names something that exists (ODM 1.3.2 §3.1).

Metadata references (Include, the structural Refs, conditions, methods, code lists,
presentations, measurement units) are checked per MetaDataVersion (``references``, one
helper per kind of reference); AdminData and ClinicalData references once per file. Each
missing target is one ODM-REF-001 (ODM-DATA-001 for ClinicalData), located at the referrer.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator, Mapping

from odm_engine import model as m
from odm_engine.findings import Finding, finding
from odm_engine.reading.clinical_refs import DataRef
from odm_engine.rule_context import RuleContext, definition_tables, structure


def _ref(  # noqa: PLR0917 -- one positional call shape per reference kind
    ctx: RuleContext,
    node: m.Node,
    element: str,
    attribute: str,
    oid: str | None,
    target: str,
    table: Mapping[str, object],
    scope: str | None = None,
) -> Iterator[Finding]:
    if oid is None or oid in table:
        return
    yield finding(
        "ODM-REF-001",
        path=ctx.path,
        line=node.line,
        oid=oid,
        element=element,
        attribute=attribute,
        target=target,
        scope=scope or f'MetaDataVersion "{ctx.mdv.oid}"',
        hint=nearest(oid, table),
        cause=_misspelt(oid, table),
    )


def _misspelt(oid: str, table: Iterable[str]) -> str | None:
    """``misspelt:IT.AGE`` when ``oid`` is a near miss of a defined OID: the finding that the
    defined one is never referenced follows from this one (``validate`` leaves it out)."""
    near = difflib.get_close_matches(oid, list(table), n=1, cutoff=0.75)
    return f"misspelt:{near[0]}" if near else None


def nearest(oid: str, table: Iterable[str]) -> str:
    """`` (did you mean "IT.AGE"?)`` for the defined OID closest to ``oid``, else nothing."""
    near = difflib.get_close_matches(oid, list(table), n=1, cutoff=0.75)
    return f' (did you mean "{near[0]}"?)' if near else ""


def references(ctx: RuleContext) -> Iterator[Finding]:
    """ODM 1.3.2 §3.1: every Ref and OID attribute names a definition that exists."""
    yield from _include_reference(ctx)
    yield from _structure_references(ctx)
    yield from _archive_layout_references(ctx)
    yield from _item_def_references(ctx)


def _include_reference(ctx: RuleContext) -> Iterator[Finding]:
    """Include names a MetaDataVersion of a Study in this file (§3.1.2.1)."""
    inc = ctx.mdv.include
    if inc is None:
        return
    found = any(
        s.oid == inc.study_oid
        and any(v.oid == inc.metadata_version_oid for v in s.metadata_versions)
        for s in ctx.odm.studies
    )
    if not found:
        yield finding(
            "ODM-REF-001",
            path=ctx.path,
            line=inc.line,
            oid=inc.metadata_version_oid,
            element="Include",
            attribute="MetaDataVersionOID",
            target="MetaDataVersion",
            scope=f'Study "{inc.study_oid}" in this file',
            hint="",
        )


def _structure_references(ctx: RuleContext) -> Iterator[Finding]:
    """Each structural Ref names its definition, and its condition (and an ItemRef's methods
    and role code list) exist."""
    mdv = ctx.mdv
    tables = definition_tables(mdv)
    for placed in structure(mdv):
        ref = placed.ref
        yield from _ref(
            ctx,
            ref,
            placed.element,
            f"{placed.target.removesuffix('Def')}OID",
            placed.oid,
            placed.target,
            tables[placed.target],
        )
        if isinstance(ref, m.ItemRef):
            yield from _item_ref_references(ctx, ref)
        yield from _ref(
            ctx,
            ref,
            placed.element,
            "CollectionExceptionConditionOID",
            ref.collection_exception_condition_oid,
            "ConditionDef",
            mdv.condition_defs,
        )


def _item_ref_references(ctx: RuleContext, ref: m.ItemRef) -> Iterator[Finding]:
    """An ItemRef's MethodOID, ImputationMethodOID and RoleCodeListOID exist."""
    mdv = ctx.mdv
    yield from _ref(ctx, ref, "ItemRef", "MethodOID", ref.method_oid, "MethodDef", mdv.method_defs)
    yield from _ref(
        ctx,
        ref,
        "ItemRef",
        "ImputationMethodOID",
        ref.imputation_method_oid,
        "MethodDef",
        mdv.method_defs,
    )
    yield from _ref(
        ctx,
        ref,
        "ItemRef",
        "RoleCodeListOID",
        ref.role_code_list_oid,
        "CodeList",
        mdv.code_lists,
    )


def _archive_layout_references(ctx: RuleContext) -> Iterator[Finding]:
    """A FormDef's ArchiveLayout names a Presentation that exists."""
    mdv = ctx.mdv
    for fd in mdv.form_defs.values():
        for layout in fd.archive_layouts:
            yield from _ref(
                ctx,
                layout,
                "ArchiveLayout",
                "PresentationOID",
                layout.presentation_oid,
                "Presentation",
                mdv.presentations,
            )


def _item_def_references(ctx: RuleContext) -> Iterator[Finding]:
    """An ItemDef's CodeList and its (and its RangeChecks') MeasurementUnits exist."""
    mdv = ctx.mdv
    units = ctx.study.basic_definitions.measurement_units
    study_scope = f'Study "{ctx.study.oid}" BasicDefinitions'
    for item in mdv.item_defs.values():
        yield from _ref(
            ctx,
            item,
            "CodeListRef",
            "CodeListOID",
            item.code_list_oid,
            "CodeList",
            mdv.code_lists,
        )
        for unit in item.measurement_unit_oids:
            yield from _ref(
                ctx,
                item,
                "MeasurementUnitRef",
                "MeasurementUnitOID",
                unit,
                "MeasurementUnit",
                units,
                study_scope,
            )
        for rc in item.range_checks:
            yield from _ref(
                ctx,
                rc,
                "RangeCheck MeasurementUnitRef",
                "MeasurementUnitOID",
                rc.measurement_unit_oid,
                "MeasurementUnit",
                units,
                study_scope,
            )


def admin_references(odm: m.ODM, path: str | None) -> Iterator[Finding]:
    """Location MetaDataVersionRef and User LocationRef resolve."""
    for admin in odm.admin_data:
        for loc in admin.locations.values():
            for ref in loc.metadata_version_refs:
                study = odm.find_study(ref.study_oid)
                if study is None or study.metadata_version(ref.metadata_version_oid) is None:
                    yield finding(
                        "ODM-REF-001",
                        path=path,
                        line=ref.line,
                        oid=ref.metadata_version_oid,
                        element="MetaDataVersionRef",
                        attribute="MetaDataVersionOID",
                        target="MetaDataVersion",
                        scope=f'Study "{ref.study_oid}" in this file',
                        hint="",
                    )
        for user in admin.users.values():
            for loc_oid in user.location_oids:
                if loc_oid not in admin.locations:
                    yield finding(
                        "ODM-REF-001",
                        path=path,
                        line=user.line,
                        oid=loc_oid,
                        element=f"User {user.oid} LocationRef",
                        attribute="LocationOID",
                        target="Location",
                        scope="AdminData",
                        hint=nearest(loc_oid, admin.locations),
                    )


def data_references(odm: m.ODM, refs: Iterable[DataRef], path: str | None) -> Iterator[Finding]:
    """ClinicalData in the same file as its metadata names only defined OIDs."""
    if not odm.studies:
        return
    sites = {oid for admin in odm.admin_data for oid in admin.locations}
    for ref in refs:
        study = odm.find_study(ref.study_oid)
        if ref.attribute == "StudyOID":
            if study is None:
                yield _data_finding(path, ref, "Study")
            continue
        if study is None:
            continue
        mdv = study.metadata_version(ref.metadata_version_oid)
        if ref.attribute == "MetaDataVersionOID":
            if mdv is None:
                yield _data_finding(path, ref, "MetaDataVersion")
            continue
        if mdv is None:
            continue
        tables: dict[str, tuple[Mapping[str, object], str]] = {
            "StudyEventOID": (mdv.study_event_defs, "StudyEventDef"),
            "FormOID": (mdv.form_defs, "FormDef"),
            "ItemGroupOID": (mdv.item_group_defs, "ItemGroupDef"),
            "ItemOID": (mdv.item_defs, "ItemDef"),
        }
        if ref.attribute == "LocationOID":
            if odm.admin_data and ref.oid not in sites:
                yield _data_finding(path, ref, "Location in AdminData")
            continue
        table, target = tables[ref.attribute]
        if ref.oid not in table:
            yield _data_finding(path, ref, target)


def _data_finding(path: str | None, ref: DataRef, target: str) -> Finding:
    return finding(
        "ODM-DATA-001",
        path=path,
        line=ref.line,
        oid=ref.oid,
        element=ref.element,
        oid_attr=ref.attribute,
        target=target,
    )
