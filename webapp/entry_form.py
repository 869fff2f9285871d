"""Reading a posted form back into ODM values: field names, date entry, checkboxes, rows.

Names follow ``renderers.html.naming`` (``IG.OID[KEY].IT.OID``); other names (the CSRF
token, the expected version, the reason) are not values. Dates and times go through
``renderers.html.normalise_entry``; an entry that is not a date is a hard problem shown next
to its field, and nothing is saved. Derived items are never taken from the browser: the
server computes them. Items that the saved values make not collected are cleared by
``storage.writes.save_form`` (whatever was posted for them).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from werkzeug.datastructures import MultiDict

from odm_engine.clinical import FormKey, ItemKey
from odm_engine.entry_validation import EnteredValue
from renderers.html import DateEntryProblem, FieldRef, classify_field, normalise_entry
from webapp.memo import Memo
from webapp.studyview import StudyContext

ValueKey = tuple[str, str, str]


@dataclass(frozen=True, slots=True)
class EntryProblem:
    """A value refused before saving (a date that is not one): shown as a hard error."""

    check_id: str
    item_key: ItemKey | None
    message: str
    severity: str = "hard"
    kind: str = "entry"


@dataclass(slots=True)
class Posted:
    values: dict[ValueKey, EnteredValue] = field(default_factory=dict)
    """What to save: (ItemGroupOID, repeat key, ItemOID) -> canonical text, or "" to clear."""
    shown: dict[FieldRef, str] = field(default_factory=dict)
    """What the user typed, to show again when the save is refused."""
    units: dict[ValueKey, str] = field(default_factory=dict)
    """The MeasurementUnitOID chosen next to a value (items with several units)."""
    problems: list[EntryProblem] = field(default_factory=list)


FORM_ITEMS: Memo[tuple[str, str], dict[tuple[str, str], tuple[str, bool]]] = Memo(
    "form items", bound=1024
)
"""By (SHA-256 of the metadata version, FormOID)."""


def _form_items(study: StudyContext, form_oid: str) -> dict[tuple[str, str], tuple[str, bool]]:
    """(ItemGroupOID, ItemOID) -> (DataType, derived) for every ItemRef of the form, made once
    per metadata version (by its SHA-256) and form."""
    return FORM_ITEMS.get((study.sha256, form_oid), lambda: _read_form_items(study, form_oid))


def _read_form_items(study: StudyContext, form_oid: str) -> dict[tuple[str, str], tuple[str, bool]]:
    mdv = study.mdv
    out: dict[tuple[str, str], tuple[str, bool]] = {}
    form = mdv.form_defs[form_oid]
    for gref in form.item_group_refs:
        group = mdv.item_group_defs.get(gref.item_group_oid)
        for ref in group.item_refs if group else ():
            item = mdv.item_defs.get(ref.item_oid)
            if item is not None:
                out[(group.oid, item.oid)] = (item.data_type, bool(ref.method_oid))
    return out


def read_post(study: StudyContext, form_key: FormKey, data: MultiDict[str, str]) -> Posted:
    items = _form_items(study, form_key.form_oid)
    posted = Posted()
    answered: set[ValueKey] = set()
    removed: set[tuple[str, str]] = set()
    for name, text in data.items():  # the first value of each name
        parsed = classify_field(name)
        if parsed is None:
            continue
        part = parsed.part
        if part == "value":
            data_type, derived = items.get((parsed.ig_oid, parsed.item_oid), ("text", False))
            if derived:
                continue
            ref = FieldRef._make(parsed[:3])  # equal to (and hashed as) the plain ValueKey
            posted.shown[ref] = text
            entry = normalise_entry(data_type, text)
            if isinstance(entry, DateEntryProblem):
                key = ItemKey._make((*form_key, *ref))
                posted.problems.append(EntryProblem(f"{parsed.item_oid}:date", key, entry.message))
            else:
                posted.values[ref] = entry
        elif part == "unit":
            posted.units[(parsed.ig_oid, parsed.ig_repeat_key, parsed.item_oid)] = text
        elif part == "checkbox":
            answered.add((parsed.ig_oid, parsed.ig_repeat_key, parsed.item_oid))
        elif part == "remove":
            removed.add((parsed.ig_oid, parsed.ig_repeat_key))
    for vkey in answered - set(posted.values):  # an answered checkbox left unticked
        posted.values[vkey] = "false"
    for vkey in list(posted.units):  # a unit goes with a value given in the same post
        if posted.values.get(vkey) in (None, ""):
            del posted.units[vkey]
    for ig_oid, repeat_key in removed:
        for group_oid, item_oid in items:
            if group_oid == ig_oid:
                posted.values[(ig_oid, repeat_key, item_oid)] = ""
    return posted
