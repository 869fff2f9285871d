"""Define-XML 2.1 generated from the study metadata: ``write_define(odm) -> bytes``.

One ItemGroupDef per collected dataset (see :mod:`renderers.tabular.plan`), each opening with
the ODM key variables; ItemDefs with Define data types, lengths, SAS names and labels; code
lists with decodes; measurement units; origins (Collected, with CRF pages when a page map is
given; Derived, with the MethodDef and its FormalExpressions); value-level metadata from
collection exception conditions (:mod:`renderers.define.vlm`); comments; the study's Alias
annotations (SDTM, CDASH) kept on groups, items and code list items. The document starts
with ``<?xml-stylesheet type="text/xsl" href="define2-1.xsl"?>``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from lxml import etree

from odm_engine import model as m
from odm_engine.datatypes import REGISTRY
from renderers.define.vlm import Clause, where_clauses
from renderers.tabular.plan import (
    Column,
    Dataset,
    dataset_plan,
    item_length,
    key_lengths,
    study_identifier,
)

ODM = m.ODM_NS
DEF = "http://www.cdisc.org/ns/def/v2.1"
XLINK = "http://www.w3.org/1999/xlink"
NSMAP = {None: ODM, "def": DEF, "xlink": XLINK}
ACRF_LEAF = "LF.acrf"
_KEY_ORIGIN = {
    "study": "Protocol",
    "usubjid": "Assigned",
    "site": "Assigned",
    "subject": "Assigned",
}
CT_STANDARD = "STD.CT"
_CLASS_DOMAINS = {
    "SPECIAL PURPOSE": ("DM", "CO", "SE", "SM", "SV"),
    "INTERVENTIONS": ("AG", "CM", "EC", "EX", "ML", "PR", "SU"),
    "EVENTS": ("AE", "BE", "CE", "DS", "DV", "HO", "MH"),
}
_DOMAIN_CLASS = {d: name for name, domains in _CLASS_DOMAINS.items() for d in domains}


def dataset_class(group: m.ItemGroupDef) -> str:
    """def:Class of a raw dataset: the general observation class of the SDTM domain the item
    group maps to (its Domain, or an SDTM Alias); FINDINGS otherwise (a CRF records
    observations)."""
    names = [group.domain or ""] + [a.name for a in group.aliases if a.context.upper() == "SDTM"]
    for name in names:
        found = _DOMAIN_CLASS.get(name[:2].upper())
        if found:
            return found
    return "FINDINGS"


def _code_list_type(data_type: str) -> str:
    """Define-XML CodeList/@DataType: the registry's Define type for numbers, else text."""
    found = REGISTRY.get(data_type)
    if found is not None and found.kind in ("integer", "number"):
        return found.define_type
    return "text"


@dataclass(frozen=True, slots=True)
class DefineOptions:
    """What the metadata does not say: file identity, the aCRF and its page numbers."""

    file_oid: str | None = None
    creation_datetime: str | None = None
    source_system_version: str = "0.1.0"
    crf_pages: Mapping[str, Sequence[int]] = field(default_factory=dict)
    """Item OID -> page numbers in the annotated CRF; emits def:PDFPageRef when given."""
    acrf_href: str = "acrf.pdf"
    dataset_suffix: str = ".json"
    """The dataset files the def:leaf elements name (Dataset-JSON by default)."""
    stylesheet: str = "define2-1.xsl"
    ct_version: str | None = None
    """NCI/CDISC controlled terminology version (e.g. ``2024-12-20``) for def:Standards."""
    ct_publishing_set: str = "SDTM"
    key_data: Mapping[str, int] | None = None
    """The longest key values stored (SubjectKey, site number, repeat keys), for the key
    variables' Length; None: the metadata's lengths and defaults (a Define-XML of a file)."""
    contributing: Mapping[str, Sequence[str]] = field(default_factory=dict)
    """ItemGroupDef OID -> the MetaDataVersion OIDs whose subjects hold values in it (from the
    store); a dataset more than one contributed to says so in its def:CommentDef."""


