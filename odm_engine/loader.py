"""Read an ODM 1.3.x file into the model: ``load_odm(bytes) -> LoadResult(odm, findings)``.

The loader never raises on bad input. It reads what it can; what it cannot becomes a located
finding. Elements are matched by local name when they are in the file's ODM namespace (or in
no namespace, for files without one or with an ``xmlns=""`` reset); everything in another
namespace is a vendor extension, kept verbatim on the node it belongs to.

This module is the entry point and the ODM root; the element builders live in
``odm_engine.reading`` (element helpers, namespaces, metadata, AdminData, ClinicalData
references). The names callers use from there are re-exported here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import BinaryIO

from lxml import etree

from odm_engine import model as m
from odm_engine.findings import Finding, Severity, finding
from odm_engine.reading.admin import AdminReader
from odm_engine.reading.clinical_refs import DataRef, clinical_refs
from odm_engine.reading.metadata import MetadataReader
from odm_engine.reading.namespaces import (
    ARM_NS,
    DEFINE_NAMESPACES,
    ODM_VERSIONS,
    VENDORS,
    define_version,
    extension_findings,
)
from odm_engine.safexml import parse_bytes

__all__ = [
    "ARM_NS",
    "DEFINE_NAMESPACES",
    "ODM_VERSIONS",
    "VENDORS",
    "DataRef",
    "LoadResult",
    "load_odm",
    "load_path",
    "load_tree",
    "read_source",
]


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
        define_version=define_version(reader, root),
        data_refs=reader.data_refs,
    )
    if not ns:
        result.findings.insert(0, finding("ODM-NS-001", path=path, line=root.sourceline))
    if odm.odm_version and odm.odm_version not in ODM_VERSIONS:
        result.findings.append(
            finding("ODM-VER-003", path=path, line=root.sourceline, version=odm.odm_version)
        )
    result.findings.extend(extension_findings(root, ns, path))
    return result


class _Reader(MetadataReader, AdminReader):
    """Builds the ODM root from an lxml tree, collecting findings and ClinicalData references."""

    def __init__(self, ns: str, path: str | None) -> None:
        super().__init__(ns, path)
        self.data_refs: list[DataRef] = []

    def odm(self, root: etree._Element) -> m.ODM:
        studies = tuple(self.study(s) for s in self.children(root, "Study"))
        self.index(root, "Study", lambda el: el)  # findings for missing/repeated Study OIDs
        studies = tuple(self.resolve_includes(s, studies) for s in studies)
        admin = tuple(self.admin_data(a) for a in self.children(root, "AdminData"))
        for cd in self.children(root, "ClinicalData"):
            self.data_refs.extend(clinical_refs(self, cd))
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
