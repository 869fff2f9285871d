"""Build the :class:`~renderers.print.view.DocumentView` of a blank CRF, an aCRF or a casebook.

Every event and form in Protocol order (StudyEventRef and FormRef OrderNumber), every item in
ItemGroupRef and ItemRef order. The form views of the web renderer
(:class:`renderers.html.FormBuilder`) give question text, help, units, code-list decodes and,
for a casebook, values and the result of skip logic; this module turns them into printed
answer fields, numbers the questions, writes skip logic in words and adds SDTM annotations.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from odm_engine import model as m
from odm_engine.clinical import FormKey, ItemKey
from odm_engine.datatypes import REGISTRY
from odm_engine.errors import EdcError
from odm_engine.expressions import Bound
from odm_engine.rule_words import ConditionPrinter
from renderers.html import FormBuilder, FormState
from renderers.html.view import FieldView as HtmlField
from renderers.html.view import GroupView as HtmlGroup
from renderers.i18n import texts
from renderers.print import sdtm
from renderers.print.appendix import appendices
from renderers.print.data import CasebookData
from renderers.print.view import (
    AnnotationView,
    ChoiceView,
    DocumentView,
    DomainView,
    EntryView,
    EventView,
    FormView,
    GroupView,
    ItemView,
)
from renderers.print.wording import Wording

BOXES_UP_TO = 25
"""Text items up to this Length get one box per character; longer ones get lines."""
CHARS_PER_LINE = 60
MAX_LINES = 4
VERTICAL_ABOVE = 3
"""Code lists with more choices (or any long decode) are listed one per line."""

_Ref = TypeVar("_Ref", m.FormRef, m.StudyEventRef)


def _ordered(refs: Iterable[_Ref]) -> list[_Ref]:
    indexed = sorted(
        enumerate(refs), key=lambda p: (p[1].order_number is None, p[1].order_number or 0, p[0])
    )
    return [ref for _, ref in indexed]


class UnknownMetaDataVersionError(EdcError, LookupError):
    """The study has no MetaDataVersion (with the OID asked for)."""


class DocumentBuilder:
    """Builds print views for one Study's MetaDataVersion in one language."""

    def __init__(
        self, study: m.Study, *, lang: str | None = None, mdv_oid: str | None = None
    ) -> None:
        if study.metadata_version(mdv_oid) is None:
            raise UnknownMetaDataVersionError(
                f"Study {study.oid} has no MetaDataVersion"
                + (f" with OID {mdv_oid!r}" if mdv_oid else "")
            )
        self.study = study
        self.forms = FormBuilder(study, mdv_oid=mdv_oid)
        self.mdv = self.forms.mdv
        self.plan = self.forms.plan
        self.default_lang = self.forms.default_lang
        self.lang = lang or self.default_lang or "en"
        self.ui = texts("print", self.lang)
        self.wording = Wording(self.mdv, self.ui, self.lang, self.default_lang)
        self.words = ConditionPrinter(self.mdv, self.ui, self.lang, self.default_lang)
        self._ids = itertools.count(1)

    def _anchor(self, prefix: str) -> str:
        return f"{prefix}-{next(self._ids)}"

    # -- documents ----------------------------------------------------------------------
    def blank(self) -> DocumentView:
        return self._document("blank", None)

    def annotated(self) -> DocumentView:
        return self._document("acrf", None)

    def casebook(self, data: CasebookData) -> DocumentView:
        return self._document("casebook", data)

    def _document(self, kind: str, data: CasebookData | None) -> DocumentView:
        gv = self.study.global_variables
        printed = (data.printed_at if data and data.printed_at else None) or datetime.now(UTC)
        site = ""
        if data is not None:
            site = " ".join(p for p in (data.snapshot.site_oid, data.site_name) if p)
        return DocumentView(
            kind=kind,
            lang=self.lang,
            ui=self.ui,
            title=self.ui[kind],
            study_name=gv.study_name or self.study.oid,
            protocol_name=gv.protocol_name,
            study_oid=self.study.oid,
            mdv_oid=self.mdv.oid,
            mdv_name=self.mdv.name,
            site=site,
            subject=data.snapshot.subject_key if data else "",
            printed_at=printed.strftime("%Y-%m-%d %H:%M UTC"),
            events=tuple(self._events(kind, data)),
            appendices=appendices(self.wording, data) if data is not None else (),
        )

    # -- events and forms -----------------------------------------------------------------
    def _events(self, kind: str, data: CasebookData | None) -> Iterable[EventView]:
        seen: dict[tuple[str, str], set[str]] = {}
        event_keys: dict[str, set[str]] = {}
        if data is not None:
            for key in itertools.chain(data.snapshot.values, data.snapshot.null_reasons):
                event_keys.setdefault(key.study_event_oid, set()).add(key.study_event_repeat_key)
                ev = (key.study_event_oid, key.study_event_repeat_key)
                seen.setdefault(ev, set()).add(f"{key.form_oid}\0{key.form_repeat_key}")
        for se in self.mdv.study_events_in_order():
            title = self.wording.text(se.description, se.name)
            instruction = self.words.instruction(self.plan.event_conditions.get(se.oid), "event")
            for se_rk in sorted(event_keys.get(se.oid, set())) or [""]:
                forms = []
                for fref in _ordered(se.form_refs):
                    form = self.mdv.form_defs.get(fref.form_oid)
                    if form is None:
                        continue
                    stored = seen.get((se.oid, se_rk), set())
                    keys = sorted(k.split("\0")[1] for k in stored if k.startswith(form.oid + "\0"))
                    for f_rk in keys or [""]:
                        form_key = FormKey(se.oid, se_rk, form.oid, f_rk)
                        forms.append(self._form(kind, form_key, title, data))
                shown = f"{title} [{se_rk}]" if se.repeating and se_rk else title
                yield EventView(self._anchor("ev"), se.oid, shown, instruction, tuple(forms))

    def _form(
        self, kind: str, key: FormKey, event_title: str, data: CasebookData | None
    ) -> FormView:
        form = self.mdv.form_defs[key.form_oid]
        title = self.wording.text(form.description, form.name)
        if form.repeating and key.form_repeat_key:
            title = f"{title} [{key.form_repeat_key}]"
        instruction = self.words.instruction(
            self.plan.form_conditions.get((key.study_event_oid, form.oid)), "form"
        )
        common = {
            "anchor": self._anchor("form"),
            "oid": form.oid,
            "title": title,
            "event_title": event_title,
            "instruction": instruction,
        }
        if data is not None:
            snap = data.snapshot
            status = data.form_status.get(key, "")
            if not any(k.form_key == key for k in itertools.chain(snap.values, snap.null_reasons)):
                return FormView(
                    **common, domains=(), groups=(), status=status, empty_note=self.ui["no_data"]
                )
            state = FormState.from_snapshot(snap, key)
        else:
            status, state = "", FormState()
        html = self.forms.build(form.oid, state, lang=self.lang)
        numbers: dict[str, int] = {}
        for g in html.groups:
            for f in g.fields or (g.template.fields if g.template else ()):
                numbers.setdefault(f.item_oid, len(numbers) + 1)
        form_ctx = _FormContext(self, kind, key, numbers, data)
        groups = tuple(form_ctx.group(g) for g in html.groups)
        domains = tuple(
            DomainView(
                code, sdtm.domain_label(code), form_ctx.colours.colour(code), self._anchor("dom")
            )
            for code in form_ctx.domains
        )
        return FormView(**common, domains=domains, groups=groups, status=status)


