"""Read ODM ClinicalData into SubjectSnapshots (for ``edc check`` and tests, no database).

Accepts ItemData/@Value (ODM 1.3) and the typed ItemData* elements of ODM 1.3.2
(``ItemDataString``, ``ItemDataInteger``, ...), FormData directly under SubjectData (REDCap
writes it so; the StudyEventOID is then ``""``), IsNull="Yes" (kept as a null reason) and an
ItemData's MeasurementUnitRef (the entered unit). TransactionType="Remove" drops the value.
Parsing goes through ``odm_engine.safexml``: no DTD, no entities, no network.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree

from odm_engine.clinical import ItemKey, SubjectSnapshot
from odm_engine.findings import Finding
from odm_engine.safexml import parse_bytes


@dataclass(slots=True)
class SubjectData:
    study_oid: str
    metadata_version_oid: str
    snapshot: SubjectSnapshot
    entered_units: dict[ItemKey, str] = field(default_factory=dict)
    lines: dict[ItemKey, int] = field(default_factory=dict)


def _local(el: etree._Element) -> str:
    tag = el.tag
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _children(el: etree._Element, *names: str) -> list[etree._Element]:
    return [c for c in el if _local(c) in names]


def read_clinical_data(data: bytes, *, path: str | None = None) -> list[SubjectData] | Finding:
    """Every SubjectData of every ClinicalData in ``data``; a Finding when it is not XML."""
    tree = parse_bytes(data, path=path)
    if isinstance(tree, Finding):
        return tree
    out: list[SubjectData] = []
    for clinical in tree.getroot().iter():
        if _local(clinical) != "ClinicalData":
            continue
        study = clinical.get("StudyOID", "")
        mdv = clinical.get("MetaDataVersionOID", "")
        out.extend(_subject(s, study, mdv) for s in _children(clinical, "SubjectData"))
    return out


def _subject(el: etree._Element, study: str, mdv: str) -> SubjectData:
    values: dict[ItemKey, str] = {}
    nulls: dict[ItemKey, str] = {}
    units: dict[ItemKey, str] = {}
    lines: dict[ItemKey, int] = {}
    site = next((s.get("LocationOID") for s in _children(el, "SiteRef")), None)
    events = [
        (e, e.get("StudyEventOID", ""), e.get("StudyEventRepeatKey", ""))
        for e in _children(el, "StudyEventData")
    ]
    events.append((el, "", ""))
    for event_el, event, event_key in events:
        for form_el in _children(event_el, "FormData"):
            form, form_key = form_el.get("FormOID", ""), form_el.get("FormRepeatKey", "")
            for group_el in _children(form_el, "ItemGroupData"):
                group = group_el.get("ItemGroupOID", "")
                group_key = group_el.get("ItemGroupRepeatKey", "")
                for item_el in group_el:
                    name = _local(item_el)
                    if not name.startswith("ItemData"):
                        continue
                    key = ItemKey(
                        event,
                        event_key,
                        form,
                        form_key,
                        group,
                        group_key,
                        item_el.get("ItemOID", ""),
                    )
                    if item_el.get("TransactionType") == "Remove":
                        values.pop(key, None)
                        continue
                    if item_el.get("IsNull") == "Yes":
                        nulls[key] = "IsNull"
                        continue
                    text = item_el.get("Value") if name == "ItemData" else item_el.text
                    if text is None or text == "":
                        continue
                    values[key] = text
                    lines[key] = item_el.sourceline or 0
                    for ref in _children(item_el, "MeasurementUnitRef"):
                        units[key] = ref.get("MeasurementUnitOID", "")
    snapshot = SubjectSnapshot(el.get("SubjectKey", ""), site, values, nulls)
    return SubjectData(study, mdv, snapshot, units, lines)
