"""Streaming ODM 1.3.2 writer: ``write_odm(out, subjects, options)``, memory flat at any size.

The document is written with lxml's incremental ``etree.xmlfile``: the envelope is opened
once and each subject is built as a small element tree, written and dropped. Input is plain
records (:class:`odm_engine.exchange.SubjectRecord`), never storage objects. Output follows
the ODM 1.3.2 schema: child order as the XSD fixes it, every value as ``ItemData/@Value``
(the typed ``ItemData*`` variants cannot carry an AuditRecord), ``IsNull="Yes"`` for nulls,
TransactionType on every level of a Transactional file (``Context`` on containers that only
locate their children). Vendor extensions are left out: the schema rejects them.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import BinaryIO

from lxml import etree

from odm_engine import model as m
from odm_engine.exchange.records import (
    Annotation,
    AuditRecord,
    ClinicalNode,
    ItemValue,
    Signature,
    SubjectRecord,
)
from odm_engine.findings import Finding
from odm_engine.safexml import parse_bytes
from odm_engine.xsd import core_copy

NS = m.ODM_NS
_P = f"{{{NS}}}"
_NSMAP = {None: NS}
_CODE_LIST_TYPES = ("integer", "float", "text", "string")
QUERY_STATUS_CODE_LIST = "EDC.QUERY_STATUS"
"""CodeListOID named by the Flag of a query written as an Annotation."""


@dataclass(frozen=True, slots=True)
class OdmExportOptions:
    file_oid: str
    file_type: str = "Snapshot"
    """``Snapshot`` (current values) or ``Transactional`` (changes with TransactionType)."""
    creation_datetime: str | None = None
    as_of_datetime: str | None = None
    prior_file_oid: str | None = None
    description: str | None = None
    granularity: str | None = None
    source_system: str = "odm-edc"
    source_system_version: str = "0.1.0"
    placeholder_location: str = "NONE"
    """LocationOID written in AuditRecord/Signature when no site is known (it is required)."""


@dataclass(slots=True)
class ExportStats:
    subjects: int = 0
    items: int = 0
    clinical_data: int = 0


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def metadata_elements(metadata: bytes, *, study_oid: str | None = None) -> list[etree._Element]:
    """The Study elements of stored metadata, stripped to the ODM 1.3.2 core for the XSD."""
    tree = parse_bytes(metadata)
    if isinstance(tree, Finding):
        raise ValueError(f"stored metadata is unreadable: {tree.message}")
    root = core_copy(tree, odm_ns=etree.QName(tree.getroot()).namespace or "")
    studies = [el for el in root if el.tag == f"{_P}Study"]
    if study_oid is not None:
        studies = [el for el in studies if el.get("OID") == study_oid]
    for study in studies:
        study.tail = None
        for code_list in study.iter(f"{_P}CodeList"):
            if code_list.get("DataType") not in _CODE_LIST_TYPES:
                code_list.set("DataType", "text")  # REDCap's "boolean" is no CodeList type
    return studies


class OdmWriter:
    """Builds one subject at a time; used by :func:`write_odm`."""

    def __init__(self, options: OdmExportOptions) -> None:
        self.options = options
        self.transactional = options.file_type == "Transactional"

    # -- pieces -----------------------------------------------------------------------
    def _tt(self, el: etree._Element, node: ClinicalNode, default: str) -> None:
        if self.transactional:
            el.set("TransactionType", node.transaction_type or default)

    def _audit(self, parent: etree._Element, audit: AuditRecord, site: str | None) -> None:
        el = etree.SubElement(parent, f"{_P}AuditRecord")
        if audit.edit_point:
            el.set("EditPoint", audit.edit_point)
        if audit.used_imputation_method:
            el.set("UsedImputationMethod", audit.used_imputation_method)
        etree.SubElement(el, f"{_P}UserRef", UserOID=audit.user_oid or "UNKNOWN")
        location = audit.location_oid or site or self.options.placeholder_location
        etree.SubElement(el, f"{_P}LocationRef", LocationOID=location)
        etree.SubElement(el, f"{_P}DateTimeStamp").text = audit.date_time_stamp or _now()
        if audit.reason_for_change:
            etree.SubElement(el, f"{_P}ReasonForChange").text = audit.reason_for_change
        if audit.source_id:
            etree.SubElement(el, f"{_P}SourceID").text = audit.source_id

    def _signature(self, parent: etree._Element, sig: Signature, site: str | None) -> None:
        el = etree.SubElement(parent, f"{_P}Signature")
        etree.SubElement(el, f"{_P}UserRef", UserOID=sig.user_oid or "UNKNOWN")
        location = sig.location_oid or site or self.options.placeholder_location
        etree.SubElement(el, f"{_P}LocationRef", LocationOID=location)
        etree.SubElement(el, f"{_P}SignatureRef", SignatureOID=sig.signature_oid or "SD.1")
        etree.SubElement(el, f"{_P}DateTimeStamp").text = sig.date_time_stamp or _now()

    def _annotation(self, parent: etree._Element, note: Annotation) -> None:
        el = etree.SubElement(parent, f"{_P}Annotation", SeqNum=note.seq_num or "1")
        if note.transaction_type and self.transactional:
            el.set("TransactionType", note.transaction_type)
        if note.id:
            el.set("ID", note.id)
        if note.comment is not None:
            comment = etree.SubElement(el, f"{_P}Comment")
            comment.text = note.comment
            if note.sponsor_or_site in ("Sponsor", "Site"):
                comment.set("SponsorOrSite", note.sponsor_or_site)
        for flag in note.flags:
            f = etree.SubElement(el, f"{_P}Flag")
            value = etree.SubElement(
                f,
                f"{_P}FlagValue",
                CodeListOID=flag.value_code_list_oid or QUERY_STATUS_CODE_LIST,
            )
            value.text = flag.value
            if flag.type is not None:
                kind = etree.SubElement(
                    f, f"{_P}FlagType", CodeListOID=flag.type_code_list_oid or "EDC.FLAG_TYPE"
                )
                kind.text = flag.type

    def _head(self, el: etree._Element, node: ClinicalNode, site: str | None) -> None:
        """AuditRecord, Signature: first children of every ClinicalData level."""
        if node.audit is not None:
            self._audit(el, node.audit, site)
        if node.signature is not None:
            self._signature(el, node.signature, site)

    def _item(self, parent: etree._Element, item: ItemValue, site: str | None) -> None:
        el = etree.SubElement(parent, f"{_P}ItemData", ItemOID=item.key.item_oid)
        if self.transactional:
            el.set("TransactionType", item.transaction_type or "Upsert")
        if item.is_null:
            el.set("IsNull", "Yes")
        elif item.value is not None:
            el.set("Value", item.value)
        elif item.transaction_type != "Remove":
            el.set("IsNull", "Yes")
        self._head(el, item, site)
        if item.unit_oid:
            etree.SubElement(el, f"{_P}MeasurementUnitRef", MeasurementUnitOID=item.unit_oid)
        for note in item.annotations:
            self._annotation(el, note)

    def subject(self, record: SubjectRecord) -> etree._Element:
        site = record.site_oid
        fast, sub, item_tag = not self.transactional, etree.SubElement, f"{_P}ItemData"
        el = etree.Element(f"{_P}SubjectData", SubjectKey=record.subject_key, nsmap=_NSMAP)
        self._tt(el, record, "Upsert")
        self._head(el, record, site)
        if record.investigator_oid:
            etree.SubElement(el, f"{_P}InvestigatorRef", UserOID=record.investigator_oid)
        if site:
            etree.SubElement(el, f"{_P}SiteRef", LocationOID=site)
        for note in record.annotations:
            self._annotation(el, note)
        for event in record.events:
            ev = etree.SubElement(el, f"{_P}StudyEventData", StudyEventOID=event.study_event_oid)
            if event.repeat_key:
                ev.set("StudyEventRepeatKey", event.repeat_key)
            self._tt(ev, event, "Context")
            self._head(ev, event, site)
            for note in event.annotations:
                self._annotation(ev, note)
            for form in event.forms:
                fd = etree.SubElement(ev, f"{_P}FormData", FormOID=form.form_oid)
                if form.repeat_key:
                    fd.set("FormRepeatKey", form.repeat_key)
                self._tt(fd, form, "Context")
                self._head(fd, form, site)
                for note in form.annotations:
                    self._annotation(fd, note)
                for group in form.groups:
                    ig = etree.SubElement(
                        fd, f"{_P}ItemGroupData", ItemGroupOID=group.item_group_oid
                    )
                    if group.repeat_key:
                        ig.set("ItemGroupRepeatKey", group.repeat_key)
                    self._tt(ig, group, "Context")
                    self._head(ig, group, site)
                    for note in group.annotations:
                        self._annotation(ig, note)
                    for item in group.items:
                        if (
                            fast
                            and item.value is not None
                            and item.audit is None
                            and not (item.is_null or item.annotations or item.unit_oid)
                        ):
                            sub(ig, item_tag, ItemOID=item.key.item_oid, Value=item.value)
                        else:
                            self._item(ig, item, site)
        return el


def _admin_element(admin: m.AdminData) -> etree._Element:
    el = etree.Element(f"{_P}AdminData", nsmap=_NSMAP)
    if admin.study_oid:
        el.set("StudyOID", admin.study_oid)
    for user in admin.users.values():
        u = etree.SubElement(el, f"{_P}User", OID=user.oid)
        if user.user_type:
            u.set("UserType", user.user_type)
        for name, value in (
            ("LoginName", user.login_name),
            ("DisplayName", user.display_name),
            ("FullName", user.full_name),
            ("FirstName", user.first_name),
            ("LastName", user.last_name),
            ("Organization", user.organization),
        ):
            if value:
                etree.SubElement(u, f"{_P}{name}").text = value
        for email in user.emails:
            etree.SubElement(u, f"{_P}Email").text = email
        for location in user.location_oids:
            etree.SubElement(u, f"{_P}LocationRef", LocationOID=location)
    for location in admin.locations.values():
        loc = etree.SubElement(el, f"{_P}Location", OID=location.oid, Name=location.name)
        if location.location_type:
            loc.set("LocationType", location.location_type)
        for ref in location.metadata_version_refs:
            mvr = etree.SubElement(
                loc,
                f"{_P}MetaDataVersionRef",
                StudyOID=ref.study_oid,
                MetaDataVersionOID=ref.metadata_version_oid,
            )
            mvr.set("EffectiveDate", ref.effective_date or "1970-01-01")
    for sd in admin.signature_defs.values():
        s = etree.SubElement(el, f"{_P}SignatureDef", OID=sd.oid)
        if sd.methodology:
            s.set("Methodology", sd.methodology)
        etree.SubElement(s, f"{_P}Meaning").text = sd.meaning or "Signed"
        etree.SubElement(s, f"{_P}LegalReason").text = sd.legal_reason or "Electronic signature"
    return el


def write_odm(
    out: BinaryIO,
    subjects: Iterable[SubjectRecord],
    options: OdmExportOptions,
    *,
    metadata: bytes | None = None,
    admin: m.AdminData | None = None,
    study_oid: str | None = None,
    on_subject: Callable[[ExportStats], None] | None = None,
) -> ExportStats:
    """Write an ODM 1.3.2 file to ``out``: optional metadata and AdminData, then ClinicalData.

    ``subjects`` may come from several studies or metadata versions: each run of subjects
    with the same (StudyOID, MetaDataVersionOID) becomes one ClinicalData element.
    """
    writer = OdmWriter(options)
    stats = ExportStats()
    attrs = {
        "FileOID": options.file_oid,
        "FileType": options.file_type,
        "ODMVersion": "1.3.2",
        "CreationDateTime": options.creation_datetime or _now(),
        "SourceSystem": options.source_system,
        "SourceSystemVersion": options.source_system_version,
    }
    optional = {
        "AsOfDateTime": options.as_of_datetime,
        "PriorFileOID": options.prior_file_oid,
        "Description": options.description,
        "Granularity": options.granularity,
    }
    attrs.update({name: value for name, value in optional.items() if value})
    with etree.xmlfile(out, encoding="UTF-8") as xf:
        xf.write_declaration()
        with xf.element(f"{_P}ODM", attrs, nsmap={None: NS}):  # type: ignore[dict-item]
            if metadata is not None:
                for study in metadata_elements(metadata, study_oid=study_oid):
                    xf.write(study, pretty_print=True)
            if admin is not None:
                xf.write(_admin_element(copy.copy(admin)), pretty_print=True)
            current: tuple[str, str] | None = None
            block = None
            for record in subjects:
                key = (record.study_oid, record.metadata_version_oid)
                if key != current:
                    if block is not None:
                        block.__exit__(None, None, None)
                    block = xf.element(
                        f"{_P}ClinicalData", StudyOID=key[0], MetaDataVersionOID=key[1]
                    )
                    block.__enter__()
                    current = key
                    stats.clinical_data += 1
                element = writer.subject(record)
                element.tail = "\n"  # one SubjectData per line; pretty printing costs 30%
                xf.write(element)
                stats.subjects += 1
                stats.items += record.item_count
                if on_subject is not None:
                    on_subject(stats)
            if block is not None:
                block.__exit__(None, None, None)
    return stats
