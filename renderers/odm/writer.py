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
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import BinaryIO, TypeVar

from lxml import etree

from odm_engine import model as m
from odm_engine.datatypes import REGISTRY
from odm_engine.exchange.records import (
    FLAG_CODE_LISTS,
    FLAG_TYPE_CODE_LIST,
    QUERY_STATUS_CODE_LIST,
    Annotation,
    AuditRecord,
    ClinicalNode,
    ItemValue,
    Signature,
    SubjectRecord,
)
from odm_engine.findings import Finding
from odm_engine.free_text import xml_safe_copy
from odm_engine.safexml import parse_bytes
from odm_engine.xsd import core_copy

NS = m.ODM_NS
_P = f"{{{NS}}}"
_NSMAP = {None: NS}
_CODE_LIST_TYPES = tuple(name for name, dt in REGISTRY.items() if dt.code_list_type)
"""The DataTypes an ODM 1.3.2 CodeList may have (integer, float, text, string)."""
_AFTER_CODE_LISTS = tuple(
    f"{_P}{name}" for name in ("ImputationMethod", "Presentation", "ConditionDef", "MethodDef")
)


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
        for mdv in study.iterfind(f"{_P}MetaDataVersion"):
            _add_flag_code_lists(mdv)
    return studies


def versions_elements(
    versions: Sequence[bytes], *, study_oid: str | None = None
) -> list[etree._Element]:
    """The Study elements of several stored metadata versions (oldest first) as one: the
    newest version's Study (GlobalVariables, BasicDefinitions) holding every version's
    MetaDataVersion in order, each OID once (the schema's UC-S-2), and the MeasurementUnits
    only older versions define (UC-S-1: each OID once). Each MetaDataVersion keeps its own
    definitions, so the ClinicalData of each version is described by its own metadata."""
    parsed = [metadata_elements(xml, study_oid=study_oid) for xml in versions]
    if not parsed:
        return []
    newest = parsed[-1]
    for study in newest:
        mdvs: dict[str, etree._Element] = {}
        units: dict[str, etree._Element] = {}
        for studies in parsed:
            same = next((s for s in studies if s.get("OID") == study.get("OID")), None)
            if same is None:
                continue
            for mdv in same.iterfind(f"{_P}MetaDataVersion"):
                mdvs.pop(mdv.get("OID") or "", None)  # the newest keeps the OID, in its place
                mdvs[mdv.get("OID") or ""] = mdv
            for unit in same.iterfind(f"{_P}BasicDefinitions/{_P}MeasurementUnit"):
                units[unit.get("OID") or ""] = unit  # a later version's definition wins
        _merge_units(study, units)
        for mdv in list(study.iterfind(f"{_P}MetaDataVersion")):
            study.remove(mdv)
        for mdv in mdvs.values():
            mdv.tail = None
            study.append(mdv)
    return newest


def _merge_units(study: etree._Element, units: dict[str, etree._Element]) -> None:
    """Add to the Study's BasicDefinitions the MeasurementUnits it lacks (units only an older
    version defines), creating BasicDefinitions after GlobalVariables when there is none.
    The core copy holds nothing but MeasurementUnits there, so they are appended."""
    basic = study.find(f"{_P}BasicDefinitions")
    have = {u.get("OID") for u in study.iterfind(f"{_P}BasicDefinitions/{_P}MeasurementUnit")}
    missing = [u for oid, u in units.items() if oid not in have]
    if not missing:
        return
    if basic is None:
        basic = etree.Element(f"{_P}BasicDefinitions")
        study.find(f"{_P}GlobalVariables").addnext(basic)  # type: ignore[union-attr]
    for unit in missing:
        unit.tail = None
        basic.append(unit)


def _add_flag_code_lists(mdv: etree._Element) -> None:
    """The CodeLists of :data:`FLAG_CODE_LISTS` the MetaDataVersion lacks, where the schema
    puts CodeLists (before ImputationMethod, Presentation, ConditionDef, MethodDef)."""
    have = {el.get("OID") for el in mdv.iterfind(f"{_P}CodeList")}
    after = next((el for el in mdv if el.tag in _AFTER_CODE_LISTS), None)
    for oid, (name, items) in FLAG_CODE_LISTS.items():
        if oid in have:
            continue
        code_list = etree.Element(f"{_P}CodeList", OID=oid, Name=name, DataType="text")
        for value, decode in items.items():
            item = etree.SubElement(code_list, f"{_P}CodeListItem", CodedValue=value)
            text = etree.SubElement(etree.SubElement(item, f"{_P}Decode"), f"{_P}TranslatedText")
            text.text = decode
            text.set("{http://www.w3.org/XML/1998/namespace}lang", "en")
        if after is not None:
            after.addprevious(code_list)
        else:
            mdv.append(code_list)


