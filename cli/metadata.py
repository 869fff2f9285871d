"""Commands on ODM files, no database: validate, info, check, render, explain (which also
reads a stored study)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from cli._common import (
    EXIT_FINDINGS,
    EXIT_USAGE,
    UsageError,
    cannot_write,
    db_option,
    existing_file,
    expand,
    no_metadata,
    print_findings,
    read,
    study_metadata,
    study_option,
)
from odm_engine.findings import Finding, Severity


@click.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.option("--no-xsd", is_flag=True, help="Skip XSD validation (semantic rules still run).")
@click.option(
    "--verbose",
    is_flag=True,
    help="Also print the schema or XML parser's own message under each finding that says "
    "it in plain words.",
)
def validate(paths: tuple[str, ...], fmt: str, no_xsd: bool, verbose: bool) -> None:
    """Validate ODM files: XSD, references, code lists, checks and expressions.

    A deviation the file's vendor profile declares as its dialect (an OpenEDC empty
    CodeList, a REDCap boolean CodeList, ...) is a warning (ODM-PROF-002), as on load.

    Exit status: 0 clean (warnings allowed), 1 error findings, 2 unreadable input.
    """
    from odm_engine.loader import load_odm
    from odm_engine.profiles import profile_for_odm, tolerate
    from odm_engine.validate import iter_findings

    findings: list[Finding] = []
    for path in expand(paths):
        loaded = load_odm(read(path), path=str(path))
        found = list(iter_findings(loaded, path=str(path), xsd=not no_xsd))
        if loaded.odm is not None:
            found = tolerate(found, profile_for_odm(loaded.odm)[0])
        findings.extend(found)
    print_findings(findings, fmt, verbose=verbose)
    if any(f.severity is Severity.ERROR for f in findings):
        sys.exit(EXIT_FINDINGS)


@click.command()
@click.argument("path")
def info(path: str) -> None:
    """Print the study as a tree: events, forms, item groups, items, with counts."""
    from odm_engine.info import describe
    from odm_engine.loader import load_odm

    result = load_odm(read(existing_file(path)), path=path)
    if result.odm is None:
        print_findings(result.findings, "text")
        sys.exit(EXIT_FINDINGS)
    for line in describe(result.odm):
        click.echo(line)


@click.command()
@click.argument("metadata")
@click.argument("data")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.option("--lang", default=None, help="Language of the messages (xml:lang), e.g. de.")
def check(metadata: str, data: str, fmt: str, lang: str | None) -> None:
    """Evaluate every edit check of METADATA against the ClinicalData in DATA.

    Prints one line per failed check. Exit status: 0 nothing fails, 1 a check fails,
    2 unreadable input.
    """
    from odm_engine.check_report import run_check

    paths = [Path(metadata), Path(data)]
    for p in paths:
        if not p.is_file():
            raise UsageError(f"{p}: no such file")
    code, lines, findings = run_check(
        read(paths[0]),
        read(paths[1]),
        metadata_path=metadata,
        data_path=data,
        output=fmt,
        lang=lang,
    )
    for f in findings:
        if f.severity is Severity.ERROR:
            click.echo(f.format(), err=True)
    for line in lines:
        click.echo(line, err=code == EXIT_USAGE)
    sys.exit(code)


@click.command()
@click.argument("form_oid")
@click.option("--metadata", required=True, metavar="M.xml", help="ODM file with the FormDef.")
@click.option("-o", "--output", required=True, metavar="FILE", help="HTML file to write.")
@click.option("--lang", default=None, help="Language of the ODM text (xml:lang), e.g. de.")
def render(form_oid: str, metadata: str, output: str, lang: str | None) -> None:
    """Write a standalone HTML preview of FORM_OID (open it from disk; nothing is saved).

    Exit status: 0 written, 2 unreadable or unwritable file or no such FormDef.
    """
    from odm_engine.loader import load_odm
    from renderers.html import FormRenderer, UnknownFormError

    result = load_odm(read(existing_file(metadata)), path=metadata)
    if result.study is None:
        raise no_metadata(metadata, result.findings)
    try:
        page = FormRenderer(result.study).preview_html(form_oid, lang=lang)
    except UnknownFormError as exc:
        raise UsageError(f"{metadata}: {exc}") from exc
    try:
        Path(output).write_text(page, encoding="utf-8")
    except OSError as exc:
        raise cannot_write(output, exc) from exc
    click.echo(f"{output}: preview of {form_oid} written", err=True)


@click.command()
@click.argument("oid")
@click.option("--metadata", default=None, metavar="M.xml", help="ODM file with the study.")
@db_option
@study_option
@click.option("--lang", default=None, help="Language of the explanation (xml:lang), e.g. de.")
def explain(
    oid: str, metadata: str | None, db: str | None, study_oid: str | None, lang: str | None
) -> None:
    """Explain a ConditionDef, MethodDef or ItemDef (with its RangeChecks and ItemRefs) in
    plain words, from --metadata FILE or the current version of a stored study (--db).

    A true CollectionExceptionCondition HIDES what it is attached to (the opposite of
    REDCap's show-if); every use is said that way round. --lang de explains in German (the
    study's own texts in that language where it has them).

    Exit status: 0 explained, 2 unknown OID (with the nearest one) or unreadable input.
    """
    from odm_engine.compiled_study import CompiledStudy
    from odm_engine.explain import Explainer, UnknownOid
    from renderers.i18n import texts

    odm, oid_of_study = study_metadata(db, metadata, study_oid)
    study = odm.find_study(oid_of_study) if oid_of_study else odm.study
    mdv = study.metadata_version() if study is not None else None
    if study is None or mdv is None:
        raise UsageError(f"{metadata or 'the database'}: no Study {oid_of_study!r} to explain")
    compiled = CompiledStudy.of(study, mdv, path=metadata)
    explainer = Explainer(compiled, texts("print", lang or "en"), lang)
    try:
        lines = explainer.explain(oid)
    except UnknownOid as exc:
        raise UsageError(str(exc)) from exc
    for line in lines:
        click.echo(line)
