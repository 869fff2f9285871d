"""REDCap data dictionaries (the Online Designer's CSV) rebuilt from the corpus's REDCap
project exports: the redcap: attributes of each ItemDef are the dictionary's columns."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from lxml import etree

RC = "{https://projectredcap.org}"
HEADER = [
    "Variable / Field Name",
    "Form Name",
    "Section Header",
    "Field Type",
    "Field Label",
    "Choices, Calculations, OR Slider Labels",
    "Field Note",
    "Text Validation Type OR Show Slider Number",
    "Text Validation Min",
    "Text Validation Max",
    "Identifier?",
    "Branching Logic (Show field only if...)",
    "Required Field?",
]
TYPES = {"select": "dropdown", "textarea": "notes"}


def _text(el: etree._Element | None) -> str:
    if el is None:
        return ""
    return "".join(el.itertext()).strip()


def dictionary_rows(project: Path) -> list[list[str]]:
    root = etree.parse(str(project)).getroot()
    ns = {"o": etree.QName(root).namespace}
    items = {el.get("OID"): el for el in root.iterfind(".//o:ItemDef", ns)}
    groups = {el.get("OID"): el for el in root.iterfind(".//o:ItemGroupDef", ns)}
    lists = {el.get("OID"): el for el in root.iterfind(".//o:CodeList", ns)}
    rows, seen = [HEADER], set()
    for form in root.iterfind(".//o:FormDef", ns):
        form_name = form.get(f"{RC}FormName") or form.get("OID", "").removeprefix("Form.")
        for gref in form.iterfind("o:ItemGroupRef", ns):
            for ref in groups[gref.get("ItemGroupOID")].iterfind("o:ItemRef", ns):
                item = items[ref.get("ItemOID")]
                var = item.get(f"{RC}Variable") or item.get("OID")
                if var in seen:
                    continue
                seen.add(var)
                rows.append(_row(item, var, form_name, ref, lists, ns, items))
    return rows


def _row(item, var, form_name, ref, lists, ns, items) -> list[str]:  # type: ignore[no-untyped-def]
    kind = item.get(f"{RC}FieldType", "text")
    choices = ""
    if kind == "calc":
        choices = item.get(f"{RC}Calculation", "")
    elif kind == "checkbox":
        codes = [oid.split("___", 1)[1] for oid in items if oid.startswith(f"{var}___")]
        choices = " | ".join(f"{code}, Option {code}" for code in codes)
    elif kind in ("select", "radio"):
        cref = item.find("o:CodeListRef", ns)
        if cref is not None:
            cl = lists[cref.get("CodeListOID")]
            choices = " | ".join(
                f"{ci.get('CodedValue')}, {_text(ci.find('o:Decode', ns))}"
                for ci in cl.iterfind("o:CodeListItem", ns)
            )
    validation = item.get(f"{RC}TextValidationType", "")
    if validation == "autocomplete":
        validation = ""
    branching = item.get(f"{RC}BranchingLogic") or ref.get(f"{RC}BranchingLogic") or ""
    required = item.get(f"{RC}RequiredField") or ref.get(f"{RC}RequiredField") or ""
    return [
        var,
        form_name,
        "",
        TYPES.get(kind, kind),
        _text(item.find("o:Question", ns)),
        choices,
        "",
        validation,
        item.get(f"{RC}TextValidationMin", ""),
        item.get(f"{RC}TextValidationMax", ""),
        "",
        branching,
        "y" if required.lower() in ("y", "1", "yes") else "",
    ]


def dictionary_csv(project: Path) -> str:
    out = io.StringIO()
    csv.writer(out).writerows(dictionary_rows(project))
    return out.getvalue()
