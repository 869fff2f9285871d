"""The spreadsheet view of a study: which sheets, which columns, which ODM attribute each
column carries, and the located findings of reading sheets back.

The view is plain data (``Sheets``: sheet name -> rows of strings, the header first) so the
core stays free of any spreadsheet library; ``renderers.xlsx`` moves it to and from .xlsx.
Cells hold the attribute values verbatim (``Yes``/``No``, numbers as written): an empty cell
means "attribute absent", which is what makes ODM -> sheets -> ODM lossless.
"""

from __future__ import annotations

from dataclasses import dataclass

from odm_engine.findings import Finding, Severity

Sheets = dict[str, list[list[str]]]
"""Sheet name -> rows; row 0 is the header. Cells are strings, "" for an empty cell."""

SHEET_ORDER = (
    "study",
    "events",
    "forms",
    "groups",
    "items",
    "codelists",
    "conditions",
    "methods",
    "units",
    "odm_extra",
)
EXTRA_SHEET = "odm_extra"
EXTRA_HEADER = ["Owner", "Kind", "Name", "After", "Part", "Value"]
CELL_LIMIT = 32000
"""Longest text put in one cell (Excel holds 32,767 characters); longer fragments continue
on the next row with Part 2, 3, ..."""

# Columns: (column, ODM attribute). A text field is written ``Name*`` and expands to one
# column per language of the study.
EVENT_DEF = (
    ("StudyEventOID", "OID"),
    ("Name", "Name"),
    ("Repeating", "Repeating"),
    ("Type", "Type"),
    ("Category", "Category"),
)
EVENT_PROTOCOL = (
    ("ProtocolOrder", "OrderNumber"),
    ("ProtocolMandatory", "Mandatory"),
    ("ProtocolCondition", "CollectionExceptionConditionOID"),
)
REF_ATTRS = (
    ("OrderNumber", "OrderNumber"),
    ("Mandatory", "Mandatory"),
    ("CollectionExceptionConditionOID", "CollectionExceptionConditionOID"),
)
FORM_DEF = (("FormOID", "OID"), ("Name", "Name"), ("Repeating", "Repeating"))
GROUP_DEF = (
    ("ItemGroupOID", "OID"),
    ("Name", "Name"),
    ("Repeating", "Repeating"),
    ("IsReferenceData", "IsReferenceData"),
    ("SASDatasetName", "SASDatasetName"),
    ("Domain", "Domain"),
    ("Origin", "Origin"),
    ("Role", "Role"),
    ("Purpose", "Purpose"),
    ("Comment", "Comment"),
)
ITEM_DEF = (
    ("Name", "Name"),
    ("DataType", "DataType"),
    ("Length", "Length"),
    ("SignificantDigits", "SignificantDigits"),
    ("SASFieldName", "SASFieldName"),
    ("SDSVarName", "SDSVarName"),
    ("Origin", "Origin"),
    ("Comment", "Comment"),
)
ITEM_REF = (
    ("OrderNumber", "OrderNumber"),
    ("Mandatory", "Mandatory"),
    ("KeySequence", "KeySequence"),
    ("MethodOID", "MethodOID"),
    ("ImputationMethodOID", "ImputationMethodOID"),
    ("Role", "Role"),
    ("RoleCodeListOID", "RoleCodeListOID"),
    ("CollectionExceptionConditionOID", "CollectionExceptionConditionOID"),
)
CODELIST_DEF = (
    ("CodeListOID", "OID"),
    ("Name", "Name"),
    ("DataType", "DataType"),
    ("SASFormatName", "SASFormatName"),
)
CODE_ITEM = (("CodedValue", "CodedValue"), ("Rank", "Rank"), ("OrderNumber", "OrderNumber"))
CONDITION_DEF = (("ConditionOID", "OID"), ("Name", "Name"))
METHOD_DEF = (("MethodOID", "OID"), ("Name", "Name"), ("Type", "Type"))
UNIT_DEF = (("UnitOID", "OID"), ("Name", "Name"))
CHECK_COLUMNS = ("", "Comparator", "Values", "Context", "Expression", "Unit", "Message*")
"""Per range check i: ``Check{i}`` (Hard/Soft), ``Check{i}Comparator``, ... ."""


