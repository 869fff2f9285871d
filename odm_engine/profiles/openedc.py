"""OpenEDC: one FormData per save, each with its AuditRecord.

Each save is its own FormData holding only the changed items, with an AuditRecord (possibly
out of schema order, accepted in any position); the FormData of one form are applied in
document order, so the last save wins. ``LocationOID="-"`` means no site. An unfinished
code list is written as a CodeList with no items; it is loaded as an empty code list.
"""

from __future__ import annotations

from odm_engine.profiles import conditions
from odm_engine.profiles.base import FOREIGN_CONTEXT, Profile, Toleration, detect_vendor

PROFILE = Profile(
    "OpenEDC",
    "one FormData per save with its AuditRecord, applied in document order (the last save "
    'wins); AuditRecord accepted in any position; LocationOID="-" means no site',
    detect_vendor(source=lambda s: s == "openedc"),
    tolerations=(
        FOREIGN_CONTEXT,
        Toleration(
            conditions.EMPTY_CODE_LIST,
            "an empty CodeList (OpenEDC's unfinished list) is loaded as a code list with no "
            "items, so no value of an item using it is accepted",
        ),
    ),
)
