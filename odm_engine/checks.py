"""Evaluate a CheckPlan against one subject's data: derivations, skip logic, edit checks.

Order per form: derivations (dependencies first), then conditions (a hidden item's value is
treated as cleared), then, for every collected item, its DataType, CodeList, Mandatory and
RangeChecks. A RangeCheck fires only when its test is definitely false: an empty field or an
unknown partial-date comparison never fires by accident.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from odm_engine import model as m
from odm_engine.clinical import FormKey, GroupKey, ItemKey, SubjectSnapshot
from odm_engine.datatypes import DataTypeProblem, parse_value
from odm_engine.engine_texts import engine_text, speaks_english
from odm_engine.expressions import units as unit_scale
from odm_engine.expressions import values
from odm_engine.expressions.evaluator import DataIndex, Env
from odm_engine.expressions.plan import Bound, CheckPlan, FormPlan, ItemPlan, RangeRule

_TEST = {
    "LT": lambda c: c < 0,
    "LE": lambda c: c <= 0,
    "GT": lambda c: c > 0,
    "GE": lambda c: c >= 0,
    "EQ": lambda c: c == 0,
    "NE": lambda c: c != 0,
}


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One failed check on one item value."""

    check_id: str
    kind: str
    """range, condition, method, datatype, codelist or mandatory."""
    item_key: ItemKey
    severity: str
    """hard (blocks the save) or soft (saved; opens a query)."""
    message: str


@dataclass(slots=True)
class FormEvaluation:
    check_results: list[CheckResult] = field(default_factory=list)
    hidden: set[ItemKey | GroupKey | FormKey] = field(default_factory=set)
    """What is not collected: whole forms, item group rows or single items."""
    derived: dict[ItemKey, str | None] = field(default_factory=dict)
    conditions: dict[tuple[str, ItemKey | GroupKey | FormKey], bool | None] = field(
        default_factory=dict
    )
    """(ConditionDef id, where) -> truth value (None: unknown, so collected)."""


def _label(item: m.ItemDef, lang: str | None, default: str | None) -> str:
    question = item.question.get(lang, default) if item.question else ""
    return f"{item.oid} ({question})" if question else item.oid


def evaluate_form(
    plan: CheckPlan,
    snapshot: SubjectSnapshot,
    form: FormKey,
    *,
    lang: str | None = None,
    today: date | None = None,
    entered_units: Mapping[ItemKey, str] | None = None,
    data: DataIndex | None = None,
    saving: bool = False,
) -> FormEvaluation:
    """Derive, decide what is collected and check every value of one form instance.

    ``saving``: the derived values are stored with this evaluation (a web save, an import),
    so a derived value that differs from the one held is said to replace it, not to need
    recomputing (``edc check`` stores nothing, so it asks for the recomputation).
    """
    result = FormEvaluation()
    form_plan = plan.forms.get(form.form_oid)
    if form_plan is None:
        return result
    data = data or DataIndex(snapshot.values, plan.data_types)
    event = (form.study_event_oid, form.study_event_repeat_key)
    env = Env(data, event=event, form=form, today=today)
    rows = _rows(form_plan, data, form)
    stored = _derive(form_plan, rows, env, result)
    form_condition = _form_hidden(plan, form, env, result)
    if form_condition is not None:
        _hide_form(form_plan, rows, data, lang=lang, plan=plan, why=form_condition, result=result)
        return result
    visible = _apply_conditions(form_plan, rows, env, result, lang=lang, plan=plan)
    units = entered_units or {}
    for group_key, item_plan, key in visible:
        _check_item(
            plan,
            item_plan,
            group_key,
            key,
            env,
            lang=lang,
            entered_units=units,
            result=result,
            stored=stored,
            saving=saving,
        )
    if len(result.check_results) > 1:  # a form that passes (most saves) has nothing to order
        order = {
            (g.group.oid, i.item.oid): n
            for n, (g, i) in enumerate((g, i) for g in form_plan.groups for i in g.items)
        }
        result.check_results.sort(
            key=lambda r: (
                order.get((r.item_key.item_group_oid, r.item_key.item_oid), 0),
                r.item_key.item_group_repeat_key,
            )
        )
    return result


