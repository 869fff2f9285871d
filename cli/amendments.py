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
@click.option(
    "--translations",
    is_flag=True,
    help="List every added translation (default: one line per language).",
)
@click.option(
    "--all",
    "every",
    is_flag=True,
    help="List every change (added Aliases too: default one line per Context).",
)
def study_diff(  # noqa: PLR0917 - click passes options by name
    old: str, new: str, fmt: str, db: str | None, translations: bool, every: bool
) -> None:
    """What changed from OLD to NEW, as a study designer names it.

    OLD and NEW are ODM files or stored versions written STUDYOID@N (version N of the study in
    the database). The text report opens with a summary per element; added translations are
    counted per language and added Aliases per Context (--translations, --all list each; the
    JSON always has every change). Exit 0 when they are the same study, 1 when they differ, 2
    when one cannot be read or is not stored.
    """
    import json
    import sys

    from odm_engine.diff import diff_odm

    changes = diff_odm(_diff_side(old, db), _diff_side(new, db))
    if fmt == "json":
        body = [change.as_dict() for change in changes.changes]
        click.echo(json.dumps(body, indent=2, ensure_ascii=False))
    else:
        from odm_engine.diff.changes import FOLDED

        expand = FOLDED if every else ("Translation",) if translations else ()
        click.echo(changes.as_text(expand=expand))
        if folded := changes.folded(expand):
            hint = "--all lists them" if translations else "--translations or --all lists them"
            click.echo(f"({folded} added translation(s) and Alias(es) counted, not listed: {hint})")
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
        counts_by = (("kind", report.by_kind), ("item", report.by_item), ("site", report.by_site))
        for title, counts in counts_by:
            click.echo(f"  per {title}:")
            for name, n in counts.items():
                click.echo(f"    {name or '(no site)':<24} {n:>8}")
        subjects = list(report.by_subject.items())
        click.echo(f"  per subject ({len(subjects)} subject(s)):")
        for name, n in subjects[: max(limit, 0)]:
            click.echo(f"    {name:<24} {n:>8}")
        if len(subjects) > limit:
            click.echo(f"    ... {len(subjects) - limit} more (--format json lists all)")
    if report.derived:
        click.echo(
            f"{report.derived} derived value(s) would be set or changed when the subjects are "
            "migrated to it (edc study migrate --dry-run lists them)."
        )
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


@study.command("versions")
@click.option("--study", "study_oid", default=None, help="Study OID (needed when several).")
@click.option("--db", "db", default=None, metavar="URL", help="Database URL.")
def study_versions(study_oid: str | None, db: str | None) -> None:
    """List the study's metadata versions, newest first: number, MetaDataVersion OID,
    SHA-256, draft or published, who loaded and published each and when. The current
    version (the highest published) is marked with *."""
    from cli._common import domain_errors, engine, only_study
    from storage.readers.listings import metadata_versions
    from storage.studies import study_id_of

    with domain_errors(), engine(db).connect() as conn:
        oid = only_study(conn, study_oid)
        study_id_of(conn, oid)  # an unknown --study: exit 2, not an empty listing
        rows = metadata_versions(conn, oid)
    current = max((r.number for r in rows if r.published_at is not None), default=None)
    click.echo(f"Study {oid}")
    for r in rows:
        mark = "*" if r.number == current else " "
        loaded = f"loaded {r.loaded_at:%Y-%m-%d %H:%M} by {r.loaded_by or 'cli'}"
        line = f"{mark}{r.number:>3}  {r.oid:<20} {r.sha256[:12]}  {r.status:<9}  {loaded}"
        if r.published_at is not None:
            line += f"; published {r.published_at:%Y-%m-%d %H:%M} by {r.published_by or 'cli'}"
        click.echo(line)


@study.command("publish")
@click.argument("number", type=int)
@click.option("--study", "study_oid", default=None, help="Study OID (needed when several).")
@click.option("--user", required=True, help="Who publishes (kept with the publication).")
@click.option("--reason", required=True, help="Why (kept with the publication).")
@click.option("--db", "db", default=None, metavar="URL", help="Database URL.")
def study_publish(
    number: int, study_oid: str | None, user: str, reason: str, db: str | None
) -> None:
    """Publish draft version NUMBER: it becomes the current version, new subjects start on
    it; existing subjects stay on theirs until `edc study migrate`. Exit 0 published, 2
    refused (unknown, published already, older than the current one, no reason)."""
    from cli._common import only_study, writing
    from storage.studies import publish_version

    with writing(db) as conn:
        oid = only_study(conn, study_oid)
        publish_version(conn, oid, number, user=user, reason=reason)
    click.echo(f"Study {oid}: version {number} published; it is the current version.")
    click.echo(
        f"Next: `edc study migrate --to {number} --dry-run --user U --reason R` lists the "
        "subjects that can move and the values that keep the others on their version."
    )


