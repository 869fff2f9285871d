"""The study's sheets as an .xlsx workbook (issue 21, ``edc design``): :func:`write_workbook`
with openpyxl's write-only mode, :func:`read_workbook` with its read-only mode. The sheets
themselves are made and read by :mod:`odm_engine.design_sheets`."""

from renderers.xlsx.reader import WorkbookError, read_workbook
from renderers.xlsx.writer import write_workbook

__all__ = ["WorkbookError", "read_workbook", "write_workbook"]
