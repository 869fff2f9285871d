"""XSD validation against the official schemas shipped inside the odmlib package.

Schemas are located with importlib.resources, compiled once with lxml and cached. Vendor
extensions are set aside before validation so a REDCap or Rave file is judged on its ODM core;
Define-XML files are validated against the Define-XML schema of their version.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from functools import cache
from importlib import resources
from typing import BinaryIO

from lxml import etree

from odm_engine.findings import Finding, finding
from odm_engine.model import ODM_NS, XML_NS
from odm_engine.plain_messages import plain_schema
from odm_engine.safexml import iterparse_options

_SCHEMAS = {
    "odm-1.3.2": ("odm", "1.3.2", "ODM1-3-2.xsd"),
    "define-2.0": ("define", "2.0", "define2-0-0.xsd"),
    "define-2.1": ("define", "2.1", "define2-1-0.xsd"),
    "arm-define-2.0": ("arm", "1.0", "arm1-0-0.xsd"),
    "arm-define-2.1": ("arm", "1.0-define2.1", "arm1-0-0.xsd"),
}
DEFINE_NS = {"2.0": "http://www.cdisc.org/ns/def/v2.0", "2.1": "http://www.cdisc.org/ns/def/v2.1"}
ARM_NS = "http://www.cdisc.org/ns/arm/v1.0"
_KEEP_NS = {ODM_NS, XML_NS, "http://www.w3.org/1999/xlink"}
_CLARK = re.compile(r"\{http://www\.cdisc\.org/ns/odm/v1\.3\}")
_MAX_XSD_FINDINGS = 200
_SUBJECT_DATA = f"{{{ODM_NS}}}SubjectData"


@cache
def schema(name: str = "odm-1.3.2") -> etree.XMLSchema:
    """The compiled schema ``name`` (one of odm-1.3.2, define-2.0, define-2.1, arm-...)."""
    standard, version, filename = _SCHEMAS[name]
    root = resources.files("odmlib").joinpath("schemas", standard, version, filename)
    with resources.as_file(root) as schema_path:
        # Our own shipped schema files: local includes are allowed, the network is not.
        parser = etree.XMLParser(no_network=True, resolve_entities=False)
        doc = etree.parse(str(schema_path), parser=parser)
        return etree.XMLSchema(doc)


def schema_name_for(define_version: str | None, root: etree._Element) -> str:
    if define_version is None:
        return "odm-1.3.2"
    uses_arm = ARM_NS in root.nsmap.values()
    return f"arm-define-{define_version}" if uses_arm else f"define-{define_version}"


def core_copy(
    tree: etree._ElementTree,
    *,
    odm_ns: str,
    keep: frozenset[str] = frozenset(),
    in_place: bool = False,
) -> etree._Element:
    """The document with every non-CDISC element and attribute removed (a copy by default).

    Elements in no namespace (a file without one, or an ``xmlns=""`` reset) are moved into
    the ODM namespace, since the loader reads them as ODM. Source lines are preserved.
    """
    root = tree.getroot() if in_place else copy.deepcopy(tree.getroot())
    kept = _KEEP_NS | keep
    doomed: list[etree._Element] = []
    for el in root.iter():
        if not isinstance(el.tag, str):
            if el is not root:
                doomed.append(el)  # comments and PIs carry no meaning for the schema
            continue
        tag = el.tag
        if tag.startswith("{"):
            ns, local = tag[1:].split("}", 1)
        else:
            ns, local = "", tag
        if ns in ("", odm_ns):
            el.tag = f"{{{ODM_NS}}}{local}"
        elif ns not in kept:
            doomed.append(el)
            continue
        for attr in list(el.attrib):
            if attr.startswith("{") and attr[1:].split("}", 1)[0] not in kept:
                del el.attrib[attr]
    for el in doomed:
        parent = el.getparent()
        if parent is not None:
            _remove_keep_tail(parent, el)
    return root


def _remove_keep_tail(parent: etree._Element, el: etree._Element) -> None:
    tail = el.tail
    prev = el.getprevious()
    parent.remove(el)
    if tail and tail.strip():
        if prev is not None:
            prev.tail = (prev.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail


def iter_xsd_findings(
    tree: etree._ElementTree,
    *,
    path: str | None = None,
    odm_ns: str = ODM_NS,
    define_version: str | None = None,
    in_place: bool = False,
) -> Iterator[Finding]:
    """Schema violations of the document's CDISC core, located by line and nearest OID.

    With ``in_place`` the vendor nodes are stripped from ``tree`` itself (cheaper, for a
    tree nobody reads afterwards).
    """
    name = schema_name_for(define_version, tree.getroot())
    keep = frozenset({DEFINE_NS[define_version], ARM_NS}) if define_version else frozenset()
    core = core_copy(tree, odm_ns=odm_ns, keep=keep, in_place=in_place)
    xsd = schema(name)
    if xsd.validate(core):
        return
    at_line = _elements_by_line(core)
    for n, err in enumerate(xsd.error_log):
        if n >= _MAX_XSD_FINDINGS:
            yield finding(
                "ODM-XSD-001",
                path=path,
                detail=f"{len(xsd.error_log) - n} more schema errors not shown; fix the "
                "ones above first.",
            )
            break
        yield _schema_finding(_friendly(err.message), err.line or None, at_line, path)


def _schema_finding(
    raw: str,
    line: int | None,
    at_line: dict[int, list[etree._Element]],
    path: str | None,
) -> Finding:
    """One schema error in plain words (``plain_messages``) when the message is a common one,
    located at the element it names; libxml2's text is kept as ``raw``."""
    named = re.match(r"Element '([^']+)'", raw)
    here = at_line.get(line or 0, [])
    el = next((e for e in here if named and etree.QName(e).localname == named[1]), None)
    plain = plain_schema(raw, el) if el is not None else None
    return finding(
        "ODM-XSD-001",
        path=path,
        line=line,
        oid=_oid_of(el) if el is not None else _first_oid(here),
        detail=plain[0] if plain else raw,
        raw=raw if plain else None,
        cause=plain[1] if plain else None,
    )


