"""Read an ODM 1.3.x file into the model: ``load_odm(bytes) -> LoadResult(odm, findings)``.

The loader never raises on bad input. It reads what it can; what it cannot becomes a located
finding. Elements are matched by local name when they are in the file's ODM namespace (or in
no namespace, for files without one or with an ``xmlns=""`` reset); everything in another
namespace is a vendor extension, kept verbatim on the node it belongs to.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO, TypedDict, TypeVar

from lxml import etree

from odm_engine import model as m
from odm_engine.findings import Finding, Severity, finding
from odm_engine.profiles.namespaces import VENDOR_NAMES
from odm_engine.safexml import parse_bytes

ODM_VERSIONS = ("1.3", "1.3.1", "1.3.2")
DEFINE_NAMESPACES = {
    "http://www.cdisc.org/ns/def/v2.0": "2.0",
    "http://www.cdisc.org/ns/def/v2.1": "2.1",
}
ARM_NS = "http://www.cdisc.org/ns/arm/v1.0"
_STANDARD_NS = {m.XML_NS, "http://www.w3.org/2000/09/xmldsig#", "http://www.w3.org/1999/xlink"}
VENDORS = {
    **VENDOR_NAMES,
    "http://www.cdisc.org/ns/studydesign/v1.0": "CDISC Study Design (SDM-XML)",
    "http://www.cdisc.org/ns/Dataset-XML/v1.0": "CDISC Dataset-XML",
    "http://hl7.org/fhir": "HL7 FHIR",
    "http://www.w3.org/1999/xhtml": "XHTML",
}

T = TypeVar("T")


class _NodeArgs(TypedDict):
    line: int
    ext_attributes: tuple[tuple[str, str], ...]
    extensions: tuple[m.Extension, ...]


@dataclass(frozen=True, slots=True)
class DataRef:
    """An OID reference made by ClinicalData, checked against the file's metadata."""

    element: str
    attribute: str
    oid: str
    line: int
    study_oid: str
    metadata_version_oid: str
    parent_oid: str | None = None


@dataclass(slots=True)
class LoadResult:
    odm: m.ODM | None
    findings: list[Finding] = field(default_factory=list)
    tree: etree._ElementTree | None = None
    namespace: str = m.ODM_NS
    define_version: str | None = None
    data_refs: list[DataRef] = field(default_factory=list)
    path: str | None = None

    @property
    def ok(self) -> bool:
        return self.odm is not None and not any(f.severity is Severity.ERROR for f in self.findings)

    @property
    def study(self) -> m.Study | None:
        return self.odm.study if self.odm else None

    @property
    def metadata_version(self) -> m.MetaDataVersion | None:
        study = self.study
        return study.metadata_version() if study else None


def read_source(source: bytes | BinaryIO | str) -> tuple[bytes, str | None]:
    """Bytes of ``source``; a str is a path, opened here and read as bytes."""
    if isinstance(source, bytes):
        return source, None
    if isinstance(source, str):
        with open(source, "rb") as fh:
            return fh.read(), source
    return source.read(), getattr(source, "name", None)


def load_odm(source: bytes | BinaryIO, *, path: str | None = None) -> LoadResult:
    """Parse and load an ODM file. Never raises for bad content: see ``findings``."""
    data = source if isinstance(source, bytes) else source.read()
    parsed = parse_bytes(data, path=path)
    if isinstance(parsed, Finding):
        return LoadResult(None, [parsed], path=path)
    return load_tree(parsed, path=path)


def load_path(path: str) -> LoadResult:
    """Load the file at ``path`` (opened as bytes; never handed to lxml as a path)."""
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        return LoadResult(
            None, [finding("ODM-XML-001", path=path, detail=f"cannot read: {exc.strerror}")]
        )
    return load_odm(data, path=path)


