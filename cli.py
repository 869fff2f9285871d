"""The ``edc`` command line. Domain errors become click errors here, in one place."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import click

from odm_engine.findings import Finding, Severity

EXIT_CLEAN, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2
XML_SUFFIXES = (".xml", ".odm")


class UsageError(click.ClickException):
    exit_code = EXIT_USAGE


def _expand(paths: tuple[str, ...]) -> Iterator[Path]:
    """Files named on the command line; a directory stands for its *.xml and *.odm files."""
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            files = sorted(f for f in p.iterdir() if f.suffix.lower() in XML_SUFFIXES)
            if not files:
                raise UsageError(f"{raw}: the directory holds no .xml or .odm file")
            yield from files
        elif p.is_file():
            yield p
        else:
            raise UsageError(f"{raw}: no such file or directory")


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror}") from exc


def _print_findings(findings: list[Finding], fmt: str) -> None:
    if fmt == "json":
        click.echo(json.dumps([f.as_dict() for f in findings], indent=2, ensure_ascii=False))
        return
    for f in findings:
        click.echo(f.format())
    errors = sum(f.severity is Severity.ERROR for f in findings)
    warnings = sum(f.severity is Severity.WARNING for f in findings)
    click.echo(f"{errors} error(s), {warnings} warning(s)", err=True)


@click.group()
@click.version_option(package_name="odm-edc")
def main() -> None:
    """ODM-native EDC: validate, check, store, render and exchange CDISC ODM studies."""


@main.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.option("--no-xsd", is_flag=True, help="Skip XSD validation (semantic rules still run).")
def validate(paths: tuple[str, ...], fmt: str, no_xsd: bool) -> None:
    """Validate ODM files: XSD, references, code lists, checks and expressions.

    Exit status: 0 clean (warnings allowed), 1 error findings, 2 unreadable input.
    """
    from odm_engine.validate import iter_findings

    findings: list[Finding] = []
    for path in _expand(paths):
        findings.extend(iter_findings(_read(path), path=str(path), xsd=not no_xsd))
    _print_findings(findings, fmt)
    if any(f.severity is Severity.ERROR for f in findings):
        sys.exit(EXIT_FINDINGS)


@main.command()
@click.argument("path")
def info(path: str) -> None:
    """Print the study as a tree: events, forms, item groups, items, with counts."""
    from odm_engine.info import describe
    from odm_engine.loader import load_odm

    source = Path(path)
    if not source.is_file():
        raise UsageError(f"{path}: no such file")
    result = load_odm(_read(source), path=path)
    if result.odm is None:
        _print_findings(result.findings, "text")
        sys.exit(EXIT_FINDINGS)
    for line in describe(result.odm):
        click.echo(line)


def database_url(db: str | None) -> str:
    return db or os.environ.get("EDC_DATABASE_URL") or "sqlite:///edc.sqlite3"


if __name__ == "__main__":
    main()
