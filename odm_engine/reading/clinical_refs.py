"""The OID references ClinicalData makes, collected for the reference rules (``rules.py``).

The loader does not build ClinicalData into the model (``exchange.reader`` reads it); it only
records, per element that names a definition, which OID it names and where, so the rules can
check each one against the file's metadata.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from lxml import etree

from odm_engine.reading.elements import ElementReader

# ClinicalData element -> the attribute naming its definition (ItemData* all name an ItemDef).
_REFERENCE_ATTRIBUTE = {
    "StudyEventData": "StudyEventOID",
    "FormData": "FormOID",
    "ItemGroupData": "ItemGroupOID",
    "SiteRef": "LocationOID",
}


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


def clinical_refs(reader: ElementReader, cd: etree._Element) -> Iterator[DataRef]:
    """The references of one ClinicalData element and its descendants, in document order."""
    study_oid = cd.get("StudyOID", "")
    mdv_oid = cd.get("MetaDataVersionOID", "")

    def ref(el: etree._Element, attr: str) -> DataRef | None:
        oid = el.get(attr)
        if oid is None:
            return None
        return DataRef(reader.local(el), attr, oid, el.sourceline or 0, study_oid, mdv_oid)

    for own in ("StudyOID", "MetaDataVersionOID"):
        if (r := ref(cd, own)) is not None:
            yield r
    for el in cd.iter():
        if not isinstance(el.tag, str) or not reader.is_odm(el):
            continue
        name = reader.local(el)
        attr = "ItemOID" if name.startswith("ItemData") else _REFERENCE_ATTRIBUTE.get(name)
        if attr is not None and (r := ref(el, attr)) is not None:
            yield r
