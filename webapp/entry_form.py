"""Reading a posted form back into ODM values: the adapter of ``services.entry.read_entry``.

The form's item types come from :data:`FORM_ITEMS` (made once per metadata version and
form); the reading itself (field names, date entry, checkboxes, removed rows) is the
service's.
"""

from __future__ import annotations

from werkzeug.datastructures import MultiDict

from odm_engine.clinical import FormKey
from services.entry import EntryProblem, Posted, form_items, read_entry
from webapp.memo import Memo
from webapp.studyview import StudyContext

__all__ = ["FORM_ITEMS", "EntryProblem", "Posted", "read_post"]

FORM_ITEMS: Memo[tuple[str, str], dict[tuple[str, str], tuple[str, bool]]] = Memo(
    "form items", bound=1024
)
"""By (SHA-256 of the metadata version, FormOID)."""


def _form_items(study: StudyContext, form_oid: str) -> dict[tuple[str, str], tuple[str, bool]]:
    """(ItemGroupOID, ItemOID) -> (DataType, derived) for every ItemRef of the form, made once
    per metadata version (by its SHA-256) and form."""
    return FORM_ITEMS.get((study.sha256, form_oid), lambda: form_items(study.mdv, form_oid))


def read_post(
    study: StudyContext, form_key: FormKey, data: MultiDict[str, str], lang: str | None = None
) -> Posted:
    """The values of ``form_key`` in a posted form (the first value of each name); refused
    dates and numbers are explained in ``lang``."""
    return read_entry(_form_items(study, form_key.form_oid), form_key, data.items(), lang)