def _element(
    parent: etree._Element, name: str, *attrs: tuple[str, str | None], text: str | None = None
) -> etree._Element:
    """A child ``name`` of ``parent`` with the attributes that have a value, set in order."""
    el = etree.SubElement(parent, _P + name)
    for attr, value in attrs:
        if value:
            el.set(attr, value)
    if text is not None:
        el.text = text
    return el


_ITEM_DATA = f"{_P}ItemData"
_EVENT = (f"{_P}StudyEventData", "StudyEventOID", "StudyEventRepeatKey")
_FORM = (f"{_P}FormData", "FormOID", "FormRepeatKey")
_GROUP = (f"{_P}ItemGroupData", "ItemGroupOID", "ItemGroupRepeatKey")
_SITE_REF = f"{_P}SiteRef"


class OdmWriter:
    """Builds one subject at a time; used by :func:`write_odm`."""

    def __init__(self, options: OdmExportOptions) -> None:
        self.options = options
        self.transactional = options.file_type == "Transactional"

    # -- pieces -----------------------------------------------------------------------
    def _who(
        self, el: etree._Element, user: str | None, location: str | None, site: str | None
    ) -> None:
        """UserRef and LocationRef of an AuditRecord or Signature (both are required)."""
        _element(el, "UserRef", ("UserOID", user or "UNKNOWN"))
        location = location or site or self.options.placeholder_location
        _element(el, "LocationRef", ("LocationOID", location))

    def _audit(self, parent: etree._Element, audit: AuditRecord, site: str | None) -> None:
        el = _element(
            parent,
            "AuditRecord",
            ("EditPoint", audit.edit_point),
            ("UsedImputationMethod", audit.used_imputation_method),
        )
        self._who(el, audit.user_oid, audit.location_oid, site)
        _element(el, "DateTimeStamp", text=audit.date_time_stamp or _now())
        if audit.reason_for_change:
            _element(el, "ReasonForChange", text=audit.reason_for_change)
        if audit.source_id:
            _element(el, "SourceID", text=audit.source_id)

    def _signature(self, parent: etree._Element, sig: Signature, site: str | None) -> None:
        el = _element(parent, "Signature", ("ID", sig.id))
        self._who(el, sig.user_oid, sig.location_oid, site)
        _element(el, "SignatureRef", ("SignatureOID", sig.signature_oid or "SD.1"))
        _element(el, "DateTimeStamp", text=sig.date_time_stamp or _now())

    def _annotation(self, parent: etree._Element, note: Annotation) -> None:
        el = _element(
            parent,
            "Annotation",
            ("SeqNum", note.seq_num or "1"),
            ("TransactionType", note.transaction_type if self.transactional else None),
            ("ID", note.id),
        )
        if note.comment is not None:
            side = note.sponsor_or_site if note.sponsor_or_site in ("Sponsor", "Site") else None
            _element(el, "Comment", ("SponsorOrSite", side), text=note.comment)
        for flag in note.flags:
            f = _element(el, "Flag")
            code_list = flag.value_code_list_oid or QUERY_STATUS_CODE_LIST
            _element(f, "FlagValue", ("CodeListOID", code_list), text=flag.value)
            if flag.type is not None:
                code_list = flag.type_code_list_oid or FLAG_TYPE_CODE_LIST
                _element(f, "FlagType", ("CodeListOID", code_list), text=flag.type)

    def _head(self, el: etree._Element, node: ClinicalNode, site: str | None) -> None:
        """AuditRecord, Signature: first children of every ClinicalData level."""
        if node.audit is not None:
            self._audit(el, node.audit, site)
        if node.signature is not None:
            self._signature(el, node.signature, site)

    def _level(
        self,
        parent: etree._Element,
        names: tuple[str, str, str],
        node: ClinicalNode,
        site: str | None,
        key: tuple[str, str],
    ) -> etree._Element:
        """StudyEventData, FormData or ItemGroupData (``names``: the element's tag, its OID
        and repeat key attributes) with its ``key`` (OID, repeat key), TransactionType
        (``Context``: it only locates its children), AuditRecord, Signature and Annotations;
        the caller adds its children. Runs once per form and group: attributes are set one by
        one, and a node with no AuditRecord, Signature or Annotation (nearly all) goes
        straight through."""
        tag, oid_name, repeat_name = names
        el = etree.SubElement(parent, tag)
        if key[0]:
            el.set(oid_name, key[0])
        if key[1]:
            el.set(repeat_name, key[1])
        if self.transactional:
            el.set("TransactionType", node.transaction_type or "Context")
        if node.audit is not None or node.signature is not None:
            self._head(el, node, site)
        for note in node.annotations:
            self._annotation(el, note)
        return el

    def _item(self, parent: etree._Element, item: ItemValue, site: str | None) -> None:
        el = etree.SubElement(parent, _ITEM_DATA)
        el.set("ItemOID", item.key.item_oid)
        if self.transactional:
            el.set("TransactionType", item.transaction_type or "Upsert")
        if item.is_null:
            el.set("IsNull", "Yes")
        elif item.value is not None:
            el.set("Value", item.value)
        elif item.transaction_type not in ("Remove", "Context"):
            el.set("IsNull", "Yes")  # Context only carries a query's Annotation: no value
        self._head(el, item, site)
        if item.unit_oid:
            _element(el, "MeasurementUnitRef", ("MeasurementUnitOID", item.unit_oid))
        for note in item.annotations:
            self._annotation(el, note)

    def _items(self, group: etree._Element, items: Iterable[ItemValue], site: str | None) -> None:
        """The ItemData of a group. A plain value (99% of them: no null, unit, audit,
        signature or annotation) is written in line: this loop runs once per value."""
        sub, transactional = etree.SubElement, self.transactional
        for item in items:
            key, value, is_null, _type, unit, tt, audit, signature, notes, _a, _e, _l = item
            if (
                value is None
                or is_null
                or unit
                or notes
                or audit is not None
                or signature is not None
            ):
                self._item(group, item, site)
                continue
            el = sub(group, _ITEM_DATA)  # attributes one by one: faster than keywords
            el.set("ItemOID", key.item_oid)
            if transactional:
                el.set("TransactionType", tt or "Upsert")
            el.set("Value", value)

    def subject(self, record: SubjectRecord) -> etree._Element:
        site = record.site_oid
        el = etree.Element(f"{_P}SubjectData", SubjectKey=record.subject_key, nsmap=_NSMAP)
        if self.transactional:
            el.set("TransactionType", record.transaction_type or "Upsert")
        self._head(el, record, site)
        if record.investigator_oid:
            _element(el, "InvestigatorRef", ("UserOID", record.investigator_oid))
        if site:
            etree.SubElement(el, _SITE_REF).set("LocationOID", site)
        for note in record.annotations:
            self._annotation(el, note)
        level = self._level
        for event in record.events:
            ev = level(el, _EVENT, event, site, (event.study_event_oid, event.repeat_key))
            for form in event.forms:
                fd = level(ev, _FORM, form, site, (form.form_oid, form.repeat_key))
                for group in form.groups:
                    ig = level(fd, _GROUP, group, site, (group.item_group_oid, group.repeat_key))
                    self._items(ig, group.items, site)
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
            if ref.effective_date:  # required: storage gives the metadata's date
                mvr.set("EffectiveDate", ref.effective_date)
    for sd in admin.signature_defs.values():
        s = etree.SubElement(el, f"{_P}SignatureDef", OID=sd.oid)
        if sd.methodology:
            s.set("Methodology", sd.methodology)
        etree.SubElement(s, f"{_P}Meaning").text = sd.meaning or "Signed"
        etree.SubElement(s, f"{_P}LegalReason").text = sd.legal_reason or "Electronic signature"
    return el


