"""Streaming ClinicalData reader: one SubjectRecord at a time, memory flat at any file size.

``read_clinical_data(source)`` returns a :class:`ClinicalDataReader`; iterating it parses
the file with lxml ``iterparse`` (hardened options from :mod:`odm_engine.safexml`), turns each
SubjectData into a :class:`~odm_engine.exchange.records.SubjectRecord` and clears it before
reading on. Study and AdminData stay in memory (they are small) so :meth:`metadata` can load
the file's own metadata after or during iteration. A DOCTYPE, a compressed file or a file
over the size limit is refused before parsing. Problems become findings, never exceptions.
"""

from __future__ import annotations

import copy
import hashlib
import io
import os
from collections.abc import Iterator
from typing import BinaryIO

from lxml import etree

from odm_engine import model as m
from odm_engine.exchange.plain import PlainSubjects
from odm_engine.exchange.records import FileHeader, SubjectRecord
from odm_engine.exchange.subject import SubjectParser
from odm_engine.findings import Finding, finding
from odm_engine.loader import LoadResult, load_tree
from odm_engine.profiles import GENERIC, Profile, choose_profile
from odm_engine.safexml import iterparse_options, max_xml_bytes, sniff

_HEAD = 65536
_ODM_NAMESPACES = (m.ODM_NS, "")
_XINCLUDE = "{http://www.w3.org/2001/XInclude}*"
# Security fix (issue 8): XInclude elements are watched for too, so the streaming reader
# refuses them (ODM-XML-005) as parse_bytes does, instead of keeping them as extensions.
_TAGS = ("{*}ODM", "{*}SubjectData", "{*}ClinicalData", "{*}ReferenceData", _XINCLUDE)


class _HashingReader(io.RawIOBase):
    """A file object that hashes (SHA-256) and counts what lxml reads through it."""

    def __init__(self, raw: BinaryIO, head: bytes) -> None:
        self._raw, self._head = raw, head
        self.sha256 = hashlib.sha256()
        self.size = 0

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        if self._head:
            data, self._head = self._head, b""
        else:
            data = self._raw.read(n if n and n > 0 else 1 << 20)
        self.sha256.update(data)
        self.size += len(data)
        if self.size > max_xml_bytes():
            raise ValueError(f"input over the size limit of {max_xml_bytes()} bytes")
        return data


def _ns(tag: str) -> str:
    return tag[1:].split("}", 1)[0] if tag.startswith("{") else ""


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


