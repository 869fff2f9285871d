"""Conformance rules the XSD cannot see: references, code lists, range checks, order, use.

Each rule is a generator over one MetaDataVersion (or the ODM root) yielding findings. The
rule table is the list ``RULES``; :func:`iter_rule_findings` runs them all. The reference
rules live in ``reference_rules``, the context and the walk over structural Refs every rule
shares in ``rule_context``; the value, order and use rules are here.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator, Mapping

from odm_engine import datatypes
from odm_engine import model as m
from odm_engine.authoring_rules import (
    coded_value_lengths,
    questions,
    range_check_subjects,
    sas_field_names,
    translations,
)
from odm_engine.findings import Finding, finding
from odm_engine.reading.clinical_refs import DataRef
from odm_engine.reference_rules import admin_references, data_references, references
from odm_engine.rule_context import Rule, RuleContext, structure

CODELIST_TYPES = tuple(name for name, dt in datatypes.REGISTRY.items() if dt.code_list_type)
"""The DataTypes a CodeList may have (integer, float, text, string), from the registry."""


def _takes_code_list(item_type: str, cl_type: str) -> bool:
    """Whether an ItemDef of ``item_type`` takes the values of a CodeList of ``cl_type``."""
    spec = datatypes.REGISTRY.get(item_type)
    return cl_type == item_type or (spec is not None and cl_type in spec.code_list_types)


_REDCAP_BOOLEAN_AS = "integer"


def _did_you_mean(value: str, choices: Iterable[str], attribute: str) -> str:
    """``; did you mean partialDate? Write DataType="partialDate"``, or nothing."""
    options = list(choices)
    near = [c for c in options if c.lower() == value.lower()]
    near = near or difflib.get_close_matches(value, options, n=1, cutoff=0.6)
    return f'; did you mean {near[0]}? Write {attribute}="{near[0]}"' if near else ""


def data_types(ctx: RuleContext) -> Iterator[Finding]:
    for item in ctx.mdv.item_defs.values():
        if item.data_type not in datatypes.DATA_TYPES:
            yield finding(
                "ODM-DT-001",
                path=ctx.path,
                line=item.line,
                oid=item.oid,
                element="ItemDef",
                data_type=item.data_type,
                hint=_did_you_mean(item.data_type, datatypes.DATA_TYPES, "DataType"),
                cause="datatype",
            )


def code_lists(ctx: RuleContext) -> Iterator[Finding]:
    """CodeList DataType fits its items' DataType; each CodedValue parses and is unique."""
    mdv = ctx.mdv
    for cl in mdv.code_lists.values():
        cl_type = cl.data_type
        if cl_type not in CODELIST_TYPES:
            read_as = _REDCAP_BOOLEAN_AS if cl_type == "boolean" else "text"
            yield finding(
                "ODM-CL-004",
                path=ctx.path,
                line=cl.line,
                oid=cl.oid,
                codelist=cl.oid,
                cl_type=cl_type,
                read_as=read_as,
            )
            cl_type = read_as
        seen: set[str] = set()
        for item in cl.items:
            parsed = datatypes.parse_value(cl_type, item.coded_value)
            if isinstance(parsed, datatypes.DataTypeProblem):
                yield finding(
                    "ODM-CL-002",
                    path=ctx.path,
                    line=item.line,
                    oid=cl.oid,
                    value=item.coded_value,
                    codelist=cl.oid,
                    data_type=cl_type,
                    detail=parsed.message,
                )
            if item.coded_value in seen:
                yield finding(
                    "ODM-CL-003",
                    path=ctx.path,
                    line=item.line,
                    oid=cl.oid,
                    value=item.coded_value,
                    codelist=cl.oid,
                )
            seen.add(item.coded_value)
    for item_def in mdv.item_defs.values():
        item_cl = mdv.item_code_list(item_def)
        if item_cl is None or item_cl.data_type not in CODELIST_TYPES:
            continue
        if _takes_code_list(item_def.data_type, item_cl.data_type):
            continue
        # Values that all parse as the item's type still work: a warning, not an error.
        fits = item_def.data_type in datatypes.DATA_TYPES and all(
            not isinstance(
                datatypes.parse_value(item_def.data_type, i.coded_value), datatypes.DataTypeProblem
            )
            for i in item_cl.items
        )
        yield finding(
            "ODM-CL-005" if fits else "ODM-CL-001",
            path=ctx.path,
            line=item_def.line,
            oid=item_def.oid,
            codelist=item_cl.oid,
            cl_type=item_cl.data_type,
            item=item_def.oid,
            item_type=item_def.data_type,
        )


