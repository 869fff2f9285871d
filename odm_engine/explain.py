"""``edc explain OID``: a ConditionDef, MethodDef or ItemDef (its RangeChecks and ItemRefs) in
plain words, for the study designer.

The words for a condition are those the printed CRF uses (:class:`ConditionPrinter`, given the
phrase table of ``renderers.i18n`` section ``print`` by the caller), with items named by OID.
Every use of a condition is said the ODM way round, because designers who know REDCap's
branching logic ("show the field if ...") read it backwards: a CollectionExceptionCondition
that is true HIDES the item, group, form or visit (ODM 1.3.2 §3.1.4.2, "the element is not
collected"); false or unknown, it is asked.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from odm_engine import model as m
from odm_engine.compiled_study import CompiledStudy
from odm_engine.engine_texts import engine_text
from odm_engine.expressions.plan import Bound, RangeRule
from odm_engine.rule_words import ConditionPrinter


class UnknownOid(LookupError):
    """The OID names no ConditionDef, MethodDef or ItemDef; ``str()`` says so and suggests."""


@dataclass(frozen=True, slots=True)
class Use:
    """Where a ConditionDef or MethodDef is attached: ``kind`` (ItemRef, ItemGroupRef, FormRef,
    StudyEventRef), the OID it hides or derives and the definition holding the Ref."""

    kind: str
    target: str
    parent: str


def condition_uses(mdv: m.MetaDataVersion, condition_oid: str) -> list[Use]:
    """Every Ref whose CollectionExceptionConditionOID is ``condition_oid``, in study order."""
    uses = [
        Use("StudyEventRef", r.study_event_oid, "Protocol")
        for r in (mdv.protocol.study_event_refs if mdv.protocol else ())
        if r.collection_exception_condition_oid == condition_oid
    ]
    for event in mdv.study_event_defs.values():
        uses += [
            Use("FormRef", r.form_oid, event.oid)
            for r in event.form_refs
            if r.collection_exception_condition_oid == condition_oid
        ]
    for form in mdv.form_defs.values():
        uses += [
            Use("ItemGroupRef", r.item_group_oid, form.oid)
            for r in form.item_group_refs
            if r.collection_exception_condition_oid == condition_oid
        ]
    for group in mdv.item_group_defs.values():
        uses += [
            Use("ItemRef", r.item_oid, group.oid)
            for r in group.item_refs
            if r.collection_exception_condition_oid == condition_oid
        ]
    return uses


def method_uses(mdv: m.MetaDataVersion, method_oid: str) -> list[Use]:
    """Every ItemRef whose MethodOID is ``method_oid``."""
    return [
        Use("ItemRef", r.item_oid, group.oid)
        for group in mdv.item_group_defs.values()
        for r in group.item_refs
        if r.method_oid == method_oid
    ]


def hidden_sentence(
    use: Use, condition_oid: str, words: str | None, lang: str | None = None
) -> str:
    """ "IT.X is hidden (not collected) when C.Y is true, that is when ...; it is asked
    otherwise." for one use of a condition, in ``lang``."""
    what = engine_text(f"x_{use.kind}", lang).format(target=use.target, parent=use.parent)
    that_is = engine_text("x_that_is", lang).format(words=words) if words else ""
    return engine_text("x_hidden", lang).format(what=what, condition=condition_oid, that_is=that_is)


