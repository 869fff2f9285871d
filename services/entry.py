"""Form entry: read what a user entered on a form into ODM values, and save it.

:func:`read_entry` turns posted (field name, text) pairs into the values of one form:
names follow ``renderers.html.naming`` (``IG.OID[KEY].IT.OID``); other names (the CSRF
token, the expected version, the reason) are not values. Dates and times go through
``renderers.html.normalise_entry``, and so do numbers (``3,4`` is 3.4); an entry that is not a
date, or a number that cannot be read without guessing (``1,234``, ``1.234,5``), is a hard
problem shown next to its field in the user's language, and nothing is saved. Derived items are
never taken from the browser: the server computes them. An answered checkbox left unticked is
``false``; a removed row clears each of its items. Items that the saved values make not
collected are cleared by ``storage.writes.save_form`` (whatever was posted for them).

:func:`enter_form` saves them: it validates against the subject's data read before the
write transaction (so the validation does not hold the write lock, see
``storage.writes.Prevalidated``), then saves in the write transaction with the version the
user read. Errors are those of ``save_form``; the adapter presents them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from odm_engine import model as m
from odm_engine.clinical import FormKey, ItemKey
from odm_engine.entry_validation import EnteredValue, FormValidator
from renderers.html import (
    DateEntryProblem,
    FieldRef,
    NumberEntryProblem,
    classify_field,
    normalise_entry,
)
from storage.subjects import SubjectRef, data_mark, stored_items
from storage.vocabulary import Role
from storage.writes import SaveResult, prevalidate, save_form

if TYPE_CHECKING:
    from sqlalchemy import Connection

ValueKey = tuple[str, str, str]
"""(ItemGroupOID, ItemGroupRepeatKey, ItemOID) of a value on the form."""
FormItems = Mapping[tuple[str, str], tuple[str, bool]]
"""(ItemGroupOID, ItemOID) -> (DataType, derived) of every ItemRef of a form."""
Transaction = Callable[[], AbstractContextManager["Connection"]]
"""Opens a connection in a transaction (the adapter's: the web's read and write ones)."""


@dataclass(frozen=True, slots=True)
class EntryProblem:
    """A value refused before saving (a date that is not one, a number that cannot be read
    without guessing): shown as a hard error."""

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


def form_items(mdv: m.MetaDataVersion, form_oid: str) -> dict[tuple[str, str], tuple[str, bool]]:
    """(ItemGroupOID, ItemOID) -> (DataType, derived) for every ItemRef of the form (the
    adapter keeps it per metadata version: it is the same for every save)."""
    out: dict[tuple[str, str], tuple[str, bool]] = {}
    form = mdv.form_defs[form_oid]
    for gref in form.item_group_refs:
        group = mdv.item_group_defs.get(gref.item_group_oid)
        for ref in group.item_refs if group else ():
            item = mdv.item_defs.get(ref.item_oid)
            if item is not None:
                out[(group.oid, item.oid)] = (item.data_type, bool(ref.method_oid))
    return out


def read_entry(
    items: FormItems,
    form_key: FormKey,
    fields: Iterable[tuple[str, str]],
    lang: str | None = None,
) -> Posted:
    """The values of ``form_key`` posted as ``fields`` (the first value of each name); the
    messages of refused dates and numbers in ``lang`` (the form catalogue's, English when
    None)."""
    posted = Posted()
    answered: set[ValueKey] = set()
    removed: set[tuple[str, str]] = set()
    for name, text in fields:
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
            if isinstance(entry, DateEntryProblem | NumberEntryProblem):
                key = ItemKey._make((*form_key, *ref))
                kind = "date" if isinstance(entry, DateEntryProblem) else "number"
                message = entry.in_language(lang)
                posted.problems.append(EntryProblem(f"{parsed.item_oid}:{kind}", key, message))
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


def enter_form(
    read: Transaction,
    write: Transaction,
    *,
    subject: SubjectRef,
    form_key: FormKey,
    posted: Posted,
    validator: FormValidator,
    user: str,
    role: Role | str,
    expected_version: int,
    reason: str | None,
    complete: bool,
) -> SaveResult:
    """Save ``posted`` (without entry problems) as ``user`` in ``role``.

    Validates against the data ``read`` gives, then saves in ``write``'s transaction
    (``storage.writes.save_form``, which uses that validation only if the data is still the
    same). Returns the SaveResult (``saved=False``: a hard check failed, nothing written);
    raises what ``save_form`` raises (ReasonRequiredError, TextRefusedError, ConflictError,
    FormNotEditableError, AccessDeniedError).
    """
    with read() as conn:
        mark = data_mark(conn, subject.id)  # before the data it vouches for
        items = stored_items(conn, subject.id)
    checked = prevalidate(
        subject, items, form_key, posted.values, validator, units=posted.units, mark=mark
    )
    with write() as conn:
        return save_form(
            conn,
            study=subject.study_oid,
            subject_key=subject.subject_key,
            form_key=form_key,
            values=posted.values,
            user=user,
            role=role,
            expected_version=expected_version,
            reason=reason,
            complete=complete,
            validator=validator,
            subject=subject,
            prevalidated=checked,
            units=posted.units,
        )