class ClinicalDataReader:
    """Iterate to get SubjectRecords; ``header``, ``profile`` and ``findings`` fill as it reads."""

    def __init__(
        self,
        source: BinaryIO | bytes | str,
        *,
        path: str | None = None,
        metadata_version: m.MetaDataVersion | None = None,
    ) -> None:
        """``metadata_version``: the metadata the data goes into, whose ItemDefs typed ItemData
        elements are checked against (ODM-IMP-012); by default the file's own."""
        if isinstance(source, bytes):
            self._stream: BinaryIO = io.BytesIO(source)
            size: int | None = len(source)
        elif isinstance(source, str):
            path = path or source
            self._stream = open(source, "rb")  # closed after iteration
            # Security fix (issue 8): the size of a file is known, so an over-limit file is
            # refused by sniff (ODM-XML-003) before any of it is parsed.
            size = os.fstat(self._stream.fileno()).st_size
        else:
            self._stream = source
            size = None
        self.path = path
        self.findings: list[Finding] = []
        self.header = FileHeader()
        self.profile: Profile = GENERIC
        self.refusal: Finding | None = None
        """The finding that stopped reading (not XML, not ODM 1.3, refused for safety)."""
        self.sha256 = ""
        self.subjects = self.items = 0
        self._size = size
        self._root: etree._Element | None = None
        self._started = False
        self._groups: dict[str, list[tuple[str, frozenset[str]]]] | None = None
        self._metadata_version = metadata_version
        self._item_types: dict[str, str] | None = None

    # -- the stream -------------------------------------------------------------------
    def __iter__(self) -> Iterator[SubjectRecord]:
        if self._started:
            raise RuntimeError("a ClinicalDataReader can be iterated once")
        self._started = True
        try:
            yield from self._read()
        finally:
            if hasattr(self._stream, "close") and isinstance(self.path, str):
                self._stream.close()

    def _read(self) -> Iterator[SubjectRecord]:
        head = self._stream.read(_HEAD)
        problem = sniff(head, path=self.path, size=self._size)
        if problem is not None:
            self._refuse(problem)
            return
        hashing = _HashingReader(self._stream, head)
        parser: SubjectParser | None = None
        plain: _Subjects | None = None
        clinical_index = -1
        current_clinical: etree._Element | None = None
        skipped_groups: dict[str, int] = {}
        try:
            events = etree.iterparse(
                hashing, events=("start", "end"), tag=_TAGS, **iterparse_options()
            )
            for event, el in events:
                name = _local(el.tag)
                if event == "start":
                    if el.tag.startswith("{http://www.w3.org/2001/XInclude}"):
                        # Security fix (issue 8): refused, as parse_bytes refuses it.
                        self._refuse(finding("ODM-XML-005", path=self.path, line=el.sourceline))
                        return
                    if name == "ODM" and self._root is None:
                        if not self._start(el):
                            return
                        parser = SubjectParser(
                            self.header.namespace,
                            self.profile,
                            self.path,
                            self._group_of,
                            self._data_type_of,
                        )
                        plain = _Subjects(parser)
                    elif name == "ClinicalData" and el is not current_clinical:
                        current_clinical, clinical_index = el, clinical_index + 1
                    continue
                if parser is None or plain is None or _ns(el.tag) not in _ODM_NAMESPACES:
                    continue
                if name == "SubjectData":
                    owner = el.getparent()
                    if owner is not None and _local(owner.tag) == "ClinicalData":
                        record = plain.subject(
                            el,
                            owner.get("StudyOID", ""),
                            owner.get("MetaDataVersionOID", ""),
                            clinical_index,
                        )
                        if record is not None:
                            self.subjects += 1
                            self.items += record.item_count
                            yield record
                    _release(el)
                elif name in ("ClinicalData", "ReferenceData"):
                    count = sum(1 for c in el if _local(str(c.tag)) == "ItemGroupData")
                    if count:
                        skipped_groups[name] = skipped_groups.get(name, 0) + count
                    el.clear(keep_tail=True)
        except etree.XMLSyntaxError as exc:
            self._refuse(
                finding(
                    "ODM-XML-001",
                    path=self.path,
                    line=exc.lineno or None,
                    detail=str(exc.msg or exc).strip().rstrip("."),
                )
            )
        except ValueError as exc:
            self._refuse(finding("ODM-XML-001", path=self.path, detail=str(exc)))
        self.sha256 = hashing.sha256.hexdigest()
        if parser is not None:
            self.findings.extend(parser.summary_findings())
        for parent, count in skipped_groups.items():
            self.findings.append(finding("ODM-IMP-005", path=self.path, count=count, parent=parent))

    def _refuse(self, problem: Finding) -> None:
        self.findings.append(problem)
        if self.refusal is None:
            self.refusal = problem

    def _start(self, root: etree._Element) -> bool:
        """Read the ODM root: header, profile. False when the file is not ODM 1.3."""
        self._root = root
        if root.getroottree().docinfo.doctype:
            # Security fix (issue 8): sniff looks for a DOCTYPE in the first 64 KB only; one
            # behind a long comment reached the parser and its internal entities were
            # expanded into imported values. Refused here, before any element is read.
            self._refuse(finding("ODM-XML-002", path=self.path, line=1))
            return False
        namespace = _ns(root.tag)
        if namespace not in _ODM_NAMESPACES:
            self._refuse(
                finding("ODM-IMP-003", path=self.path, line=1, tag="ODM", namespace=namespace)
            )
            return False
        if namespace == "":
            self.findings.append(finding("ODM-NS-001", path=self.path, line=root.sourceline))
        self.header = FileHeader(
            file_oid=root.get("FileOID", ""),
            file_type=root.get("FileType", ""),
            odm_version=root.get("ODMVersion"),
            creation_datetime=root.get("CreationDateTime", ""),
            as_of_datetime=root.get("AsOfDateTime"),
            source_system=root.get("SourceSystem"),
            source_system_version=root.get("SourceSystemVersion"),
            originator=root.get("Originator"),
            granularity=root.get("Granularity"),
            namespace=namespace,
            namespaces=tuple(root.nsmap.items()),
        )
        self.profile, why = choose_profile(self.header)
        self.findings.append(
            finding(
                "ODM-PROF-001",
                path=self.path,
                profile=self.profile.name,
                why=why,
                mapping=self.profile.mapping,
            )
        )
        return True

    def _group_of(self, form_oid: str, item_oids: frozenset[str]) -> str | None:
        """The one ItemGroupDef of ``form_oid`` that holds all ``item_oids`` (metadata)."""
        if self._groups is None:
            self._groups = {}
            loaded = self.metadata()
            mdv = loaded.metadata_version if loaded is not None else None
            if mdv is not None:
                for form in mdv.form_defs.values():
                    self._groups[form.oid] = [
                        (ref.item_group_oid, frozenset(r.item_oid for r in group.item_refs))
                        for ref in form.item_group_refs
                        if (group := mdv.item_group_defs.get(ref.item_group_oid)) is not None
                    ]
        found = [g for g, items in self._groups.get(form_oid, ()) if item_oids <= items]
        return found[0] if len(found) == 1 else None

    def _data_type_of(self, item_oid: str) -> str | None:
        """The DataType of ItemDef ``item_oid`` in the target metadata (else the file's own)."""
        if self._item_types is None:
            mdv = self._metadata_version
            if mdv is None:
                loaded = self.metadata()
                mdv = loaded.metadata_version if loaded is not None else None
            items = mdv.item_defs.values() if mdv is not None else ()
            self._item_types = {item.oid: item.data_type for item in items}
        return self._item_types.get(item_oid)

    # -- after reading ----------------------------------------------------------------
    def metadata(self) -> LoadResult | None:
        """The file's own Study/AdminData loaded as a model (None when it has none).

        Call it after iterating, or from inside the loop once the first subject arrived
        (ODM puts Study and AdminData before ClinicalData).
        """
        if self._root is None or _ns(self._root.tag) not in _ODM_NAMESPACES:
            return None  # not ODM 1.3: reported by _start (ODM-IMP-003)
        source = self._root
        try:
            root = etree.Element(source.tag, nsmap=source.nsmap)
        except ValueError:
            return None  # a namespace URI lxml refuses (fuzzing, issue 8); not ODM metadata
        for name, value in source.attrib.items():
            # Security fix (issue 8, found by fuzzing): libxml2 keeps an attribute with an
            # undeclared prefix ("mlns:xml") that lxml refuses to set again; copying the
            # attributes in one go raised ValueError out of `edc import`. Such a name is skipped.
            try:
                root.set(name, value)
            except ValueError:
                continue
        for child in source:
            if isinstance(child.tag, str) and _local(child.tag) in ("Study", "AdminData"):
                root.append(copy.deepcopy(child))
        if not any(_local(str(c.tag)) == "Study" for c in root):
            return None
        return load_tree(root.getroottree(), path=self.path)