def evaluate_subject(
    plan: CheckPlan,
    snapshot: SubjectSnapshot,
    *,
    lang: str | None = None,
    today: date | None = None,
    entered_units: Mapping[ItemKey, str] | None = None,
) -> dict[FormKey, FormEvaluation]:
    """evaluate_form over every form instance the subject has data in, each after the forms
    whose derived items its derivations read (it reads what they derived)."""
    data = DataIndex(snapshot.values, plan.data_types)
    forms = sorted({k.form_key for k in snapshot.values})
    sources = {f.form_oid: _sources(plan, f.form_oid) for f in forms}
    if any(sources.values()):
        forms = sources_first(forms, sources)
    return {
        form: evaluate_form(
            plan, snapshot, form, lang=lang, today=today, entered_units=entered_units, data=data
        )
        for form in forms
    }


def _sources(plan: CheckPlan, form_oid: str) -> frozenset[str]:
    form = plan.forms.get(form_oid)
    return form.reads_derived_of if form is not None else frozenset()


def sources_first(forms: list[FormKey], sources: Mapping[str, frozenset[str]]) -> list[FormKey]:
    """``forms`` in their order, but each after the forms whose derived items it reads
    (``sources``: FormOID -> those FormOIDs, ``FormPlan.reads_derived_of``); a cycle between
    forms is broken where it is met."""
    out: list[FormKey] = []
    placed: set[FormKey] = set()

    def place(form: FormKey, trail: set[FormKey]) -> None:
        if form in placed or form in trail:
            return
        trail.add(form)
        for other in forms:
            if other.form_oid in sources.get(form.form_oid, ()):
                place(other, trail)
        placed.add(form)
        out.append(form)

    for form in forms:
        place(form, set())
    return out


def _rows(plan: FormPlan, data: DataIndex, form: FormKey) -> list[tuple[GroupKey, int]]:
    """Group rows of the form: those with data, and one empty row per absent plain group."""
    rows: list[tuple[GroupKey, int]] = []
    for index, group in enumerate(plan.groups):
        found = [
            g for g in data.by_def.get((form.form_oid, group.group.oid), []) if g.form_key == form
        ]
        if not found and not group.group.repeating:
            found = [GroupKey(*_form_fields(form), group.group.oid, "")]
        rows.extend((g, index) for g in found)
    return rows


def _form_fields(form: FormKey) -> tuple[str, str, str, str]:
    return (form.study_event_oid, form.study_event_repeat_key, form.form_oid, form.form_repeat_key)


def _truth(bound: Bound, env: Env) -> bool | None:
    value = bound.fn(env)
    return value if isinstance(value, bool) else None


def _derive(
    plan: FormPlan, rows: list[tuple[GroupKey, int]], env: Env, result: FormEvaluation
) -> dict[ItemKey, str | None]:
    """Compute derived items into the data; returns the values stored before."""
    stored: dict[ItemKey, str | None] = {}
    by_item = {
        (g.group.oid, i.item.oid): i for g in plan.groups for i in g.items if i.method is not None
    }
    for group_oid, item_oid in plan.derivation_order:
        item_plan = by_item[(group_oid, item_oid)]
        assert item_plan.method is not None
        for group_key, _ in rows:
            if group_key.item_group_oid != group_oid:
                continue
            env.group = group_key
            text = values.to_text(item_plan.method.fn(env))
            if text is not None and item_plan.item.significant_digits is not None:
                text = _digits(text, item_plan.item.significant_digits)
            key = group_key.item(item_oid)
            result.derived[key] = text
            stored[key] = env.data.text(group_key, item_oid)
            env.data.set(key, text)
    return stored