def _elements_by_line(root: etree._Element) -> dict[int, list[etree._Element]]:
    out: dict[int, list[etree._Element]] = {}
    for el in root.iter():
        if isinstance(el.tag, str) and el.sourceline:
            out.setdefault(el.sourceline, []).append(el)
    return out


def _first_oid(elements: list[etree._Element]) -> str | None:
    for el in elements:
        oid: str | None = el.get("OID") or el.get("ItemOID") or el.get("FormOID")
        if oid:
            return oid
    return None


def _oid_of(el: etree._Element) -> str | None:
    """The element's own OID (or the OID it refers to), else its nearest definition's."""
    node: etree._Element | None = el
    while node is not None:
        oid: str | None = node.get("OID") or node.get("ItemOID") or node.get("FormOID")
        if oid:
            return oid
        node = node.getparent()
    return None


def _friendly(message: str) -> str:
    text = _CLARK.sub("", message)
    if not text.endswith("."):
        text += "."
    return text


def iter_xsd_findings_streaming(stream: BinaryIO, *, path: str | None = None) -> Iterator[Finding]:
    """Validate a large, extension-free ODM file while streaming it (lxml iterparse).

    libxml2 stops at the first schema error when streaming, so this yields at most one
    finding; use :func:`iter_xsd_findings` on files that fit in memory to see them all.
    """
    last_line = 0
    try:
        for event, el in etree.iterparse(
            stream, events=("start", "end"), schema=schema(), **iterparse_options()
        ):
            last_line = el.sourceline or last_line
            if event == "end" and el.tag == _SUBJECT_DATA:
                # Free what has been validated so memory stays flat on large files.
                el.clear(keep_tail=True)
                parent = el.getparent()
                while parent is not None and el.getprevious() is not None:
                    del parent[0]
    except etree.XMLSyntaxError as exc:
        # libxml2's streaming validator gives no line: report where reading had got to.
        detail = _friendly(str(exc.msg))
        if not exc.lineno:
            detail += f" (found while streaming, at or after line {last_line})"
        yield finding("ODM-XSD-001", path=path, line=exc.lineno or last_line or None, detail=detail)