class _Subjects:
    """SubjectData -> SubjectRecord: the plain ones by ``PlainSubjects`` (fast), the rest by
    ``SubjectParser`` (the reference); once most of a file proves not plain, only the latter."""

    def __init__(self, parser: SubjectParser) -> None:
        self.parser, self.plain = parser, PlainSubjects(parser)
        self.hits = self.misses = 0

    def subject(
        self, el: etree._Element, study_oid: str, mdv_oid: str, clinical_index: int
    ) -> SubjectRecord | None:
        if self.misses <= max(20, self.hits):
            record = self.plain.subject(el, study_oid, mdv_oid, clinical_index)
            if record is not None:
                self.hits += 1
                return record
            self.misses += 1
        return self.parser.subject(el, study_oid, mdv_oid, clinical_index)


def _release(el: etree._Element) -> None:
    """Free a handled SubjectData and the siblings before it."""
    el.clear(keep_tail=True)
    parent = el.getparent()
    if parent is not None:
        while el.getprevious() is not None:
            del parent[0]


def read_clinical_data(
    source: BinaryIO | bytes | str,
    *,
    path: str | None = None,
    metadata_version: m.MetaDataVersion | None = None,
) -> ClinicalDataReader:
    """A streaming reader over ``source`` (bytes, a binary file object or a path)."""
    return ClinicalDataReader(source, path=path, metadata_version=metadata_version)