def _digits(text: str, digits: int) -> str:
    try:
        return str(Decimal(text).quantize(Decimal(1).scaleb(-digits)))
    except ArithmeticError:
        return text


def _form_hidden(plan: CheckPlan, form: FormKey, env: Env, result: FormEvaluation) -> str | None:
    """The OID of the StudyEventRef or FormRef condition that hides ``form``, or None."""
    hidden: str | None = None
    for bound in (
        plan.event_conditions.get(form.study_event_oid),
        plan.form_conditions.get((form.study_event_oid, form.form_oid)),
    ):
        if bound is None:
            continue
        env.group = None
        truth = _truth(bound, env)
        result.conditions[(bound.id, form)] = truth
        if truth is True and hidden is None:
            hidden = bound.id
    if hidden is not None:
        result.hidden.add(form)
    return hidden


def _hide_form(
    form_plan: FormPlan,
    rows: list[tuple[GroupKey, int]],
    data: DataIndex,
    *,
    lang: str | None,
    plan: CheckPlan,
    why: str,
    result: FormEvaluation,
) -> None:
    for group_key, index in rows:
        for item_plan in form_plan.groups[index].items:
            key = group_key.item(item_plan.item.oid)
            if data.text(group_key, item_plan.item.oid) is not None:
                result.check_results.append(_not_collected(plan, item_plan, key, lang, why))


def _not_collected(
    plan: CheckPlan, item_plan: ItemPlan, key: ItemKey, lang: str | None, why: str
) -> CheckResult:
    """``why``: the OID of the ConditionDef that hides the item (its own, its group's or its
    form's), named so the designer can look it up (``edc explain``)."""
    label = _label(item_plan.item, lang, plan.default_lang)
    return CheckResult(
        why,
        "condition",
        key,
        "soft",
        engine_text("not_collected", lang).format(label=label, why=why),
    )


def _apply_conditions(
    form_plan: FormPlan,
    rows: list[tuple[GroupKey, int]],
    env: Env,
    result: FormEvaluation,
    *,
    lang: str | None,
    plan: CheckPlan,
) -> list[tuple[GroupKey, ItemPlan, ItemKey]]:
    visible: list[tuple[GroupKey, ItemPlan, ItemKey]] = []
    data = env.data
    for group_key, index in rows:
        group = form_plan.groups[index]
        env.group = None
        group_hidden: str | None = None
        if group.condition is not None:
            truth = _truth(group.condition, env)
            result.conditions[(group.condition.id, group_key)] = truth
            if truth is True:
                group_hidden = group.condition.id
                result.hidden.add(group_key)
        env.group = group_key
        for item_plan in group.items:
            key = group_key.item(item_plan.item.oid)
            why = group_hidden
            if why is None and item_plan.condition is not None:
                truth = _truth(item_plan.condition, env)
                result.conditions[(item_plan.condition.id, key)] = truth
                why = item_plan.condition.id if truth is True else None
            if why is not None:
                result.hidden.add(key)
                if data.text(group_key, item_plan.item.oid) is not None:
                    result.check_results.append(_not_collected(plan, item_plan, key, lang, why))
                data.set(key, None)
            else:
                visible.append((group_key, item_plan, key))
    return visible


def _check_item(
    plan: CheckPlan,
    item_plan: ItemPlan,
    group_key: GroupKey,
    key: ItemKey,
    env: Env,
    *,
    lang: str | None,
    entered_units: Mapping[ItemKey, str],
    result: FormEvaluation,
    stored: Mapping[ItemKey, str | None],
    saving: bool,
) -> None:
    item = item_plan.item
    text = env.data.text(group_key, item.oid)
    if text is None:
        if item_plan.mandatory and item_plan.method is None:
            result.check_results.append(_missing(plan, item, key, lang))
        return
    before = stored.get(key)
    if item_plan.method is not None and before is not None and not _same(item, before, text):
        result.check_results.append(
            CheckResult(
                item_plan.method.id,
                "method",
                key,
                "soft",
                engine_text("derived_replaced" if saving else "derived_differs", lang).format(
                    label=_label(item, lang, plan.default_lang),
                    before=before,
                    text=text,
                    method=item_plan.method.text,
                ),
            )
        )
    env.group = group_key
    entered = entered_units.get(key) or item_plan.default_unit
    result.check_results.extend(
        value_results(plan, item_plan, key, text, entered=entered, lang=lang, env=env)
    )


