"""Build the :class:`~renderers.html.view.FormView` of one FormDef: ODM metadata -> page data.

Language: every ODM text is taken in the user's language (TranslatedText by xml:lang),
else in the study's default language (the first language its questions are written in).
Widgets follow the ItemDef: code lists as radio buttons (five items or fewer) or a select,
booleans as a checkbox, integers and floats as text inputs that take a decimal comma or point
(``inputmode``; ``renderers.html.numbers`` reads them) with their unit (a unit select when
there are several), dates as text inputs that accept partial dates, times and datetimes as the
browser's time inputs, text as a text input with maxlength or (Length above 200 or none) a
textarea. Items derived by a MethodDef are read-only.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import replace
from types import MappingProxyType
from typing import Any, TypeVar

from odm_engine import model as m
from odm_engine.clinical import FormKey
from odm_engine.datatypes import REGISTRY, Entry, python_kind
from odm_engine.errors import EdcError
from odm_engine.expressions import CheckPlan
from renderers.html import evaluation, naming
from renderers.html.view import (
    Choice,
    ColumnView,
    FieldView,
    FormState,
    FormView,
    GroupView,
    MessageView,
    RowView,
    UnitChoice,
)
from renderers.i18n import texts

RADIO_LIMIT = 5
"""Code lists with at most this many items are radio buttons; longer ones a select."""
TEXTAREA_ABOVE = 200
"""Text items longer than this (or without a Length) get a textarea."""
BASES_KEPT = 20_000
"""Field bases kept per builder (items x rows x languages); the cache restarts beyond."""

_PLAIN = Entry("text")
"""The entry of a DataType ODM 1.3.2 does not define: a text input."""
_TRUE = ("true", "1", "yes", "y")
_LOCAL_CLOCK = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2}T)?[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?")
"""Values a browser time / datetime-local input can show (no time zone)."""


class UnknownFormError(EdcError, LookupError):
    """The MetaDataVersion has no FormDef with the OID asked for."""


_Ref = TypeVar("_Ref", m.ItemRef, m.ItemGroupRef, m.CodeListItem)
_LISTED = 8
"""FormDefs named in the message for an unknown one; the rest are counted."""


def _unknown_form(mdv: m.MetaDataVersion, form_oid: str) -> str:
    known = list(mdv.form_defs)
    close = difflib.get_close_matches(form_oid, known, n=1, cutoff=0.8)
    hint = f"; did you mean {close[0]}?" if close else ""
    listed = ", ".join(known[:_LISTED]) or "none"
    if len(known) > _LISTED:
        listed += f" and {len(known) - _LISTED} more; `edc info` lists them"
    return (
        f"MetaDataVersion {mdv.oid} has no FormDef with OID {form_oid!r}{hint} (FormDefs: {listed})"
    )


def _ordered(refs: Iterable[_Ref]) -> list[_Ref]:
    """Refs by OrderNumber, then document order (refs without OrderNumber last)."""
    indexed = sorted(
        enumerate(refs), key=lambda p: (p[1].order_number is None, p[1].order_number or 0, p[0])
    )
    return [ref for _, ref in indexed]


def study_default_language(mdv: m.MetaDataVersion) -> str | None:
    for item in mdv.item_defs.values():
        for tt in item.question.translations:
            if tt.lang:
                return tt.lang
    return None


def _sort_keys(keys: Iterable[str]) -> list[str]:
    return sorted(set(keys), key=lambda k: (not k.isdigit(), int(k) if k.isdigit() else 0, k))


class FormBuilder:
    """Builds form views for one Study's MetaDataVersion. Build once, reuse for every page.

    ``plan`` is the study's compiled check plan (``odm_engine.compiled_study.CompiledStudy``);
    when None it is compiled here. It drives skip logic and derivations, on the server (the
    first page) and in the browser (its ``to_client_json``).
    """

    def __init__(
        self,
        study: m.Study,
        *,
        mdv_oid: str | None = None,
        plan: CheckPlan | None = None,
        default_lang: str | None = None,
    ) -> None:
        mdv = study.metadata_version(mdv_oid)
        if mdv is None:
            raise UnknownFormError(
                f"Study {study.oid} has no MetaDataVersion"
                + (f" with OID {mdv_oid!r}" if mdv_oid else "")
            )
        self.study = study
        self.mdv = mdv
        self.units = study.basic_definitions.measurement_units
        self.default_lang = default_lang or study_default_language(mdv)
        if plan is None:
            from odm_engine.compiled_study import CompiledStudy  # noqa: PLC0415 (costly, once)

            plan = CompiledStudy.of(study, mdv).plan
        self.plan = plan
        self._bases: dict[
            tuple[str, str | None, str, str], tuple[Mapping[str, Any], naming.FieldRef | None]
        ] = {}

    @property
    def form_oids(self) -> tuple[str, ...]:
        return tuple(self.mdv.form_defs)

    def _text(self, text: m.Text, lang: str | None) -> str:
        return text.get(lang, self.default_lang)

    def field_base(
        self, group: m.ItemGroupDef, key: str | None, ref: m.ItemRef, lang: str
    ) -> tuple[Mapping[str, Any], naming.FieldRef | None]:
        """What a field of ``ref`` in row ``key`` (None: the template row) takes from the
        metadata alone (names, id, texts), and its FieldRef; made once per row and language."""
        cache_key = (group.oid, key, ref.item_oid, lang)
        found = self._bases.get(cache_key)
        if found is not None:
            return found
        item = self.mdv.item_defs[ref.item_oid]
        if key is None:
            name = naming.template_name(group.oid, item.oid)
            field_ref = None
        else:
            name = naming.field_name(group.oid, key, item.oid)
            field_ref = naming.FieldRef(group.oid, key, item.oid)
        base = MappingProxyType(
            {
                "name": name,
                "id": naming.element_id(name),
                "item_oid": item.oid,
                "group_oid": group.oid,
                "repeat_key": key if key is not None else naming.ROW_PLACEHOLDER,
                "label": self._text(item.question, lang) or item.name,
                "help": self._text(item.description, lang),
                "data_type": item.data_type,
                "mandatory": ref.mandatory,
                "method_oid": ref.method_oid,
                "condition_oid": ref.collection_exception_condition_oid,
            }
        )
        if len(self._bases) >= BASES_KEPT:
            self._bases.clear()
        self._bases[cache_key] = found = (base, field_ref)
        return found

    def build(
        self, form_oid: str, state: FormState | None = None, *, lang: str | None = None
    ) -> FormView:
        form = self.mdv.form_defs.get(form_oid)
        if form is None:
            raise UnknownFormError(_unknown_form(self.mdv, form_oid))
        state = state or FormState()
        lang = lang or self.default_lang or "en"
        form_key = state.form_key or FormKey("", "", form_oid, "")
        rows = self._rows(form, state)
        outcome = evaluation.evaluate(self.plan, form_key, state, rows)
        messages = _Messages(state, form_oid, texts("form", lang))
        ctx = _Ctx(self, lang, state, outcome, messages)
        groups = tuple(
            self._group(ctx, gref, rows)
            for gref in _ordered(form.item_group_refs)
            if gref.item_group_oid in self.mdv.item_group_defs
        )
        client: dict[str, Any] = dict(self.plan.to_client_json(form_oid))
        client["version"] = 1
        client["lang"] = lang
        client["outside"] = outcome.outside
        client["messages"] = {
            k: v
            for k, v in ctx.ui.items()
            if k.startswith(("date.", "number.")) or k.endswith("_row")
        }
        client["messages"]["undo_remove"] = ctx.ui["undo_remove"]
        return FormView(
            oid=form.oid,
            title=self._text(form.description, lang) or form.name,
            help="",
            lang=lang,
            ui=ctx.ui,
            groups=groups,
            messages=messages.leftover(),
            client=client,
            client_id="edc-plan-" + naming.element_id(form.oid)[2:],
        )

    def _rows(self, form: m.FormDef, state: FormState) -> dict[str, list[tuple[str, bool]]]:
        """Repeat keys of every item group of the form, each with whether it is saved."""
        present: dict[str, set[str]] = {}
        for ref in state.values:
            present.setdefault(ref.ig_oid, set()).add(ref.ig_repeat_key)
        for ig_oid, keys in state.repeat_keys.items():
            present.setdefault(ig_oid, set()).update(keys)
        rows: dict[str, list[tuple[str, bool]]] = {}
        for gref in form.item_group_refs:
            group = self.mdv.item_group_defs.get(gref.item_group_oid)
            if group is None or group.oid in rows:
                continue
            found = _sort_keys(present.get(group.oid, ()))
            if not group.repeating:
                rows[group.oid] = [(found[0] if found else "", bool(found))]
            else:
                rows[group.oid] = [(k, True) for k in found] or [("1", False)]
        return rows

    def _group(
        self, ctx: _Ctx, gref: m.ItemGroupRef, rows: Mapping[str, list[tuple[str, bool]]]
    ) -> GroupView:
        group = self.mdv.item_group_defs[gref.item_group_oid]
        refs = [r for r in _ordered(group.item_refs) if r.item_oid in self.mdv.item_defs]
        hidden = group.oid in ctx.outcome.hidden_groups
        common = GroupView(
            oid=group.oid,
            legend=self._text(group.description, ctx.lang) or group.name,
            help="",
            repeating=group.repeating,
            mandatory=gref.mandatory,
            hidden=hidden,
            condition_oid=gref.collection_exception_condition_oid,
        )
        if not group.repeating:
            key = rows[group.oid][0][0]
            return replace(common, fields=tuple(ctx.field(group, key, r, hidden) for r in refs))
        columns = tuple(
            ColumnView(
                item_oid=r.item_oid,
                label=self._text(self.mdv.item_defs[r.item_oid].question, ctx.lang)
                or self.mdv.item_defs[r.item_oid].name,
                help=self._text(self.mdv.item_defs[r.item_oid].description, ctx.lang),
                mandatory=r.mandatory,
                derived=bool(r.method_oid),
            )
            for r in refs
        )
        row_views = tuple(
            RowView(
                repeat_key=key,
                saved=saved,
                remove_name=naming.remove_field_name(group.oid, key),
                fields=tuple(ctx.field(group, key, r, hidden) for r in refs),
            )
            for key, saved in rows[group.oid]
        )
        template = RowView(
            repeat_key=naming.ROW_PLACEHOLDER,
            saved=False,
            remove_name="",
            fields=tuple(ctx.field(group, None, r, False) for r in refs),
        )
        return replace(common, columns=columns, rows=row_views, template=template)


class _Messages:
    """Check results sorted to their fields; the rest are shown at the top of the form."""

    def __init__(self, state: FormState, form_oid: str, ui: Mapping[str, str]) -> None:
        self.ui = ui
        self.by_field: dict[naming.FieldRef, list[tuple[str, str]]] = {}
        self.unplaced: list[tuple[str, str]] = []
        for result in state.check_results:
            severity = "error" if result.severity == "hard" else "query"
            key = result.item_key
            if key is None or key.form_oid != form_oid:
                self.unplaced.append((severity, result.message))
                continue
            ref = naming.FieldRef(key.item_group_oid, key.item_group_repeat_key, key.item_oid)
            self.by_field.setdefault(ref, []).append((severity, result.message))
        self.placed: set[naming.FieldRef] = set()
        self.count = 0

    def _view(self, severity: str, text: str) -> MessageView:
        self.count += 1
        return MessageView(severity, self.ui[severity], text, f"edc-msg-{self.count}")

    def take(self, ref: naming.FieldRef) -> tuple[MessageView, ...]:
        self.placed.add(ref)
        return tuple(self._view(s, t) for s, t in self.by_field.get(ref, ()))

    def leftover(self) -> tuple[MessageView, ...]:
        rest = list(self.unplaced)
        for ref, found in self.by_field.items():
            if ref not in self.placed:
                rest.extend(found)
        return tuple(self._view(s, t) for s, t in rest)


class _Ctx:
    """Everything one build needs to make field views."""

    def __init__(
        self,
        builder: FormBuilder,
        lang: str,
        state: FormState,
        outcome: evaluation.Outcome,
        messages: _Messages,
    ) -> None:
        self.b = builder
        self.lang = lang
        self.state = state
        self.outcome = outcome
        self.messages = messages
        self.ui = texts("form", lang)

    def field(
        self, group: m.ItemGroupDef, key: str | None, ref: m.ItemRef, group_hidden: bool
    ) -> FieldView:
        """The field of ``ref`` in row ``key`` (None: the template row)."""
        item = self.b.mdv.item_defs[ref.item_oid]
        base, field_ref = self.b.field_base(group, key, ref, self.lang)
        hidden = group_hidden or (field_ref is not None and field_ref in self.outcome.hidden)
        value = ""
        if field_ref is not None and not hidden:
            value = self.outcome.derived.get(field_ref, self.state.values.get(field_ref, ""))
        messages = () if field_ref is None or hidden else self.messages.take(field_ref)
        fid = base["id"]
        view: dict[str, Any] = {
            **base,
            "value": value,
            "hidden": hidden,
            "messages": messages,
            "history_url": self.state.history_urls.get(field_ref, "") if field_ref else "",
        }
        view.update(self._widget(item, ref, fid, value))
        view.update(self._units(item, group.oid, key, field_ref))
        if view["widget"] == "checkbox":
            view["checkbox_name"] = (
                naming.field_name(group.oid, key, item.oid, "checkbox")
                if key is not None
                else naming.template_name(group.oid, item.oid, "checkbox")
            )
        return FieldView(**view)

    def _widget(self, item: m.ItemDef, ref: m.ItemRef, fid: str, value: str) -> dict[str, Any]:
        ui, dt = self.ui, item.data_type
        if ref.method_oid:
            return {"widget": "derived", "input_type": "text"}
        code_list = self.b.mdv.item_code_list(item)
        if code_list is not None and code_list.items:
            choices = tuple(
                Choice(
                    value=cli.coded_value,
                    label=self.b._text(cli.decode, self.lang) or cli.coded_value,
                    selected=cli.coded_value == value,
                    id=f"{fid}-{i}",
                )
                for i, cli in enumerate(_ordered(code_list.items))
            )
            widget = "radio" if len(choices) <= RADIO_LIMIT else "select"
            return {"widget": widget, "input_type": "", "choices": choices}
        spec = REGISTRY.get(dt)
        entry = spec.entry if spec is not None else _PLAIN
        if entry.widget == "checkbox":
            checked = value.strip().lower() in _TRUE
            return {
                "widget": "checkbox",
                "input_type": "checkbox",
                "value": "true" if checked else "",
                "answered": bool(value.strip()),
            }
        if entry.widget == "number":  # text, not type=number: see renderers.html.numbers
            return {"widget": "input", "input_type": "text", "number_kind": spec.kind}
        if entry.widget == "date" and entry.hint:
            hint = ui[entry.hint]
            return {"widget": "input", "input_type": "text", "placeholder": hint, "date_kind": dt}
        if entry.widget == "clock" and (not value or _LOCAL_CLOCK.fullmatch(value)):
            kind = "time" if python_kind(dt) == "time" else "datetime-local"
            return {"widget": "input", "input_type": kind, "step": "1"}
        if entry.widget == "text" and entry.hint:
            return {"widget": "input", "input_type": "text", "placeholder": ui[entry.hint]}
        long_text = entry.widget == "long_text" and (
            item.length is None or item.length > TEXTAREA_ABOVE
        )
        return {
            "widget": "textarea" if long_text else "input",
            "input_type": "text",
            "maxlength": item.length,
        }

    def _units(
        self, item: m.ItemDef, ig_oid: str, key: str | None, ref: naming.FieldRef | None
    ) -> dict[str, Any]:
        units = [self.b.units[u] for u in item.measurement_unit_oids if u in self.b.units]
        if not units:
            return {}
        symbols = [self.b._text(u.symbol, self.lang) or u.name for u in units]
        if len(units) == 1:
            return {"unit_symbol": symbols[0]}
        chosen = self.state.units.get(ref) if ref is not None else None
        chosen = chosen if chosen in item.measurement_unit_oids else units[0].oid
        name = (
            naming.field_name(ig_oid, key, item.oid, "unit")
            if key is not None
            else naming.template_name(ig_oid, item.oid, "unit")
        )
        return {
            "unit_name": name,
            "units": tuple(
                UnitChoice(u.oid, s, u.oid == chosen) for u, s in zip(units, symbols, strict=True)
            ),
        }