def _cols(spec: tuple[tuple[str, str], ...]) -> list[str]:
    return [column for column, _ in spec]


SHEET_COLUMNS: dict[str, list[str]] = {
    "events": [
        *_cols(EVENT_DEF),
        "Description*",
        "Aliases",
        "InProtocol",
        *_cols(EVENT_PROTOCOL),
        "FormOID",
        *_cols(REF_ATTRS),
    ],
    "forms": [*_cols(FORM_DEF), "Description*", "Aliases", "ItemGroupOID", *_cols(REF_ATTRS)],
    "groups": [*_cols(GROUP_DEF), "Description*", "Aliases"],
    "items": [
        "ItemGroupOID",
        "ItemOID",
        "Name",
        "Question*",
        "DataType",
        "Length",
        "SignificantDigits",
        "Units",
        "CodeListOID",
        *_cols(ITEM_REF),
        "SDTM",
        *_cols(ITEM_DEF)[4:],
        "Description*",
        "Aliases",
    ],
    "codelists": [
        *_cols(CODELIST_DEF),
        "Description*",
        "ListAliases",
        "Kind",
        *_cols(CODE_ITEM)[:1],
        "Decode*",
        *_cols(CODE_ITEM)[1:],
        "Aliases",
    ],
    "conditions": [*_cols(CONDITION_DEF), "Description*", "Aliases", "Context", "Expression"],
    "methods": [*_cols(METHOD_DEF), "Description*", "Aliases", "Context", "Expression"],
    "units": [*_cols(UNIT_DEF), "Symbol*", "Aliases"],
}
ITEM_DEF_COLUMNS = frozenset(
    {"Name", "DataType", "Length", "SignificantDigits", "Units", "CodeListOID", "SDTM"}
    | {"SASFieldName", "SDSVarName", "Origin", "Comment", "Aliases"}
)
"""Columns of the items sheet that belong to the ItemDef (the rest belong to the ItemRef);
with the texts and the range checks. Filled on an item's first row only."""

CHILD_ORDER: dict[str, tuple[str, ...]] = {
    "ODM": ("Study", "AdminData", "ReferenceData", "ClinicalData", "Association", "Signature"),
    "Study": ("GlobalVariables", "BasicDefinitions", "MetaDataVersion"),
    "GlobalVariables": ("StudyName", "StudyDescription", "ProtocolName"),
    "BasicDefinitions": ("MeasurementUnit",),
    "MeasurementUnit": ("Symbol", "Alias"),
    "MetaDataVersion": (
        "Include",
        "Protocol",
        "StudyEventDef",
        "FormDef",
        "ItemGroupDef",
        "ItemDef",
        "CodeList",
        "ImputationMethod",
        "Presentation",
        "ConditionDef",
        "MethodDef",
    ),
    "Protocol": ("Description", "StudyEventRef", "Alias"),
    "StudyEventDef": ("Description", "FormRef", "Alias"),
    "FormDef": ("Description", "ItemGroupRef", "ArchiveLayout", "Alias"),
    "ItemGroupDef": ("Description", "ItemRef", "Alias"),
    "ItemDef": (
        "Description",
        "Question",
        "ExternalQuestion",
        "MeasurementUnitRef",
        "RangeCheck",
        "CodeListRef",
        "RoleCodeList",
        "Alias",
    ),
    "RangeCheck": ("CheckValue", "FormalExpression", "MeasurementUnitRef", "ErrorMessage"),
    "CodeList": ("Description", "CodeListItem", "EnumeratedItem", "ExternalCodeList", "Alias"),
    "CodeListItem": ("Decode", "Alias"),
    "EnumeratedItem": ("Alias",),
    "ConditionDef": ("Description", "FormalExpression", "Alias"),
    "MethodDef": ("Description", "FormalExpression", "Alias"),
}
"""ODM 1.3.2 child order per element: built elements follow it, and an element kept in
odm_extra goes back where the schema (or, for a vendor element, its old neighbour) puts it."""