def value_results(
    plan: CheckPlan,
    item_plan: ItemPlan,
    key: ItemKey,
    text: str,
    *,
    entered: str | None,
    lang: str | None = None,
    env: Env | None = None,
) -> list[CheckResult]:
    """The DataType, CodeList and RangeCheck results of one collected value ``text`` (in unit
    ``entered``). ``env``, set to the value's group, is needed by expression RangeChecks
    only: without it the item must have none (``odm_engine.local_checks``)."""
    item = item_plan.item
    value, problem = values.read_item(item.data_type, text, item.length, item.significant_digits)
    if problem is not None:
        if not speaks_english(lang):  # read_item remembers the English wording
            problem = _problem_in(item, text, lang)
        label = _label(item, lang, plan.default_lang)
        return [CheckResult(f"{item.oid}#DataType", "datatype", key, "hard", f"{label}: {problem}")]
    if item_plan.code_values is not None and not any(
        values.compare(value, c) == 0 for c in item_plan.code_values
    ):
        code_list = item.code_list_oid
        return [
            CheckResult(
                f"{item.oid}#CodeList",
                "codelist",
                key,
                "hard",
                engine_text("not_coded", lang).format(
                    label=_label(item, lang, plan.default_lang), text=text, code_list=code_list
                ),
            )
        ]
    if not item_plan.range_rules:
        return []
    return list(
        _range_results(
            plan, item_plan, key, env, value=value, text=text, entered=entered, lang=lang
        )
    )


def _problem_in(item: m.ItemDef, text: str, lang: str | None) -> str:
    """The DataType problem of ``text`` worded in ``lang``."""
    parsed = parse_value(
        item.data_type,
        text,
        length=item.length,
        significant_digits=item.significant_digits,
        lang=lang,
    )
    return parsed.message if isinstance(parsed, DataTypeProblem) else ""


def _missing(plan: CheckPlan, item: m.ItemDef, key: ItemKey, lang: str | None) -> CheckResult:
    """The soft result of a Mandatory item left empty (ODM 1.3.2 §3.1.4.2 ItemRef Mandatory)."""
    return CheckResult(
        f"{item.oid}#Mandatory",
        "mandatory",
        key,
        "soft",
        engine_text("mandatory", lang).format(label=_label(item, lang, plan.default_lang)),
    )


def _range_results(
    plan: CheckPlan,
    item_plan: ItemPlan,
    key: ItemKey,
    env: Env | None,
    *,
    value: object,
    text: str,
    entered: str | None,
    lang: str | None,
) -> Iterator[CheckResult]:
    """One result per RangeCheck the typed ``value`` fails, in the ItemDef's order; ``env``
    is already set to the item's group for the expression checks."""
    item = item_plan.item
    for rule in item_plan.range_rules:
        failed = _range_fails(plan, rule, value, entered, env)
        if failed:
            message = rule.error_message.get(lang, plan.default_lang) if rule.error_message else ""
            yield CheckResult(
                rule.check_id,
                "range",
                key,
                "soft" if rule.soft else "hard",
                message
                or _range_message(
                    plan, rule, _label(item, lang, plan.default_lang), text, entered, lang=lang
                ),
            )


def _same(item: m.ItemDef, a: str, b: str) -> bool:
    """The same value: equal, or of equal order (``1.50`` and ``1.5``); two equal partial
    dates are the same value although their order is unknown."""
    va, vb = values.from_item(item.data_type, a), values.from_item(item.data_type, b)
    return va is not None and (va == vb or values.compare(va, vb) == 0)


