"""ODM -> sheets for the items (one row per ItemRef in its group) and the code lists (one
row per CodeListItem)."""

from __future__ import annotations

from lxml import etree

from odm_engine.design_sheets import model as sm
from odm_engine.design_sheets.xmlbits import (
    Walk,
    all_of,
    children,
    first,
    local,
    plain,
    row_like,
)

Row = dict[str, str]
_REF_ALLOWED = ("ItemOID", *(attr for _, attr in sm.ITEM_REF))


def _check(rc: etree._Element, walk: Walk, i: int, row: Row) -> bool:
    """RangeCheck ``i`` into its Check columns; False (kept aside) if they cannot hold it."""
    if not set(rc.attrib) <= {"Comparator", "SoftHard"}:
        return False
    values, expression, unit, message = [], None, None, None
    for child in children(rc):
        name = local(child)
        if name == "CheckValue" and plain(child, (), text=True):
            values.append(child.text or "")
        elif name == "FormalExpression" and expression is None:
            if children(child) or not set(child.attrib) <= {"Context"} or not child.text:
                return False
            expression = child
        elif (
            name == "MeasurementUnitRef" and unit is None and plain(child, ("MeasurementUnitOID",))
        ):
            unit = child
        elif name == "ErrorMessage" and message is None:
            message = child
        else:
            return False
    cells: Row = {}
    if message is not None and not walk.texts(message, f"Check{i}Message", cells):
        return False
    if not (values or expression is not None or unit is not None or rc.attrib or cells):
        return False
    walk.take(rc, ("Comparator", "SoftHard"))
    for child in children(rc):
        walk.take(child, ("Context", "MeasurementUnitOID"))
    prefix = f"Check{i}"
    cells[prefix] = rc.get("SoftHard", "")
    cells[prefix + "Comparator"] = rc.get("Comparator", "")
    cells[prefix + "Values"] = "\n".join(values)
    if expression is not None:
        cells[prefix + "Context"] = expression.get("Context", "")
        cells[prefix + "Expression"] = expression.text or ""
    if unit is not None:
        cells[prefix + "Unit"] = unit.get("MeasurementUnitOID", "")
    row.update({k: v for k, v in cells.items() if v})
    return True


def _aliases(el: etree._Element, walk: Walk, row: Row) -> None:
    """SDTM Aliases (the leading ones) in the SDTM column, the others in Aliases."""
    aliases = all_of(el, "Alias", walk)
    lead = 0
    while lead < len(aliases) and aliases[lead].get("Context") == "SDTM":
        lead += 1
    sdtm = aliases[:lead]
    if all(plain(a, ("Context", "Name")) and "\n" not in a.get("Name", "\n") for a in sdtm):
        row_sdtm = "\n".join(a.get("Name", "") for a in sdtm)
        if row_sdtm:
            row["SDTM"] = row_sdtm
        for a in sdtm:
            walk.take(a)
        aliases = aliases[lead:]
    walk.aliases(aliases, row, "Aliases")


def _item_def(el: etree._Element, walk: Walk, row: Row) -> None:
    walk.take(el, ("OID",))
    walk.attrs(el, sm.ITEM_DEF, row)
    walk.texts(first(el, "Question", walk), "Question", row)
    walk.texts(first(el, "Description", walk), "Description", row)
    units = [u for u in all_of(el, "MeasurementUnitRef", walk) if plain(u, ("MeasurementUnitOID",))]
    if units:
        row["Units"] = "\n".join(u.get("MeasurementUnitOID", "") for u in units)
        for u in units:
            walk.take(u, ("MeasurementUnitOID",))
    code_list = first(el, "CodeListRef", walk)
    if code_list is not None and plain(code_list, ("CodeListOID",)):
        row["CodeListOID"] = code_list.get("CodeListOID", "")
        walk.take(code_list, ("CodeListOID",))
    i = 0
    for rc in all_of(el, "RangeCheck", walk):
        if _check(rc, walk, i + 1, row):
            i += 1
    walk.checks = max(walk.checks, i)
    _aliases(el, walk, row)


def item_rows(mdv: etree._Element, walk: Walk) -> list[Row]:
    """One row per ItemRef, groups in order; the ItemDef's columns on its first row; then
    the ItemDefs no group references."""
    defs: dict[str, etree._Element] = {}
    for el in all_of(mdv, "ItemDef", walk):
        defs.setdefault(el.get("OID", ""), el)
    done: set[str] = set()
    rows: list[Row] = []
    for group in all_of(mdv, "ItemGroupDef", walk):
        for ref in all_of(group, "ItemRef", walk):
            oid = ref.get("ItemOID")
            if oid is None or not row_like(ref, _REF_ALLOWED):
                continue
            row: Row = {"ItemGroupOID": group.get("OID", ""), "ItemOID": oid}
            walk.take(ref, ("ItemOID",))
            walk.attrs(ref, sm.ITEM_REF, row)
            walk.rest(ref, f"ItemRef {group.get('OID', '')}/{oid}")
            if oid in defs and oid not in done:
                done.add(oid)
                _item_def(defs[oid], walk, row)
            rows.append(row)
    for oid, el in defs.items():
        if oid not in done and oid:
            row = {"ItemOID": oid}
            _item_def(el, walk, row)
            rows.append(row)
    for oid, el in defs.items():
        walk.rest(el, f"ItemDef {oid}")
    return rows


def codelist_rows(mdv: etree._Element, walk: Walk) -> list[Row]:
    """One row per CodeListItem or EnumeratedItem; the list's columns on its first row."""
    rows: list[Row] = []
    for el in all_of(mdv, "CodeList", walk):
        head: Row = {}
        walk.attrs(el, sm.CODELIST_DEF, head)
        walk.texts(first(el, "Description", walk), "Description", head)
        walk.aliases(all_of(el, "Alias", walk), head, "ListAliases")
        row: Row | None = head
        for item in children(el):
            kind = local(item)
            if kind not in ("CodeListItem", "EnumeratedItem") or not walk.is_odm(item):
                continue
            cells = _code(item, walk, f"{kind} {head.get('CodeListOID', '')}")
            if cells is None:
                continue
            if row is None:
                row = {"CodeListOID": head.get("CodeListOID", "")}
            row.update(cells)
            if kind == "EnumeratedItem":
                row["Kind"] = "Enumerated"
            rows.append(row)
            row = None
        if row is head:
            rows.append(head)
        walk.rest(el, f"CodeList {el.get('OID', '')}")
    return rows


def _code(item: etree._Element, walk: Walk, owner: str) -> Row | None:
    """A code's cells, or None (kept aside) when they cannot hold it."""
    odm_attrs = {a for a in item.attrib if not a.startswith("{")}
    if not odm_attrs <= {"CodedValue", "Rank", "OrderNumber"} or not item.get("CodedValue"):
        return None
    decode = first(item, "Decode", walk)
    aliases = all_of(item, "Alias", walk)
    if len(children(item)) != len(aliases) + (decode is not None):
        return None
    cells: Row = {}
    if not walk.texts(decode, "Decode", cells):
        return None
    walk.aliases(aliases, cells, "Aliases")
    if aliases and "Aliases" not in cells:
        return None
    walk.take(item)
    walk.attrs(item, sm.CODE_ITEM, cells)
    walk.rest(item, f"{owner}/{item.get('CodedValue')}")
    return cells
