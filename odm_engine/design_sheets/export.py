"""ODM -> sheets: :func:`to_sheets`.

It reads the XML tree, not :class:`odm_engine.model.ODM`: the model leaves out what the
engine does not use (comments on an element, Presentation content, vendor attributes on a
TranslatedText), and the sheets promise that whatever they do not show is kept in odm_extra.
"""

from __future__ import annotations

from lxml import etree

from odm_engine.design_sheets import model as sm
from odm_engine.design_sheets.export_items import codelist_rows, item_rows
from odm_engine.design_sheets.xmlbits import (
    XML_LANG,
    Walk,
    all_of,
    children,
    first,
    local,
    plain,
    row_like,
    text_column,
)
from odm_engine.findings import Finding, finding
from odm_engine.safexml import parse_bytes

Row = dict[str, str]


def expression_ok(el: etree._Element) -> bool:
    """A FormalExpression the Context and Expression cells hold whole."""
    return not children(el) and set(el.attrib) <= {"Context"} and bool(el.text)


def _study(root: etree._Element, walk: Walk) -> tuple[list[list[str]], etree._Element | None]:
    """The study sheet (Field, Value) and the MetaDataVersion the other sheets show."""
    fields: list[list[str]] = [["Namespace", walk.odm_ns]]
    for prefix, uri in root.nsmap.items():
        fields.append(["xmlns" if prefix is None else f"xmlns:{prefix}", uri])
    for name, value in root.attrib.items():
        if not name.startswith("{"):
            fields.append([name, value])
            walk.take(root, (name,))
    study = first(root, "Study", walk)
    mdv = None
    if study is not None:
        walk.take(study, ("OID",))
        fields.append(["Study", "Yes"])
        if study.get("OID") is not None:
            fields.append(["StudyOID", study.get("OID", "")])
        gv = first(study, "GlobalVariables", walk)
        if gv is not None:
            walk.take(gv)
            for child in children(gv):
                if walk.is_odm(child) and plain(child, (), text=True):
                    fields.append([local(child), child.text or ""])
                    walk.take(child)
            walk.rest(gv, "GlobalVariables")
        mdv = first(study, "MetaDataVersion", walk)
        if mdv is not None:
            walk.take(mdv, ("OID", "Name", "Description"))
            fields.append(["MetaDataVersion", "Yes"])
            fields.extend(
                [f"MetaDataVersion{attr}", mdv.get(attr, "")]
                for attr in ("OID", "Name", "Description")
                if mdv.get(attr) is not None
            )
    return fields, mdv


def _protocol(mdv: etree._Element, walk: Walk, fields: list[list[str]]) -> dict[str, Row]:
    """StudyEventRef cells per event, when the Protocol fits the events sheet (refs in the
    order of the StudyEventDefs, each once); else {} and the Protocol is kept whole."""
    protocol = first(mdv, "Protocol", walk)
    if protocol is None or protocol.attrib:
        return {}
    defs = [el.get("OID") for el in all_of(mdv, "StudyEventDef", walk)]
    description = None
    refs: dict[str, Row] = {}
    allowed = ("StudyEventOID", *(attr for _, attr in sm.EVENT_PROTOCOL))
    for child in children(protocol):
        if local(child) == "Description" and description is None and not refs:
            description = child
            continue
        oid = child.get("StudyEventOID", "")
        if local(child) != "StudyEventRef" or not plain(child, allowed) or oid in refs:
            return {}
        refs[oid] = {}
    order = [oid for oid in defs if oid in refs]
    if order != list(refs) or len(set(defs)) != len(defs):
        return {}
    row: Row = {}
    if not walk.texts(description, "ProtocolDescription", row):
        return {}
    fields.extend([column, value] for column, value in row.items())
    walk.take(protocol)
    for ref in all_of(protocol, "StudyEventRef", walk):
        walk.take(ref, ("StudyEventOID",))
        cells = refs[ref.get("StudyEventOID", "")]
        cells["InProtocol"] = "Yes"
        walk.attrs(ref, sm.EVENT_PROTOCOL, cells)
    return refs


