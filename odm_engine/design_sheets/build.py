"""Sheets -> ODM: :func:`from_sheets`, the inverse of :func:`to_sheets`.

Elements are built in the ODM 1.3.2 child order; the fragments and attributes kept in
odm_extra go back to the element they were taken from (``Owner``), where the schema puts
them, or for a vendor element after the ODM sibling it followed (``After``).
"""

from __future__ import annotations

import re

from lxml import etree

from odm_engine.design_sheets import model as sm
from odm_engine.design_sheets.rows import Reader, SheetRow, agree, grouped
from odm_engine.design_sheets.xmlbits import XML_LANG
from odm_engine.findings import Finding
from odm_engine.model import ODM_NS
from odm_engine.safexml import parse_bytes

_STUDY_FIELDS = frozenset(
    {"Field", "Namespace", "StudyOID", "StudyName", "StudyDescription", "ProtocolName"}
    | {"MetaDataVersionOID", "MetaDataVersionName", "MetaDataVersionDescription"}
    | {"Languages", "BasicDefinitions", "Study", "MetaDataVersion"}
)
_REF_COLUMNS = [column for column, _ in sm.REF_ATTRS]


class Builder:
    """Builds the ODM tree from the sheets, one sheet at a time."""

    def __init__(self, sheets: sm.Sheets) -> None:
        self.sheets = sheets
        self.reader = Reader()
        self.ns = ODM_NS
        self.owners: dict[str, etree._Element] = {}
        self.after: dict[int, tuple[etree._Element, str]] = {}
        """odm_extra fragment (by id, held so its lxml proxy lives) -> its ``After``."""
        self.mdv: etree._Element | None = None
        self.protocol_texts: list[tuple[str | None, str]] = []
        """The Protocol's Description (study sheet, ProtocolDescription[lang])."""

    # -- small pieces -----------------------------------------------------------------
    def sub(self, parent: etree._Element, name: str, owner: str | None = None) -> etree._Element:
        el = etree.SubElement(parent, f"{{{self.ns}}}{name}")
        if owner is not None:
            self.owners[owner] = el
        return el

    def attrs(self, el: etree._Element, row: SheetRow, spec: tuple[tuple[str, str], ...]) -> None:
        for column, attr in spec:
            value = self.reader.value(row, column)
            if value:
                el.set(attr, value)

    def text(self, parent: etree._Element, name: str, row: SheetRow, field: str) -> None:
        texts = row.texts(field)
        if not texts:
            return
        el = self.sub(parent, name)
        for lang, value in texts:
            tt = self.sub(el, "TranslatedText")
            if lang is not None:
                tt.set(XML_LANG, lang)
            tt.text = value

    def aliases(self, parent: etree._Element, row: SheetRow, column: str) -> None:
        for line in row.raw(column).split("\n"):
            if not line.strip():
                continue
            context, sep, name = line.partition("=")
            if not sep:
                detail = (
                    f'{row.where(column)}: Alias "{line}" is not Context=Name. Write one '
                    "Alias per line, e.g. SDTM=VSORRES."
                )
                self.reader.add("DSN-012", row.where(column), detail=detail)
                continue
            self.sub(parent, "Alias").attrib.update({"Context": context, "Name": name})

    def definition(
        self,
        parent: etree._Element,
        name: str,
        rows: list[SheetRow],
        spec: tuple[tuple[str, str], ...],
        head: list[str],
    ) -> etree._Element:
        """A definition from its rows: attributes and Description from the first row (the
        other rows must agree), Aliases after whatever the caller adds (ordered at the end)."""
        row = rows[0]
        oid = row.raw(spec[0][0]).strip()
        agree(self.reader, rows, head, name, oid)
        el = self.sub(parent, name, f"{name} {oid}")
        self.attrs(el, row, spec)
        if not row.raw("Name").strip() and any(attr == "Name" for _, attr in spec):
            self.reader.add("DSN-002", row.where("Name"), column="Name", what=f"{name} {oid}")
        self.text(el, "Description", row, "Description")
        return el

    def refs(self, el: etree._Element, rows: list[SheetRow], name: str, column: str) -> None:
        for row in rows:
            oid = row.raw(column).strip()
            if oid:
                ref = self.sub(el, name)
                self.owners.setdefault(f"{name} {el.get('OID', '')}/{oid}", ref)
                ref.set(column, oid)
                self.attrs(ref, row, sm.REF_ATTRS)

    def head(self, sheet: str, rows: list[SheetRow], sub: set[str]) -> list[str]:
        """The definition's own columns on ``sheet``: all but the sub-record's."""
        columns = rows[0].columns if rows else {}
        return [c for c in columns if re.sub(r"\[.*\]$", "", c) not in sub]