class Explainer:
    """Explains the definitions of one compiled MetaDataVersion."""

    def __init__(
        self, compiled: CompiledStudy, ui: Mapping[str, str], lang: str | None = None
    ) -> None:
        """``ui``: the phrase table for conditions (``renderers.i18n.texts("print", lang)``);
        ``lang``: the language of the sentences and of the study's own texts (English and the
        study's default when None)."""
        self.mdv = compiled.mdv
        self.plan = compiled.plan
        self.default = compiled.plan.default_lang
        self.lang = lang
        self.words = ConditionPrinter(self.mdv, ui, lang or "en", self.default, name_oids=True)
        self.bounds: dict[str, Bound] = {}
        self.rules: dict[str, list[RangeRule]] = {}
        for form in self.plan.forms.values():
            for group in form.groups:
                for bound in (group.condition, *(i.condition for i in group.items)):
                    if bound is not None:
                        self.bounds.setdefault(bound.id, bound)
                for item in group.items:
                    if item.method is not None:
                        self.bounds.setdefault(item.method.id, item.method)
                    self.rules.setdefault(item.item.oid, list(item.range_rules))
        for bound in (*self.plan.form_conditions.values(), *self.plan.event_conditions.values()):
            self.bounds.setdefault(bound.id, bound)

    def condition_words(self, oid: str) -> str | None:
        """ConditionDef ``oid`` as a clause, or None when it has no words (or did not compile)."""
        bound = self.bounds.get(oid)
        return self.words.phrase(bound.tree) if bound is not None else None

    def explain(self, oid: str) -> list[str]:
        """The lines explaining ``oid``; UnknownOid when it names none of the three kinds."""
        mdv = self.mdv
        if oid in mdv.condition_defs:
            return list(self._condition(mdv.condition_defs[oid]))
        if oid in mdv.method_defs:
            return list(self._method(mdv.method_defs[oid]))
        if oid in mdv.item_defs:
            return list(self._item(mdv.item_defs[oid]))
        other = {**mdv.form_defs, **mdv.item_group_defs, **mdv.study_event_defs}
        if oid in other:
            kind = type(other[oid]).__name__
            raise UnknownOid(self._say("x_other_kind", oid=oid, kind=kind))
        known = [*mdv.condition_defs, *mdv.method_defs, *mdv.item_defs]
        near = difflib.get_close_matches(oid, known, n=1, cutoff=0.75)
        hint = self._say("x_did_you_mean", oid=near[0]) if near else ""
        raise UnknownOid(self._say("x_unknown", oid=oid, hint=hint))

    def _say(self, key: str, **fields: object) -> str:
        return engine_text(key, self.lang).format(**fields)

    def _oel(self, definition: m.ConditionDef | m.MethodDef) -> str:
        return next((f.text for f in definition.formal_expressions), "")

    def _condition(self, cond: m.ConditionDef) -> Iterator[str]:
        words = self.condition_words(cond.oid)
        oel = self._oel(cond)
        when = words or oel or self._say("x_no_expression")
        yield self._say("x_condition", oid=cond.oid, name=cond.name, when=when)
        if oel:
            yield f"  OEL: {oel}"
        description = cond.description.get(self.lang, self.default)
        if description:
            yield self._say("x_description", text=description)
        uses = condition_uses(self.mdv, cond.oid)
        if not uses:
            yield self._say("x_hides_nothing")
        for use in uses:
            yield hidden_sentence(use, cond.oid, words, self.lang)
        yield self._say("x_odm_rule")

    def _method(self, method: m.MethodDef) -> Iterator[str]:
        bound = self.bounds.get(method.oid)
        oel = bound.text if bound is not None else self._oel(method)
        yield self._say(
            "x_method", oid=method.oid, name=method.name, type=method.type, oel=oel or "-"
        )
        description = method.description.get(self.lang, self.default)
        if description:
            yield self._say("x_description", text=description)
        if bound is not None:
            reads = sorted({p.item_oid for p in bound.tree.refs()})
            yield self._say("x_reads", items=", ".join(reads) or self._say("x_no_item"))
        uses = method_uses(self.mdv, method.oid)
        if not uses:
            yield self._say("x_derives_nothing")
        for use in uses:
            yield self._say("x_derives", target=use.target, parent=use.parent)

    def _item(self, item: m.ItemDef) -> Iterator[str]:
        summary = item_summary(item, self.plan.units, self.lang or self.default, words=self.lang)
        yield self._say("x_item", oid=item.oid, name=item.name, summary=summary)
        question = item.question.get(self.lang, self.default)
        if question:
            yield self._say("x_question", text=question)
        for rule in self.rules.get(item.oid, ()):
            # the compiler numbers RangeChecks from 1 in document order: IT.X#RC2
            number = rule.check_id.rpartition("#RC")[2]
            check = item.range_checks[int(number) - 1] if number.isdigit() else None
            yield f"  {self._range(rule, check)}"
        refs = [
            (group.oid, ref)
            for group in self.mdv.item_group_defs.values()
            for ref in group.item_refs
            if ref.item_oid == item.oid
        ]
        if not refs:
            yield self._say("x_never_collected")
        for group_oid, ref in refs:
            yield from self._item_ref(item, group_oid, ref)

    def _item_ref(self, item: m.ItemDef, group_oid: str, ref: m.ItemRef) -> Iterator[str]:
        need = self._say("x_mandatory" if ref.mandatory else "x_optional")
        yield self._say("x_item_ref", group=group_oid, need=need)
        if ref.method_oid:
            yield self._say("x_derived_by", method=ref.method_oid)
        cond = ref.collection_exception_condition_oid
        if cond:
            use = Use("ItemRef", item.oid, group_oid)
            yield f"  {hidden_sentence(use, cond, self.condition_words(cond), self.lang)}"

    def _range(self, rule: RangeRule, check: m.RangeCheck | None) -> str:
        kind = self._say("x_soft" if rule.soft else "x_hard")
        outcome = self._say("x_soft_outcome" if rule.soft else "x_hard_outcome")
        if rule.expression is not None:
            words = self.words.phrase(rule.expression.tree) or rule.expression.text
            want = self._say("x_must_hold", words=words)
        else:
            unit = self.plan.units.get(rule.unit_oid or "")
            symbol = f" {unit.symbol.get(self.lang, self.default) or unit.name}" if unit else ""
            phrase = engine_text(rule.comparator or "", self.lang) if rule.comparator else "?"
            values = ", ".join(rule.check_texts)
            want = self._say("x_must_be", phrase=phrase, values=values, symbol=symbol)
        message = check.error_message.get(self.lang, self.default) if check is not None else ""
        said = f' ("{message}")' if message else ""
        return self._say(
            "x_range", kind=kind, check=rule.check_id, want=want, outcome=outcome, said=said
        )


def item_summary(
    item: m.ItemDef,
    units: Mapping[str, m.MeasurementUnit],
    lang: str | None = None,
    *,
    words: str | None = None,
) -> str:
    """DataType, Length, units (their symbols, in ``lang``) and code list of ``item`` in one
    phrase, said in ``words`` (English when None)."""
    parts = [item.data_type]
    if item.length is not None:
        parts.append(engine_text("x_length", words).format(n=item.length))
    if item.significant_digits is not None:
        parts.append(engine_text("x_significant_digits", words).format(n=item.significant_digits))
    if item.measurement_unit_oids:
        symbols = ", ".join(unit_symbols(item, units, lang))
        parts.append(engine_text("x_units", words).format(symbols=symbols))
    if item.code_list_oid:
        parts.append(engine_text("x_code_list", words).format(oid=item.code_list_oid))
    return ", ".join(parts)


def unit_symbols(
    item: m.ItemDef, units: Mapping[str, m.MeasurementUnit], lang: str | None = None
) -> list[str]:
    """The symbols of the item's MeasurementUnits (the OID of one the study lacks)."""
    out = []
    for oid in item.measurement_unit_oids:
        unit = units.get(oid)
        out.append((unit.symbol.get(lang, None) or unit.name) if unit else oid)
    return out
