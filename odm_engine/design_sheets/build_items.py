"""Sheets -> ODM for the items and code lists, the odm_extra fragments, the final order of
children, and :func:`from_sheets`."""

from __future__ import annotations

import re

from lxml import etree

from odm_engine.design_sheets import build as bd
from odm_engine.design_sheets import model as sm
from odm_engine.design_sheets.rows import SheetRow, agree, grouped
from odm_engine.design_sheets.xmlbits import children, local
from odm_engine.findings import Finding

_CHECK = re.compile(r"^Check(\d+)")
_ITEM_SPEC = (("ItemOID", "OID"), *sm.ITEM_DEF)


def _is_def_column(column: str) -> bool:
    base = re.sub(r"\[.*\]$", "", column)
    return (
        base in sm.ITEM_DEF_COLUMNS
        or base in ("Question", "Description")
        or bool(_CHECK.match(column))
    )


def _lines(text: str) -> list[str]:
    return [line for line in text.split("\n") if line.strip()]


def _range_check(b: bd.Builder, item: etree._Element, row: SheetRow, i: int) -> None:
    prefix = f"Check{i}"
    cells = {c: v for c, v in row.cells.items() if re.match(rf"^{prefix}(?!\d)", c)}
    if not any(v.strip() for v in cells.values()):
        return
    rc = b.sub(item, "RangeCheck")
    comparator = b.reader.value(row, prefix + "Comparator")
    if comparator:
        rc.set("Comparator", comparator)
    soft_hard = b.reader.value(row, prefix)
    if soft_hard:
        rc.set("SoftHard", soft_hard)
    elif not row.raw(prefix).strip():
        b.reader.add("DSN-002", row.where(prefix), column=prefix, what=f"range check {i}")
    for value in _lines(row.raw(prefix + "Values")):
        b.sub(rc, "CheckValue").text = value
    expression = row.raw(prefix + "Expression")
    if expression.strip():
        fe = b.sub(rc, "FormalExpression")
        if row.raw(prefix + "Context"):
            fe.set("Context", row.raw(prefix + "Context"))
        fe.text = expression
    if row.raw(prefix + "Unit").strip():
        b.sub(rc, "MeasurementUnitRef").set("MeasurementUnitOID", row.raw(prefix + "Unit").strip())
    b.text(rc, "ErrorMessage", row, prefix + "Message")


def _item_def(b: bd.Builder, mdv: etree._Element, oid: str, row: SheetRow) -> None:
    el = b.sub(mdv, "ItemDef", f"ItemDef {oid}")
    el.set("OID", oid)
    for column, attr in sm.ITEM_DEF:
        value = b.reader.value(row, column)
        if value:
            el.set(attr, value)
        elif column in ("Name", "DataType") and not row.raw(column).strip():
            b.reader.add("DSN-002", row.where(column), column=column, what=f"ItemDef {oid}")
    b.text(el, "Description", row, "Description")
    b.text(el, "Question", row, "Question")
    for unit in _lines(row.raw("Units")):
        b.sub(el, "MeasurementUnitRef").set("MeasurementUnitOID", unit.strip())
    checks = sorted({int(m[1]) for c in row.columns if (m := _CHECK.match(c))})
    for i in checks:
        _range_check(b, el, row, i)
    if row.raw("CodeListOID").strip():
        b.sub(el, "CodeListRef").set("CodeListOID", row.raw("CodeListOID").strip())
    for name in _lines(row.raw("SDTM")):
        b.sub(el, "Alias").attrib.update({"Context": "SDTM", "Name": name})
    b.aliases(el, row, "Aliases")


def items(b: bd.Builder, mdv: etree._Element, groups: dict[str, etree._Element]) -> None:
    """ItemRefs into their groups, in row order; each ItemDef from its item's first row."""
    rows = b.reader.rows(b.sheets, "items")
    def_columns = [c for c in (rows[0].columns if rows else {}) if _is_def_column(c)]
    for oid, group in grouped(rows, "ItemOID"):
        agree(b.reader, group, def_columns, "ItemDef", oid)
        if any(group[0].raw(c).strip() for c in def_columns):
            _item_def(b, mdv, oid, group[0])  # no ItemDef columns: a Ref to no ItemDef
    for row in rows:
        oid = row.raw("ItemOID").strip()
        if not oid:
            b.reader.add("DSN-002", row.where("ItemOID"), column="ItemOID", what="an item row")
            continue
        group_oid = row.raw("ItemGroupOID").strip()
        if not group_oid:
            continue
        group_el = groups.get(group_oid)
        if group_el is None:
            detail = (
                f'{row.where("ItemGroupOID")}: ItemGroupOID "{group_oid}" is not on the '
                "groups sheet, so the item has no group to go in. Add the group there or "
                "correct the OID."
            )
            b.reader.add("DSN-012", row.where("ItemGroupOID"), detail=detail)
            continue
        ref = b.sub(group_el, "ItemRef")
        ref.set("ItemOID", oid)
        b.owners.setdefault(f"ItemRef {group_oid}/{oid}", ref)
        b.attrs(ref, row, sm.ITEM_REF)


