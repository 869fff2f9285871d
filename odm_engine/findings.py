"""Findings: located, coded statements about defects in ODM metadata or files.

Every finding has a code from ``CATALOGUE`` whose template says what is wrong and how to fix
it. Tests assert exact messages, so the wording here is under test.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True, slots=True)
class Finding:
    code: str
    severity: Severity
    message: str
    path: str | None = None
    line: int | None = None
    oid: str | None = None
    raw: str | None = None
    """The message as its source gave it (libxml2's schema or parser text) when ``message``
    says it in plain words; ``edc validate --verbose`` prints it."""
    cause: str | None = None
    """What the finding is about when another finding may say the same (``duplicate-oid``,
    ``datatype``): findings with one line, OID and cause are one (``validate``)."""

    def format(self) -> str:
        """Compiler style: ``path:line: CODE severity: message``."""
        where = self.path or "<input>"
        if self.line:
            where = f"{where}:{self.line}"
        return f"{where}: {self.code} {self.severity.value}: {self.message}"

    def as_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "severity": self.severity.value,
            "message": self.message,
            "path": self.path,
            "line": self.line,
            "oid": self.oid,
        }


# code -> (severity, template). Templates use str.format with keyword fields.
CATALOGUE: dict[str, tuple[Severity, str]] = {
    # reading the file
    "ODM-XML-001": (
        Severity.ERROR,
        "The file is not well-formed XML: {detail}. Fix the XML syntax.",
    ),
    "ODM-XML-002": (
        Severity.ERROR,
        "The file has a DOCTYPE declaration; ODM never needs one and it is refused because "
        "DTDs and entities can read files or reach the network. Remove the <!DOCTYPE ...> line.",
    ),
    "ODM-XML-003": (
        Severity.ERROR,
        "The file is {size} bytes, over the limit of {limit} bytes. Split the file or raise "
        "the limit (EDC_MAX_XML_BYTES) if it is genuine.",
    ),
    "ODM-XML-004": (
        Severity.ERROR,
        "The file is {what}, not XML. Decompress or convert it and give the .xml file.",
    ),
    "ODM-XML-005": (
        Severity.ERROR,
        "XInclude element found: external inclusion is never followed. Put the included "
        "content into the file itself.",
    ),
    "ODM-XML-006": (Severity.ERROR, "The file is empty. Give an ODM XML file."),
    # what the file is
    "ODM-VER-001": (
        Severity.ERROR,
        "The root element is <{tag}>, not ODM. Give an ODM 1.3.x file whose root is "
        '<ODM xmlns="http://www.cdisc.org/ns/odm/v1.3">.',
    ),
    "ODM-VER-002": (
        Severity.ERROR,
        "ODM 2.0 is not supported yet (namespace {namespace}). Export the study as ODM 1.3.2.",
    ),
    "ODM-VER-003": (
        Severity.WARNING,
        'ODMVersion="{version}" is not 1.3, 1.3.1 or 1.3.2; the file is read as ODM 1.3.2. '
        'Set ODMVersion="1.3.2" if the content follows it.',
    ),
    "ODM-NS-001": (
        Severity.WARNING,
        "The root element has no namespace; it is read as ODM 1.3.2. Add "
        'xmlns="http://www.cdisc.org/ns/odm/v1.3" to the ODM element.',
    ),
    "ODM-NS-002": (
        Severity.WARNING,
        '{count} ODM elements below line {line} are in no namespace (an xmlns="" reset); '
        'they are read as ODM. Remove the xmlns="" declaration.',
    ),
    "ODM-EXT-001": (
        Severity.INFO,
        "Vendor extension namespace {namespace} ({vendor}): {count} elements and attributes "
        "kept and set aside before XSD validation.",
    ),
    "ODM-DEF-001": (
        Severity.INFO,
        "Define-XML {version} file: validated against the Define-XML {version} schema.",
    ),
    # schema
    "ODM-XSD-001": (Severity.ERROR, "Schema: {detail}"),
    "ODM-XSD-002": (Severity.WARNING, "Schema: {detail}"),
    # semantics the schema cannot see
    "ODM-OID-001": (
        Severity.ERROR,
        'Duplicate {element} OID="{oid}" (first defined on line {first_line}). '
        "Give each {element} its own OID.",
    ),
    "ODM-OID-002": (
        Severity.ERROR,
        "{element} has no OID. Add an OID attribute; every definition is found through it.",
    ),
    "ODM-REF-001": (
        Severity.ERROR,
        '{element} {attribute}="{oid}" names no {target} in {scope}{hint}. '
        "Add the {target} or correct the OID.",
    ),
    "ODM-CL-001": (
        Severity.ERROR,
        'CodeList {codelist} has DataType="{cl_type}" but ItemDef {item} has '
        'DataType="{item_type}". Make the two DataTypes agree.',
    ),
    "ODM-CL-005": (
        Severity.WARNING,
        'CodeList {codelist} has DataType="{cl_type}" but ItemDef {item} has '
        'DataType="{item_type}"; every CodedValue is a valid {item_type}, so entries '
        "still work. Make the two DataTypes agree.",
    ),
    "ODM-CL-002": (
        Severity.ERROR,
        'CodedValue "{value}" in CodeList {codelist} is not a valid {data_type}: {detail}',
    ),
    "ODM-CL-003": (
        Severity.ERROR,
        'CodedValue "{value}" appears twice in CodeList {codelist}. Give each item its '
        "own CodedValue.",
    ),
    "ODM-CL-004": (
        Severity.WARNING,
        'CodeList {codelist} has DataType="{cl_type}", which is not an ODM CodeList '
        "DataType; read as {read_as}. Use integer, float, text or string.",
    ),
    "ODM-CL-006": (
        Severity.ERROR,
        'CodedValue "{value}" in CodeList {codelist} is longer than ItemDef {item} allows '
        '(Length="{length}"){others}, so it can never be entered. Set Length="{needed}" on '
        "ItemDef {item} or shorten the CodedValue.",
    ),
    "ODM-RC-001": (
        Severity.ERROR,
        'RangeCheck on {item}: CheckValue "{value}" is not a valid {data_type}: {detail}',
    ),
    "ODM-RC-002": (
        Severity.ERROR,
        "RangeCheck on {item}: Comparator {comparator} takes {expected} CheckValue, "
        "found {count}. {fix}",
    ),
    "ODM-RC-003": (
        Severity.ERROR,
        "RangeCheck on {item} has neither a Comparator with CheckValues nor a "
        "FormalExpression. Add one of them.",
    ),
    "ODM-LEN-001": (Severity.ERROR, "ItemDef {item}: {detail}"),
    "ODM-ORD-001": (
        Severity.ERROR,
        '{element} OrderNumber="{order}" is used twice in {parent} (also on line '
        "{first_line}). Give each child its own OrderNumber.",
    ),
    "ODM-ITEM-001": (
        Severity.WARNING,
        "ItemDef {item} is on FormDef {form} but has no Question, so the form labels it with "
        'its Name "{name}". Add <Question><TranslatedText xml:lang="en">...</TranslatedText>'
        "</Question> to the ItemDef.",
    ),
    "ODM-LANG-002": (
        Severity.WARNING,
        'Forms with texts in "{lang}" lack a translation in it for {count} of their {total} '
        'texts ({first}); a user reading "{lang}" sees those in another language. Add a '
        'TranslatedText xml:lang="{lang}" to each.',
    ),
    "ODM-SAS-001": (
        Severity.WARNING,
        'ItemDef {item} has SASFieldName="{name}" like ItemDef {first} in ItemGroupDef '
        "{group}, so both would be one column of the group's dataset. Give each item of a "
        "group its own SASFieldName.",
    ),
    "ODM-RC-004": (
        Severity.WARNING,
        "RangeCheck on {item}: its expression never mentions {item}, so what is entered in "
        "{item} does not change whether it fires. Mention {item} in the expression (it states "
        "what a valid value is), or move the check to the item it tests.",
    ),
    "ODM-MAN-001": (
        Severity.WARNING,
        '{element} {oid} is Mandatory="Yes" and has CollectionExceptionConditionOID='
        '"{condition}": it is required only when the condition is false. Check that '
        "this is intended.",
    ),
    "ODM-UNUSED-001": (
        Severity.WARNING,
        "{element} {oid} is never referenced. Reference it or remove it.",
    ),
    "ODM-EXPR-001": (
        Severity.WARNING,
        '{owner} {oid}: FormalExpression Context="{context}" is not understood by this '
        'engine; the expression is kept but not evaluated. Write it in Context="OEL".',
    ),
    "ODM-EXPR-002": (
        Severity.ERROR,
        "{owner} {oid}: {problem}, so the expression is never evaluated{effect}. Write "
        'Context="OEL".',
    ),
    "ODM-LANG-001": (
        Severity.ERROR,
        'xml:lang="{lang}" on {element}{owner} is not a BCP 47 language tag: {why}. Write {fix}.',
    ),
    # expressions (OEL, docs/expressions.md); ODM-EXPR-001 above is the unknown Context
    "ODM-EXPR-101": (
        Severity.ERROR,
        "{owner}: syntax error: {detail}. Correct the expression (OEL syntax: "
        "docs/expressions.md).",
    ),
    "ODM-EXPR-102": (Severity.ERROR, "{owner}: {detail}."),
    "ODM-EXPR-103": (Severity.ERROR, "{owner}: {detail}."),
    "ODM-EXPR-104": (Severity.ERROR, "{owner}: {detail}."),
    "ODM-EXPR-105": (Severity.ERROR, "{owner}: {detail}."),
    "ODM-EXPR-106": (Severity.ERROR, "{owner}: {detail}."),
    "ODM-EXPR-107": (Severity.ERROR, "{owner}: {detail}."),
    "ODM-EXPR-108": (Severity.ERROR, "{owner}: {detail}; use one of the coded values."),
    "ODM-EXPR-109": (
        Severity.ERROR,
        "{owner}: derivations form a cycle ({cycle}); none of them is computed. Break the "
        "cycle: a derived item cannot depend on itself.",
    ),
    "ODM-EXPR-110": (Severity.ERROR, "{owner}: {detail}."),
    "ODM-EXPR-111": (
        Severity.WARNING,
        '{owner}: {dialect} expression {expression} (Context="{context}") cannot be '
        "translated: {reason}. It is kept but not evaluated{effect}. Rewrite it in "
        'Context="OEL".',
    ),
    "ODM-EXPR-112": (
        Severity.INFO,
        '{owner}: {dialect} expression {expression} (Context="{context}") is evaluated '
        "as the OEL expression: {oel}",
    ),
    "ODM-EXPR-113": (
        Severity.WARNING,
        "RangeCheck {check} on {item}: its CheckValue is in {check_unit} but the item is "
        "entered in {entered_unit}, and no conversion between them is known; the check is "
        "not applied to values in {entered_unit}. Give the CheckValue in {entered_unit}.",
    ),
    "ODM-DT-001": (
        Severity.ERROR,
        '{element} {oid}: DataType="{data_type}" is not an ODM 1.3.2 DataType{hint}.',
    ),
    "ODM-DATA-001": (
        Severity.ERROR,
        '{element} {oid_attr}="{oid}" in ClinicalData names no {target} in the '
        "metadata. Correct the OID or add the definition.",
    ),
    # exchange: streaming ClinicalData import (odm_engine.exchange)
    "ODM-PROF-002": (
        Severity.WARNING,
        "{profile} profile: {action}. The file deviates from ODM 1.3.2 here ({original}); "
        "the study is loaded as the profile reads it.",
    ),
    "ODM-PROF-001": (
        Severity.INFO,
        "Dialect profile {profile} applied ({why}): {mapping}.",
    ),
    "ODM-IMP-001": (
        Severity.WARNING,
        "{count} FormData element(s) sit directly under SubjectData, which ODM 1.3.2 does "
        'not allow; profile {profile} reads them into study event "{event}". Put FormData '
        "inside StudyEventData to choose the event yourself.",
    ),
    "ODM-IMP-002": (
        Severity.INFO,
        "{count} {element} element(s) of {namespace} kept as vendor extensions: nothing in "
        "them is imported. Map them by hand if their content matters.",
    ),
    "ODM-IMP-003": (
        Severity.ERROR,
        'The root element is <{tag}> in namespace "{namespace}", not an ODM 1.3 file; no '
        "ClinicalData was read. Export the data as ODM 1.3.2.",
    ),
    "ODM-IMP-004": (
        Severity.WARNING,
        "{count} <{element}> element(s) inside {parent} are not ODM 1.3.2 ClinicalData; "
        "they are kept as extensions but not imported. Remove them or map them by hand.",
    ),
    "ODM-IMP-005": (
        Severity.WARNING,
        "{count} ItemGroupData element(s) sit directly under {parent} (Dataset-XML or "
        "reference data), with no subject, event or form; they are skipped. Convert them to "
        "ODM ClinicalData first.",
    ),
    "ODM-IMP-006": (
        Severity.ERROR,
        "{element} has no {attribute}; it and everything in it is skipped. Add the "
        "{attribute} attribute.",
    ),
    "ODM-IMP-010": (
        Severity.WARNING,
        "ItemGroupData in FormData {form} has an empty ItemGroupOID; read as "
        'ItemGroupOID="{group}", the item group of that form holding its items '
        "({items}). Correct the ItemGroupOID in the source.",
    ),
    "ODM-IMP-011": (
        Severity.INFO,
        'ClinicalData names Study "{site}", a site-level Study of the stored metadata of '
        'study "{study}" (its MetaDataVersion Includes that of "{study}"); the data is '
        'imported into study "{study}". Rule: a site-level StudyOID resolves to its parent '
        "study (OpenClinica 3 extracts).",
    ),
    "ODM-IMP-012": (
        Severity.WARNING,
        '{element} ItemOID="{item}" is typed {typed}, but ItemDef {item} has '
        'DataType="{data_type}"; the value is read as {data_type}. Write it as {expected} '
        "or as plain ItemData.",
    ),
    "ODM-IMP-007": (
        Severity.ERROR,
        '{element} has TransactionType="{value}", not one of Insert, Update, Remove, '
        "Upsert, Context. Correct the TransactionType.",
    ),
    "ODM-IMP-008": (
        Severity.INFO,
        "Profile {profile}: {audits} vendor audit entries and {notes} notes read from "
        "{namespace} extensions.",
    ),
    "ODM-IMP-009": (
        Severity.WARNING,
        'ClinicalData names Study "{study}" but the data is imported into study '
        '"{target}". Check that the file belongs to this study.',
    ),
    "ODM-IMP-020": (
        Severity.ERROR,
        "Subject {subject}: {where}: {why}",
    ),
    "ODM-IMP-021": (
        Severity.INFO,
        "File {file_oid} (sha256 {sha256}) was imported already on {when}; nothing was written.",
    ),
    "ODM-IMP-022": (
        Severity.WARNING,
        "{count} AuditRecord(s), {signatures} Signature(s) of the source were read; the "
        "audit trail records this import (user, time, file) for each change, and the "
        "source's AuditRecords are kept beside the imported data as the file gives them "
        "(edc audit SUBJECT --source; a field's history in the web app).",
    ),
}


def finding(
    code: str,
    *,
    path: str | None = None,
    line: int | None = None,
    oid: str | None = None,
    severity: Severity | None = None,
    raw: str | None = None,
    cause: str | None = None,
    **fields: object,
) -> Finding:
    """Build a Finding from the catalogue."""
    default_severity, template = CATALOGUE[code]
    return Finding(
        code=code,
        severity=severity or default_severity,
        message=template.format(oid=oid, line=line, **fields),
        path=path,
        line=line,
        oid=oid,
        raw=raw,
        cause=cause,
    )


def has_errors(findings: Iterable[Finding]) -> bool:
    return any(f.severity is Severity.ERROR for f in findings)
