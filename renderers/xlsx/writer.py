"""Sheets -> .xlsx, streamed (openpyxl write-only: rows go to disk as they are added).

Every cell is written as text: "007" stays "007" and a Length of 8 comes back as "8", not
8.0; a text that starts with "=" stays a text, never a formula. The header row is bold and
frozen; the odm_extra sheet is hidden (it is for the round trip, not for editing).
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from odm_engine.design_sheets.model import EXTRA_SHEET, Sheets

_BOLD = Font(bold=True)
_WIDE = {"Question", "Decode", "Description", "Expression", "Value", "Symbol"}


def _width(column: str) -> float:
    base = column.split("[", maxsplit=1)[0]
    if base in _WIDE or base.endswith(("Message", "Expression")):
        return 48.0
    return max(10.0, min(28.0, len(column) + 2.0))


def _letter(n: int) -> str:
    letters = ""
    n += 1
    while n:
        n, rest = divmod(n - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def write_workbook(sheets: Sheets, out: str | Path | BinaryIO) -> None:
    """Write ``sheets`` (header row first) to ``out`` as one workbook, sheets in order."""
    wb = Workbook(write_only=True)
    for name, rows in sheets.items():
        ws = wb.create_sheet(title=name)
        if name == EXTRA_SHEET:
            ws.sheet_state = "hidden"
        if not rows:
            continue
        header = rows[0]
        for i, column in enumerate(header):
            ws.column_dimensions[_letter(i)].width = _width(column)
        ws.freeze_panes = "A2"
        head = []
        for column in header:
            cell = WriteOnlyCell(ws, value=column)
            cell.font = _BOLD
            head.append(cell)
        ws.append(head)
        for row in rows[1:]:
            ws.append([_cell(ws, value) for value in row])
    wb.save(out)


def _cell(ws: object, value: str) -> object:
    """The value, or a text cell when openpyxl would read it as a formula."""
    if not value:
        return None
    if value.startswith("="):
        cell = WriteOnlyCell(ws, value=value)  # type: ignore[arg-type]
        cell.data_type = "s"
        return cell
    return value