def codelists(b: bd.Builder, mdv: etree._Element) -> None:
    rows = b.reader.rows(b.sheets, "codelists")
    sub = {"Kind", "CodedValue", "Decode", "Rank", "OrderNumber", "Aliases"}
    head = b.head("codelists", rows, sub)
    for _oid, group in grouped(rows, "CodeListOID"):
        el = b.definition(mdv, "CodeList", group, sm.CODELIST_DEF, head)
        if not group[0].raw("DataType").strip():
            b.reader.add(
                "DSN-002", group[0].where("DataType"), column="DataType", what=f"CodeList {_oid}"
            )
        for row in group:
            if not row.raw("CodedValue").strip() and not row.texts("Decode"):
                continue
            kind = row.raw("Kind").strip()
            name = "EnumeratedItem" if kind.lower().startswith("enum") else "CodeListItem"
            item = b.sub(el, name)
            item.set("CodedValue", row.raw("CodedValue").strip())
            b.owners.setdefault(f"{name} {_oid}/{item.get('CodedValue')}", item)
            b.attrs(item, row, sm.CODE_ITEM[1:])
            if name == "CodeListItem":
                b.text(item, "Decode", row, "Decode")
            b.aliases(item, row, "Aliases")
        b.aliases(el, group[0], "ListAliases")


def _extra_rows(b: bd.Builder) -> list[tuple[SheetRow, list[str]]]:
    """odm_extra rows with continuation parts (Part 2, 3, ...) joined to their first."""
    out: list[tuple[SheetRow, list[str]]] = []
    for row in b.reader.rows(b.sheets, sm.EXTRA_SHEET):
        part = row.raw("Part").strip()
        if part not in ("", "1") and out and out[-1][0].raw("Owner") == row.raw("Owner"):
            out[-1][1].append(row.raw("Value"))
        else:
            out.append((row, [row.raw("Value")]))
    return out


def extras(b: bd.Builder) -> None:
    """Put the odm_extra attributes and fragments back on their owners."""
    for row, parts in _extra_rows(b):
        owner_key, name, value = row.raw("Owner").strip(), row.raw("Name").strip(), "".join(parts)
        owner = b.owners.get(owner_key)
        if owner is None:
            b.reader.add("DSN-008", row.where("Owner"), owner=owner_key, name=name)
            continue
        if row.raw("Kind").strip() == "attribute":
            try:
                owner.set(name, value)
            except ValueError as exc:
                b.reader.add("DSN-009", row.where("Name"), detail=str(exc))
            continue
        fragment = bd.parse_fragment(value)
        if isinstance(fragment, Finding):
            b.reader.add("DSN-009", row.where("Value"), detail=fragment.message)
            continue
        owner.append(fragment)
        b.after[id(fragment)] = (fragment, row.raw("After").strip())


def _rank(b: bd.Builder, parent: str, child: etree._Element) -> float:
    order = sm.CHILD_ORDER.get(parent, ())
    name = local(child)
    if etree.QName(child).namespace == b.ns and name in order:
        return float(order.index(name))
    after = b.after.get(id(child), (child, ""))[1]
    if not after:
        return -0.5  # it came first
    return order.index(after) + 0.5 if after in order else len(order) + 1.0


def order(b: bd.Builder) -> None:
    """Children of every built element in the schema's order (stable)."""
    for el in b.owners.values():
        kids = children(el)
        ranked = sorted(kids, key=lambda c: _rank(b, local(el), c))
        if ranked != kids:
            for child in kids:
                el.remove(child)
            el.extend(ranked)


def from_sheets(sheets: sm.Sheets) -> sm.DesignResult:
    """ODM XML from the sheets, with findings located by ``sheet!cell``; no XML when an
    error was found."""
    b = bd.Builder(sheets)
    try:
        return _build(b)
    except ValueError as exc:  # lxml refuses a name or namespace no check above caught
        detail = f"a cell holds what XML cannot carry ({exc}); correct it and import again."
        return sm.DesignResult(
            findings=(*b.reader.findings, sm.design_finding("DSN-012", None, detail=detail))
        )


def _build(b: bd.Builder) -> sm.DesignResult:
    root = bd.study(b)
    if b.mdv is not None:
        bd.events(b, b.mdv)
        bd.forms(b, b.mdv)
        group_els = bd.groups(b, b.mdv)
        items(b, b.mdv, group_els)
        codelists(b, b.mdv)
        bd.expressions(b, b.mdv, "conditions", "ConditionDef", sm.CONDITION_DEF)
        bd.expressions(b, b.mdv, "methods", "MethodDef", sm.METHOD_DEF)
        protocol = b.mdv.find(f"{{{b.ns}}}Protocol")
        if protocol is not None:
            b.owners["Protocol"] = protocol
    extras(b)
    if root is None:
        return sm.DesignResult(findings=tuple(b.reader.findings))
    order(b)
    findings = tuple(b.reader.findings) + tuple(_dangling(b, root))
    if any(f.severity.value == "error" for f in findings):
        return sm.DesignResult(findings=findings)
    etree.indent(root, space="  ")
    xml = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return sm.DesignResult(xml=xml, findings=findings)


_TARGETS = (
    ("FormRef", "FormOID", "FormDef", "forms"),
    ("ItemGroupRef", "ItemGroupOID", "ItemGroupDef", "groups"),
    ("CodeListRef", "CodeListOID", "CodeList", "codelists"),
    ("MeasurementUnitRef", "MeasurementUnitOID", "MeasurementUnit", "units"),
    ("ItemRef", "MethodOID", "MethodDef", "methods"),
    ("ItemRef", "ItemOID", "ItemDef", "items"),
)


def _dangling(b: bd.Builder, root: etree._Element) -> list[Finding]:
    """References to a definition no sheet (nor odm_extra) holds: warnings, since a study
    may name definitions of an included MetaDataVersion."""
    out: list[Finding] = []
    for ref, attr, target, sheet in _TARGETS:
        have = {el.get("OID") for el in root.iter(f"{{{b.ns}}}{target}")}
        for el in root.iter(f"{{{b.ns}}}{ref}"):
            value = el.get(attr)
            if value and value not in have and not any(value in f.message for f in out):
                out.append(
                    sm.design_finding(
                        "DSN-006", None, column=attr, value=value, target=target, sheet=sheet
                    )
                )
    return out
