"""The ODM 1.3.2 metadata tree as frozen, slotted dataclasses.

Names follow the ODM 1.3.2 specification so a reader with the spec open finds their way.
Every node carries the line it came from (``line``) and keeps vendor extensions (attributes
and child elements in a namespace that is not CDISC's) so they can be written back unchanged.
Definitions are held in insertion-ordered mappings keyed by OID: the loader reports duplicate
OIDs as findings and keeps the first definition.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

ODM_NS = "http://www.cdisc.org/ns/odm/v1.3"
ODM2_NS = "http://www.cdisc.org/ns/odm/v2.0"
XML_NS = "http://www.w3.org/XML/1998/namespace"

_EMPTY: Mapping[str, object] = MappingProxyType({})


@dataclass(frozen=True, slots=True, kw_only=True)
class Extension:
    """A vendor element kept verbatim (serialised XML) with its namespace and line."""

    namespace: str
    tag: str
    xml: bytes
    line: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Node:
    """Base of every ODM node: source line and vendor extensions."""

    line: int = 0
    ext_attributes: tuple[tuple[str, str], ...] = ()
    """Vendor attributes in Clark notation ``{namespace}name`` with their values."""
    extensions: tuple[Extension, ...] = ()

    def ext_attribute(self, namespace: str, name: str) -> str | None:
        key = f"{{{namespace}}}{name}"
        for attr, value in self.ext_attributes:
            if attr == key:
                return value
        return None


@dataclass(frozen=True, slots=True, kw_only=True)
class TranslatedText:
    lang: str | None
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Text:
    """Description, Question, Decode, ErrorMessage, Symbol: one text per language."""

    translations: tuple[TranslatedText, ...] = ()

    def get(self, lang: str | None = None, default_lang: str | None = "en") -> str:
        """The text in ``lang``, else the study default, else untagged, else the first."""
        if not self.translations:
            return ""
        for wanted in (lang, default_lang, None):
            for tt in self.translations:
                if tt.lang == wanted or (
                    wanted and tt.lang and tt.lang.split("-")[0] == wanted.split("-")[0]
                ):
                    return tt.text
        return self.translations[0].text

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(tt.lang for tt in self.translations if tt.lang)

    def __bool__(self) -> bool:
        return bool(self.translations)


EMPTY_TEXT = Text()


@dataclass(frozen=True, slots=True, kw_only=True)
class Alias(Node):
    context: str
    name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class FormalExpression(Node):
    context: str
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class MeasurementUnit(Node):
    oid: str
    name: str
    symbol: Text = EMPTY_TEXT
    aliases: tuple[Alias, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class GlobalVariables(Node):
    study_name: str = ""
    study_description: str = ""
    protocol_name: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Include(Node):
    study_oid: str
    metadata_version_oid: str


@dataclass(frozen=True, slots=True, kw_only=True)
class StudyEventRef(Node):
    study_event_oid: str
    order_number: int | None = None
    mandatory: bool = False
    collection_exception_condition_oid: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Protocol(Node):
    description: Text = EMPTY_TEXT
    study_event_refs: tuple[StudyEventRef, ...] = ()
    aliases: tuple[Alias, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class FormRef(Node):
    form_oid: str
    order_number: int | None = None
    mandatory: bool = False
    collection_exception_condition_oid: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class StudyEventDef(Node):
    oid: str
    name: str
    repeating: bool = False
    type: str = "Scheduled"
    category: str | None = None
    description: Text = EMPTY_TEXT
    form_refs: tuple[FormRef, ...] = ()
    aliases: tuple[Alias, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ItemGroupRef(Node):
    item_group_oid: str
    order_number: int | None = None
    mandatory: bool = False
    collection_exception_condition_oid: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ArchiveLayout(Node):
    oid: str
    pdf_file_name: str
    presentation_oid: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class FormDef(Node):
    oid: str
    name: str
    repeating: bool = False
    description: Text = EMPTY_TEXT
    item_group_refs: tuple[ItemGroupRef, ...] = ()
    archive_layouts: tuple[ArchiveLayout, ...] = ()
    aliases: tuple[Alias, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ItemRef(Node):
    item_oid: str
    order_number: int | None = None
    mandatory: bool = False
    key_sequence: int | None = None
    method_oid: str | None = None
    imputation_method_oid: str | None = None
    role: str | None = None
    role_code_list_oid: str | None = None
    collection_exception_condition_oid: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ItemGroupDef(Node):
    oid: str
    name: str
    repeating: bool = False
    is_reference_data: bool = False
    sas_dataset_name: str | None = None
    domain: str | None = None
    origin: str | None = None
    role: str | None = None
    purpose: str | None = None
    comment: str | None = None
    description: Text = EMPTY_TEXT
    item_refs: tuple[ItemRef, ...] = ()
    aliases: tuple[Alias, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ExternalQuestion(Node):
    dictionary: str | None = None
    version: str | None = None
    code: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RangeCheck(Node):
    comparator: str | None = None
    """LT, LE, GT, GE, EQ, NE, IN, NOTIN; None when the check is a FormalExpression."""
    soft_hard: str = "Hard"
    check_values: tuple[str, ...] = ()
    formal_expressions: tuple[FormalExpression, ...] = ()
    measurement_unit_oid: str | None = None
    error_message: Text = EMPTY_TEXT

    @property
    def is_soft(self) -> bool:
        return self.soft_hard == "Soft"


@dataclass(frozen=True, slots=True, kw_only=True)
class ItemDef(Node):
    oid: str
    name: str
    data_type: str
    length: int | None = None
    significant_digits: int | None = None
    sas_field_name: str | None = None
    sds_var_name: str | None = None
    origin: str | None = None
    comment: str | None = None
    description: Text = EMPTY_TEXT
    question: Text = EMPTY_TEXT
    external_question: ExternalQuestion | None = None
    measurement_unit_oids: tuple[str, ...] = ()
    range_checks: tuple[RangeCheck, ...] = ()
    code_list_oid: str | None = None
    role_code_list_oid: str | None = None
    aliases: tuple[Alias, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class CodeListItem(Node):
    coded_value: str
    decode: Text = EMPTY_TEXT
    rank: str | None = None
    order_number: int | None = None
    aliases: tuple[Alias, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ExternalCodeList(Node):
    dictionary: str | None = None
    version: str | None = None
    ref: str | None = None
    href: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CodeList(Node):
    oid: str
    name: str
    data_type: str
    sas_format_name: str | None = None
    description: Text = EMPTY_TEXT
    items: tuple[CodeListItem, ...] = ()
    """CodeListItems and EnumeratedItems alike; EnumeratedItems have an empty decode."""
    enumerated: bool = False
    external_code_list: ExternalCodeList | None = None
    aliases: tuple[Alias, ...] = ()

    @property
    def coded_values(self) -> tuple[str, ...]:
        return tuple(item.coded_value for item in self.items)


@dataclass(frozen=True, slots=True, kw_only=True)
class Presentation(Node):
    oid: str
    lang: str | None = None
    content: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class ConditionDef(Node):
    oid: str
    name: str
    description: Text = EMPTY_TEXT
    formal_expressions: tuple[FormalExpression, ...] = ()
    aliases: tuple[Alias, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class MethodDef(Node):
    oid: str
    name: str
    type: str = "Computation"
    description: Text = EMPTY_TEXT
    formal_expressions: tuple[FormalExpression, ...] = ()
    aliases: tuple[Alias, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class MetaDataVersion(Node):
    oid: str
    name: str
    description: str | None = None
    include: Include | None = None
    protocol: Protocol | None = None
    study_event_defs: Mapping[str, StudyEventDef] = field(default_factory=dict)
    form_defs: Mapping[str, FormDef] = field(default_factory=dict)
    item_group_defs: Mapping[str, ItemGroupDef] = field(default_factory=dict)
    item_defs: Mapping[str, ItemDef] = field(default_factory=dict)
    code_lists: Mapping[str, CodeList] = field(default_factory=dict)
    presentations: Mapping[str, Presentation] = field(default_factory=dict)
    condition_defs: Mapping[str, ConditionDef] = field(default_factory=dict)
    method_defs: Mapping[str, MethodDef] = field(default_factory=dict)

    def study_events_in_order(self) -> tuple[StudyEventDef, ...]:
        """StudyEventDefs in Protocol order (by OrderNumber, then document order)."""
        if self.protocol is None:
            return tuple(self.study_event_defs.values())
        refs = sorted(
            enumerate(self.protocol.study_event_refs),
            key=lambda p: (p[1].order_number is None, p[1].order_number or 0, p[0]),
        )
        return tuple(
            self.study_event_defs[r.study_event_oid]
            for _, r in refs
            if r.study_event_oid in self.study_event_defs
        )

    def item_code_list(self, item: ItemDef) -> CodeList | None:
        return self.code_lists.get(item.code_list_oid) if item.code_list_oid else None


@dataclass(frozen=True, slots=True, kw_only=True)
class BasicDefinitions(Node):
    measurement_units: Mapping[str, MeasurementUnit] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class Study(Node):
    oid: str
    global_variables: GlobalVariables = field(default_factory=GlobalVariables)
    basic_definitions: BasicDefinitions = field(default_factory=BasicDefinitions)
    metadata_versions: tuple[MetaDataVersion, ...] = ()

    def metadata_version(self, oid: str | None = None) -> MetaDataVersion | None:
        """The MetaDataVersion with ``oid``, or the last one when ``oid`` is None."""
        if oid is None:
            return self.metadata_versions[-1] if self.metadata_versions else None
        for mdv in self.metadata_versions:
            if mdv.oid == oid:
                return mdv
        return None


@dataclass(frozen=True, slots=True, kw_only=True)
class MetaDataVersionRef(Node):
    study_oid: str
    metadata_version_oid: str
    effective_date: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Location(Node):
    oid: str
    name: str
    location_type: str | None = None
    metadata_version_refs: tuple[MetaDataVersionRef, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class User(Node):
    oid: str
    user_type: str | None = None
    login_name: str | None = None
    display_name: str | None = None
    full_name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    organization: str | None = None
    emails: tuple[str, ...] = ()
    location_oids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class SignatureDef(Node):
    oid: str
    methodology: str | None = None
    meaning: str = ""
    legal_reason: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class AdminData(Node):
    study_oid: str | None = None
    users: Mapping[str, User] = field(default_factory=dict)
    locations: Mapping[str, Location] = field(default_factory=dict)
    signature_defs: Mapping[str, SignatureDef] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class ODM(Node):
    """The ODM root: file attributes, studies and admin data (ClinicalData is streamed)."""

    file_oid: str = ""
    file_type: str = ""
    granularity: str | None = None
    odm_version: str | None = None
    creation_datetime: str = ""
    as_of_datetime: str | None = None
    source_system: str | None = None
    source_system_version: str | None = None
    originator: str | None = None
    description: str | None = None
    namespace: str = ODM_NS
    studies: tuple[Study, ...] = ()
    admin_data: tuple[AdminData, ...] = ()
    namespaces: tuple[tuple[str | None, str], ...] = ()
    """Prefix -> namespace declarations on the root, kept for writing back."""

    @property
    def study(self) -> Study | None:
        return self.studies[0] if self.studies else None

    def find_study(self, oid: str) -> Study | None:
        for study in self.studies:
            if study.oid == oid:
                return study
        return None

    def default_language(self) -> str | None:
        """The language the study writes first, used when the user's language is missing."""
        for study in self.studies:
            for mdv in study.metadata_versions:
                for item in mdv.item_defs.values():
                    if item.question.translations:
                        return item.question.translations[0].lang
        return None