def range_checks(ctx: RuleContext) -> Iterator[Finding]:
    """ODM 1.3.2 §3.1.9.4 RangeCheck: CheckValues parse; IN/NOTIN take several, others one."""
    for item in ctx.mdv.item_defs.values():
        if item.data_type not in datatypes.DATA_TYPES:
            continue
        for rc in item.range_checks:
            if rc.comparator is None:
                if not rc.formal_expressions:
                    yield finding(
                        "ODM-RC-003", path=ctx.path, line=rc.line, oid=item.oid, item=item.oid
                    )
                continue
            count = len(rc.check_values)
            several = rc.comparator in ("IN", "NOTIN")
            wrong = (
                count < 1 if several else count != 1 and not (count == 0 and rc.formal_expressions)
            )
            if wrong:
                yield finding(
                    "ODM-RC-002",
                    path=ctx.path,
                    line=rc.line,
                    oid=item.oid,
                    item=item.oid,
                    comparator=rc.comparator,
                    expected="at least one" if several else "exactly one",
                    count=count,
                    fix="List the allowed values, one CheckValue each."
                    if several
                    else "Use IN or NOTIN to compare with several values.",
                )
            for value in rc.check_values:
                parsed = datatypes.parse_value(item.data_type, value)
                if isinstance(parsed, datatypes.DataTypeProblem):
                    yield finding(
                        "ODM-RC-001",
                        path=ctx.path,
                        line=rc.line,
                        oid=item.oid,
                        item=item.oid,
                        value=value,
                        data_type=item.data_type,
                        detail=parsed.message,
                    )


def _significant_digits_apply(data_type: str) -> bool:
    spec = datatypes.REGISTRY.get(data_type)
    return spec is not None and spec.significant_digits


def lengths(ctx: RuleContext) -> Iterator[Finding]:
    for item in ctx.mdv.item_defs.values():
        problems = []
        if item.length is not None and item.length < 1:
            problems.append(f'Length="{item.length}" must be a positive integer.')
        if item.significant_digits is not None:
            if item.significant_digits < 0:
                problems.append(
                    f'SignificantDigits="{item.significant_digits}" must not be negative.'
                )
            elif not _significant_digits_apply(item.data_type):
                problems.append(
                    f"SignificantDigits applies to float items only, not DataType="
                    f'"{item.data_type}". Remove it.'
                )
            elif item.length is not None and item.significant_digits > item.length:
                problems.append(
                    f'SignificantDigits="{item.significant_digits}" exceeds Length='
                    f'"{item.length}". Make Length at least the number of digits after the '
                    "decimal point."
                )
        for detail in problems:
            yield finding(
                "ODM-LEN-001",
                path=ctx.path,
                line=item.line,
                oid=item.oid,
                item=item.oid,
                detail=detail,
            )


def order_numbers(ctx: RuleContext) -> Iterator[Finding]:
    """OrderNumber is unique among the children of one parent."""
    first_line: dict[tuple[str, int], int] = {}
    numbered = [
        (p.parent, p.element, p.ref.order_number, p.ref.line, p.oid) for p in structure(ctx.mdv)
    ] + [
        (f"CodeList {cl.oid}", "CodeListItem", item.order_number, item.line, cl.oid)
        for cl in ctx.mdv.code_lists.values()
        for item in cl.items
    ]
    for parent, element, order, line, oid in numbered:
        if order is None:
            continue
        if (parent, order) in first_line:
            yield finding(
                "ODM-ORD-001",
                path=ctx.path,
                line=line,
                oid=oid,
                element=element,
                order=order,
                parent=parent,
                first_line=first_line[parent, order],
            )
        else:
            first_line[parent, order] = line