YES_NO_COLUMNS = frozenset(
    {"Repeating", "Mandatory", "ProtocolMandatory", "IsReferenceData", "InProtocol"}
)
INTEGER_COLUMNS = frozenset(
    {"Length", "SignificantDigits", "OrderNumber", "KeySequence", "ProtocolOrder"}
)
COMPARATORS = ("LT", "LE", "GT", "GE", "EQ", "NE", "IN", "NOTIN")
SOFT_HARD = ("Hard", "Soft")

CATALOGUE: dict[str, tuple[Severity, str]] = {
    "DSN-001": (
        Severity.ERROR,
        "The workbook has no {sheet} sheet. Export a study with "
        "`edc design export` and start from its sheets.",
    ),
    "DSN-002": (Severity.ERROR, "{column} is required for {what}. Fill in the cell."),
    "DSN-003": (
        Severity.ERROR,
        '{column} "{value}" is not {expected}{hint}. Write one of: {allowed}.',
    ),
    "DSN-004": (
        Severity.ERROR,
        '{column} "{value}" is not a whole number. Write digits only, e.g. 8.',
    ),
    "DSN-005": (
        Severity.ERROR,
        '{what} {oid} is defined again here with {column} "{value}" '
        '(row {first} has "{before}"). Leave the cell empty on later rows or make '
        "them agree.",
    ),
    "DSN-006": (
        Severity.WARNING,
        '{column} "{value}" names no {target} on the {sheet} '
        "sheet. Add it there or correct the OID.",
    ),
    "DSN-007": (
        Severity.WARNING,
        'Column "{column}" is not one the {sheet} sheet knows; it '
        "is ignored. Known columns: {known}.",
    ),
    "DSN-008": (
        Severity.WARNING,
        "odm_extra row for {owner}: no such element in the sheets "
        "any more, so this fragment is not written: {name}. Delete the row if the "
        "element was removed on purpose.",
    ),
    "DSN-009": (
        Severity.ERROR,
        "odm_extra fragment is not XML: {detail}. Restore the cell from the exported workbook.",
    ),
    "DSN-010": (
        Severity.INFO,
        "{count} part(s) of the study have no column and were kept "
        "verbatim in the odm_extra sheet ({kinds}); they are written back on import.",
    ),
    "DSN-011": (Severity.INFO, "{count} XML comment(s) are not kept in the sheets."),
    "DSN-012": (Severity.ERROR, "{detail}"),
    "DSN-013": (
        Severity.WARNING,
        "REDCap {what} of field {field} cannot be translated ({reason}); it is left out, so "
        "{effect}. Write it in OEL on the {sheet} sheet of the exported workbook.",
    ),
    "DSN-014": (
        Severity.INFO,
        'Field {field} has Field Type "{field_type}", which holds no data; it is left out.',
    ),
}


def cell(sheet: str, column: int | None, row: int) -> str:
    """``items!F12`` for 0-based ``column`` and 1-based ``row``; ``items!12`` with no column."""
    if column is None:
        return f"{sheet}!{row}"
    letters = ""
    n = column + 1
    while n:
        n, rest = divmod(n - 1, 26)
        letters = chr(65 + rest) + letters
    return f"{sheet}!{letters}{row}"


def design_finding(code: str, where: str | None, **fields: object) -> Finding:
    """A finding located by ``sheet!cell`` (its path), from :data:`CATALOGUE`."""
    severity, template = CATALOGUE[code]
    return Finding(code, severity, template.format(**fields), path=where, oid=None)


@dataclass(frozen=True, slots=True)
class DesignResult:
    """What a conversion gives: the sheets (export) or ODM bytes (import), and findings."""

    sheets: Sheets | None = None
    xml: bytes | None = None
    findings: tuple[Finding, ...] = ()

    @property
    def ok(self) -> bool:
        return not any(f.severity is Severity.ERROR for f in self.findings)
