"""Study amendments on the command line (issue 16): ``edc study diff``, ``impact``,
``versions``, ``publish`` and ``migrate``. Thin adapters like the rest of :mod:`cli`: click and
the standard library at the top, the engine, services and storage imported inside each
command so ``edc --help`` stays fast."""

from __future__ import annotations

from typing import Any

import click

from cli.admin import study  # the group the commands join

# --- diff: odm_engine.diff -------------------------------------------------------------


@study.command("diff")
@click.argument("old")
@click.argument("new")
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.option("--db", "db", default=None, metavar="URL", help="Database of STUDYOID@N versions.")
def study_diff(old: str, new: str, fmt: str, db: str | None) -> None:
    """What changed from OLD to NEW, as a study designer names it.

    OLD and NEW are ODM files or stored versions written STUDYOID@N (version N of the study in
    the database). Exit 0 when they are the same study, 1 when they differ, 2 when one cannot
    be read or is not stored.
    """
    import json
    import sys

    from odm_engine.diff import diff_odm

    changes = diff_odm(_diff_side(old, db), _diff_side(new, db))
    if fmt == "json":
        body = [change.as_dict() for change in changes.changes]
        click.echo(json.dumps(body, indent=2, ensure_ascii=False))
    else:
        click.echo(changes.as_text())
    sys.exit(1 if changes else 0)


def _diff_side(spec: str, db: str | None) -> Any:
    """The normalised ODM model of OLD or NEW: a file when one has that name, else the stored
    version STUDYOID@N (read as the store reads it: loader, then the vendor's normaliser)."""
    import re
    from pathlib import Path

    from cli._common import UsageError, domain_errors, engine, no_metadata, read
    from odm_engine.loader import load_odm
    from odm_engine.profiles import normalise

    stored = re.fullmatch(r"(.+)@(\d+)", spec)
    if Path(spec).is_file() or stored is None:
        if not Path(spec).is_file():
            raise UsageError(f"{spec}: no such file (a stored version is written STUDYOID@N)")
        xml = read(Path(spec))
    else:
        from storage.studies import metadata_xml

        with domain_errors(), engine(db).connect() as conn:
            xml = metadata_xml(conn, stored[1], int(stored[2]))
    result = load_odm(xml, path=spec)
    if result.odm is None or result.study is None or result.study.metadata_version() is None:
        raise no_metadata(spec, result.findings)
    return normalise(result.odm)


# --- impact: storage.impact ------------------------------------------------------------


@study.command("impact")
@click.argument("metadata")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.option("--db", "db", default=None, metavar="URL", help="Database URL.")
@click.option("--study", "study_oid", default=None, help="Study OID (default: the file's).")
@click.option("--site", "site_oid", default=None, help="Only the subjects of this site.")
@click.option("--subject", "subject_key", default=None, help="Only this subject (its key).")
@click.option(
    "--limit", default=20, show_default=True, help="Problem values listed in text output."
)
def study_impact(  # noqa: PLR0917 - click passes options by name
    metadata: str,
    fmt: str,
    db: str | None,
    study_oid: str | None,
    site_oid: str | None,
    subject_key: str | None,
    limit: int,
) -> None:
    """What loading METADATA as the study's next version would do to its stored values.

    Lists the values of removed items, values that no longer read as their new DataType or
    exceed the new Length, codes no longer in their CodeList and values failing new hard
    range checks, counted per kind, site and subject, and the forms holding data whose
    groups or items change. Nothing is written. JSON lists every problem value.
    Exit status: 0 no impact, 1 stored data affected, 2 bad input.
    """
    import json
    import sys

    from cli._common import EXIT_FINDINGS, UsageError, domain_errors, engine, existing_file, read
    from services.impact import impact_of_file

    xml = read(existing_file(metadata))
    with domain_errors(), engine(db).connect() as conn:
        result = impact_of_file(
            conn,
            xml,
            metadata,
            study_oid,
            site_oid=site_oid,
            subject_key=subject_key,
            keep=None if fmt == "json" else max(limit, 0),
        )
    if result.report is None:
        for f in result.errors:
            click.echo(f.format(), err=True)
        raise UsageError(result.message)
    if fmt == "json":
        out = {"message": result.message, **result.report.as_dict()}
        click.echo(json.dumps(out, indent=2, ensure_ascii=False))
    else:
        _impact_text(result.message, result.report, limit)
    if result.report.has_impact:
        sys.exit(EXIT_FINDINGS)


def _impact_text(message: str, report: Any, limit: int) -> None:
    """The report for a reader: counts per kind, site and subject, the changed forms and
    the first ``limit`` problem values."""
    click.echo(message)
    if report.total:
        click.echo(f"{report.total} stored value(s) would be invalid:")
        for title, counts in (("kind", report.by_kind), ("site", report.by_site)):
            click.echo(f"  per {title}:")
            for name, n in counts.items():
                click.echo(f"    {name or '(no site)':<24} {n:>8}")
        subjects = list(report.by_subject.items())
        click.echo(f"  per subject ({len(subjects)} subject(s)):")
        for name, n in subjects[: max(limit, 0)]:
            click.echo(f"    {name:<24} {n:>8}")
        if len(subjects) > limit:
            click.echo(f"    ... {len(subjects) - limit} more (--format json lists all)")
    for form in report.forms:
        click.echo(
            f"Form {form.form_oid} changes ({form.change.describe()}): {form.instances} "
            f"form(s) of {form.subjects} subject(s) hold data."
        )
    if report.problems:
        click.echo(f"Problem values ({len(report.problems)} of {report.total}):")
    for p in report.problems:
        where = f"{p.study_event_oid}/{p.form_oid}/{p.item_group_oid}/{p.item_oid}"
        value = "null" if p.value is None else repr(p.value)
        click.echo(
            f"  {p.subject_key} {p.site_oid or '-'} {where} = {value} [{p.kind}] {p.problem}"
        )


# --- versions, publish, migrate: storage.versions --------------------------------------