def load_tree(tree: etree._ElementTree, *, path: str | None = None) -> LoadResult:
    root = tree.getroot()
    qname = etree.QName(root)
    ns = qname.namespace or ""
    if ns == m.ODM2_NS:
        return LoadResult(
            None,
            [finding("ODM-VER-002", path=path, line=root.sourceline, namespace=ns)],
            tree=tree,
            namespace=ns,
            path=path,
        )
    if qname.localname != "ODM" or ns not in (m.ODM_NS, ""):
        return LoadResult(
            None,
            [finding("ODM-VER-001", path=path, line=root.sourceline, tag=root.tag)],
            tree=tree,
            namespace=ns,
            path=path,
        )
    reader = _Reader(ns, path)
    odm = reader.odm(root)
    result = LoadResult(
        odm,
        reader.findings,
        tree=tree,
        namespace=ns,
        path=path,
        define_version=reader.define_version(root),
        data_refs=reader.data_refs,
    )
    if not ns:
        result.findings.insert(0, finding("ODM-NS-001", path=path, line=root.sourceline))
    if odm.odm_version and odm.odm_version not in ODM_VERSIONS:
        result.findings.append(
            finding("ODM-VER-003", path=path, line=root.sourceline, version=odm.odm_version)
        )
    result.findings.extend(reader.extension_findings(root))
    return result


def _bool(value: str | None) -> bool:
    return value == "Yes"


def _int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value.strip())
    except ValueError:
        return None


_XML_PREFIX = f"{{{m.XML_NS}}}"