@study.command("migrate")
@click.option("--to", "to_number", type=int, required=True, help="The published version.")
@click.option("--study", "study_oid", default=None, help="Study OID (needed when several).")
@click.option("--site", "site_oid", default=None, help="Only the subjects of this site.")
@click.option("--subject", "subject_key", default=None, help="Only this subject (its key).")
@click.option("--dry-run", is_flag=True, help="Report what would happen; write nothing.")
@click.option("--user", required=True, help="A data manager (study-wide) of the study.")
@click.option("--reason", required=True, help="Why: on every audit row of the migration.")
@click.option("--db", "db", default=None, metavar="URL", help="Database URL.")
def study_migrate(  # noqa: PLR0917 - click passes options by name
    to_number: int,
    study_oid: str | None,
    site_oid: str | None,
    subject_key: str | None,
    dry_run: bool,
    user: str,
    reason: str,
    db: str | None,
) -> None:
    """Move subjects to published version --to, audited.

    Subjects with a stored value the new version makes invalid stay on their version and are
    listed with each value and its problem: correct those values, then run it again. Values
    of removed items are kept. The derivations of version --to are recomputed for each moved
    subject; the derived values that change are written and audited. Exit status: 0 every
    subject asked about moved (or would), 1 some stayed, 2 refused input.
    """
    import sys

    from cli._common import EXIT_FINDINGS, UsageError, only_study, writing
    from storage.versions import migrate_subjects

    if site_oid is not None and subject_key is not None:
        raise UsageError("give --site or --subject, not both")
    with writing(db) as conn:
        oid = only_study(conn, study_oid)
        report = migrate_subjects(
            conn,
            oid,
            to_number,
            site_oid=site_oid,
            subject_key=subject_key,
            dry_run=dry_run,
            user=user,
            reason=reason,
        )
    _migration_text(report)
    if not report.all_moved:
        sys.exit(EXIT_FINDINGS)


def _value_changes(changes: Any) -> None:
    """One line per value a migration rewrites or derives: subject, place, old -> new."""
    for c in changes:
        k = c.key
        where = f"{k.study_event_oid}/{k.form_oid}/{k.item_group_oid}/{k.item_oid}"
        click.echo(f"  {c.subject_key} {where}: {c.old!r} -> {c.new!r}")


def _migration_text(report: Any) -> None:
    """The report for a data manager: who moves, which values change form, who stays and
    why, and the values kept from removed items."""
    verb = "would move" if report.dry_run else "moved"
    n = report.to_number
    click.echo(f"Study {report.study_oid}: {len(report.moved)} subject(s) {verb} to version {n}.")
    for key, number in report.moved:
        click.echo(f"  {key}: version {number} -> {n}")
    if report.already:
        click.echo(f"{len(report.already)} subject(s) on version {n} (or later) already.")
    if report.rewritten:
        shown = "would be rewritten" if report.dry_run else "rewritten, each audited"
        click.echo(f"{len(report.rewritten)} value(s) in their new canonical form ({shown}):")
    _value_changes(report.rewritten)
    if report.derived:
        shown = "would be set or changed" if report.dry_run else "set or changed, each audited"
        click.echo(f"{len(report.derived)} derived value(s) of version {n} ({shown}):")
    _value_changes(report.derived)
    if report.kept:
        click.echo(f"{len(report.kept)} value(s) of items not in version {n} are kept:")
    for p in report.kept:
        click.echo(f"  {p.subject_key} {p.form_oid}/{p.item_group_oid}/{p.item_oid}: {p.problem}")
    if report.stayed:
        click.echo(
            f"{len(report.stayed)} subject(s) stay on their version: correct these values, "
            "then migrate again."
        )
    for key, problems in report.stayed.items():
        click.echo(f"  {key}:")
        for p in problems:
            where = f"{p.study_event_oid}/{p.form_oid}/{p.item_group_oid}/{p.item_oid}"
            value = "null" if p.value is None else repr(p.value)
            click.echo(f"    {where} = {value} [{p.kind}] {p.problem}")
