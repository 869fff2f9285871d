""" "Try it": typed values run the checks a save would run, and nothing is written anywhere.

The posted form is read as the app reads it (``services.entry.read_entry``: field names,
date entry, checkboxes, derived items ignored), then checked by the same
``MetadataValidator`` with the same check plan the form was rendered with, against a subject
who has no other data (``PREVIEW-001``). The result is what a site would see on saving:
the hard errors (nothing saved), the soft failures (saved, a query opened each), the
values the MethodDefs derive, the items the CollectionExceptionConditions leave out, and the
form rendered again with the values and messages, as the app shows it after a refused save.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from odm_engine.checks import evaluate_form
from odm_engine.clinical import FormKey, GroupKey, ItemKey, SubjectSnapshot
from odm_engine.entry_validation import EnteredValue, FormValidation, apply_changes
from renderers.html import FieldRef, FormState
from renderers.i18n import texts
from services.entry import form_items, read_entry
from webapp.preview.state import Built

SUBJECT = "PREVIEW-001"


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a save of the typed values would do."""

    saved: bool
    notice: str
    """The app's message after the save (its words, in the form's language)."""
    hard: tuple[str, ...]
    soft: tuple[str, ...]
    derived: tuple[tuple[str, str], ...]
    """(ItemOID, value) of each value a MethodDef computes."""
    not_collected: tuple[str, ...]
    """What the CollectionExceptionConditions leave out of the form (see :func:`_left_out`)."""


def form_key(built: Built, event_oid: str, form_oid: str) -> FormKey:
    """The one form instance the preview shows: repeat key 1 where the event or form repeats."""
    event = built.mdv.study_event_defs.get(event_oid)
    form = built.mdv.form_defs[form_oid]
    return FormKey(
        event_oid,
        "1" if event is not None and event.repeating else "",
        form_oid,
        "1" if form.repeating else "",
    )


def _ui(lang: str, key: str, **fields: object) -> str:
    return texts("web", lang)[key].format(**fields)


def try_form(
    built: Built, key: FormKey, fields: Iterable[tuple[str, str]], lang: str
) -> tuple[Outcome, FormState]:
    """Check the posted ``fields`` of ``key`` as a save would; the state to render them in."""
    posted = read_entry(form_items(built.mdv, key.form_oid), key, fields)
    changes: dict[ItemKey, EnteredValue] = {
        ItemKey(*key, *vkey): value for vkey, value in posted.values.items()
    }
    units = {ItemKey(*key, *vkey): unit for vkey, unit in posted.units.items()}
    empty = SubjectSnapshot(SUBJECT)
    validation = built.validator.validate(empty, key, changes, units, lang=lang)
    results = [*posted.problems, *validation.results]
    hard = tuple(r.message for r in results if r.severity == "hard")
    soft = tuple(r.message for r in results if r.severity == "soft")
    saved = not hard and validation.refusal is None
    after = apply_changes(empty, {**validation.values, **validation.derived})
    state = FormState.from_snapshot(
        after,
        key,
        check_results=results,  # type: ignore[arg-type]
        entered=posted.shown,
        units={FieldRef(*vkey): unit for vkey, unit in posted.units.items()},
    )
    if validation.refusal is not None:
        notice = validation.refusal
    elif saved:
        notice = _ui(lang, "form.saved", opened=len(soft))
    else:
        notice = _ui(lang, "form.hard")
    hidden = evaluate_form(built.plan, after, key, lang=lang).hidden
    outcome = Outcome(saved, notice, hard, soft, _derived(validation), _left_out(hidden))
    return outcome, state


def _derived(validation: FormValidation) -> tuple[tuple[str, str], ...]:
    return tuple(
        (k.item_oid, v or "") for k, v in sorted(validation.derived.items(), key=lambda kv: kv[0])
    )


def _left_out(hidden: Iterable[object]) -> tuple[str, ...]:
    """What the conditions leave out: ``IG/IT`` for an item, ``IG`` for a group's row, the
    FormOID for the whole form."""
    out = set()
    for key in hidden:
        if isinstance(key, ItemKey):
            out.add(f"{key.item_group_oid}/{key.item_oid}")
        elif isinstance(key, GroupKey):
            out.add(key.item_group_oid)
        elif isinstance(key, FormKey):
            out.add(key.form_oid)
    return tuple(sorted(out))