class _Reader:
    """Builds model nodes from an lxml tree, collecting duplicate-OID findings."""

    def __init__(self, ns: str, path: str | None) -> None:
        self.ns = ns
        self.path = path
        self.findings: list[Finding] = []
        self.data_refs: list[DataRef] = []
        self._prefix = f"{{{ns}}}" if ns else "\0"
        self._tag_cache: dict[str, tuple[str, ...]] = {}

    # -- element helpers ------------------------------------------------------------
    def _tags(self, name: str) -> tuple[str, ...]:
        """Tag names ``name`` may have: in the ODM namespace, or in none (xmlns="" reset)."""
        tags = self._tag_cache.get(name)
        if tags is None:
            tags = (f"{{{self.ns}}}{name}", name) if self.ns else (name,)
            self._tag_cache[name] = tags
        return tags

    def _is_odm(self, el: etree._Element) -> bool:
        tag = el.tag
        if not isinstance(tag, str):
            return False
        return not tag.startswith("{") or tag.startswith(self._prefix)

    def _local(self, el: etree._Element) -> str:
        tag: str = el.tag
        return tag.rsplit("}", 1)[-1]

    def children(self, el: etree._Element, name: str) -> Iterator[etree._Element]:
        return el.iterchildren(*self._tags(name))  # type: ignore[no-any-return]

    def child(self, el: etree._Element, name: str) -> etree._Element | None:
        return next(el.iterchildren(*self._tags(name)), None)

    def base(self, el: etree._Element) -> _NodeArgs:
        """line, vendor attributes and vendor child elements of ``el``."""
        ext_attrs = tuple(
            (k, v) for k, v in el.attrib.items() if k[0] == "{" and not k.startswith(_XML_PREFIX)
        )
        exts = tuple(
            m.Extension(
                namespace=etree.QName(child).namespace or "",
                tag=etree.QName(child).localname,
                xml=etree.tostring(child, with_tail=False),
                line=child.sourceline or 0,
            )
            for child in el.iterchildren(etree.Element)
            if not self._is_odm(child)
        )
        return _NodeArgs(line=el.sourceline or 0, ext_attributes=ext_attrs, extensions=exts)

    def text(self, el: etree._Element | None) -> m.Text:
        if el is None:
            return m.EMPTY_TEXT
        return m.Text(
            translations=tuple(
                m.TranslatedText(lang=tt.get(f"{{{m.XML_NS}}}lang"), text=(tt.text or "").strip())
                for tt in self.children(el, "TranslatedText")
            )
        )

    def aliases(self, el: etree._Element) -> tuple[m.Alias, ...]:
        return tuple(
            m.Alias(context=a.get("Context", ""), name=a.get("Name", ""), **self.base(a))
            for a in self.children(el, "Alias")
        )

    def expressions(self, el: etree._Element) -> tuple[m.FormalExpression, ...]:
        return tuple(
            m.FormalExpression(
                context=fe.get("Context", ""), text=(fe.text or "").strip(), **self.base(fe)
            )
            for fe in self.children(el, "FormalExpression")
        )

    def index(
        self,
        parent: etree._Element,
        name: str,
        build: Callable[[etree._Element], T],
    ) -> dict[str, T]:
        """OID -> definition; a repeated OID is a finding and the first one is kept."""
        out: dict[str, T] = {}
        first_line: dict[str, int] = {}
        for el in self.children(parent, name):
            oid = el.get("OID")
            if oid is None:
                self.findings.append(
                    finding("ODM-OID-002", path=self.path, line=el.sourceline, element=name)
                )
                continue
            if oid in out:
                self.findings.append(
                    finding(
                        "ODM-OID-001",
                        path=self.path,
                        line=el.sourceline,
                        oid=oid,
                        element=name,
                        first_line=first_line[oid],
                    )
                )
                continue
            out[oid] = build(el)
            first_line[oid] = el.sourceline or 0
        return out

    # -- ODM root -------------------------------------------------------------------
    def odm(self, root: etree._Element) -> m.ODM:
        studies = tuple(self.study(s) for s in self.children(root, "Study"))
        self._duplicate_study_oids(root)
        studies = tuple(self.resolve_includes(s, studies) for s in studies)
        admin = tuple(self.admin_data(a) for a in self.children(root, "AdminData"))
        for cd in self.children(root, "ClinicalData"):
            self.clinical_refs(cd)
        return m.ODM(
            file_oid=root.get("FileOID", ""),
            file_type=root.get("FileType", ""),
            granularity=root.get("Granularity"),
            odm_version=root.get("ODMVersion"),
            creation_datetime=root.get("CreationDateTime", ""),
            as_of_datetime=root.get("AsOfDateTime"),
            source_system=root.get("SourceSystem"),
            source_system_version=root.get("SourceSystemVersion"),
            originator=root.get("Originator"),
            description=root.get("Description"),
            namespace=self.ns,
            studies=studies,
            admin_data=admin,
            namespaces=tuple(root.nsmap.items()),
            **self.base(root),
        )

    def _duplicate_study_oids(self, root: etree._Element) -> None:
        seen: dict[str, int] = {}
        for el in self.children(root, "Study"):
            oid = el.get("OID")
            if oid is None:
                self.findings.append(
                    finding("ODM-OID-002", path=self.path, line=el.sourceline, element="Study")
                )
            elif oid in seen:
                self.findings.append(
                    finding(
                        "ODM-OID-001",
                        path=self.path,
                        line=el.sourceline,
                        oid=oid,
                        element="Study",
                        first_line=seen[oid],
                    )
                )
            else:
                seen[oid] = el.sourceline or 0

    def define_version(self, root: etree._Element) -> str | None:
        """The Define-XML version when a MetaDataVersion carries def:DefineVersion."""
        for study in self.children(root, "Study"):
            for mdv in self.children(study, "MetaDataVersion"):
                for ns, version in DEFINE_NAMESPACES.items():
                    if mdv.get(f"{{{ns}}}DefineVersion") is not None:
                        return version
        return None

    def extension_findings(self, root: etree._Element) -> list[Finding]:
        counts: Counter[str] = Counter()
        skip = set(_STANDARD_NS) | set(DEFINE_NAMESPACES) | {ARM_NS, self.ns}
        reset_count = 0
        reset_line: int | None = None
        for el in root.iter(etree.Element):
            tag: str = el.tag
            if tag[0] == "{":
                ns = tag[1:].split("}", 1)[0]
                if ns not in skip:
                    counts[ns] += 1
            elif self.ns:
                reset_count += 1
                reset_line = reset_line or el.sourceline
            for attr in el.attrib:
                if attr[0] == "{":
                    ans = attr[1:].split("}", 1)[0]
                    if ans not in skip:
                        counts[ans] += 1
        out = [
            finding(
                "ODM-EXT-001",
                path=self.path,
                namespace=ns,
                count=n,
                vendor=VENDORS.get(ns, "unknown vendor"),
            )
            for ns, n in counts.most_common()
        ]
        if reset_count:
            out.append(finding("ODM-NS-002", path=self.path, line=reset_line, count=reset_count))
        return out

    # -- Study and metadata ---------------------------------------------------------
    def study(self, el: etree._Element) -> m.Study:
        gv_el = self.child(el, "GlobalVariables")
        gv = m.GlobalVariables()
        if gv_el is not None:

            def gtext(name: str) -> str:
                c = self.child(gv_el, name)
                return (c.text or "").strip() if c is not None else ""

            gv = m.GlobalVariables(
                study_name=gtext("StudyName"),
                study_description=gtext("StudyDescription"),
                protocol_name=gtext("ProtocolName"),
                **self.base(gv_el),
            )
        bd_el = self.child(el, "BasicDefinitions")
        bd = m.BasicDefinitions()
        if bd_el is not None:
            bd = m.BasicDefinitions(
                measurement_units=self.index(bd_el, "MeasurementUnit", self.measurement_unit),
                **self.base(bd_el),
            )
        return m.Study(
            oid=el.get("OID", ""),
            global_variables=gv,
            basic_definitions=bd,
            metadata_versions=tuple(
                self.metadata_version(v) for v in self.children(el, "MetaDataVersion")
            ),
            **self.base(el),
        )

    def measurement_unit(self, el: etree._Element) -> m.MeasurementUnit:
        return m.MeasurementUnit(
            oid=el.get("OID", ""),
            name=el.get("Name", ""),
            symbol=self.text(self.child(el, "Symbol")),
            aliases=self.aliases(el),
            **self.base(el),
        )

    def metadata_version(self, el: etree._Element) -> m.MetaDataVersion:
        include_el = self.child(el, "Include")
        include = None
        if include_el is not None:
            include = m.Include(
                study_oid=include_el.get("StudyOID", ""),
                metadata_version_oid=include_el.get("MetaDataVersionOID", ""),
                **self.base(include_el),
            )
        protocol_el = self.child(el, "Protocol")
        protocol = None
        if protocol_el is not None:
            protocol = m.Protocol(
                description=self.text(self.child(protocol_el, "Description")),
                study_event_refs=tuple(
                    m.StudyEventRef(
                        study_event_oid=r.get("StudyEventOID", ""),
                        order_number=_int(r.get("OrderNumber")),
                        mandatory=_bool(r.get("Mandatory")),
                        collection_exception_condition_oid=r.get("CollectionExceptionConditionOID"),
                        **self.base(r),
                    )
                    for r in self.children(protocol_el, "StudyEventRef")
                ),
                aliases=self.aliases(protocol_el),
                **self.base(protocol_el),
            )
        return m.MetaDataVersion(
            oid=el.get("OID", ""),
            name=el.get("Name", ""),
            description=el.get("Description"),
            include=include,
            protocol=protocol,
            study_event_defs=self.index(el, "StudyEventDef", self.study_event_def),
            form_defs=self.index(el, "FormDef", self.form_def),
            item_group_defs=self.index(el, "ItemGroupDef", self.item_group_def),
            item_defs=self.index(el, "ItemDef", self.item_def),
            code_lists=self.index(el, "CodeList", self.code_list),
            presentations=self.index(el, "Presentation", self.presentation),
            condition_defs=self.index(el, "ConditionDef", self.condition_def),
            method_defs=self.index(el, "MethodDef", self.method_def),
            **self.base(el),
        )

    def study_event_def(self, el: etree._Element) -> m.StudyEventDef:
        return m.StudyEventDef(
            oid=el.get("OID", ""),
            name=el.get("Name", ""),
            repeating=_bool(el.get("Repeating")),
            type=el.get("Type", "Scheduled"),
            category=el.get("Category"),
            description=self.text(self.child(el, "Description")),
            form_refs=tuple(
                m.FormRef(
                    form_oid=r.get("FormOID", ""),
                    order_number=_int(r.get("OrderNumber")),
                    mandatory=_bool(r.get("Mandatory")),
                    collection_exception_condition_oid=r.get("CollectionExceptionConditionOID"),
                    **self.base(r),
                )
                for r in self.children(el, "FormRef")
            ),
            aliases=self.aliases(el),
            **self.base(el),
        )

    def form_def(self, el: etree._Element) -> m.FormDef:
        return m.FormDef(
            oid=el.get("OID", ""),
            name=el.get("Name", ""),
            repeating=_bool(el.get("Repeating")),
            description=self.text(self.child(el, "Description")),
            item_group_refs=tuple(
                m.ItemGroupRef(
                    item_group_oid=r.get("ItemGroupOID", ""),
                    order_number=_int(r.get("OrderNumber")),
                    mandatory=_bool(r.get("Mandatory")),
                    collection_exception_condition_oid=r.get("CollectionExceptionConditionOID"),
                    **self.base(r),
                )
                for r in self.children(el, "ItemGroupRef")
            ),
            archive_layouts=tuple(
                m.ArchiveLayout(
                    oid=a.get("OID", ""),
                    pdf_file_name=a.get("PdfFileName", ""),
                    presentation_oid=a.get("PresentationOID"),
                    **self.base(a),
                )
                for a in self.children(el, "ArchiveLayout")
            ),
            aliases=self.aliases(el),
            **self.base(el),
        )

    def item_group_def(self, el: etree._Element) -> m.ItemGroupDef:
        return m.ItemGroupDef(
            oid=el.get("OID", ""),
            name=el.get("Name", ""),
            repeating=_bool(el.get("Repeating")),
            is_reference_data=_bool(el.get("IsReferenceData")),
            sas_dataset_name=el.get("SASDatasetName"),
            domain=el.get("Domain"),
            origin=el.get("Origin"),
            role=el.get("Role"),
            purpose=el.get("Purpose"),
            comment=el.get("Comment"),
            description=self.text(self.child(el, "Description")),
            item_refs=tuple(self.item_ref(r) for r in self.children(el, "ItemRef")),
            aliases=self.aliases(el),
            **self.base(el),
        )

    def item_ref(self, r: etree._Element) -> m.ItemRef:
        return m.ItemRef(
            item_oid=r.get("ItemOID", ""),
            order_number=_int(r.get("OrderNumber")),
            mandatory=_bool(r.get("Mandatory")),
            key_sequence=_int(r.get("KeySequence")),
            method_oid=r.get("MethodOID"),
            imputation_method_oid=r.get("ImputationMethodOID"),
            role=r.get("Role"),
            role_code_list_oid=r.get("RoleCodeListOID"),
            collection_exception_condition_oid=r.get("CollectionExceptionConditionOID"),
            **self.base(r),
        )

    def item_def(self, el: etree._Element) -> m.ItemDef:
        eq = self.child(el, "ExternalQuestion")
        clr = self.child(el, "CodeListRef")
        return m.ItemDef(
            oid=el.get("OID", ""),
            name=el.get("Name", ""),
            data_type=el.get("DataType", ""),
            length=_int(el.get("Length")),
            significant_digits=_int(el.get("SignificantDigits")),
            sas_field_name=el.get("SASFieldName"),
            sds_var_name=el.get("SDSVarName"),
            origin=el.get("Origin"),
            comment=el.get("Comment"),
            description=self.text(self.child(el, "Description")),
            question=self.text(self.child(el, "Question")),
            external_question=None
            if eq is None
            else m.ExternalQuestion(
                dictionary=eq.get("Dictionary"),
                version=eq.get("Version"),
                code=eq.get("Code"),
                **self.base(eq),
            ),
            measurement_unit_oids=tuple(
                u.get("MeasurementUnitOID", "") for u in self.children(el, "MeasurementUnitRef")
            ),
            range_checks=tuple(self.range_check(rc) for rc in self.children(el, "RangeCheck")),
            code_list_oid=None if clr is None else clr.get("CodeListOID", ""),
            role_code_list_oid=el.get("RoleCodeListOID"),
            aliases=self.aliases(el),
            **self.base(el),
        )

    def range_check(self, el: etree._Element) -> m.RangeCheck:
        unit = self.child(el, "MeasurementUnitRef")
        return m.RangeCheck(
            comparator=el.get("Comparator"),
            soft_hard=el.get("SoftHard", "Hard"),
            check_values=tuple((cv.text or "") for cv in self.children(el, "CheckValue")),
            formal_expressions=self.expressions(el),
            measurement_unit_oid=None if unit is None else unit.get("MeasurementUnitOID"),
            error_message=self.text(self.child(el, "ErrorMessage")),
            **self.base(el),
        )

    def code_list(self, el: etree._Element) -> m.CodeList:
        items = [
            m.CodeListItem(
                coded_value=i.get("CodedValue", ""),
                decode=self.text(self.child(i, "Decode")),
                rank=i.get("Rank"),
                order_number=_int(i.get("OrderNumber")),
                aliases=self.aliases(i),
                **self.base(i),
            )
            for i in self.children(el, "CodeListItem")
        ]
        enumerated = [
            m.CodeListItem(
                coded_value=i.get("CodedValue", ""),
                rank=i.get("Rank"),
                order_number=_int(i.get("OrderNumber")),
                aliases=self.aliases(i),
                **self.base(i),
            )
            for i in self.children(el, "EnumeratedItem")
        ]
        ext = self.child(el, "ExternalCodeList")
        return m.CodeList(
            oid=el.get("OID", ""),
            name=el.get("Name", ""),
            data_type=el.get("DataType", ""),
            sas_format_name=el.get("SASFormatName"),
            description=self.text(self.child(el, "Description")),
            items=tuple(items + enumerated),
            enumerated=bool(enumerated) and not items,
            external_code_list=None
            if ext is None
            else m.ExternalCodeList(
                dictionary=ext.get("Dictionary"),
                version=ext.get("Version"),
                ref=ext.get("ref"),
                href=ext.get("href"),
                **self.base(ext),
            ),
            aliases=self.aliases(el),
            **self.base(el),
        )

    def presentation(self, el: etree._Element) -> m.Presentation:
        return m.Presentation(
            oid=el.get("OID", ""),
            lang=el.get(f"{{{m.XML_NS}}}lang"),
            content=(el.text or ""),
            **self.base(el),
        )

    def condition_def(self, el: etree._Element) -> m.ConditionDef:
        return m.ConditionDef(
            oid=el.get("OID", ""),
            name=el.get("Name", ""),
            description=self.text(self.child(el, "Description")),
            formal_expressions=self.expressions(el),
            aliases=self.aliases(el),
            **self.base(el),
        )

    def method_def(self, el: etree._Element) -> m.MethodDef:
        return m.MethodDef(
            oid=el.get("OID", ""),
            name=el.get("Name", ""),
            type=el.get("Type", "Computation"),
            description=self.text(self.child(el, "Description")),
            formal_expressions=self.expressions(el),
            aliases=self.aliases(el),
            **self.base(el),
        )

    def resolve_includes(self, study: m.Study, studies: tuple[m.Study, ...]) -> m.Study:
        """Merge the definitions a MetaDataVersion Includes from another one in the file."""
        versions = list(study.metadata_versions)
        changed = False
        for i, mdv in enumerate(versions):
            inc = mdv.include
            if inc is None:
                continue
            parent = self._find_mdv(inc, studies, seen={mdv.oid})
            if parent is None:
                continue  # reported by the reference rules
            versions[i] = _merge(parent, mdv)
            changed = True
        return dataclasses.replace(study, metadata_versions=tuple(versions)) if changed else study

    def _find_mdv(
        self, inc: m.Include, studies: tuple[m.Study, ...], seen: set[str]
    ) -> m.MetaDataVersion | None:
        for s in studies:
            if s.oid != inc.study_oid:
                continue
            for mdv in s.metadata_versions:
                if mdv.oid == inc.metadata_version_oid and mdv.oid not in seen:
                    if mdv.include is not None:
                        parent = self._find_mdv(mdv.include, studies, seen | {mdv.oid})
                        return _merge(parent, mdv) if parent else mdv
                    return mdv
        return None

    # -- AdminData ------------------------------------------------------------------
    def admin_data(self, el: etree._Element) -> m.AdminData:
        return m.AdminData(
            study_oid=el.get("StudyOID"),
            users=self.index(el, "User", self.user),
            locations=self.index(el, "Location", self.location),
            signature_defs=self.index(el, "SignatureDef", self.signature_def),
            **self.base(el),
        )

    def user(self, el: etree._Element) -> m.User:
        def t(name: str) -> str | None:
            c = self.child(el, name)
            return (c.text or "").strip() if c is not None else None

        return m.User(
            oid=el.get("OID", ""),
            user_type=el.get("UserType"),
            login_name=t("LoginName"),
            display_name=t("DisplayName"),
            full_name=t("FullName"),
            first_name=t("FirstName"),
            last_name=t("LastName"),
            organization=t("Organization"),
            emails=tuple((e.text or "").strip() for e in self.children(el, "Email")),
            location_oids=tuple(r.get("LocationOID", "") for r in self.children(el, "LocationRef")),
            **self.base(el),
        )

    def location(self, el: etree._Element) -> m.Location:
        return m.Location(
            oid=el.get("OID", ""),
            name=el.get("Name", ""),
            location_type=el.get("LocationType"),
            metadata_version_refs=tuple(
                m.MetaDataVersionRef(
                    study_oid=r.get("StudyOID", ""),
                    metadata_version_oid=r.get("MetaDataVersionOID", ""),
                    effective_date=r.get("EffectiveDate"),
                    **self.base(r),
                )
                for r in self.children(el, "MetaDataVersionRef")
            ),
            **self.base(el),
        )

    def signature_def(self, el: etree._Element) -> m.SignatureDef:
        def t(name: str) -> str:
            c = self.child(el, name)
            return (c.text or "").strip() if c is not None else ""

        return m.SignatureDef(
            oid=el.get("OID", ""),
            methodology=el.get("Methodology"),
            meaning=t("Meaning"),
            legal_reason=t("LegalReason"),
            **self.base(el),
        )

    # -- ClinicalData references -------------------------------------------------------
    def clinical_refs(self, cd: etree._Element) -> None:
        study_oid = cd.get("StudyOID", "")
        mdv_oid = cd.get("MetaDataVersionOID", "")
        refs = self.data_refs

        def add(el: etree._Element, attr: str, parent: str | None = None) -> None:
            oid = el.get(attr)
            if oid is not None:
                refs.append(
                    DataRef(
                        self._local(el),
                        attr,
                        oid,
                        el.sourceline or 0,
                        study_oid,
                        mdv_oid,
                        parent,
                    )
                )

        add(cd, "StudyOID")
        add(cd, "MetaDataVersionOID")
        for el in cd.iter():
            if not isinstance(el.tag, str) or not self._is_odm(el):
                continue
            name = self._local(el)
            if name == "StudyEventData":
                add(el, "StudyEventOID")
            elif name == "FormData":
                add(el, "FormOID")
            elif name == "ItemGroupData":
                add(el, "ItemGroupOID")
            elif name.startswith("ItemData"):
                add(el, "ItemOID")
            elif name == "SiteRef":
                add(el, "LocationOID")


def _merge(parent: m.MetaDataVersion, child: m.MetaDataVersion) -> m.MetaDataVersion:
    """The child's definitions over the parent's (ODM 1.3.2 §3.1.2.1 Include)."""
    return dataclasses.replace(
        child,
        protocol=child.protocol or parent.protocol,
        study_event_defs={**parent.study_event_defs, **child.study_event_defs},
        form_defs={**parent.form_defs, **child.form_defs},
        item_group_defs={**parent.item_group_defs, **child.item_group_defs},
        item_defs={**parent.item_defs, **child.item_defs},
        code_lists={**parent.code_lists, **child.code_lists},
        presentations={**parent.presentations, **child.presentations},
        condition_defs={**parent.condition_defs, **child.condition_defs},
        method_defs={**parent.method_defs, **child.method_defs},
    )