def _q(ns: str, name: str) -> str:
    return f"{{{ns}}}{name}"


def _sub(parent: etree._Element, name: str, ns: str = ODM, **attrs: str | None) -> etree._Element:
    el = etree.SubElement(parent, _q(ns, name))
    for key, value in attrs.items():
        if value is not None:
            attr = key[4:] if key.startswith("def_") else key
            el.set(_q(DEF, attr) if key.startswith("def_") else attr, value)
    return el


def _text(parent: etree._Element, name: str, text: str, lang: str | None = "en") -> None:
    el = _sub(parent, name)
    tt = _sub(el, "TranslatedText")
    if lang:
        tt.set(_q(m.XML_NS, "lang"), lang)
    tt.text = text


def _aliases(parent: etree._Element, aliases: Sequence[m.Alias]) -> None:
    for alias in aliases:
        _sub(parent, "Alias", Context=alias.context, Name=alias.name)


def _yn(flag: bool) -> str:
    return "Yes" if flag else "No"


def _versions_note(versions: Sequence[str], newest: str) -> str | None:
    """The comment of a dataset whose rows come from subjects on several MetaDataVersions;
    None for one (or none)."""
    if len(versions) < 2:
        return None
    return (
        f"Collected under MetaDataVersions {', '.join(versions)}; the dataset follows "
        f"{newest}: values of items {newest} no longer holds are in the ODM export only."
    )