def mandatory_conditions(ctx: RuleContext) -> Iterator[Finding]:
    for placed in structure(ctx.mdv):
        cond = placed.ref.collection_exception_condition_oid
        if placed.ref.mandatory and cond:
            yield finding(
                "ODM-MAN-001",
                path=ctx.path,
                line=placed.ref.line,
                oid=placed.oid,
                element=placed.element,
                condition=cond,
            )


def unused_definitions(ctx: RuleContext) -> Iterator[Finding]:
    """Definitions nothing refers to (warnings): usually a forgotten Ref or a leftover."""
    if ctx.is_define:
        return  # Define-XML datasets and VLM are referenced from def: elements
    mdv = ctx.mdv
    used: dict[str, set[str]] = {
        k: set()
        for k in (
            "StudyEventDef",
            "FormDef",
            "ItemGroupDef",
            "ItemDef",
            "CodeList",
            "ConditionDef",
            "MethodDef",
            "MeasurementUnit",
        )
    }
    for placed in structure(mdv):
        used[placed.target].add(placed.oid)
        _add(used["ConditionDef"], placed.ref.collection_exception_condition_oid)
        if isinstance(placed.ref, m.ItemRef):
            _add(used["MethodDef"], placed.ref.method_oid)
            _add(used["MethodDef"], placed.ref.imputation_method_oid)
            _add(used["CodeList"], placed.ref.role_code_list_oid)
    for item in mdv.item_defs.values():
        _add(used["CodeList"], item.code_list_oid)
        used["MeasurementUnit"].update(item.measurement_unit_oids)
        for rc in item.range_checks:
            _add(used["MeasurementUnit"], rc.measurement_unit_oid)
    tables: list[tuple[str, Mapping[str, m.Node]]] = [
        ("StudyEventDef", mdv.study_event_defs if mdv.protocol is not None else {}),
        ("FormDef", mdv.form_defs if mdv.study_event_defs else {}),
        ("ItemGroupDef", mdv.item_group_defs if mdv.form_defs else {}),
        ("ItemDef", mdv.item_defs if mdv.item_group_defs else {}),
        ("CodeList", mdv.code_lists),
        ("ConditionDef", mdv.condition_defs),
        ("MethodDef", mdv.method_defs),
    ]
    if ctx.study.metadata_versions and ctx.study.metadata_versions[-1] is ctx.mdv:
        for other in ctx.study.metadata_versions:
            for item in other.item_defs.values():
                used["MeasurementUnit"].update(item.measurement_unit_oids)
                for rc in item.range_checks:
                    _add(used["MeasurementUnit"], rc.measurement_unit_oid)
        tables.append(("MeasurementUnit", ctx.study.basic_definitions.measurement_units))
    for element, table in tables:
        for oid, node in table.items():
            if oid not in used[element]:
                yield finding(
                    "ODM-UNUSED-001", path=ctx.path, line=node.line, oid=oid, element=element
                )


def _add(target: set[str], oid: str | None) -> None:
    if oid:
        target.add(oid)


RULES: tuple[Rule, ...] = (
    references,
    data_types,
    code_lists,
    coded_value_lengths,
    range_checks,
    lengths,
    order_numbers,
    mandatory_conditions,
    unused_definitions,
    questions,
    translations,
    sas_field_names,
    range_check_subjects,
)


def iter_rule_findings(
    odm: m.ODM,
    *,
    path: str | None = None,
    is_define: bool = False,
    data_refs: Iterable[DataRef] = (),
) -> Iterator[Finding]:
    for study in odm.studies:
        for mdv in study.metadata_versions:
            ctx = RuleContext(odm, study, mdv, path, is_define)
            for rule in RULES:
                yield from rule(ctx)
    yield from admin_references(odm, path)
    yield from data_references(odm, data_refs, path)
