"""The namespaces the loader knows, and what it reports about the others.

ODM versions it reads, the Define-XML and ARM namespaces (part of a Define file, never an
extension), the vendor names its extension findings give (from ``profiles.namespaces``), and
the two findings about namespaces: elements from other namespaces (ODM-EXT-001) and elements
reset to no namespace inside a namespaced file (ODM-NS-002).
"""

from __future__ import annotations

from collections import Counter

from lxml import etree

from odm_engine import model as m
from odm_engine.findings import Finding, finding
from odm_engine.profiles.namespaces import VENDOR_NAMES
from odm_engine.reading.elements import ElementReader

ODM_VERSIONS = ("1.3", "1.3.1", "1.3.2")
DEFINE_NAMESPACES = {
    "http://www.cdisc.org/ns/def/v2.0": "2.0",
    "http://www.cdisc.org/ns/def/v2.1": "2.1",
}
ARM_NS = "http://www.cdisc.org/ns/arm/v1.0"
STANDARD_NS = {m.XML_NS, "http://www.w3.org/2000/09/xmldsig#", "http://www.w3.org/1999/xlink"}
VENDORS = {
    **VENDOR_NAMES,
    "http://www.cdisc.org/ns/studydesign/v1.0": "CDISC Study Design (SDM-XML)",
    "http://www.cdisc.org/ns/Dataset-XML/v1.0": "CDISC Dataset-XML",
    "http://hl7.org/fhir": "HL7 FHIR",
    "http://www.w3.org/1999/xhtml": "XHTML",
}


def define_version(reader: ElementReader, root: etree._Element) -> str | None:
    """The Define-XML version when a MetaDataVersion carries def:DefineVersion."""
    for study in reader.children(root, "Study"):
        for mdv in reader.children(study, "MetaDataVersion"):
            for ns, version in DEFINE_NAMESPACES.items():
                if mdv.get(f"{{{ns}}}DefineVersion") is not None:
                    return version
    return None


def extension_findings(root: etree._Element, ns: str, path: str | None) -> list[Finding]:
    """One ODM-EXT-001 per foreign namespace used (most used first), then ODM-NS-002 if any
    element of a namespaced file (``ns``) was reset to no namespace."""
    counts: Counter[str] = Counter()
    skip = set(STANDARD_NS) | set(DEFINE_NAMESPACES) | {ARM_NS, ns}
    reset_count = 0
    reset_line: int | None = None
    for el in root.iter(etree.Element):
        tag: str = el.tag
        if tag[0] == "{":
            el_ns = tag[1:].split("}", 1)[0]
            if el_ns not in skip:
                counts[el_ns] += 1
        elif ns:
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
            path=path,
            namespace=foreign,
            count=n,
            vendor=VENDORS.get(foreign, "unknown vendor"),
        )
        for foreign, n in counts.most_common()
    ]
    if reset_count:
        out.append(finding("ODM-NS-002", path=path, line=reset_line, count=reset_count))
    return out
