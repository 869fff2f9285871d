"""Walk a MetaDataVersion and build its CheckPlan: forms, groups, items, events."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from types import MappingProxyType

from odm_engine import model as m
from odm_engine.expressions import values
from odm_engine.expressions.compiler import CompileResult, _Compiler
from odm_engine.expressions.plan import Bound, CheckPlan, FormPlan, GroupPlan, ItemPlan
from odm_engine.expressions.resolver import Context

_NO_UNITS: Mapping[str, m.MeasurementUnit] = MappingProxyType({})


def compile_study(
    mdv: m.MetaDataVersion,
    *,
    path: str | None = None,
    units: Mapping[str, m.MeasurementUnit] = _NO_UNITS,
) -> CompileResult:
    """Compile every check, condition and derivation of ``mdv`` into a CheckPlan."""
    c = _Compiler(mdv, path, units)
    methods: dict[str, list[tuple[str, Bound]]] = {}
    forms = {form.oid: _form_plan(c, mdv, form, methods) for form in mdv.form_defs.values()}
    form_conditions = _form_conditions(c, mdv)
    event_conditions = _event_conditions(c, mdv)
    _compile_unused(c, mdv)
    broken = _cycles(c, methods)
    forms = _cross_form_sources({oid: _ordered(plan, broken) for oid, plan in forms.items()})
    plan = CheckPlan(
        mdv=mdv,
        forms=forms,
        form_conditions=form_conditions,
        event_conditions=event_conditions,
        units=units,
        default_lang=_default_lang(mdv),
        data_types={oid: item.data_type for oid, item in mdv.item_defs.items()},
    )
    return CompileResult(plan, c.findings)


def _form_plan(
    c: _Compiler,
    mdv: m.MetaDataVersion,
    form: m.FormDef,
    methods: dict[str, list[tuple[str, Bound]]],
) -> FormPlan:
    """The plan of one FormDef, its groups and items in Ref order; each derivation it holds
    is also added to ``methods`` (item OID -> (form OID, method)) for the cycle check."""
    groups = []
    form_ctx = Context(form.oid, None)
    for gref in form.item_group_refs:
        group = mdv.item_group_defs.get(gref.item_group_oid)
        if group is None:
            continue
        ctx = Context(form.oid, group.oid)
        items = []
        for iref in group.item_refs:
            item = mdv.item_defs.get(iref.item_oid)
            if item is None:
                continue
            item_plan = _item_plan(c, mdv, iref, item, ctx)
            if item_plan.method is not None:
                methods.setdefault(item.oid, []).append((form.oid, item_plan.method))
            items.append(item_plan)
        groups.append(
            GroupPlan(
                group,
                gref.mandatory,
                c.condition(gref.collection_exception_condition_oid, form_ctx),
                tuple(items),
            )
        )
    return FormPlan(form, tuple(groups), ())


def _item_plan(
    c: _Compiler, mdv: m.MetaDataVersion, iref: m.ItemRef, item: m.ItemDef, ctx: Context
) -> ItemPlan:
    """One ItemRef's condition, derivation (ODM or REDCap), coded values and range rules."""
    condition = c.condition(iref.collection_exception_condition_oid, ctx)
    if condition is None and not iref.collection_exception_condition_oid:
        condition = c.redcap("BranchingLogic", iref, item, ctx)
    method = c.method(iref.method_oid, ctx, item)
    if method is None and not iref.method_oid:
        method = c.redcap("Calculation", iref, item, ctx)
    code_list = mdv.item_code_list(item)
    code_values = None
    if code_list is not None and code_list.items and not code_list.external_code_list:
        code_values = tuple(values.from_item(item.data_type, v) for v in code_list.coded_values)
    return ItemPlan(
        item=item,
        mandatory=iref.mandatory,
        code_values=code_values,
        condition=condition,
        method=method,
        range_rules=c.range_rules(item, ctx),
        default_unit=(
            item.measurement_unit_oids[0] if len(item.measurement_unit_oids) == 1 else None
        ),
    )


def _form_conditions(c: _Compiler, mdv: m.MetaDataVersion) -> dict[tuple[str, str], Bound]:
    """(StudyEventDef OID, FormDef OID) -> the FormRef's collection exception condition."""
    form_conditions: dict[tuple[str, str], Bound] = {}
    for se in mdv.study_event_defs.values():
        for fref in se.form_refs:
            bound = c.condition(
                fref.collection_exception_condition_oid, Context(study_event_oid=se.oid)
            )
            if bound is not None:
                form_conditions[(se.oid, fref.form_oid)] = bound
    return form_conditions


