"""Where each finding of a previewed file is shown: next to the element it concerns.

A finding names an OID (``Finding.oid``) and a line. The preview shows it on every form that
holds that element: an ItemDef's finding next to the item's field (or the column head of a
repeating group), a CodeList's next to each item that uses it, a ConditionDef's or
MethodDef's next to the item or group whose Ref names it, an ItemGroupDef's under the group's
legend, a FormDef's under the form title. A finding whose OID is no such element (a
CodeListRef naming no CodeList reports the missing OID) is placed by its line: the
MetaDataVersion child whose element holds that line. What no form shows is listed on the
page (and on the index, with every finding).

The markup is added to the renderer's output, never made by it: the form stays the one sites
see, with the findings around it. Insertion points are the renderer's own attributes
(``renderers.html.render`` documents them); ODM text is escaped there, so the first ``>``
after an attribute ends its tag.
"""

from __future__ import annotations

import bisect
import html
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from markupsafe import Markup, escape

from odm_engine import model as m
from odm_engine.findings import Finding

_FIELD = re.compile(
    r'<div class="field[^"]*" data-field="[^"]*" data-group="[^"]*" '
    r'data-item="(?P<oid>[^"]*)" data-key=""[^>]*>'
)
_COLUMN = re.compile(r'<th scope="col" data-item="(?P<oid>[^"]*)">')
_GROUP = re.compile(
    r'<fieldset class="item-group[^"]*" data-group="(?P<oid>[^"]*)"[^>]*>\s*'
    r"<legend>.*?</legend>",
    re.S,
)
_TITLE = re.compile(r'<h2 class="form-title">.*?</h2>', re.S)


@dataclass(frozen=True, slots=True)
class Placement:
    """The findings of one file by the OID of the element they are shown next to."""

    by_oid: Mapping[str, tuple[Finding, ...]]
    form_oids: Mapping[str, frozenset[str]]
    """FormOID -> every OID shown on that form (its groups, items, code lists, conditions,
    methods)."""
    item_oids: Mapping[tuple[str, str], frozenset[str]]
    """(FormOID, ItemOID) -> the OIDs whose findings go next to that item on that form."""
    group_oids: Mapping[tuple[str, str], frozenset[str]]
    """(FormOID, ItemGroupOID) -> the OIDs whose findings go under that group's legend."""

    def on_form(self, form_oid: str) -> list[Finding]:
        """The findings shown inline on ``form_oid``, in file order."""
        oids = self.form_oids.get(form_oid, frozenset())
        found = {id(f): f for oid in oids for f in self.by_oid.get(oid, ())}
        return sorted(found.values(), key=_order)

    def forms_of(self, oid: str) -> tuple[str, ...]:
        """The forms that show the findings placed at ``oid`` next to their element."""
        return tuple(form for form, oids in self.form_oids.items() if oid in oids)

    def placed(self) -> list[tuple[str, Finding]]:
        """(OID it is shown at, or "", finding) of every finding, in file order."""
        pairs = [(oid, f) for oid, found in self.by_oid.items() for f in found]
        return sorted(pairs, key=lambda pair: _order(pair[1]))

    def annotate(self, form_oid: str, body: str, source_url: str) -> Markup:
        """``body`` (the renderer's form) with each finding of the form next to its element."""

        def block(oids: Iterable[str], css: str) -> str:
            found = {id(f): f for oid in oids for f in self.by_oid.get(oid, ())}
            if not found:
                return ""
            items = "".join(finding_li(f, source_url) for f in sorted(found.values(), key=_order))
            return f'<ul class="preview-findings {css}">{items}</ul>'

        def field(match: re.Match[str]) -> str:
            oid = html.unescape(match["oid"])
            return match[0] + block(self.item_oids.get((form_oid, oid), ()), "at-item")

        def group(match: re.Match[str]) -> str:
            oid = html.unescape(match["oid"])
            return match[0] + block(self.group_oids.get((form_oid, oid), ()), "at-group")

        out = _FIELD.sub(field, body)
        out = _COLUMN.sub(field, out)
        out = _GROUP.sub(group, out)
        out = _TITLE.sub(lambda t: t[0] + block((form_oid,), "at-form"), out, count=1)
        return Markup(out)  # noqa: S704 (the renderer's escaped markup; our parts escaped)