def _definition(
    el: etree._Element, walk: Walk, spec: tuple[tuple[str, str], ...], row: Row
) -> None:
    """The columns every definition has: its attributes, Description and Aliases."""
    walk.attrs(el, spec, row)
    walk.texts(first(el, "Description", walk), "Description", row)
    walk.aliases(all_of(el, "Alias", walk), row, "Aliases")


class _Rows:
    """The rows of one definition: its own columns on the first row, then one row per
    sub-record (a Ref, a CodeListItem, a FormalExpression) with only the key filled."""

    def __init__(self, head: Row, key: str) -> None:
        self.head, self.key, self.rows, self._used = head, key, [head], False

    def next(self) -> Row:
        if not self._used:
            self._used = True
            return self.head
        row = {self.key: self.head.get(self.key, "")}
        self.rows.append(row)
        return row


def _with_refs(
    parent: etree._Element, walk: Walk, key: str, ref: tuple[str, str], head: Row
) -> list[Row]:
    """One row per Ref child (``ref``: element, OID attribute, also its column)."""
    name, oid_attr = ref
    rows = _Rows(head, key)
    allowed = (oid_attr, *(attr for _, attr in sm.REF_ATTRS))
    for child in all_of(parent, name, walk):
        if not row_like(child, allowed) or child.get(oid_attr) is None:
            continue
        row = rows.next()
        row[oid_attr] = child.get(oid_attr, "")
        walk.take(child, (oid_attr,))
        walk.attrs(child, sm.REF_ATTRS, row)
        walk.rest(child, f"{name} {head.get(key, '')}/{child.get(oid_attr, '')}")
    return rows.rows


def _events(mdv: etree._Element, walk: Walk, protocol: dict[str, Row]) -> list[Row]:
    rows: list[Row] = []
    for el in all_of(mdv, "StudyEventDef", walk):
        head: Row = {}
        _definition(el, walk, sm.EVENT_DEF, head)
        head.update(protocol.get(el.get("OID", ""), {}))
        rows.extend(_with_refs(el, walk, "StudyEventOID", ("FormRef", "FormOID"), head))
        walk.rest(el, f"StudyEventDef {el.get('OID', '')}")
    return rows


def _forms(mdv: etree._Element, walk: Walk) -> list[Row]:
    rows: list[Row] = []
    for el in all_of(mdv, "FormDef", walk):
        head: Row = {}
        _definition(el, walk, sm.FORM_DEF, head)
        rows.extend(_with_refs(el, walk, "FormOID", ("ItemGroupRef", "ItemGroupOID"), head))
        walk.rest(el, f"FormDef {el.get('OID', '')}")
    return rows


def _simple(
    mdv: etree._Element, walk: Walk, name: str, spec: tuple[tuple[str, str], ...]
) -> list[Row]:
    """Groups and units: one row per definition."""
    rows = []
    for el in all_of(mdv, name, walk):
        row: Row = {}
        _definition(el, walk, spec, row)
        if name == "MeasurementUnit":
            walk.texts(first(el, "Symbol", walk), "Symbol", row)
        rows.append(row)
    return rows


def _expressions(
    mdv: etree._Element, walk: Walk, name: str, spec: tuple[tuple[str, str], ...]
) -> list[Row]:
    """Conditions and methods: one row per FormalExpression (Context, Expression)."""
    out: list[Row] = []
    for el in all_of(mdv, name, walk):
        head: Row = {}
        _definition(el, walk, spec, head)
        rows = _Rows(head, spec[0][0])
        for fe in all_of(el, "FormalExpression", walk):
            if not expression_ok(fe):
                continue
            row = rows.next()
            if fe.get("Context") is not None:
                row["Context"] = fe.get("Context", "")
            row["Expression"] = fe.text or ""
            walk.take(fe, ("Context",))
        out.extend(rows.rows)
        walk.rest(el, f"{name} {el.get('OID', '')}")
    return out