class _FormContext:
    """What building one form's groups and items needs."""

    def __init__(
        self,
        builder: DocumentBuilder,
        kind: str,
        key: FormKey,
        numbers: Mapping[str, int],
        data: CasebookData | None,
    ) -> None:
        self.b = builder
        self.kind = kind
        self.key = key
        self.numbers = numbers
        self.data = data
        self.colours = sdtm.DomainColours()
        self.domains: list[str] = []
        plan = builder.plan.forms.get(key.form_oid)
        self.item_conditions: dict[tuple[str, str], Bound | None] = {}
        self.group_conditions: dict[str, Bound | None] = {}
        for gp in plan.groups if plan else ():
            self.group_conditions[gp.group.oid] = gp.condition
            for ip in gp.items:
                self.item_conditions[(gp.group.oid, ip.item.oid)] = ip.condition

    def _domain(self, code: str) -> None:
        if code and code not in self.domains:
            self.domains.append(code)
            self.colours.colour(code)

    def group(self, g: HtmlGroup) -> GroupView:
        b = self.b
        group = b.mdv.item_group_defs[g.oid]
        if self.kind == "acrf":
            self._domain(sdtm.group_domain(group) or "")
        instruction = b.words.instruction(
            self.group_conditions.get(g.oid),
            "group",
            form_oid=self.key.form_oid,
            numbers=self.numbers,
        )
        entries: tuple[EntryView, ...]
        if not g.repeating:
            entries = (EntryView("", tuple(self.item(f, group) for f in g.fields)),)
            note = ""
        elif self.data is None:
            fields = g.template.fields if g.template else ()
            entries = (EntryView(f"{b.ui['entry']} 1", tuple(self.item(f, group) for f in fields)),)
            note = b.ui["repeat_note"]
        else:
            entries = tuple(
                EntryView(
                    f"{b.ui['entry']} {row.repeat_key}",
                    tuple(self.item(f, group) for f in row.fields),
                )
                for row in g.rows
                if row.saved
            )
            note = "" if entries else b.ui["no_data"]
        return GroupView(g.oid, g.legend, instruction, g.repeating, entries, note)

    def item(self, f: HtmlField, group: m.ItemGroupDef) -> ItemView:
        b = self.b
        item = b.mdv.item_defs[f.item_oid]
        helptext = f.help
        if f.method_oid and not helptext and f.method_oid in b.mdv.method_defs:
            helptext = b.wording.text(b.mdv.method_defs[f.method_oid].description, "")
        shape = _shape(item, f, b.ui)
        annotations: tuple[AnnotationView, ...] = ()
        if self.kind == "acrf":
            found = sdtm.item_annotations(item, group)
            for a in found:
                self._domain(a.domain)
            annotations = tuple(
                AnnotationView(a.text, a.domain, self.colours.colour(a.domain)) for a in found
            )
        value, note, ticked = self._value(f)
        choices = tuple(ChoiceView(c.value, c.label, c.value in ticked) for c in f.choices)
        return ItemView(
            anchor=b._anchor("it"),
            item_oid=item.oid,
            number=self.numbers.get(item.oid, 0),
            question=f.label,
            help=helptext,
            instruction=b.words.instruction(
                self.item_conditions.get((group.oid, item.oid)),
                "item",
                form_oid=self.key.form_oid,
                numbers=self.numbers,
            ),
            mandatory=f.mandatory,
            unit=f.unit_symbol if not f.units else "",
            units=tuple(u.symbol for u in f.units),
            choices=choices,
            vertical=len(choices) > VERTICAL_ABOVE or any(len(c.decode) > 30 for c in choices),
            value=value,
            note=note,
            annotations=annotations,
            kind=shape.kind,
            boxes=shape.boxes,
            decimals=shape.decimals,
            lines=shape.lines,
            hint=shape.hint,
        )

    def _value(self, f: HtmlField) -> tuple[str | None, str, frozenset[str]]:
        """Casebook: (value shown, note, ticked codes); a blank CRF has none of them."""
        if self.data is None:
            return None, "", frozenset()
        if f.hidden:
            return "", self.b.ui["not_collected"], frozenset()
        k = self.key
        item_key = ItemKey(
            k.study_event_oid,
            k.study_event_repeat_key,
            k.form_oid,
            k.form_repeat_key,
            f.group_oid,
            f.repeat_key,
            f.item_oid,
        )
        reason = self.data.snapshot.null_reasons.get(item_key)
        if reason is not None:
            return "", self.b.ui["null"].format(reason=reason), frozenset()
        value = f.value
        code_list = self.b.mdv.item_code_list(self.b.mdv.item_defs[f.item_oid])
        if f.widget == "derived" and code_list is not None and value:
            decodes = [c.decode for c in code_list.items if c.coded_value == value]
            decode = self.b.wording.text(decodes[0], "") if decodes else ""
            return (f"{decode} ({value})" if decode else value), "", frozenset()
        if f.choices:
            labels = [f"{c.label} ({c.value})" for c in f.choices if c.value == value]
            return (labels[0] if labels else value), "", frozenset({value})
        if f.units:
            chosen = [u.symbol for u in f.units if u.selected]
            value = f"{value} {chosen[0]}" if value and chosen else value
        elif f.unit_symbol and value:
            value = f"{value} {f.unit_symbol}"
        return value, "", frozenset()


