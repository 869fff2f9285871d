"""Reading sheets back: rows that know their cells' addresses, typed cell values checked
with a located finding ("items!F12: ..."), and rows grouped by definition."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from dataclasses import dataclass

from odm_engine.datatypes import REGISTRY
from odm_engine.design_sheets import model as sm
from odm_engine.findings import Finding

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_TEXT = re.compile(r"^(?P<field>[A-Za-z0-9]+)(?:\[(?P<lang>[^\]]+)\])?$")


@dataclass(frozen=True, slots=True)
class SheetRow:
    sheet: str
    number: int
    """The row's number in the sheet (the header is row 1)."""
    cells: dict[str, str]
    columns: dict[str, int]

    def raw(self, column: str) -> str:
        return self.cells.get(column, "")

    def where(self, column: str | None = None) -> str:
        return sm.cell(self.sheet, self.columns.get(column) if column else None, self.number)

    def texts(self, field: str) -> list[tuple[str | None, str]]:
        """(language, text) of the filled ``field`` / ``field[lang]`` columns, in order."""
        out = []
        for column, value in self.cells.items():
            match = _TEXT.match(column)
            if value and match and match["field"] == field:
                out.append((match["lang"], value))
        return out


class Reader:
    """Cell values with their checks; every problem is a finding at its cell."""

    def __init__(self) -> None:
        self.findings: list[Finding] = []

    def add(self, code: str, where: str | None, **fields: object) -> None:
        self.findings.append(sm.design_finding(code, where, **fields))

    def rows(self, sheets: sm.Sheets, name: str) -> list[SheetRow]:
        """The non-empty rows of sheet ``name``; unknown columns are reported once."""
        table = sheets.get(name)
        if table is None:
            if name != sm.EXTRA_SHEET:
                self.add("DSN-001", name, sheet=name)
            return []
        if not table:
            return []
        header = [h.strip() for h in table[0]]
        columns = {h: i for i, h in enumerate(header) if h}
        self._unknown(name, header)
        out = []
        for n, values in enumerate(table[1:], 2):
            cells = {h: (values[i] if i < len(values) else "") for h, i in columns.items()}
            for h, value in cells.items():
                if _NOT_XML.search(value):
                    detail = (
                        f"{sm.cell(name, columns[h], n)}: the cell holds a control character "
                        "XML cannot carry; delete it (it often comes with a paste)."
                    )
                    self.add("DSN-012", sm.cell(name, columns[h], n), detail=detail)
                    cells[h] = _NOT_XML.sub("", value)
            if any(v.strip() for v in cells.values()):
                out.append(SheetRow(name, n, cells, columns))
        return out

    def _unknown(self, name: str, header: list[str]) -> None:
        if name in (sm.EXTRA_SHEET, "study"):
            return
        known = set(sm.SHEET_COLUMNS.get(name, ()))
        for i, column in enumerate(header):
            match = _TEXT.match(column)
            base = match["field"] if match else column
            if not column or column in known or f"{base}*" in known:
                continue
            if name == "items" and re.match(r"^Check\d+", column):
                continue
            shown = ", ".join(c.rstrip("*") for c in sm.SHEET_COLUMNS.get(name, ()))
            self.add("DSN-007", sm.cell(name, i, 1), column=column, sheet=name, known=shown)

    def value(self, row: SheetRow, column: str) -> str:
        """The cell, checked by what the column holds; "" (attribute absent) if invalid."""
        value = row.raw(column)
        if not value.strip():
            return ""
        stripped = value.strip()
        base = re.sub(r"^Check\d+", "Check", column)
        if column in sm.YES_NO_COLUMNS or base in sm.YES_NO_COLUMNS:
            return self._choice(row, column, stripped, ("Yes", "No"), "Yes or No")
        if column in sm.INTEGER_COLUMNS and not stripped.isdigit():
            self.add("DSN-004", row.where(column), column=column, value=stripped)
            return ""
        if column == "DataType":
            return self._choice(row, column, stripped, tuple(REGISTRY), "an ODM DataType")
        if base == "CheckComparator":
            return self._choice(row, column, stripped, sm.COMPARATORS, "a comparator")
        if base == "Check":
            return self._choice(row, column, stripped, sm.SOFT_HARD, "Hard or Soft")
        return value

    def _choice(
        self, row: SheetRow, column: str, value: str, allowed: tuple[str, ...], expected: str
    ) -> str:
        if value in allowed:
            return value
        close = difflib.get_close_matches(value, allowed, n=1, cutoff=0.6)
        lower = [a for a in allowed if a.lower() == value.lower()]
        guess = lower[0] if lower else close[0] if close else None
        hint = f" (did you mean {guess}?)" if guess else ""
        self.add(
            "DSN-003",
            row.where(column),
            column=column,
            value=value,
            expected=expected,
            hint=hint,
            allowed=", ".join(allowed),
        )
        return ""

    def required(self, row: SheetRow, column: str, what: str) -> str:
        value = self.value(row, column)
        if not value and not row.raw(column).strip():
            self.add("DSN-002", row.where(column), column=column, what=what)
        return value


def grouped(rows: list[SheetRow], key: str) -> Iterator[tuple[str, list[SheetRow]]]:
    """Rows by the OID in column ``key``, in order of first appearance (rows without it are
    left out: the caller reports them)."""
    groups: dict[str, list[SheetRow]] = {}
    for row in rows:
        oid = row.raw(key).strip()
        if oid:
            groups.setdefault(oid, []).append(row)
    yield from groups.items()


def agree(reader: Reader, rows: list[SheetRow], columns: list[str], what: str, oid: str) -> None:
    """Later rows of a definition leave its own columns empty or repeat the first row."""
    first = rows[0]
    for row in rows[1:]:
        for column in columns:
            value = row.raw(column).strip()
            if value and value != first.raw(column).strip():
                reader.add(
                    "DSN-005",
                    row.where(column),
                    what=what,
                    oid=oid,
                    column=column,
                    value=value,
                    first=first.number,
                    before=first.raw(column).strip(),
                )