_R = TypeVar("_R")


def _safe(build: Callable[[_R], etree._Element], record: _R) -> etree._Element:
    """``build(record)``; if lxml refuses a text of it (a character XML 1.0 cannot carry,
    stored before issue 14's check at the door), the same with those replaced by U+FFFD.
    An export never fails on stored data; the fast path stays as it was."""
    try:
        return build(record)
    except ValueError:
        return build(xml_safe_copy(record))


def write_odm(
    out: BinaryIO,
    subjects: Iterable[SubjectRecord],
    options: OdmExportOptions,
    *,
    metadata: bytes | Sequence[bytes] | None = None,
    admin: m.AdminData | None = None,
    study_oid: str | None = None,
    on_subject: Callable[[ExportStats], None] | None = None,
) -> ExportStats:
    """Write an ODM 1.3.2 file to ``out``: optional metadata and AdminData, then ClinicalData.

    ``subjects`` may come from several studies or metadata versions: each run of subjects
    with the same (StudyOID, MetaDataVersionOID) becomes one ClinicalData element.
    ``metadata``: one stored metadata file, or several versions' (oldest first), written as
    one Study with every version's MetaDataVersion (:func:`versions_elements`).
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
                if isinstance(metadata, bytes):
                    studies = metadata_elements(metadata, study_oid=study_oid)
                else:
                    studies = versions_elements(metadata, study_oid=study_oid)
                for study in studies:
                    xf.write(study, pretty_print=True)
            if admin is not None:
                xf.write(_safe(_admin_element, copy.copy(admin)), pretty_print=True)
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
                element = _safe(writer.subject, record)
                element.tail = "\n"  # one SubjectData per line; pretty printing costs 30%
                xf.write(element)
                stats.subjects += 1
                stats.items += record.item_count
                if on_subject is not None:
                    on_subject(stats)
            if block is not None:
                block.__exit__(None, None, None)
    return stats
