"""Where items are collected, and what a reference names from a given place in the study.

A reference is resolved statically, once per place it is used (a form and item group), by
scope: the same item group row, then the same form, then the same study event, then the only
place in the study that collects the item. A :class:`Placement` says where the value is read
at run time and whether the reference denotes one value or a list (one per repeat).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from odm_engine import model as m


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a referenced item is read.

    ``level`` is ``row`` (the current item group row), ``form`` (another group of the current
    form), ``event`` (another form of the current study event) or ``study`` (a fixed place).
    ``study_event_oid`` is None for the current event (levels row/form/event) or, at level
    study, when the form belongs to no StudyEventDef (any event).
    """

    item_oid: str
    item_group_oid: str
    form_oid: str
    study_event_oid: str | None
    level: str
    many: bool

    @property
    def source(self) -> tuple[str | None, str, str, str]:
        """Identity of the rows a list reference iterates over."""
        return (self.study_event_oid, self.form_oid, self.item_group_oid, self.level)

    def describe(self) -> str:
        parts = [self.study_event_oid] if self.study_event_oid else []
        return "/".join([*parts, self.form_oid, self.item_group_oid])


@dataclass(frozen=True, slots=True)
class Context:
    """The place an expression is evaluated: a form and item group (either may be None)."""

    form_oid: str | None = None
    item_group_oid: str | None = None
    study_event_oid: str | None = None


_Place = tuple[str | None, str, str]  # (study event or None, form, item group)


class StudyIndex:
    """Structure of one MetaDataVersion, built once for resolving references."""

    def __init__(self, mdv: m.MetaDataVersion) -> None:
        self.mdv = mdv
        self.form_events: dict[str, list[str]] = {}
        for se in mdv.study_event_defs.values():
            for fr in se.form_refs:
                self.form_events.setdefault(fr.form_oid, []).append(se.oid)
        self.places: dict[str, list[_Place]] = {}
        for form in mdv.form_defs.values():
            events: list[str | None] = list(self.form_events.get(form.oid, [])) or [None]
            for gr in form.item_group_refs:
                group = mdv.item_group_defs.get(gr.item_group_oid)
                if group is None:
                    continue
                for ir in group.item_refs:
                    for event in events:
                        place = (event, form.oid, group.oid)
                        self.places.setdefault(ir.item_oid, []).append(place)

    def repeating(self, se: str | None, form: str, group: str) -> tuple[bool, bool, bool]:
        sed = self.mdv.study_event_defs.get(se) if se else None
        fd = self.mdv.form_defs.get(form)
        gd = self.mdv.item_group_defs.get(group)
        return (
            bool(sed and sed.repeating),
            bool(fd and fd.repeating),
            bool(gd and gd.repeating),
        )

    def _split_path(self, path: tuple[str, ...]) -> tuple[str | None, str | None, str | None]:
        """Classify the OIDs before the item in a bracketed path as event, form, group."""
        prefix = path[:-1]
        events, forms = self.mdv.study_event_defs, self.mdv.form_defs
        if len(prefix) == 3:
            return prefix[0], prefix[1], prefix[2]
        if len(prefix) == 2:
            if prefix[0] in events and prefix[0] not in forms:
                return prefix[0], prefix[1], None
            return None, prefix[0], prefix[1]
        if len(prefix) == 1:
            if prefix[0] in events:
                return prefix[0], None, None
            if prefix[0] in forms:
                return None, prefix[0], None
            return None, None, prefix[0]
        return None, None, None

    def resolve(self, path: tuple[str, ...], ctx: Context) -> Placement | str:
        """The placement ``path`` names from ``ctx``, or a message saying why it names none."""
        item = path[-1]
        shown = path[-1] if len(path) == 1 else "[" + "/".join(path) + "]"
        if item not in self.mdv.item_defs:
            near = difflib.get_close_matches(item, list(self.mdv.item_defs), n=1, cutoff=0.75)
            hint = f" (did you mean {near[0]}?)" if near else ""
            return f"'{shown}' names no ItemDef{hint}; add the ItemDef or correct the OID"
        se, form, group = self._split_path(path)
        for kind, oid, table in (
            ("StudyEventDef", se, self.mdv.study_event_defs),
            ("FormDef", form, self.mdv.form_defs),
            ("ItemGroupDef", group, self.mdv.item_group_defs),
        ):
            if oid is not None and oid not in table:
                return f"'{shown}': '{oid}' names no {kind}; correct the path"
        places = [
            p
            for p in self.places.get(item, [])
            if (se is None or p[0] == se)
            and (form is None or p[1] == form)
            and (group is None or p[2] == group)
        ]
        if not places:
            where = " at that path" if len(path) > 1 else ""
            return (
                f"'{shown}' is not collected on any form{where}; add an ItemRef or correct the OID"
            )
        return self._choose(item, shown, places, ctx, explicit_event=se is not None)

    def _choose(
        self, item: str, shown: str, places: list[_Place], ctx: Context, *, explicit_event: bool
    ) -> Placement | str:
        if not explicit_event:
            for _se, form, group in places:
                if form == ctx.form_oid and group == ctx.item_group_oid:
                    return Placement(item, group, form, None, "row", False)
            in_form = sorted({g for _, f, g in places if f == ctx.form_oid})
            if len(in_form) == 1:
                rep = self.repeating(None, ctx.form_oid or "", in_form[0])
                return Placement(item, in_form[0], ctx.form_oid or "", None, "form", rep[2])
            if len(in_form) > 1:
                return self._ambiguous(shown, [(None, ctx.form_oid or "", g) for g in in_form])
            if ctx.study_event_oid is not None:
                events = {ctx.study_event_oid}
            else:
                events = set(self.form_events.get(ctx.form_oid or "", []))
            in_event = sorted({(f, g) for s, f, g in places if s is not None and s in events})
            if len(in_event) == 1:
                f, g = in_event[0]
                rep = self.repeating(None, f, g)
                return Placement(item, g, f, None, "event", rep[1] or rep[2])
            if len(in_event) > 1:
                return self._ambiguous(shown, [(None, f, g) for f, g in in_event])
        unique = sorted(set(places), key=lambda p: (p[0] or "", p[1], p[2]))
        if len(unique) > 1:
            return self._ambiguous(shown, unique)
        se, form, group = unique[0]
        rep = self.repeating(se, form, group)
        return Placement(item, group, form, se, "study", any(rep))

    @staticmethod
    def _ambiguous(shown: str, places: list[_Place]) -> str:
        listed = ", ".join("/".join(p for p in place if p) for place in places[:4])
        more = f" and {len(places) - 4} more" if len(places) > 4 else ""
        item = shown.strip("[]").split("/")[-1]
        example = "/".join(p for p in places[0] if p)
        return (
            f"'{shown}' is collected in several places ({listed}{more}); "
            f"name one with a path such as [{example}/{item}]"
        )