@dataclass(frozen=True, slots=True)
class _Shape:
    """How an answer is drawn (see :class:`ItemView` for the meaning of each field)."""

    kind: str
    boxes: int = 0
    decimals: int = 0
    lines: int = 1
    hint: str = ""


def _shape(item: m.ItemDef, f: HtmlField, ui: Mapping[str, str]) -> _Shape:
    spec = REGISTRY.get(item.data_type)
    paper = spec.entry.paper if spec is not None else "text"
    if f.widget == "derived":
        return _Shape("derived")
    if f.choices:
        return _Shape("choices")
    if f.widget == "checkbox":
        return _Shape("checkbox")
    if spec is not None and paper == "number":
        decimals = 0 if spec.kind == "integer" else max(item.significant_digits or 0, 0)
        length = item.length or 6
        return _Shape("number", boxes=max(length - decimals, 1), decimals=decimals)
    if spec is not None and spec.entry.paper_hint:  # dates and times
        return _Shape(paper, hint=" ".join(ui[key] for key in spec.entry.paper_hint))
    if item.length is not None and item.length <= BOXES_UP_TO:
        return _Shape("boxes", boxes=item.length)
    lines = math.ceil((item.length or CHARS_PER_LINE * 2) / CHARS_PER_LINE)
    return _Shape("lines", lines=min(max(lines, 1), MAX_LINES))
