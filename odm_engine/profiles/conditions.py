"""Findings whose code alone does not say what went wrong, translated to a condition code.

A schema error is one code (ODM-XSD-001) with libxml2's message; a profile tolerates a
particular kind of it. The libxml2 message is recognised here, once, and every profile names
the condition by its code (:class:`~odm_engine.profiles.base.Toleration`).
"""

from __future__ import annotations

import re

from odm_engine.findings import Finding

BOOLEAN_CODE_LIST = "ODM-XSD-001:CodeList-boolean"
"""A CodeList with ``DataType="boolean"`` (ODM 1.3.2 allows integer, float, text, string)."""
FORM_DATA_UNDER_SUBJECT = "ODM-XSD-001:FormData-under-SubjectData"
"""FormData directly under SubjectData, without a StudyEventData."""
DUPLICATE_MDV_OID = "ODM-XSD-001:duplicate-OID"
"""Two definitions of one MetaDataVersion share an OID (UC-MDV-OID-unique)."""
EMPTY_CODE_LIST = "ODM-XSD-001:empty-CodeList"
"""A CodeList with no CodeListItem, EnumeratedItem or ExternalCodeList (and no Description)."""
EMPTY_ITEM_GROUP_OID = "ODM-DATA-001:empty-ItemGroupOID"
"""ItemGroupData with ``ItemGroupOID=""``."""

_RECOGNISED: tuple[tuple[str, re.Pattern[str], str], ...] = (
    (
        "ODM-XSD-001",
        re.compile(r"Element 'CodeList', attribute 'DataType'.*'boolean'"),
        BOOLEAN_CODE_LIST,
    ),
    (
        "ODM-XSD-001",
        re.compile(r"Element 'FormData': This element is not expected"),
        FORM_DATA_UNDER_SUBJECT,
    ),
    (
        "ODM-XSD-001",
        re.compile(r"Duplicate key-sequence .* in unique identity-constraint 'UC-MDV-OID-unique'"),
        DUPLICATE_MDV_OID,
    ),
    (
        "ODM-XSD-001",
        re.compile(r"Element 'CodeList': Missing child element\(s\)"),
        EMPTY_CODE_LIST,
    ),
    ("ODM-DATA-001", re.compile(r'ItemGroupData ItemGroupOID=""'), EMPTY_ITEM_GROUP_OID),
)

CONDITIONS = frozenset(condition for _code, _rx, condition in _RECOGNISED)


def condition_of(f: Finding) -> str:
    """The condition code of ``f``: a code above when its message is recognised, else its
    own finding code."""
    text = f.raw or f.message  # libxml2's own words when the message is a plain translation
    for code, rx, condition in _RECOGNISED:
        if f.code == code and rx.search(text):
            return condition
    return f.code
