"""ClinicalData as typed records: what the streaming reader yields and the ODM writer takes.

One :class:`SubjectRecord` holds one SubjectData element with everything under it, named as
in ODM 1.3.2 §3.1.6 (StudyEventData, FormData, ItemGroupData, ItemData and the typed
``ItemDataString``/``ItemDataInteger``/... variants, TransactionType, AuditRecord, Signature,
Annotation, IsNull). Vendor content is kept as :class:`~odm_engine.model.Extension` on the
record it belongs to, so a writer can put it back and nothing is silently lost.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

from odm_engine.clinical import ItemKey
from odm_engine.datatypes import ITEM_DATA_ELEMENTS
from odm_engine.model import Extension, Node

TRANSACTION_TYPES = ("Insert", "Update", "Remove", "Upsert", "Context")

TYPED_ITEM_DATA: Mapping[str, str | None] = ITEM_DATA_ELEMENTS
"""Element name -> ODM DataType of the typed ItemData variants (ODM 1.3.2 §3.1.6.6), from the
DataType registry."""
ELEMENT_OF_TYPE = {v: k for k, v in TYPED_ITEM_DATA.items() if v}

QUERY_STATUS_CODE_LIST = "EDC.QUERY_STATUS"
"""CodeListOID named by the FlagValue of a query written as an Annotation."""
FORM_STATUS_CODE_LIST = "EDC.FORM_STATUS"
"""CodeListOID named by the FlagValue of a form status change in an audit export."""
FLAG_TYPE_CODE_LIST = "EDC.FLAG_TYPE"
"""CodeListOID named by every FlagType we write."""
FLAG_CODE_LISTS: dict[str, tuple[str, dict[str, str]]] = {
    QUERY_STATUS_CODE_LIST: (
        "EDC query status",
        {"open": "Open", "answered": "Answered", "closed": "Closed"},
    ),
    FORM_STATUS_CODE_LIST: (
        "EDC form status",
        {
            "not_started": "Not started",
            "in_progress": "In progress",
            "complete": "Complete",
            "verified": "Source data verified",
            "signed": "Signed",
            "locked": "Locked",
        },
    ),
    FLAG_TYPE_CODE_LIST: ("EDC flag type", {"query": "Query", "status": "Form status"}),
}
"""The vocabulary of the Flags an export writes (docs/import-export.md): OID -> (Name,
CodedValue -> Decode), written as CodeLists into the metadata of an export so every
CodeListOID resolves. The stores' own enums (storage.vocabulary QueryStatus, FormStatus) are
held to these by tests."""


@dataclass(frozen=True, slots=True, kw_only=True)
class _Attribution:
    """Who (UserRef), where (LocationRef) and when: what AuditRecord and Signature share."""

    user_oid: str | None = None
    location_oid: str | None = None
    date_time_stamp: str | None = None
    line: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditRecord(_Attribution):
    """ODM AuditRecord: who, where, when, why (ReasonForChange) and from what (SourceID)."""

    reason_for_change: str | None = None
    source_id: str | None = None
    edit_point: str | None = None
    used_imputation_method: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Signature(_Attribution):
    """ODM Signature: who signed, where, when, and the SignatureDef (meaning) they signed."""

    signature_oid: str | None = None
    id: str | None = None
    """Signature/@ID: readers such as odmlib refuse a Signature without one."""


@dataclass(frozen=True, slots=True)
class Flag:
    value: str
    value_code_list_oid: str | None = None
    type: str | None = None
    type_code_list_oid: str | None = None


@dataclass(frozen=True, slots=True)
class Annotation:
    """ODM Annotation: a comment (a query, a note) and flags on the element it sits in."""

    seq_num: str = "1"
    comment: str | None = None
    sponsor_or_site: str | None = None
    flags: tuple[Flag, ...] = ()
    transaction_type: str | None = None
    id: str | None = None
    line: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class ClinicalNode(Node):
    """What every ClinicalData level carries besides its children (and, from
    :class:`~odm_engine.model.Node`, its source line and vendor attributes and elements)."""

    transaction_type: str | None = None
    audit: AuditRecord | None = None
    signature: Signature | None = None
    annotations: tuple[Annotation, ...] = ()


class ItemValue(NamedTuple):
    """One ItemData (or typed ItemData*) with its full key.

    ``value`` is the text as written (None when absent, for IsNull or Remove); ``data_type``
    is the DataType the typed variant declares (None for plain ItemData). A NamedTuple, not a
    frozen dataclass: a large file holds millions and this builds four times faster; the
    fields after ``unit_oid`` are those of :class:`ClinicalNode` (a NamedTuple cannot
    inherit them).
    """

    key: ItemKey
    value: str | None = None
    is_null: bool = False
    data_type: str | None = None
    unit_oid: str | None = None
    transaction_type: str | None = None
    audit: AuditRecord | None = None
    signature: Signature | None = None
    annotations: tuple[Annotation, ...] = ()
    ext_attributes: tuple[tuple[str, str], ...] = ()
    extensions: tuple[Extension, ...] = ()
    line: int = 0


class ItemKeys:
    """ItemKeys made once and shared (they are immutable): a file or an export repeats the
    same few thousand keys subject after subject. Found by the key of their ItemGroupData,
    then by ItemOID; all forgotten at once past ``limit`` keys, so memory stays bounded."""

    __slots__ = ("_count", "_groups", "limit")

    def __init__(self, limit: int = 500_000) -> None:
        self._groups: dict[tuple[str, ...], dict[str, ItemKey]] = {}
        self._count = 0
        self.limit = limit

    def of_group(self, group: tuple[str, ...]) -> dict[str, ItemKey]:
        """ItemOID -> ItemKey of one ItemGroupData, ``group`` being its (StudyEventOID,
        StudyEventRepeatKey, FormOID, FormRepeatKey, ItemGroupOID, ItemGroupRepeatKey). A
        key not in it yet comes from :meth:`add`."""
        keys = self._groups.get(group)
        if keys is None:
            if self._count > self.limit:
                self._groups.clear()
                self._count = 0
            keys = self._groups[group] = {}
        return keys

    def add(self, keys: dict[str, ItemKey], group: tuple[str, ...], item_oid: str) -> ItemKey:
        """The key of ``item_oid`` in ``group``, remembered in ``keys`` (from of_group)."""
        self._count += 1
        key = keys[item_oid] = ItemKey(*group, item_oid)  # type: ignore[call-arg,unused-ignore]
        return key


@dataclass(frozen=True, slots=True, kw_only=True)
class ItemGroupRecord(ClinicalNode):
    item_group_oid: str
    repeat_key: str = ""
    items: tuple[ItemValue, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class FormRecord(ClinicalNode):
    form_oid: str
    repeat_key: str = ""
    groups: tuple[ItemGroupRecord, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class StudyEventRecord(ClinicalNode):
    study_event_oid: str
    repeat_key: str = ""
    forms: tuple[FormRecord, ...] = ()


@dataclass(frozen=True, slots=True)
class VendorAudit:
    """An audit entry a vendor keeps outside ODM (OpenClinica:AuditLog), mapped by a profile."""

    entity: str
    user: str | None
    date_time_stamp: str | None
    action: str
    old_value: str | None
    new_value: str | None
    line: int = 0


@dataclass(frozen=True, slots=True)
class Note:
    """A query or note on an item (ODM Annotation comment, OpenClinica discrepancy note)."""

    key: ItemKey | None
    text: str
    status: str | None = None
    author: str | None = None
    date_time_stamp: str | None = None
    source: str = "Annotation"
    line: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class SubjectRecord(ClinicalNode):
    """One SubjectData element and everything in it."""

    study_oid: str
    metadata_version_oid: str
    subject_key: str
    site_oid: str | None = None
    investigator_oid: str | None = None
    events: tuple[StudyEventRecord, ...] = ()
    vendor_audit: tuple[VendorAudit, ...] = ()
    notes: tuple[Note, ...] = ()
    clinical_index: int = 0
    """Which ClinicalData element of the file (0-based) the subject came from."""

    def items(self) -> Iterator[ItemValue]:
        """Every ItemValue in document order."""
        for event in self.events:
            for form in event.forms:
                for group in form.groups:
                    yield from group.items

    @property
    def item_count(self) -> int:
        return sum(len(g.items) for e in self.events for f in e.forms for g in f.groups)


@dataclass(frozen=True, slots=True)
class FileHeader:
    """The ODM root's attributes: what the file says about itself."""

    file_oid: str = ""
    file_type: str = ""
    odm_version: str | None = None
    creation_datetime: str = ""
    as_of_datetime: str | None = None
    source_system: str | None = None
    source_system_version: str | None = None
    originator: str | None = None
    granularity: str | None = None
    namespace: str = ""
    namespaces: tuple[tuple[str | None, str], ...] = field(default=())

    @property
    def transactional(self) -> bool:
        return self.file_type == "Transactional"
