"""The spreadsheet view of a study, both ways (issue 21): ``to_sheets(xml)`` and
``from_sheets(sheets)``. Pure: sheets are lists of string rows; ``renderers.xlsx`` reads and
writes them as .xlsx. See docs/odm-authoring.md, "From a spreadsheet"."""

from odm_engine.design_sheets.build_items import from_sheets
from odm_engine.design_sheets.export import to_sheets
from odm_engine.design_sheets.model import SHEET_ORDER, DesignResult, Sheets

__all__ = ["SHEET_ORDER", "DesignResult", "Sheets", "from_sheets", "to_sheets"]
