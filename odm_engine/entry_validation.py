"""Validation of entered values against the study metadata, before anything is written.

Pure engine logic (no database): the web save (``storage.writes``) and the bulk import
(``storage.bulk``) both ask it, so an import obeys the same rules as the web form.

A :class:`FormValidator` turns requested changes into canonical ODM values plus check results.
:class:`MetadataValidator` is the real one: the ItemDef's DataType and Length
(``odm_engine.datatypes``), its CodeList, and the compiled check plan of the study
(``odm_engine.checks``: RangeChecks, ConditionDefs and CollectionExceptionConditions,
MethodDefs).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from itertools import chain
from typing import Protocol

from odm_engine import model as m
from odm_engine.checks import evaluate_form
from odm_engine.clinical import FormKey, ItemKey, SubjectSnapshot
from odm_engine.compiled_study import CompiledStudy
from odm_engine.datatypes import (
    REGISTRY,
    DataTypeProblem,
    Parsed,
    canonical_checker,
    canonical_text,
    parse_value,
)
from odm_engine.engine_texts import engine_text, speaks_english
from odm_engine.expressions import CheckPlan
from odm_engine.local_checks import LocalChecks


@dataclass(frozen=True, slots=True)
class IsNull:
    """A value recorded as null (ODM ``IsNull="Yes"``), with its reason."""

    reason: str = "Yes"


EnteredValue = str | IsNull | None
"""Text as entered, an explicit null, or None / "" to remove the value."""

_REMEMBERED = 20_000
"""Checked (ItemOID, value) pairs remembered, then forgotten all at once."""
_PLAIN_TYPES = frozenset(name for name, dt in REGISTRY.items() if dt.fast_path is not None)
"""DataTypes whose canonical values ``canonical_text`` recognises without parsing."""

ValueChecker = Callable[[str], object]
"""Canonical text (a str) of a plainly valid value; anything else: ask ``canonical``."""


class CheckResultLike(Protocol):
    @property
    def check_id(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def item_key(self) -> ItemKey | None: ...
    @property
    def severity(self) -> str: ...
    @property
    def message(self) -> str: ...


@dataclass(frozen=True, slots=True)
class ValueProblem:
    """A value refused before any edit check runs (type, length, code list, unknown item)."""

    check_id: str
    kind: str
    item_key: ItemKey | None
    severity: str
    message: str


@dataclass(slots=True)
class FormValidation:
    values: dict[ItemKey, EnteredValue]
    """The requested values in canonical form (None: remove)."""
    results: list[CheckResultLike] = field(default_factory=list)
    derived: dict[ItemKey, str | None] = field(default_factory=dict)
    """Values computed by MethodDefs, to be written with the save."""
    refusal: str | None = None
    """Set when the form may not be saved at all (not collected for this subject)."""
    not_collected: frozenset[ItemKey] = frozenset()
    """Items of the form its conditions hide (ItemRef or ItemGroupRef
    CollectionExceptionCondition) that hold a value, stored or requested: a save clears
    them, whatever was posted for them (issue 14)."""

    @property
    def hard(self) -> list[CheckResultLike]:
        return [r for r in self.results if r.severity == "hard"]

    @property
    def soft(self) -> list[CheckResultLike]:
        return [r for r in self.results if r.severity == "soft"]


class FormValidator(Protocol):
    def validate(
        self,
        snapshot: SubjectSnapshot,
        form_key: FormKey,
        changes: Mapping[ItemKey, EnteredValue],
        units: Mapping[ItemKey, str] | None = None,
    ) -> FormValidation: ...

    def canonical(self, key: ItemKey, value: EnteredValue) -> EnteredValue | ValueProblem: ...

    def unit_problem(self, key: ItemKey, unit: str) -> ValueProblem | None: ...

    def form_has_checks(self, form_oid: str) -> bool: ...

    def derivation_sources(self, form_oid: str) -> frozenset[str]: ...


class MetadataValidator:
    """Validates against one MetaDataVersion (and its check plan when the engine has one)."""

    def __init__(
        self, mdv: m.MetaDataVersion, study: m.Study | None = None, *, plan: CheckPlan | None = None
    ) -> None:
        """``plan``: the study's compiled checks (``CompiledStudy.plan``); compiled here when
        None."""
        self.mdv = mdv
        self._items_of_form: dict[str, set[tuple[str, str]]] = {}
        self.single_groups = frozenset(
            oid for oid, group in mdv.item_group_defs.items() if not group.repeating
        )
        """ItemGroupOIDs that do not repeat: one ItemGroupData per form instance."""
        for form in mdv.form_defs.values():
            pairs = self._items_of_form.setdefault(form.oid, set())
            for gref in form.item_group_refs:
                group = mdv.item_group_defs.get(gref.item_group_oid)
                for iref in group.item_refs if group else ():
                    pairs.add((gref.item_group_oid, iref.item_oid))
        self._code_values: dict[str, frozenset[str]] = {}
        self._checkers: dict[str, tuple[ValueChecker, Callable[[str], str | ValueProblem]]] = {}
        self._seen: dict[tuple[str, str], str | ValueProblem] = {}
        self._plan = plan if plan is not None else _compile(mdv, study)
        self._forms_with_checks = _checks_of(self._plan)

    @classmethod
    def for_odm(cls, odm: m.ODM, study_oid: str | None = None) -> MetadataValidator:
        study = odm.find_study(study_oid) if study_oid else odm.study
        mdv = study.metadata_version() if study else None
        if study is None or mdv is None:
            raise ValueError("the ODM file holds no Study with a MetaDataVersion")
        return cls(mdv, study)

    def form_has_checks(self, form_oid: str) -> bool:
        return form_oid in self._forms_with_checks

    def derivation_sources(self, form_oid: str) -> frozenset[str]:
        """The other forms whose derived items the derivations of ``form_oid`` read."""
        form = self._plan.forms.get(form_oid)
        return form.reads_derived_of if form is not None else frozenset()

    @cached_property
    def local_checks(self) -> LocalChecks:
        """The forms whose checks each read one value, for the bulk path (issue 20)."""
        return LocalChecks(self._plan)

    def unit_problem(
        self, key: ItemKey, unit: str, *, lang: str | None = None
    ) -> ValueProblem | None:
        """Why ``unit`` cannot go with a value of ``key`` (not one of its ItemDef's units)."""
        item = self.mdv.item_defs.get(key.item_oid)
        allowed = item.measurement_unit_oids if item is not None else ()
        if unit in allowed:
            return None
        choices = ", ".join(allowed) or engine_text("no_unit", lang)
        return ValueProblem(
            f"{key.item_oid}#Unit",
            "unit",
            key,
            "hard",
            engine_text("not_a_unit", lang).format(
                where=key.describe(), unit=unit, item=key.item_oid, choices=choices
            ),
        )

    def canonical(
        self, key: ItemKey, value: EnteredValue, *, lang: str | None = None
    ) -> EnteredValue | ValueProblem:
        """The canonical ODM text of ``value`` for ``key``, or why it is refused (in
        ``lang``; the remembered checks hold English, so a refusal is worded again)."""
        problem = self.key_problem(key, lang=lang)
        if problem is not None:
            return problem
        if value is None or value == "" or isinstance(value, IsNull):
            return None if value == "" else value
        checked = self._checker(key.item_oid)(value)
        if type(checked) is str:
            return checked
        if not speaks_english(lang):
            checked = self._check_value(self.mdv.item_defs[key.item_oid], value, lang)
        assert isinstance(checked, ValueProblem)
        return ValueProblem(checked.check_id, checked.kind, key, "hard", checked.message)

    def in_language(self, lang: str | None) -> FormValidator:
        """This validator wording its messages in ``lang`` (the web save of a German user)."""
        return _InLanguage(self, lang)

    def value_checker(self, key: ItemKey) -> ValueChecker | ValueProblem:
        """For the bulk path: a function giving the canonical text of a valid non-empty text
        value for ``key``, or the ValueProblem when ``key`` names no item of its form.

        When the function returns anything but a str, the value is not plainly valid:
        :meth:`canonical` decides, and says why it is refused. The ItemDef's type, length and
        code list are looked up once per key, not once per value.
        """
        problem = self.key_problem(key)
        return problem if problem is not None else self._checks(key.item_oid)[0]

    def key_problem(self, key: ItemKey, *, lang: str | None = None) -> ValueProblem | None:
        """Why ``key`` takes no value: its form has no such item, or its group does not repeat
        (the import's wording; ``edc check`` reports it too, in ``lang``)."""
        pairs = self._items_of_form.get(key.form_oid, ())
        if (key.item_group_oid, key.item_oid) not in pairs:
            return self._not_in_form(key, sorted({item for _, item in pairs}), lang)
        if key.item_group_repeat_key not in VENDOR_SINGLE_KEYS and self._single(key):
            return _repeat_problem(key, lang)
        return None

    def _single(self, key: ItemKey) -> bool:
        return key.item_group_oid in self.single_groups

    def _not_in_form(
        self, key: ItemKey, items_of_form: list[str], lang: str | None
    ) -> ValueProblem:
        """The form lacks the item; a misspelt ItemOID gets the nearest one of the form (or
        of the study), as ``edc validate`` suggests OIDs."""
        near: list[str] = []
        if key.item_oid not in self.mdv.item_defs:  # defined but elsewhere: no guess to make
            near = difflib.get_close_matches(key.item_oid, items_of_form, n=1, cutoff=0.75)
            near = near or difflib.get_close_matches(
                key.item_oid, list(self.mdv.item_defs), n=1, cutoff=0.75
            )
        hint = engine_text("did_you_mean", lang).format(oid=near[0]) if near else ""
        return ValueProblem(
            "metadata",
            "metadata",
            key,
            "hard",
            engine_text("not_in_form", lang).format(
                where=key.describe(),
                form=key.form_oid,
                group=key.item_group_oid,
                item=key.item_oid,
                hint=hint,
            ),
        )

    def _checker(self, item_oid: str) -> Callable[[str], str | ValueProblem]:
        return self._checks(item_oid)[1]

    def _checks(self, item_oid: str) -> tuple[ValueChecker, Callable[[str], str | ValueProblem]]:
        """(fast, full) checks of one ItemDef. ``full`` gives the canonical text or a
        ValueProblem without a key; ``fast`` gives the canonical text of plainly valid values
        (a code list's own codes; canonical text of the plain types) and else not a str.

        ``full`` remembers what it checked (dates with time zones, partial dates, codes
        written differently), a bounded number of values.
        """
        found = self._checkers.get(item_oid)
        if found is not None:
            return found
        item = self.mdv.item_defs[item_oid]
        code_list = self.mdv.item_code_list(item)
        coded: dict[str, str] = {}
        if code_list is not None and code_list.items:
            for value in code_list.coded_values:
                checked = self._check_value(item, value)
                if type(checked) is str:
                    coded[value] = checked
        seen = self._seen

        def full(text: str) -> str | ValueProblem:
            found = coded.get(text) or seen.get((item_oid, text))
            if found is None:
                found = self._check_value(item, text)
                if len(seen) >= _REMEMBERED:
                    seen.clear()
                seen[(item_oid, text)] = found
            return found

        fast: ValueChecker
        if code_list is not None and code_list.items:
            fast = coded.get
        elif item.data_type in _PLAIN_TYPES:
            fast = canonical_checker(
                item.data_type, length=item.length, significant_digits=item.significant_digits
            )
        else:
            fast = full
        self._checkers[item_oid] = (fast, full)
        return fast, full

    def _check_value(
        self, item: m.ItemDef, text: str, lang: str | None = None
    ) -> str | ValueProblem:
        canonical = canonical_text(
            item.data_type,
            text,
            length=item.length,
            significant_digits=item.significant_digits,
            lang=lang,
        )
        if isinstance(canonical, DataTypeProblem):
            return ValueProblem(
                f"{item.oid}:datatype",
                "datatype",
                None,
                "hard",
                f"{item.oid}: {canonical.message}",
            )
        code_list = self.mdv.item_code_list(item)
        if code_list is not None and code_list.items:
            allowed = self._coded_values(code_list, item)
            if canonical not in allowed:
                shown = ", ".join(code_list.coded_values[:10])
                return ValueProblem(
                    f"{item.oid}:codelist",
                    "codelist",
                    None,
                    "hard",
                    engine_text("not_in_code_list", lang).format(
                        item=item.oid, text=text, code_list=code_list.oid, shown=shown
                    ),
                )
        return canonical

    def _coded_values(self, code_list: m.CodeList, item: m.ItemDef) -> frozenset[str]:
        cached = self._code_values.get(code_list.oid)
        if cached is None:
            values = set(code_list.coded_values)
            for coded in code_list.coded_values:
                parsed = parse_value(item.data_type, coded)
                if isinstance(parsed, Parsed):
                    values.add(str(parsed.canonical))
            cached = self._code_values[code_list.oid] = frozenset(values)
        return cached

    def validate(
        self,
        snapshot: SubjectSnapshot,
        form_key: FormKey,
        changes: Mapping[ItemKey, EnteredValue],
        units: Mapping[ItemKey, str] | None = None,
        *,
        lang: str | None = None,
    ) -> FormValidation:
        """Check ``changes`` on the form of ``snapshot``. ``units``: the MeasurementUnitOID
        of each value that has one (chosen now or stored); range checks convert to it. The
        engine's own messages are in ``lang`` (``odm_engine.engine_texts``)."""
        result = FormValidation(values={})
        for key, value in changes.items():
            checked = self.canonical(key, value, lang=lang)
            if isinstance(checked, ValueProblem):
                result.results.append(checked)
            else:
                result.values[key] = checked
        for key, unit in (units or {}).items():
            if key in changes:
                problem = self.unit_problem(key, unit, lang=lang)
                if problem is not None:
                    result.results.append(problem)
        result.results.extend(self._second_instances(snapshot, form_key, result.values, lang))
        if result.hard:
            return result
        evaluation = evaluate_form(
            self._plan,
            apply_changes(snapshot, result.values),
            form_key,
            lang=lang,
            entered_units=units or None,
            saving=True,  # the derived values are written with the save
        )
        if form_key in evaluation.hidden:
            why = ", ".join(
                cid
                for (cid, where), truth in evaluation.conditions.items()
                if where == form_key and truth is True
            )
            result.refusal = engine_text("form_not_collected", lang).format(
                form=form_key.form_oid, subject=snapshot.subject_key, why=why
            )
        result.results.extend(evaluation.check_results)
        result.derived.update(evaluation.derived)
        hidden = evaluation.hidden
        if hidden:
            held = chain(result.values, snapshot.values, snapshot.null_reasons, result.derived)
            result.not_collected = frozenset(
                k for k in held if k.form_key == form_key and (k in hidden or k.group_key in hidden)
            )
        return result

    def _second_instances(
        self,
        snapshot: SubjectSnapshot,
        form_key: FormKey,
        values: Mapping[ItemKey, EnteredValue],
        lang: str | None = None,
    ) -> list[ValueProblem]:
        """A value of a non-repeating group given under another repeat key than the one
        instance the form holds already (stored, or given in the same change)."""
        posted = {
            (k.item_group_oid, k.item_group_repeat_key)
            for k, v in values.items()
            if v is not None and self._single(k)
        }
        if not posted:
            return []
        keys: dict[str, set[str]] = {}
        for k in chain(snapshot.values, snapshot.null_reasons):
            if k.form_key == form_key and k.item_group_oid in self.single_groups:
                keys.setdefault(k.item_group_oid, set()).add(k.item_group_repeat_key)
        for group_oid, repeat_key in sorted(posted):
            keys.setdefault(group_oid, set()).add(repeat_key)
        problems = []
        for k, v in values.items():
            held = keys.get(k.item_group_oid, set()) - {k.item_group_repeat_key}
            if v is not None and held and self._single(k):
                problems.append(second_instance_problem(k, min(held), lang))
        return problems


VENDOR_SINGLE_KEYS = frozenset({"", "1"})
"""Repeat keys a non-repeating ItemGroupDef takes: none, or "1" as OpenClinica and REDCap
number every ItemGroupData (the same one instance; see docs/data-entry.md)."""


def _repeat_problem(key: ItemKey, lang: str | None = None) -> ValueProblem:
    return ValueProblem(
        f"{key.item_group_oid}#Repeating",
        "repeat",
        key,
        "hard",
        engine_text("not_repeating", lang).format(
            group=key.item_group_oid, key=key.item_group_repeat_key
        ),
    )


def second_instance_problem(key: ItemKey, held: str, lang: str | None = None) -> ValueProblem:
    """``key`` names a second instance of a non-repeating group; ``held``: the repeat key of
    the one its form holds."""
    return ValueProblem(
        f"{key.item_group_oid}#Repeating",
        "repeat",
        key,
        "hard",
        engine_text("second_instance", lang).format(group=key.item_group_oid, key=held),
    )


@dataclass(frozen=True, slots=True)
class _InLanguage:
    """A MetadataValidator that words its messages in ``lang`` (``in_language``)."""

    validator: MetadataValidator
    lang: str | None

    def validate(
        self,
        snapshot: SubjectSnapshot,
        form_key: FormKey,
        changes: Mapping[ItemKey, EnteredValue],
        units: Mapping[ItemKey, str] | None = None,
    ) -> FormValidation:
        return self.validator.validate(snapshot, form_key, changes, units, lang=self.lang)

    def canonical(self, key: ItemKey, value: EnteredValue) -> EnteredValue | ValueProblem:
        return self.validator.canonical(key, value, lang=self.lang)

    def unit_problem(self, key: ItemKey, unit: str) -> ValueProblem | None:
        return self.validator.unit_problem(key, unit, lang=self.lang)

    def form_has_checks(self, form_oid: str) -> bool:
        return self.validator.form_has_checks(form_oid)

    def derivation_sources(self, form_oid: str) -> frozenset[str]:
        return self.validator.derivation_sources(form_oid)


def apply_changes(
    snapshot: SubjectSnapshot, values: Mapping[ItemKey, EnteredValue]
) -> SubjectSnapshot:
    plain: dict[ItemKey, str | None] = {
        k: (None if isinstance(v, IsNull) else v) for k, v in values.items()
    }
    after = snapshot.with_values(plain)
    nulls = dict(after.null_reasons)
    for k, v in values.items():
        if isinstance(v, IsNull):
            nulls[k] = v.reason
        else:
            nulls.pop(k, None)
    return SubjectSnapshot(after.subject_key, after.site_oid, after.values, nulls)


def _compile(mdv: m.MetaDataVersion, study: m.Study | None) -> CheckPlan:
    if study is None:
        return CompiledStudy.of_version(mdv).plan
    return CompiledStudy.of(study, mdv).plan


def _checks_of(plan: CheckPlan) -> frozenset[str]:
    """FormOIDs whose evaluation can fail beyond type and code list: conditions on the form
    (FormRef, StudyEventRef, group, item), RangeChecks and derivations."""
    forms = {form for (_event, form) in plan.form_conditions}
    for event_oid in plan.event_conditions:
        event = plan.mdv.study_event_defs.get(event_oid)
        if event is not None:
            forms.update(ref.form_oid for ref in event.form_refs)
    for oid, form in plan.forms.items():
        if form.derivation_order or any(
            g.condition is not None
            or any(i.condition or i.method or i.range_rules for i in g.items)
            for g in form.groups
        ):
            forms.add(oid)
    return frozenset(forms)
