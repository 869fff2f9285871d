"""Expression RangeChecks of a new metadata version held against stored subjects.

The other half of ``odm_engine.stored_values`` for the impact of a new version (issue 16): a
hard RangeCheck written as a FormalExpression (``IT.SYSBP GT IT.DIABP``, a date after another
date) reads more of a subject's data than the value it sits on, so it cannot be decided once
per distinct stored value. :func:`changed_expression_items` names the items whose hard
expression checks are new or changed; storage reads the subjects holding values of those items,
one at a time, and :func:`expression_failures` runs the engine's own form evaluation
(``checks.evaluate_form``, the same code a save runs) over the forms holding them, keeping the
failures of exactly those checks.
"""

from __future__ import annotations

from collections.abc import Iterator

from odm_engine import model as m
from odm_engine.checks import CheckResult, evaluate_form
from odm_engine.clinical import FormKey, SubjectSnapshot
from odm_engine.expressions import CheckPlan


def expression_rules(item: m.ItemDef) -> tuple[object, ...]:
    """The hard expression RangeChecks of ``item`` as comparable data (whitespace of the
    expressions and wording of the messages left out)."""
    return tuple(
        (
            rc.comparator,
            tuple((fe.context, " ".join(fe.text.split())) for fe in rc.formal_expressions),
            rc.measurement_unit_oid,
        )
        for rc in item.range_checks
        if rc.formal_expressions and not rc.is_soft
    )


def changed_expression_items(old: m.MetaDataVersion, new: m.MetaDataVersion) -> frozenset[str]:
    """ItemOIDs of ``new`` with hard expression RangeChecks that ``old`` did not have as they
    are (new checks, tightened or rewritten ones, a soft check made hard)."""
    return frozenset(
        oid
        for oid, item in new.item_defs.items()
        if expression_rules(item)
        and (
            oid not in old.item_defs
            or expression_rules(old.item_defs[oid]) != expression_rules(item)
        )
    )


def expression_failures(
    plan: CheckPlan, snapshot: SubjectSnapshot, items: frozenset[str]
) -> Iterator[CheckResult]:
    """The hard expression RangeChecks of ``items`` that ``snapshot``'s stored values fail
    under ``plan`` (the new version compiled), form instance by form instance."""
    checks = {
        rule.check_id
        for form in plan.forms.values()
        for group in form.groups
        for item_plan in group.items
        if item_plan.item.oid in items
        for rule in item_plan.range_rules
        if rule.expression is not None and not rule.soft
    }
    if not checks:
        return
    forms = sorted(
        {
            FormKey(k.study_event_oid, k.study_event_repeat_key, k.form_oid, k.form_repeat_key)
            for k in snapshot.values
            if k.item_oid in items
        }
    )
    for form in forms:
        for result in evaluate_form(plan, snapshot, form).check_results:
            if result.check_id in checks and result.severity == "hard":
                yield result