def study(b: Builder) -> etree._Element | None:
    """The ODM root, Study, GlobalVariables, BasicDefinitions and MetaDataVersion from the
    study sheet (Field, Value)."""
    rows = b.reader.rows(b.sheets, "study")
    fields: dict[str, SheetRow] = {}
    for row in rows:
        field = row.raw("Field").strip()
        if field:
            fields.setdefault(field, row)
    value = {field: row.raw("Value") for field, row in fields.items()}
    b.ns = value.get("Namespace", "").strip() or ODM_NS
    nsmap: dict[str | None, str] = {}
    for field, uri in value.items():
        if field == "xmlns" or field.startswith("xmlns:"):
            nsmap[field[6:] or None] = uri.strip()
    if b.ns not in nsmap.values():
        nsmap[None] = b.ns
    root = etree.Element(f"{{{b.ns}}}ODM", nsmap=nsmap)
    b.owners["ODM"] = root
    for field, text in value.items():
        if field not in _STUDY_FIELDS and not field.startswith(("xmlns", "ProtocolDescription")):
            if re.fullmatch(r"[A-Za-z_][\w.-]*", field):
                root.set(field, text)
    if "StudyOID" not in value and value.get("Study") != "Yes":
        return root
    study_el = b.sub(root, "Study", "Study")
    if "StudyOID" in value:
        study_el.set("OID", value["StudyOID"].strip())
    if any(k in value for k in ("StudyName", "StudyDescription", "ProtocolName")):
        gv = b.sub(study_el, "GlobalVariables", "GlobalVariables")
        for name in ("StudyName", "StudyDescription", "ProtocolName"):
            if name in value:
                b.sub(gv, name).text = value[name]
    if value.get("BasicDefinitions") == "Yes" or b.reader.rows(b.sheets, "units"):
        basic = b.sub(study_el, "BasicDefinitions", "BasicDefinitions")
        units(b, basic)
    if "MetaDataVersionOID" in value or value.get("MetaDataVersion") == "Yes":
        b.mdv = b.sub(study_el, "MetaDataVersion", "MetaDataVersion")
        for attr in ("OID", "Name", "Description"):
            if f"MetaDataVersion{attr}" in value:
                text = value[f"MetaDataVersion{attr}"]
                b.mdv.set(attr, text.strip() if attr == "OID" else text)
        b.protocol_texts = [
            (re.sub(r"^ProtocolDescription\[?|\]$", "", f) or None, v)
            for f, v in value.items()
            if f.startswith("ProtocolDescription") and v
        ]
    return root


def units(b: Builder, basic: etree._Element) -> None:
    rows = b.reader.rows(b.sheets, "units")
    for _oid, group in grouped(rows, "UnitOID"):
        el = b.definition(basic, "MeasurementUnit", group, sm.UNIT_DEF, ["Name", "Symbol"])
        b.text(el, "Symbol", group[0], "Symbol")
        b.aliases(el, group[0], "Aliases")


def events(b: Builder, mdv: etree._Element) -> None:
    rows = b.reader.rows(b.sheets, "events")
    sub = {"FormOID", *_REF_COLUMNS}
    head = b.head("events", rows, sub)
    protocol_refs = []
    for oid, group in grouped(rows, "StudyEventOID"):
        el = b.definition(mdv, "StudyEventDef", group, sm.EVENT_DEF, head)
        b.refs(el, group, "FormRef", "FormOID")
        b.aliases(el, group[0], "Aliases")
        if b.reader.value(group[0], "InProtocol") == "Yes":
            protocol_refs.append((oid, group[0]))
    texts = b.protocol_texts
    if not protocol_refs and not texts:
        return
    protocol = etree.Element(f"{{{b.ns}}}Protocol")
    mdv.insert(0, protocol)
    if texts:
        description = b.sub(protocol, "Description")
        for lang, value in texts:
            tt = b.sub(description, "TranslatedText")
            if lang is not None:
                tt.set(XML_LANG, lang)
            tt.text = value
    for oid, row in protocol_refs:
        ref = b.sub(protocol, "StudyEventRef")
        ref.set("StudyEventOID", oid)
        b.attrs(ref, row, sm.EVENT_PROTOCOL)


def forms(b: Builder, mdv: etree._Element) -> None:
    rows = b.reader.rows(b.sheets, "forms")
    head = b.head("forms", rows, {"ItemGroupOID", *_REF_COLUMNS})
    for _oid, group in grouped(rows, "FormOID"):
        el = b.definition(mdv, "FormDef", group, sm.FORM_DEF, head)
        b.refs(el, group, "ItemGroupRef", "ItemGroupOID")
        b.aliases(el, group[0], "Aliases")


def groups(b: Builder, mdv: etree._Element) -> dict[str, etree._Element]:
    rows = b.reader.rows(b.sheets, "groups")
    out = {}
    for oid, group in grouped(rows, "ItemGroupOID"):
        el = b.definition(mdv, "ItemGroupDef", group, sm.GROUP_DEF, b.head("groups", rows, set()))
        b.aliases(el, group[0], "Aliases")
        out[oid] = el
    return out


def expressions(
    b: Builder, mdv: etree._Element, sheet: str, name: str, spec: tuple[tuple[str, str], ...]
) -> None:
    """ConditionDefs or MethodDefs: one FormalExpression per row."""
    rows = b.reader.rows(b.sheets, sheet)
    head = b.head(sheet, rows, {"Context", "Expression"})
    for _oid, group in grouped(rows, spec[0][0]):
        el = b.definition(mdv, name, group, spec, head)
        for row in group:
            expression = row.raw("Expression")
            if not expression.strip():
                continue
            fe = b.sub(el, "FormalExpression")
            if row.raw("Context"):
                fe.set("Context", row.raw("Context"))  # verbatim, like the expression
            fe.text = expression
        b.aliases(el, group[0], "Aliases")


def parse_fragment(text: str) -> etree._Element | Finding:
    tree = parse_bytes(text.encode("utf-8"))
    return tree if isinstance(tree, Finding) else tree.getroot()