def to_sheets(xml: bytes) -> sm.DesignResult:
    """The spreadsheet view of an ODM file, and findings (what was kept in odm_extra)."""
    tree = parse_bytes(xml)
    if isinstance(tree, Finding):
        return sm.DesignResult(findings=(tree,))
    root = tree.getroot()
    if local(root) != "ODM":
        return sm.DesignResult(findings=(finding("ODM-VER-001", tag=local(root)),))
    walk = Walk(etree.QName(root).namespace or "")
    walk.langs = language_order(root)
    fields, mdv = _study(root, walk)
    sheets: dict[str, list[Row]] = {}
    if mdv is not None:
        fields.extend(_units(root, walk, sheets))
        protocol = _protocol(mdv, walk, fields)
        sheets["events"] = _events(mdv, walk, protocol)
        sheets["forms"] = _forms(mdv, walk)
        sheets["groups"] = _simple(mdv, walk, "ItemGroupDef", sm.GROUP_DEF)
        sheets["items"] = item_rows(mdv, walk)
        sheets["codelists"] = codelist_rows(mdv, walk)
        sheets["conditions"] = _expressions(mdv, walk, "ConditionDef", sm.CONDITION_DEF)
        sheets["methods"] = _expressions(mdv, walk, "MethodDef", sm.METHOD_DEF)
        for el in all_of(mdv, "ItemGroupDef", walk):
            walk.rest(el, f"ItemGroupDef {el.get('OID', '')}")
        walk.rest(mdv, "MetaDataVersion")
    fields.append(["Languages", ", ".join(lang or "(none)" for lang in walk.langs)])
    study = first(root, "Study", walk)
    if study is not None:
        walk.rest(study, "Study")
    walk.rest(root, "ODM")
    return sm.DesignResult(sheets=_tables(fields, sheets, walk), findings=_report(root, walk))


def language_order(root: etree._Element) -> list[str | None]:
    """The study's languages in the order most of its texts give them (by mean position):
    the language columns follow it, and a text in another order is kept in odm_extra."""
    positions: dict[str | None, list[float]] = {}
    for tt in root.iter("{*}TranslatedText"):
        parent = tt.getparent()
        if parent is None:
            continue
        siblings = [c for c in parent if isinstance(c.tag, str)]
        where = siblings.index(tt) / max(1, len(siblings) - 1)
        positions.setdefault(tt.get(XML_LANG), []).append(where)
    return sorted(positions, key=lambda lang: sum(positions[lang]) / len(positions[lang]))


def _units(root: etree._Element, walk: Walk, sheets: dict[str, list[Row]]) -> list[list[str]]:
    study = first(root, "Study", walk)
    basic = first(study, "BasicDefinitions", walk) if study is not None else None
    sheets["units"] = []
    if basic is None:
        return []
    walk.take(basic)
    sheets["units"] = _simple(basic, walk, "MeasurementUnit", sm.UNIT_DEF)
    for el in all_of(basic, "MeasurementUnit", walk):
        walk.take(el)
        walk.rest(el, f"MeasurementUnit {el.get('OID', '')}")
    walk.rest(basic, "BasicDefinitions")
    return [["BasicDefinitions", "Yes"]]


def header_of(columns: list[str], langs: list[str | None], checks: int) -> list[str]:
    out: list[str] = []
    for column in columns:
        if column == "Aliases" and checks:
            for i in range(1, checks + 1):
                for part in sm.CHECK_COLUMNS:
                    out.extend(header_of([f"Check{i}{part}"], langs, 0))
        if column.endswith("*"):
            out.extend(text_column(column[:-1], lang) for lang in langs)
        else:
            out.append(column)
    return out


def _tables(fields: list[list[str]], sheets: dict[str, list[Row]], walk: Walk) -> sm.Sheets:
    out: sm.Sheets = {"study": [["Field", "Value"], *fields]}
    checks = max(2, walk.checks)
    for name, columns in sm.SHEET_COLUMNS.items():
        header = header_of(columns, walk.langs, checks if name == "items" else 0)
        out[name] = [header] + [[row.get(c, "") for c in header] for row in sheets.get(name, [])]
    out[sm.EXTRA_SHEET] = [sm.EXTRA_HEADER, *walk.extra]
    return out


def _report(root: etree._Element, walk: Walk) -> tuple[Finding, ...]:
    found = []
    if walk.extra:
        kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(walk.kinds.items()))
        found.append(
            sm.design_finding("DSN-010", sm.EXTRA_SHEET, count=len(walk.extra), kinds=kinds)
        )
    comments = sum(1 for _ in root.iter(etree.Comment))
    if comments:
        found.append(sm.design_finding("DSN-011", None, count=comments))
    return tuple(found)
