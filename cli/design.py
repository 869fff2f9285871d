"""``edc design``: the study as a spreadsheet and back (issue 21). ODM stays the source of
truth; the workbook is a view a designer from REDCap, OpenClinica or XLSForm can edit.

``export`` writes one sheet per kind of definition (study, events, forms, groups, items,
codelists, conditions, methods, units) and a hidden odm_extra sheet with what has no column;
``import`` writes the ODM back, or lists the findings by ``sheet!cell`` and writes nothing.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from odm_engine.design_sheets import DesignResult

from cli._common import (
    EXIT_FINDINGS,
    UsageError,
    cannot_write,
    existing_file,
    print_findings,
    read,
)


@click.group()
def design() -> None:
    """The study as a spreadsheet (.xlsx) and back: export, edit, import."""


@design.command("export")
@click.argument("study")
@click.option("-o", "--output", required=True, metavar="FILE.xlsx", help="Workbook to write.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
def export(study: str, output: str, fmt: str) -> None:
    """Write the study's metadata in STUDY.xml as a workbook.

    Exit status: 0 written, 2 unreadable input or unwritable output.
    """
    import io
    from dataclasses import replace
    from pathlib import Path

    from odm_engine.design_sheets import to_sheets
    from odm_engine.findings import Severity
    from renderers.xlsx import write_workbook

    result = to_sheets(read(existing_file(study)))
    findings = [replace(f, path=f.path or study) for f in result.findings]
    if result.sheets is None or any(f.severity is Severity.ERROR for f in findings):
        for f in findings:
            click.echo(f.format(), err=True)
        raise UsageError(f"{study}: not an ODM file the sheets can show")
    buffer = io.BytesIO()  # built in memory: an unwritable output leaves no partial file
    write_workbook(result.sheets, buffer)
    try:
        Path(output).write_bytes(buffer.getvalue())
    except OSError as exc:
        raise cannot_write(output, exc) from exc
    print_findings(findings, fmt)
    counts = ", ".join(
        f"{len(rows) - 1} {name}"
        for name, rows in result.sheets.items()
        if name in ("items", "codelists") and rows
    )
    click.echo(f"{output}: written ({counts} rows)", err=True)


@design.command("import")
@click.argument("workbook")
@click.option("-o", "--output", required=True, metavar="STUDY.xml", help="ODM file to write.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
def import_(workbook: str, output: str, fmt: str) -> None:
    """Write the ODM metadata of a workbook made by `edc design export` (and edited), or of
    a REDCap data dictionary (a .csv file): branching logic and calculations are translated
    to ConditionDefs and MethodDefs in OEL.

    Problems are listed by sheet and cell ("items!F12: ...", "dictionary!L5: ...").
    Exit status: 0 written, 1 error findings (nothing written), 2 unreadable input or
    unwritable output.
    """
    from odm_engine.design_sheets import from_sheets
    from renderers.xlsx import WorkbookError, read_workbook

    source = existing_file(workbook)
    result: DesignResult
    if source.suffix.lower() == ".csv":
        result = _dictionary(source)
    else:
        try:
            sheets = read_workbook(source)
        except WorkbookError as exc:
            raise UsageError(f"{workbook}: {exc}") from exc
        result = from_sheets(sheets)
    print_findings(list(result.findings), fmt)
    if result.xml is None:
        click.echo(f"{output}: not written; fix the cells above and import again", err=True)
        sys.exit(EXIT_FINDINGS)
    try:
        Path(output).write_bytes(result.xml)
    except OSError as exc:
        raise cannot_write(output, exc) from exc
    click.echo(f"{output}: written; check it with `edc validate {output}`", err=True)


def _dictionary(source: Path) -> DesignResult:
    """A REDCap data dictionary (CSV, UTF-8 with or without BOM) through the same path."""
    import csv
    import io
    import re

    from odm_engine.design_sheets.redcap_dictionary import from_dictionary

    try:
        text = source.read_text(encoding="utf-8-sig")
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise UsageError(f"{source}: not a readable CSV data dictionary ({exc})") from exc
    if not rows or not rows[0] or not rows[0][0].lower().startswith("variable"):
        raise UsageError(
            f"{source}: not a REDCap data dictionary (its first column must be "
            '"Variable / Field Name"); download it from REDCap\'s Online Designer'
        )
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", source.stem) or "study"
    return from_dictionary(rows, name)
