"""REDCap: classic projects put FormData directly under SubjectData.

That FormData is read into the study event ``IMPLICIT_STUDY_EVENT_OID`` (ODM-IMP-001).
Checkbox fields arrive as one boolean item per choice (``field___1``) and import as those
items; ``DataType="boolean"`` code lists are read as integer code lists (ODM-CL-004).
``redcap:`` attributes are kept on their records.
"""

from __future__ import annotations

from dataclasses import replace

from odm_engine import model as m
from odm_engine.profiles import conditions
from odm_engine.profiles.base import (
    FOREIGN_CONTEXT,
    IMPLICIT_STUDY_EVENT_OID,
    Profile,
    Toleration,
    detect_vendor,
)

NAMESPACE = "https://projectredcap.org"


def normalise(mdv: m.MetaDataVersion) -> m.MetaDataVersion:
    """``DataType="boolean"`` code lists become integer code lists (their codes are 0 and 1),
    and file-upload fields (``redcap:FieldType="file"``) lose their Length, which REDCap sets
    for the file name while its exports carry the file content."""
    code_lists = {
        oid: replace(cl, data_type="integer") if cl.data_type == "boolean" else cl
        for oid, cl in mdv.code_lists.items()
    }
    items = {
        oid: replace(item, length=None)
        if item.ext_attribute(NAMESPACE, "FieldType") == "file"
        else item
        for oid, item in mdv.item_defs.items()
    }
    return replace(mdv, code_lists=code_lists, item_defs=items)


PROFILE = Profile(
    "REDCap",
    "FormData directly under SubjectData is read into study event "
    f"{IMPLICIT_STUDY_EVENT_OID}; checkbox items (field___N) import as one item per choice; "
    "redcap: attributes are kept",
    detect_vendor(source=lambda s: s.startswith("redcap"), namespace=NAMESPACE),
    NAMESPACE,
    tolerations=(
        FOREIGN_CONTEXT,
        Toleration(
            conditions.BOOLEAN_CODE_LIST,
            "REDCap's boolean code lists are read as integer code lists (0/1)",
        ),
        Toleration(
            conditions.FORM_DATA_UNDER_SUBJECT,
            f"FormData directly under SubjectData is read into study event "
            f"{IMPLICIT_STUDY_EVENT_OID}",
        ),
        Toleration(
            conditions.EMPTY_ITEM_GROUP_OID,
            "an empty ItemGroupOID is resolved from the form's metadata",
        ),
    ),
    normalise=normalise,
)
