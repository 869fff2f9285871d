"""Checks that read nothing but the value they check, compiled once per item (issue 20).

The reference is :func:`odm_engine.checks.evaluate_form`: it builds an evaluator and a data
index per form instance, derives, decides what is collected, then checks every value. For a
FormDef with no ConditionDef (on the form, an event holding it, its groups or items), no
MethodDef and no expression RangeCheck, every check reads one value only: what
``evaluate_form`` says of a NEW form instance is, value by value, what
:func:`~odm_engine.checks.value_results` says of each collected value, plus soft Mandatory
results for the empty ones (an import opens no query for those).

The bulk import (``storage.bulk``) checks the forms of a new subject this way: one call per
value with a RangeCheck, nothing per form instance. Bench figure: the subject-heavy import
(``bench/bench_exchange.py``, 40,000 x 1 form x 4 items, a RangeCheck per form) spent
~110 µs per subject in ``evaluate_form`` and its preparation; value by value, the import's
CPU per subject went from 262-275 to 153-167 µs (commit f3f665a). ``bench/bench_phase3.py``
runs 200,000 form instances with a RangeCheck each. ``tests/expressions/test_local_checks.py``
holds it equal to ``evaluate_form``.
"""

from __future__ import annotations

from collections.abc import Callable

from odm_engine.checks import CheckResult, value_results
from odm_engine.clinical import ItemKey
from odm_engine.expressions.plan import CheckPlan, FormPlan, ItemPlan

LocalCheck = Callable[[ItemKey, str], list[CheckResult]]
"""The results of a value (canonical text, as ``MetadataValidator.canonical`` gives it) of
an item of a local form: its RangeChecks."""


def local_forms(plan: CheckPlan) -> frozenset[str]:
    """FormOIDs whose every check reads only the value it checks."""
    conditioned = {form for (_event, form) in plan.form_conditions}
    for event_oid in plan.event_conditions:
        event = plan.mdv.study_event_defs.get(event_oid)
        if event is not None:
            conditioned.update(ref.form_oid for ref in event.form_refs)
    return frozenset(
        oid
        for oid, form in plan.forms.items()
        if oid not in conditioned and not form.derivation_order and _local(form)
    )


def _local(form: FormPlan) -> bool:
    return not any(
        group.condition is not None
        or any(
            item.condition is not None
            or item.method is not None
            or any(rule.expression is not None for rule in item.range_rules)
            for item in group.items
        )
        for group in form.groups
    )


class LocalChecks:
    """The local forms of a check plan and, per item of theirs, the check of one value."""

    def __init__(self, plan: CheckPlan) -> None:
        self.plan = plan
        self.forms = local_forms(plan)
        self._items: dict[tuple[str, str, str], ItemPlan] = {
            (form_oid, group.group.oid, item.item.oid): item
            for form_oid in self.forms
            for group in plan.forms[form_oid].groups
            for item in group.items
        }

    def is_local(self, form_oid: str) -> bool:
        return form_oid in self.forms

    def check_of(self, key: ItemKey) -> LocalCheck | None:
        """The check of a canonical value of ``key`` on a new instance of its local form;
        None when nothing is left to check once ``canonical`` accepted the value (no
        RangeCheck), or when the form is not local (ask :meth:`is_local`)."""
        item_plan = self._items.get((key.form_oid, key.item_group_oid, key.item_oid))
        if item_plan is None or not item_plan.range_rules:
            return None
        plan, entered = self.plan, item_plan.default_unit

        def check(key: ItemKey, text: str) -> list[CheckResult]:
            return value_results(plan, item_plan, key, text, entered=entered)

        return check