class _DefineBuilder:
    def __init__(self, odm: m.ODM, study: m.Study, mdv: m.MetaDataVersion, opts: DefineOptions):
        self.odm, self.study, self.mdv, self.opts = odm, study, mdv, opts
        keys = key_lengths(study_identifier(study), mdv, opts.key_data)
        self.datasets = dataset_plan(mdv, study.basic_definitions.measurement_units, keys=keys)
        self.comments: dict[str, str] = {}
        self.code_lists: dict[str, m.CodeList] = {}
        self.units: dict[str, m.MeasurementUnit] = {}
        self.methods: dict[str, m.MethodDef] = {}
        self.vlm: dict[str, tuple[Column, tuple[Clause, ...]]] = {}
        self.derived = {
            ref.item_oid
            for g in mdv.item_group_defs.values()
            for ref in g.item_refs
            if ref.method_oid
        }

    def build(self) -> etree._Element:
        opts = self.opts
        now = opts.creation_datetime or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")
        root = etree.Element(_q(ODM, "ODM"), nsmap=NSMAP)  # type: ignore[arg-type]
        root.set("ODMVersion", "1.3.2")
        root.set("FileOID", opts.file_oid or f"{self.study.oid}.{self.mdv.oid}.Define-XML_2.1.0")
        root.set("FileType", "Snapshot")
        root.set("CreationDateTime", now)
        root.set("SourceSystem", "odm-edc")
        root.set("SourceSystemVersion", opts.source_system_version)
        root.set(_q(DEF, "Context"), "Other")
        study = _sub(root, "Study", OID=self.study.oid)
        gv = _sub(study, "GlobalVariables")
        g = self.study.global_variables
        for name, value in (
            ("StudyName", g.study_name or self.study.oid),
            ("StudyDescription", g.study_description or g.study_name or self.study.oid),
            ("ProtocolName", g.protocol_name or g.study_name or self.study.oid),
        ):
            _sub(gv, name).text = value
        basic = _sub(study, "BasicDefinitions")
        mdv_el = _sub(
            study,
            "MetaDataVersion",
            OID=self.mdv.oid,
            Name=self.mdv.name or self.mdv.oid,
            Description=self.mdv.description,
            def_DefineVersion="2.1.0",
        )
        self._collect()
        standards = _sub(mdv_el, "Standards", DEF)
        _sub(
            standards,
            "Standard",
            DEF,
            OID=CT_STANDARD,
            Name="CDISC/NCI",
            Type="CT",
            PublishingSet=opts.ct_publishing_set,
            Version=opts.ct_version or "unspecified",
            Status="Final" if opts.ct_version else "Draft",
        )
        if opts.crf_pages:
            acrf = _sub(mdv_el, "AnnotatedCRF", DEF)
            _sub(acrf, "DocumentRef", DEF, leafID=ACRF_LEAF)
        self._value_lists(mdv_el)
        for ds in self.datasets:
            self._item_group(mdv_el, ds)
        self._item_defs(mdv_el)
        self._code_lists(mdv_el)
        self._methods(mdv_el)
        for oid, text in self.comments.items():
            com = _sub(mdv_el, "CommentDef", DEF, OID=oid)
            _text(com, "Description", text)
        if opts.crf_pages:
            leaf = _sub(mdv_el, "leaf", DEF, ID=ACRF_LEAF)
            leaf.set(_q(XLINK, "href"), opts.acrf_href)
            _sub(leaf, "title", DEF).text = "Annotated Case Report Form"
        for unit in self.units.values():
            mu = _sub(basic, "MeasurementUnit", OID=unit.oid, Name=unit.name)
            sym = _sub(mu, "Symbol")
            for tt in unit.symbol.translations or (m.TranslatedText(lang=None, text=unit.name),):
                el = _sub(sym, "TranslatedText")
                if tt.lang:
                    el.set(_q(m.XML_NS, "lang"), tt.lang)
                el.text = tt.text
        if not self.units:
            study.remove(basic)
        return root

    # -- collection -------------------------------------------------------------------
    def _collect(self) -> None:
        mdv = self.mdv
        all_units = self.study.basic_definitions.measurement_units
        for ds in self.datasets:
            note = _versions_note(self.opts.contributing.get(ds.oid, ()), self.mdv.oid)
            if ds.group.comment or note:
                self.comments[f"COM.{ds.oid}"] = " ".join(filter(None, (ds.group.comment, note)))
            for col in ds.item_columns:
                item = mdv.item_defs[col.oid]
                if item.comment:
                    self.comments[f"COM.{item.oid}"] = item.comment
                if item.code_list_oid and item.code_list_oid in mdv.code_lists:
                    self.code_lists[item.code_list_oid] = mdv.code_lists[item.code_list_oid]
                for unit_oid in item.measurement_unit_oids:
                    if unit_oid in all_units:
                        self.units[unit_oid] = all_units[unit_oid]
                if col.method_oid and col.method_oid in mdv.method_defs:
                    self.methods[col.method_oid] = mdv.method_defs[col.method_oid]
            for ref in ds.group.item_refs:
                col_match = next((c for c in ds.item_columns if c.oid == ref.item_oid), None)
                if col_match is None or ref.item_oid in self.vlm:
                    continue
                clauses = where_clauses(ref, ds.group, mdv)
                if clauses:
                    self.vlm[ref.item_oid] = (col_match, clauses)

    # -- sections ---------------------------------------------------------------------
    def _value_lists(self, mdv_el: etree._Element) -> None:
        for item_oid, (_col, clauses) in self.vlm.items():
            vl = _sub(mdv_el, "ValueListDef", DEF, OID=f"VL.{item_oid}")
            ref = _sub(vl, "ItemRef", ItemOID=f"{item_oid}.VLM", OrderNumber="1", Mandatory="No")
            for n in range(len(clauses)):
                _sub(ref, "WhereClauseRef", DEF, WhereClauseOID=f"WC.{item_oid}.{n + 1}")
        for item_oid, (_col, clauses) in self.vlm.items():
            for n, clause in enumerate(clauses, 1):
                wc = _sub(mdv_el, "WhereClauseDef", DEF, OID=f"WC.{item_oid}.{n}")
                for comparison in clause:
                    rc = _sub(
                        wc,
                        "RangeCheck",
                        Comparator=comparison.comparator,
                        SoftHard="Soft",
                        def_ItemOID=comparison.item_oid,
                    )
                    for value in comparison.values:
                        _sub(rc, "CheckValue").text = value

    def _item_group(self, mdv_el: etree._Element, ds: Dataset) -> None:
        group = ds.group
        ig = _sub(
            mdv_el,
            "ItemGroupDef",
            OID=ds.oid,
            Name=ds.name,
            Repeating=_yn(ds.repeating),
            IsReferenceData=_yn(group.is_reference_data),
            SASDatasetName=ds.name,
            Purpose="Tabulation",  # raw EDC datasets: no borrowed SDTM Domain (issue 19)
            def_Structure=ds.structure,
            def_IsNonStandard="Yes",
            def_CommentOID=f"COM.{ds.oid}" if f"COM.{ds.oid}" in self.comments else None,
            def_ArchiveLocationID=f"LF.{ds.name}",
        )
        _text(ig, "Description", ds.label)
        for col in ds.columns:
            _sub(
                ig,
                "ItemRef",
                ItemOID=col.oid,
                OrderNumber=str(col.order),
                Mandatory=_yn(col.mandatory),
                KeySequence=str(col.key_sequence) if col.key_sequence else None,
                MethodOID=col.method_oid if col.method_oid in self.methods else None,
            )
        _aliases(ig, group.aliases)
        _sub(ig, "Class", DEF, Name=dataset_class(group))
        leaf = _sub(ig, "leaf", DEF, ID=f"LF.{ds.name}")
        href = ds.file_stem + self.opts.dataset_suffix
        leaf.set(_q(XLINK, "href"), href)
        _sub(leaf, "title", DEF).text = href

    def _item_defs(self, mdv_el: etree._Element) -> None:
        seen: set[str] = set()
        for ds in self.datasets:
            for col in ds.columns:
                if col.oid in seen:
                    continue
                seen.add(col.oid)
                if col.source != "item":
                    self._key_item_def(mdv_el, col)
                else:
                    self._item_def(mdv_el, col, self.mdv.item_defs[col.oid])
        for item_oid, (col, _clauses) in self.vlm.items():
            self._item_def(mdv_el, col, self.mdv.item_defs[item_oid], oid=f"{item_oid}.VLM")

    def _key_item_def(self, mdv_el: etree._Element, col: Column) -> None:
        el = _sub(
            mdv_el,
            "ItemDef",
            OID=col.oid,
            Name=col.name,
            DataType=col.data_type,
            Length=str(col.length),
            SASFieldName=col.name,
        )
        _text(el, "Description", col.label)
        if col.source == "unit":  # chosen with the value on the CRF
            _sub(el, "Origin", DEF, Type="Collected", Source="Investigator")
            return
        _sub(el, "Origin", DEF, Type=_KEY_ORIGIN.get(col.source, "Assigned"), Source="Sponsor")

    def _item_def(
        self, mdv_el: etree._Element, col: Column, item: m.ItemDef, oid: str | None = None
    ) -> None:
        data_type = col.data_type
        length = item_length(item, self.mdv) if data_type in ("text", "integer", "float") else None
        el = _sub(
            mdv_el,
            "ItemDef",
            OID=oid or item.oid,
            Name=col.name,
            DataType=data_type,
            Length=str(length) if length is not None else None,
            SignificantDigits=(
                str(item.significant_digits)
                if data_type == "float" and item.significant_digits is not None
                else None
            ),
            SASFieldName=col.name,
            def_CommentOID=f"COM.{item.oid}" if item.comment else None,
        )
        _text(el, "Description", col.label)
        for unit_oid in item.measurement_unit_oids:
            if unit_oid in self.units:
                _sub(el, "MeasurementUnitRef", MeasurementUnitOID=unit_oid)
        if item.code_list_oid in self.code_lists:
            _sub(el, "CodeListRef", CodeListOID=item.code_list_oid)
        _aliases(el, item.aliases)
        self._origin(el, item)
        if oid is None and item.oid in self.vlm:
            _sub(el, "ValueListRef", DEF, ValueListOID=f"VL.{item.oid}")

    def _origin(self, el: etree._Element, item: m.ItemDef) -> None:
        if item.oid in self.derived:
            origin = _sub(el, "Origin", DEF, Type="Derived", Source="Sponsor")
            return
        origin = _sub(el, "Origin", DEF, Type="Collected", Source="Investigator")
        if item.origin:
            _text(origin, "Description", item.origin)
        pages = self.opts.crf_pages.get(item.oid)
        if pages:
            doc = _sub(origin, "DocumentRef", DEF, leafID=ACRF_LEAF)
            refs = " ".join(str(p) for p in pages)
            _sub(doc, "PDFPageRef", DEF, PageRefs=refs, Type="PhysicalRef")

    def _code_lists(self, mdv_el: etree._Element) -> None:
        for cl in self.code_lists.values():
            el = _sub(
                mdv_el,
                "CodeList",
                OID=cl.oid,
                Name=cl.name or cl.oid,
                DataType=_code_list_type(cl.data_type),
                SASFormatName=cl.sas_format_name,
            )
            if cl.external_code_list is not None and not cl.items:
                ext = cl.external_code_list
                _sub(
                    el,
                    "ExternalCodeList",
                    Dictionary=ext.dictionary,
                    Version=ext.version,
                    ref=ext.ref,
                    href=ext.href,
                )
            decoded = any(item.decode for item in cl.items)
            for n, item in enumerate(cl.items, 1):
                order = str(item.order_number or n)
                if decoded:
                    cli = _sub(el, "CodeListItem", CodedValue=item.coded_value, OrderNumber=order)
                    decode = _sub(cli, "Decode")
                    for tt in item.decode.translations or (
                        m.TranslatedText(lang=None, text=item.coded_value),
                    ):
                        t = _sub(decode, "TranslatedText")
                        if tt.lang:
                            t.set(_q(m.XML_NS, "lang"), tt.lang)
                        t.text = tt.text
                else:
                    cli = _sub(el, "EnumeratedItem", CodedValue=item.coded_value, OrderNumber=order)
                _aliases(cli, item.aliases)
            if not cl.items and cl.external_code_list is None:
                _sub(el, "EnumeratedItem", CodedValue="")
            _aliases(el, cl.aliases)

    def _methods(self, mdv_el: etree._Element) -> None:
        for method in self.methods.values():
            el = _sub(
                mdv_el,
                "MethodDef",
                OID=method.oid,
                Name=method.name or method.oid,
                Type=method.type if method.type in ("Computation", "Imputation") else "Computation",
            )
            text = method.description.get() or method.name or "Derived by expression"
            _text(el, "Description", text)
            for expr in method.formal_expressions:
                fe = _sub(el, "FormalExpression", Context=expr.context)
                fe.text = expr.text


def write_define(
    odm: m.ODM,
    options: DefineOptions | None = None,
    *,
    study_oid: str | None = None,
    metadata_version_oid: str | None = None,
) -> bytes:
    """define.xml (Define-XML 2.1) for one MetaDataVersion of ``odm``, as UTF-8 bytes."""
    study = odm.find_study(study_oid) if study_oid else odm.study
    if study is None:
        raise ValueError("the ODM file has no Study to describe")
    mdv = study.metadata_version(metadata_version_oid)
    if mdv is None:
        raise ValueError(f"Study {study.oid} has no MetaDataVersion to describe")
    opts = options or DefineOptions()
    root = _DefineBuilder(odm, study, mdv, opts).build()
    body = etree.tostring(root, encoding="UTF-8", pretty_print=True)
    head = (
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        + f'<?xml-stylesheet type="text/xsl" href="{opts.stylesheet}"?>\n'.encode()
        + f"<!-- Define-XML 2.1 generated by odm-edc from Study {study.oid}, "
        f"MetaDataVersion {mdv.oid} -->\n".encode()
    )
    return head + body
