"""A REDCap data dictionary (the CSV REDCap's Online Designer downloads) -> the same sheets
``edc design export`` writes -> ODM. Branching logic and calculations go through the REDCap
dialect translator (:func:`odm_engine.expressions.foreign.translate`): branching logic
("show the field if") becomes a ConditionDef that *hides* the item when false, as ODM's
CollectionExceptionCondition does; a calculation becomes a MethodDef. Findings are located
by ``dictionary!COLUMNROW`` like the workbook's."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from odm_engine import model as m
from odm_engine.datatypes import REGISTRY, parse_value
from odm_engine.datatypes.results import Parsed
from odm_engine.design_sheets import model as sm
from odm_engine.design_sheets.build_items import from_sheets
from odm_engine.design_sheets.export import header_of
from odm_engine.expressions.foreign import Translated, translate
from odm_engine.findings import Finding

SHEET = "dictionary"
_HEADERS = {
    "variable": "var",
    "form name": "form",
    "field type": "type",
    "field label": "label",
    "choices": "choices",
    "field note": "note",
    "text validation type": "validation",
    "text validation min": "min",
    "text validation max": "max",
    "branching logic": "branching",
    "required field": "required",
}
_NO_DATA = ("descriptive", "file", "sql")
_BOOL_CODES = {"yesno": (("1", "Yes"), ("0", "No")), "truefalse": (("1", "True"), ("0", "False"))}


def _data_type(validation: str) -> str:
    if validation == "integer":
        return "integer"
    if validation.startswith("number") or validation == "float":
        return "float"
    if validation.startswith("date_"):
        return "date"
    if validation.startswith("datetime"):
        return "datetime"
    if validation == "time":
        return "time"
    return "text"


@dataclass
class Field:
    row: int
    cells: dict[str, str]
    items: list[tuple[str, str, str]] = field(default_factory=list)
    """(ItemOID, DataType, question) of the ItemDefs the field becomes."""
    codes: list[tuple[str, str]] = field(default_factory=list)

    def __getitem__(self, key: str) -> str:
        return self.cells.get(key, "").strip()


def _choices(text: str) -> list[tuple[str, str]]:
    out = []
    for part in text.split("|"):
        code, _, label = part.partition(",")
        if code.strip():
            out.append((code.strip(), label.strip() or code.strip()))
    return out


class _Dictionary:
    def __init__(self, rows: list[list[str]]) -> None:
        self.findings: list[Finding] = []
        header = [h.strip().lower() for h in rows[0]] if rows else []
        self.columns: dict[str, int] = {}
        for i, name in enumerate(header):
            for start, key in _HEADERS.items():
                if name.startswith(start) and key not in self.columns:
                    self.columns[key] = i
        self.fields: list[Field] = []
        for n, row in enumerate(rows[1:], 2):
            cells = {k: row[i] if i < len(row) else "" for k, i in self.columns.items()}
            if any(v.strip() for v in cells.values()):
                self.fields.append(Field(n, cells))

    def where(self, f: Field, key: str) -> str:
        return sm.cell(SHEET, self.columns.get(key), f.row)

    def shape(self, f: Field) -> None:
        """The ItemDefs and code list of one field."""
        kind, var = f["type"], f["var"]
        if kind in _BOOL_CODES:
            f.codes = list(_BOOL_CODES[kind])
        elif kind in ("dropdown", "radio"):
            f.codes = _choices(f.cells.get("choices", ""))
        if kind == "checkbox":
            for code, label in _choices(f.cells.get("choices", "")):
                f.items.append((f"{var}___{code}", "boolean", f"{f['label']}: {label}"))
        elif f.codes:
            numeric = all(re.fullmatch(r"-?\d+", c) for c, _ in f.codes)
            f.items.append((var, "integer" if numeric else "text", f["label"]))
        elif kind == "calc":
            f.items.append((var, "float", f["label"]))
        elif kind == "slider":
            f.items.append((var, "integer", f["label"]))
        else:
            f.items.append((var, _data_type(f["validation"]), f["label"]))

    def mdv(self) -> m.MetaDataVersion:
        """The items as the translator needs them: OIDs and DataTypes."""
        items = {
            oid: m.ItemDef(oid=oid, name=oid, data_type=data_type)
            for f in self.fields
            for oid, data_type, _ in f.items
        }
        return m.MetaDataVersion(oid="MDV.1", name="dictionary", item_defs=items)

    def expression(self, f: Field, key: str, mdv: m.MetaDataVersion, what: str) -> str | None:
        text = f.cells.get(key, "").strip()
        if not text:
            return None
        context = "redcap:BranchingLogic" if key == "branching" else "redcap:Calculation"
        kind = "condition" if key == "branching" else "method"
        result = translate(context, text, mdv, kind=kind)
        if isinstance(result, Translated):
            return result.text
        effect = "the field is always shown" if kind == "condition" else "it is not derived"
        sheet = "conditions" if kind == "condition" else "methods"
        self.findings.append(
            sm.design_finding(
                "DSN-013",
                self.where(f, key),
                what=what,
                field=f["var"],
                reason=result.reason,
                effect=effect,
                sheet=sheet,
            )
        )
        return None


def _bound(data_type: str, value: str) -> str | None:
    """A validation limit as the DataType's canonical text, or None when it is no fixed value
    of an ordered DataType ("today", "now", a limit on a text field). REDCap writes a datetime
    with a space where ODM has a T."""
    if REGISTRY[data_type].compare is None:
        return None
    for text in (value, value.replace(" ", "T", 1)):
        parsed = parse_value(data_type, text)
        if isinstance(parsed, Parsed):
            return parsed.canonical
    return None


def _checks(d: _Dictionary, f: Field, data_type: str, row: dict[str, str]) -> None:
    """Text Validation Min/Max as hard range checks (GE, LE)."""
    n = 0
    for key, comparator, word in (("min", "GE", "at least"), ("max", "LE", "at most")):
        value = f[key]
        if not value:
            continue
        bound = _bound(data_type, value)
        if bound is None:
            d.findings.append(
                sm.design_finding(
                    "DSN-013",
                    d.where(f, key),
                    what=f"validation {key}",
                    field=f["var"],
                    reason=f'"{value}" is not a fixed {data_type}',
                    effect="it is not checked",
                    sheet="items",
                )
            )
            continue
        n += 1
        row |= {
            f"Check{n}": "Hard",
            f"Check{n}Comparator": comparator,
            f"Check{n}Values": bound,
            f"Check{n}Message[en]": f"{f['label'] or f['var']}: enter a value {word} {value}.",
        }


def _logic(
    d: _Dictionary, f: Field, mdv: m.MetaDataVersion, sheets: dict[str, list[dict[str, str]]]
) -> tuple[str | None, str | None]:
    """The field's branching logic as a ConditionDef and calculation as a MethodDef (in
    OEL, through the REDCap translator); their OIDs, None where there is none."""
    condition = d.expression(f, "branching", mdv, "branching logic")
    if condition is not None:
        sheets["conditions"].append(
            {
                "ConditionOID": f"C.{f['var']}",
                "Name": f"Hide {f['var']}",
                "Description[en]": f"REDCap branching logic: {f['branching']}",
                "Context": "OEL",
                "Expression": condition,
            }
        )
    method = d.expression(f, "choices", mdv, "calculation") if f["type"] == "calc" else None
    if method is not None:
        sheets["methods"].append(
            {
                "MethodOID": f"M.{f['var']}",
                "Name": f"Calculate {f['var']}",
                "Type": "Computation",
                "Description[en]": f"REDCap calculation: {f['choices']}",
                "Context": "OEL",
                "Expression": method,
            }
        )
    return (
        f"C.{f['var']}" if condition is not None else None,
        f"M.{f['var']}" if method is not None else None,
    )


def _item_rows(
    d: _Dictionary, mdv: m.MetaDataVersion, sheets: dict[str, list[dict[str, str]]]
) -> None:
    order: dict[str, int] = {}
    for f in d.fields:
        group = f"IG.{f['form']}"
        condition, method = _logic(d, f, mdv, sheets)
        code_list = _code_list(f, sheets)
        for oid, data_type, question in f.items:
            order[group] = order.get(group, 0) + 1
            row = {
                "ItemGroupOID": group,
                "ItemOID": oid,
                "Name": oid,
                "Question[en]": question,
                "DataType": data_type,
                "OrderNumber": str(order[group]),
                "Mandatory": "Yes" if f["required"].lower() in ("y", "yes", "1") else "No",
                "Description[en]": f["note"],
            }
            if REGISTRY[data_type].counts_characters:
                row["Length"] = str(max((len(c) for c, _ in f.codes), default=999))
            if code_list:
                row["CodeListOID"] = code_list
            if condition is not None:
                row["CollectionExceptionConditionOID"] = condition
            if method is not None:
                row["MethodOID"] = method
            if not f.codes:
                _checks(d, f, data_type, row)
            sheets["items"].append(row)


def _code_list(f: Field, sheets: dict[str, list[dict[str, str]]]) -> str | None:
    if not f.codes or f["type"] == "checkbox":
        return None
    shared = f["type"] in _BOOL_CODES
    oid = f"CL.{f['type']}" if shared else f"CL.{f['var']}"
    if any(r.get("CodeListOID") == oid for r in sheets["codelists"]):
        return oid
    data_type = "integer" if all(re.fullmatch(r"-?\d+", c) for c, _ in f.codes) else "text"
    for n, (code, label) in enumerate(f.codes):
        row = {"CodeListOID": oid, "CodedValue": code, "Decode[en]": label}
        if n == 0:
            row |= {"Name": f"{f['type'] if shared else f['var']} choices", "DataType": data_type}
        sheets["codelists"].append(row)
    return oid


def dictionary_sheets(rows: list[list[str]], name: str) -> tuple[sm.Sheets, list[Finding]]:
    """The workbook's sheets for a REDCap data dictionary (its CSV rows, header first)."""
    d = _Dictionary(rows)
    for key in ("var", "form", "type"):
        if key not in d.columns:
            d.findings.append(sm.design_finding("DSN-001", SHEET, sheet=f'"{key}" column of the'))
    kept = []
    for f in d.fields:
        if f["type"] in _NO_DATA:
            d.findings.append(
                sm.design_finding(
                    "DSN-014", d.where(f, "type"), field=f["var"], field_type=f["type"]
                )
            )
            continue
        d.shape(f)
        kept.append(f)
    d.fields = kept
    sheets: dict[str, list[dict[str, str]]] = {k: [] for k in sm.SHEET_COLUMNS}
    forms = list(dict.fromkeys(f["form"] for f in d.fields))
    for n, form in enumerate(forms, 1):
        sheets["events"].append(
            {
                "StudyEventOID": "SE.1",
                "Name": "Data collection",
                "Repeating": "No",
                "Type": "Scheduled",
                "InProtocol": "Yes",
                "ProtocolMandatory": "Yes",
                "FormOID": f"F.{form}",
                "OrderNumber": str(n),
                "Mandatory": "Yes",
            }
        )
        title = form.replace("_", " ").capitalize()
        sheets["forms"].append(
            {
                "FormOID": f"F.{form}",
                "Name": title,
                "Repeating": "No",
                "ItemGroupOID": f"IG.{form}",
                "Mandatory": "Yes",
            }
        )
        sheets["groups"].append({"ItemGroupOID": f"IG.{form}", "Name": title, "Repeating": "No"})
    _item_rows(d, d.mdv(), sheets)
    study = [
        ["Field", "Value"],
        ["xmlns", m.ODM_NS],
        ["FileOID", f"F.{name}"],
        ["FileType", "Snapshot"],
        ["Granularity", "Metadata"],
        ["ODMVersion", "1.3.2"],
        ["CreationDateTime", datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")],
        ["SourceSystem", "REDCap data dictionary"],
        ["StudyOID", f"S.{name}"],
        ["StudyName", name],
        ["StudyDescription", f"{name} (from a REDCap data dictionary)"],
        ["ProtocolName", name],
        ["MetaDataVersionOID", "MDV.1"],
        ["MetaDataVersionName", "Version 1"],
    ]
    out: sm.Sheets = {"study": study}
    for sheet, columns in sm.SHEET_COLUMNS.items():
        header = header_of(columns, ["en"], 2 if sheet == "items" else 0)
        out[sheet] = [header] + [[r.get(c, "") for c in header] for r in sheets[sheet]]
    return out, d.findings


def from_dictionary(rows: list[list[str]], name: str) -> sm.DesignResult:
    """ODM for a REDCap data dictionary: the dictionary's findings, then the sheets'."""
    sheets, findings = dictionary_sheets(rows, name)
    result = from_sheets(sheets)
    return sm.DesignResult(
        sheets=sheets, xml=result.xml, findings=tuple(findings) + result.findings
    )
