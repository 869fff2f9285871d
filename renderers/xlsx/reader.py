""".xlsx -> sheets (openpyxl read-only: the workbook is streamed, not loaded whole).

A designer's spreadsheet program may store what was typed as a number, a date or a boolean;
each comes back as the text the cell shows (8 not 8.0, 2026-01-31, Yes/No), which is what
the ODM attribute holds. Formulas give their last computed value.
"""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path
from typing import Any, BinaryIO

from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from odm_engine.design_sheets.model import Sheets
from odm_engine.errors import EdcError


class WorkbookError(EdcError, ValueError):
    """The file is not a workbook openpyxl can read (not .xlsx, damaged, encrypted)."""


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


_UNREADABLE = (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError, SyntaxError)
"""What openpyxl raises for a file that is not a sound workbook: opening it, or streaming a
sheet whose XML is cut short or damaged (``SyntaxError`` covers the XML parsers' errors)."""


def read_workbook(source: str | Path | BinaryIO) -> Sheets:
    """Every sheet of the workbook as rows of strings, trailing empty rows and columns cut."""
    try:
        wb = load_workbook(source, read_only=True, data_only=True)
    except _UNREADABLE as exc:
        raise WorkbookError(f"not a readable .xlsx workbook ({exc})") from exc
    try:
        return _sheets(wb.worksheets)
    except _UNREADABLE as exc:  # read-only mode parses each sheet only as it is streamed
        raise WorkbookError(f"not a readable .xlsx workbook ({exc})") from exc
    finally:
        wb.close()


def _sheets(worksheets: list[Any]) -> Sheets:
    sheets: Sheets = {}
    for ws in worksheets:
        rows = [[_text(v) for v in row] for row in ws.iter_rows(values_only=True)]
        while rows and not any(rows[-1]):
            rows.pop()
        width = max(
            (max((i + 1 for i, v in enumerate(r) if v), default=0) for r in rows), default=0
        )
        sheets[ws.title] = [r[:width] + [""] * (width - len(r)) for r in rows]
    return sheets