def constant_range_failures(
    plan: CheckPlan,
    item_plan: ItemPlan,
    value: object,
    text: str,
    entered: str | None,
    *,
    lang: str | None = None,
) -> Iterator[tuple[RangeRule, str]]:
    """Each hard RangeCheck with a Comparator that the typed ``value`` (``text`` as stored,
    in unit ``entered``) fails, with what it asks: its ErrorMessage, else the sentence entry
    would show without its advice (the caller knows what the reader can do).

    These are the checks one value can be held to on its own; an expression RangeCheck
    reads the rest of its subject's data. The impact of a new metadata version on stored
    values (``storage.impact``) asks this, once per distinct value.
    """
    item = item_plan.item
    for rule in item_plan.range_rules:
        if rule.soft or rule.expression is not None:
            continue
        if _constant_fails(plan, rule, value, entered):
            message = rule.error_message.get(lang, plan.default_lang) if rule.error_message else ""
            label = _label(item, lang, plan.default_lang)
            yield rule, message or _range_requirement(plan, rule, label, text, entered, lang=lang)


def _range_fails(
    plan: CheckPlan, rule: RangeRule, value: object, entered: str | None, env: Env | None
) -> bool:
    if rule.expression is not None:
        assert env is not None, "an expression RangeCheck reads its subject's data"
        return rule.expression.fn(env) is False
    return _constant_fails(plan, rule, value, entered)


def _constant_fails(plan: CheckPlan, rule: RangeRule, value: object, entered: str | None) -> bool:
    """A Comparator RangeCheck is definitely false for ``value`` entered in unit ``entered``."""
    if rule.unit_oid and entered and rule.unit_oid != entered:
        factor = unit_scale.factor(entered, rule.unit_oid, plan.units)
        if factor is None or not isinstance(value, int | Decimal):
            return False
        value = Decimal(value) * factor
    comparator = rule.comparator or ""
    if comparator in ("IN", "NOTIN"):
        orders = [values.compare(value, v) for v in rule.check_values]
        if 0 in orders:
            return comparator == "NOTIN"
        return comparator == "IN" and None not in orders
    test = _TEST.get(comparator)
    if test is None or not rule.check_values:
        return False
    order = values.compare(value, rule.check_values[0])  # one CheckValue: the first counts
    return order is not None and not test(order)


def _range_message(
    plan: CheckPlan,
    rule: RangeRule,
    label: str,
    text: str,
    entered: str | None,
    *,
    lang: str | None,
) -> str:
    if rule.expression is not None:
        return engine_text("fails_check", lang).format(
            label=label, text=text, expression=rule.expression.text
        )
    requirement = _range_requirement(plan, rule, label, text, entered, lang=lang)
    return f"{requirement} {engine_text('range_advice', lang)}"


def _range_requirement(
    plan: CheckPlan,
    rule: RangeRule,
    label: str,
    text: str,
    entered: str | None,
    *,
    lang: str | None = None,
) -> str:
    """What a Comparator RangeCheck asks and that ``text`` does not give, in one sentence."""
    unit = plan.units.get(rule.unit_oid or "")
    symbol = f" {unit.symbol.get(None, plan.default_lang) or unit.name}" if unit else ""
    wanted = ", ".join(rule.check_texts)
    entered_note = ""
    if rule.unit_oid and entered and entered != rule.unit_oid:
        entered_unit = plan.units.get(entered)
        if entered_unit is not None:
            shown = entered_unit.symbol.get(None, plan.default_lang) or entered_unit.name
            entered_note = engine_text("entered", lang).format(text=text, unit=shown)
    comparator = rule.comparator or ""
    phrase = engine_text(comparator, lang) if comparator in (*_TEST, "IN", "NOTIN") else ""
    return engine_text("range", lang).format(
        label=label,
        phrase=phrase or comparator,
        wanted=wanted,
        symbol=symbol,
        entered=entered_note,
        text=text,
    )