def _event_conditions(c: _Compiler, mdv: m.MetaDataVersion) -> dict[str, Bound]:
    """StudyEventDef OID -> the Protocol StudyEventRef's collection exception condition."""
    event_conditions: dict[str, Bound] = {}
    for sref in mdv.protocol.study_event_refs if mdv.protocol else ():
        bound = c.condition(sref.collection_exception_condition_oid, Context())
        if bound is not None:
            event_conditions[sref.study_event_oid] = bound
    return event_conditions


def _compile_unused(c: _Compiler, mdv: m.MetaDataVersion) -> None:
    """ConditionDefs and MethodDefs nobody references are still checked, from the study level."""
    for cond in mdv.condition_defs.values():
        if cond.oid not in c._sources:
            c.condition(cond.oid, Context())
    for method in mdv.method_defs.values():
        if method.oid not in c._sources:
            c.source_of(
                method.oid,
                kind="method",
                owner=f"METHOD {method.oid}",
                expressions=method.formal_expressions,
                owner_element="MethodDef",
            )


def _cycles(c: _Compiler, methods: Mapping[str, list[tuple[str, Bound]]]) -> set[str]:
    """Items whose derivations depend on themselves; each cycle is reported once."""
    graph = {
        item: {p.item_oid for _, b in bounds for p in b.tree.refs() if p.item_oid in methods}
        for item, bounds in methods.items()
    }
    broken: set[str] = set()
    state: dict[str, int] = {}

    def visit(item: str, trail: list[str]) -> None:
        state[item] = 1
        for dep in sorted(graph.get(item, ())):
            if state.get(dep) == 1:
                cycle = [*trail[trail.index(dep) :], dep] if dep in trail else [item, dep]
                broken.update(cycle)
                bound = methods[cycle[0]][0][1]
                c.report(
                    "ODM-EXPR-109",
                    line=_line(c, bound.id),
                    oid=bound.id,
                    owner=_owner(bound),
                    cycle=" -> ".join(cycle),
                )
            elif dep not in state:
                visit(dep, [*trail, dep])
        state[item] = 2

    for item in graph:
        if item not in state:
            visit(item, [item])
    return broken


def _owner(bound: Bound) -> str:
    if "#redcap:" in bound.id:
        return f"CALCULATION {bound.id.split('#')[0]}"
    return f"METHOD {bound.id}"


def _line(c: _Compiler, id_: str) -> int | None:
    source = c._sources.get(id_)
    return source.line if source is not None else None


def _ordered(plan: FormPlan, broken: set[str]) -> FormPlan:
    """Drop derivations caught in a cycle; order the rest so dependencies come first."""
    groups = []
    derived: dict[str, tuple[str, set[str]]] = {}
    for group in plan.groups:
        items = []
        for original in group.items:
            item = original
            if item.method is not None and item.item.oid in broken:
                item = replace(item, method=None)
            if item.method is not None:
                deps = {p.item_oid for p in item.method.tree.refs()}
                derived.setdefault(item.item.oid, (group.group.oid, deps))
            items.append(item)
        groups.append(GroupPlan(group.group, group.mandatory, group.condition, tuple(items)))
    order: list[tuple[str, str]] = []
    done: set[str] = set()

    def place(item: str) -> None:
        if item in done:
            return
        done.add(item)
        for dep in sorted(derived[item][1]):
            if dep in derived:
                place(dep)
        order.append((derived[item][0], item))

    for oid in derived:
        place(oid)
    return FormPlan(plan.form, tuple(groups), tuple(order))


def _cross_form_sources(forms: dict[str, FormPlan]) -> dict[str, FormPlan]:
    """Each form plan with the other forms whose derived items its derivations read."""
    derived = {(oid, item) for oid, plan in forms.items() for _group, item in plan.derivation_order}
    for oid, plan in forms.items():
        sources = frozenset(
            ref.form_oid
            for group in plan.groups
            for item in group.items
            if item.method is not None
            for ref in item.method.tree.refs()
            if ref.form_oid != oid and (ref.form_oid, ref.item_oid) in derived
        )
        if sources:
            forms[oid] = replace(plan, reads_derived_of=sources)
    return forms


def _default_lang(mdv: m.MetaDataVersion) -> str | None:
    for item in mdv.item_defs.values():
        for tt in item.question.translations:
            if tt.lang:
                return tt.lang
    return None