def finding_li(f: Finding, source_url: str) -> str:
    """One finding as a list item: severity, code, message and its line linked to the source."""
    where = (
        f'<a class="line" href="{escape(source_url)}#L{f.line}">line {f.line}</a> '
        if f.line
        else ""
    )
    return (
        f'<li class="finding {escape(f.severity.value)}" data-code="{escape(f.code)}">'
        f"{where}<strong>{escape(f.code)}</strong> {escape(f.severity.value)}: "
        f"{escape(f.message)}</li>"
    )


def _order(f: Finding) -> tuple[int, str]:
    return (f.line or 0, f.code)


def _children(mdv: m.MetaDataVersion) -> list[tuple[int, str]]:
    """(line, OID) of each definition of the MetaDataVersion, in file order."""
    defs: list[Iterable[m.Node]] = [
        mdv.study_event_defs.values(),
        mdv.form_defs.values(),
        mdv.item_group_defs.values(),
        mdv.item_defs.values(),
        mdv.code_lists.values(),
        mdv.condition_defs.values(),
        mdv.method_defs.values(),
    ]
    return sorted((n.line, getattr(n, "oid", "")) for group in defs for n in group if n.line)


def _form_maps(
    mdv: m.MetaDataVersion,
) -> tuple[dict[tuple[str, str], frozenset[str]], dict[tuple[str, str], frozenset[str]]]:
    items: dict[tuple[str, str], set[str]] = {}
    groups: dict[tuple[str, str], set[str]] = {}
    for form in mdv.form_defs.values():
        for gref in form.item_group_refs:
            group = mdv.item_group_defs.get(gref.item_group_oid)
            at_group = groups.setdefault((form.oid, gref.item_group_oid), {gref.item_group_oid})
            if gref.collection_exception_condition_oid:
                at_group.add(gref.collection_exception_condition_oid)
            for ref in group.item_refs if group else ():
                at_item = items.setdefault((form.oid, ref.item_oid), {ref.item_oid})
                item = mdv.item_defs.get(ref.item_oid)
                extra = (
                    ref.collection_exception_condition_oid,
                    ref.method_oid,
                    item.code_list_oid if item else None,
                )
                at_item.update(oid for oid in extra if oid)
    return (
        {k: frozenset(v) for k, v in items.items()},
        {k: frozenset(v) for k, v in groups.items()},
    )


def place(findings: Iterable[Finding], mdv: m.MetaDataVersion | None) -> Placement:
    """Where each finding of ``findings`` is shown on the forms of ``mdv``."""
    if mdv is None:  # nothing to place them on: all listed
        listed = tuple(sorted(findings, key=_order))
        return Placement(MappingProxyType({"": listed} if listed else {}), {}, {}, {})
    items, groups = _form_maps(mdv)
    form_oids: dict[str, set[str]] = {oid: {oid} for oid in mdv.form_defs}
    for (form_oid, _), oids in (*items.items(), *groups.items()):
        form_oids[form_oid].update(oids)
    shown = set().union(*form_oids.values()) if form_oids else set()
    children = _children(mdv)
    lines = [line for line, _ in children]
    by_oid: dict[str, list[Finding]] = {}
    for f in findings:
        oid = f.oid if f.oid in shown else _owner(children, lines, f.line)
        by_oid.setdefault(oid or "", []).append(f)
    return Placement(
        MappingProxyType({k: tuple(v) for k, v in by_oid.items()}),
        {k: frozenset(v) for k, v in form_oids.items()},
        items,
        groups,
    )


_LAST_SPAN = 200
"""Lines after the last definition still counted as its own (its element's end is unknown)."""


def _owner(children: list[tuple[int, str]], lines: list[int], line: int | None) -> str | None:
    """The OID of the definition whose element holds ``line`` (its start line is the last one
    at or before ``line``)."""
    if not line or not children:
        return None
    at = bisect.bisect_right(lines, line) - 1
    if at < 0 or (at == len(lines) - 1 and line - lines[at] > _LAST_SPAN):
        return None
    return children[at][1]
