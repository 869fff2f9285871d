"""Clinical data commands: ``edc import``, ``edc export FORMAT`` (one subcommand per entry of
the export-format registry, :data:`services.exports.FORMATS`) and ``edc audit``.

Each is a thin adapter: parse the options, call one service, present its result.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from cli._common import (
    DB_HELP,
    EXIT_FINDINGS,
    EXIT_USAGE,
    UsageError,
    cannot_write,
    db_option,
    domain_errors,
    engine,
    nearest,
    only_study,
    print_findings,
    progress,
    study_metadata,
)
from services.exports import FORMATS, ExportFormat


@click.command("import")
@click.argument("file")
@click.option("--dry-run", is_flag=True, help="Check everything, write nothing.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.option("--user", "username", required=True, help="Importing user (data manager).")
@click.option("--reason", default=None, help="Reason for change, for values that change.")
@click.option("--study", "study_oid", default=None, help="Import into this study OID.")
@click.option(
    "--with-history",
    is_flag=True,
    help="FILE is a whole study's audit export (edc export odm --transactional --audit "
    "--admin): replay it as it was (users, audit trail, statuses, signatures, queries) into "
    "a study that holds no data yet.",
)
@db_option
def import_(  # noqa: PLR0917 - click passes options by name
    file: str,
    dry_run: bool,
    fmt: str,
    username: str,
    reason: str | None,
    study_oid: str | None,
    with_history: bool,
    db: str | None,
) -> None:
    """Import ODM ClinicalData from FILE: all or nothing, in one transaction.

    Exit status: 0 imported (or already imported, or a clean dry run), 1 rejected with a
    report of every problem, 2 unreadable input or usage error (also --with-history into a
    study that holds data already).
    """
    from odm_engine.findings import has_errors
    from services.imports import EMPTY, REJECTED, check_reason, import_clinical_data

    with domain_errors():
        check_reason(reason)  # issue 14: refused before the file is read
    path = Path(file)
    if not path.is_file():
        raise UsageError(f"{file}: no such file")
    with domain_errors(), progress(f"Importing {path.name}") as update:
        report = import_clinical_data(
            lambda: engine(db),
            file,
            user=username,
            reason=reason,
            study_oid=study_oid,
            dry_run=dry_run,
            progress=update,
            with_history=with_history,
        )
    if report.status == EMPTY:
        print_findings(report.findings, fmt)
        if has_errors(report.findings):
            sys.exit(EXIT_USAGE)
        raise UsageError(f"{file}: holds no SubjectData to import")
    _import_report(fmt, report)
    if report.status == REJECTED:
        sys.exit(EXIT_FINDINGS)


def _import_report(fmt: str, report: Any) -> None:
    summary = report.summary()
    if fmt == "json":
        summary["findings"] = [f.as_dict() for f in report.findings]
        click.echo(json.dumps(summary, indent=2, ensure_ascii=False))
        return
    for f in report.findings:
        click.echo(f.format())
    file = report.file
    if report.status == "already imported":
        click.echo(f"{file}: already imported; nothing was written.")
    elif report.status == "rejected":
        click.echo(
            f"{file}: rejected, {report.problems} problem(s); nothing was written.", err=True
        )
    else:
        nothing = "; nothing was written" if report.dry_run else ""
        click.echo(
            f"{file}: {report.status} ({report.profile}): {report.subjects} subjects, "
            f"{report.items_read} items read; {'would write' if report.dry_run else 'wrote'} "
            f"{report.items_written} values ({report.subjects_created} new subjects, "
            f"{report.audit_rows} audit rows, {report.queries_opened} queries){nothing}."
        )


# --- edc export FORMAT: one subcommand per registry entry ---


@click.group("export")
def export() -> None:
    """Export the study: ODM 1.3.2, Define-XML 2.1, CSV, Dataset-JSON."""


OPTION_FLAGS: dict[str, Callable[[], list[click.Option]]] = {
    "mode": lambda: [
        click.Option(
            ["--snapshot/--transactional"], default=True, help="Current values or changes."
        ),
        click.Option(
            ["--audit"], is_flag=True, help="Every change with its AuditRecord (transactional)."
        ),
    ],
    "since": lambda: [
        click.Option(
            ["--since"], default=None, metavar="TIMESTAMP", help="Only what changed after it."
        )
    ],
    "site": lambda: [click.Option(["--site", "site_oid"], default=None, metavar="LOCATION_OID")],
    "subjects": lambda: [click.Option(["--subject", "subjects"], multiple=True, metavar="KEY")],
    "with_metadata": lambda: [
        click.Option(
            ["--metadata", "with_metadata"], is_flag=True, help="Include the study metadata."
        )
    ],
    "with_admin": lambda: [
        click.Option(
            ["--admin", "with_admin"], is_flag=True, help="Include AdminData (users, sites)."
        )
    ],
    "metadata_file": lambda: [
        click.Option(
            ["--metadata", "metadata_file"],
            default=None,
            metavar="M.xml",
            help="Describe this file instead.",
        )
    ],
    "crf_pages": lambda: [
        click.Option(
            ["--crf-pages"],
            default=None,
            metavar="PAGES.json",
            help='The page map `edc print acrf` wrote, or {"IT.AGE": [3]}.',
        ),
        click.Option(
            ["--acrf"],
            default=None,
            metavar="acrf.pdf",
            help="The annotated CRF printed by `edc print acrf`: its page map gives "
            "def:PDFPageRef.",
        ),
    ],
    "ct_version": lambda: [
        click.Option(
            ["--ct-version"],
            default=None,
            metavar="YYYY-MM-DD",
            help="The CDISC controlled terminology release named in def:Standards.",
        )
    ],
}
"""How the command line asks for each option of :data:`services.exports.OPTIONS`."""


def _selection(fmt: ExportFormat, study_oid: str | None, opts: dict[str, Any]) -> Any:
    """The service's selection from the parsed options (usage errors say which flag)."""
    from services.exports import ExportSelection, ct_version_problem
    from storage.export_source import ExportRequestError, parse_since

    mode = "snapshot"
    if "mode" in fmt.options:
        if opts["audit"] and opts["snapshot"]:
            raise UsageError("--audit needs --transactional (a snapshot holds current values only)")
        mode = "audit" if opts["audit"] else "snapshot" if opts["snapshot"] else "transactional"
    try:
        parse_since(opts.get("since"))
    except ExportRequestError as exc:
        raise UsageError(f"--since {exc}") from exc
    ct_version = opts.get("ct_version")
    if ct_version is not None and (problem := ct_version_problem(ct_version)):
        raise UsageError(f"--ct-version: {problem}")
    return ExportSelection(
        study_oid,
        mode=mode,
        since=opts.get("since"),
        site=opts.get("site_oid"),
        subject_keys=tuple(opts.get("subjects", ())),
        with_metadata=bool(opts.get("with_metadata")),
        with_admin=bool(opts.get("with_admin")),
        ct_version=ct_version,
    )


def _crf_pages(crf_pages: str | None, acrf: str | None) -> dict[str, list[int]] | None:
    from renderers.print import PageMapError, load_page_map, page_map_path

    map_file = crf_pages or (str(page_map_path(acrf)) if acrf else None)
    if map_file is None:
        return None
    try:
        return load_page_map(map_file)
    except PageMapError as exc:
        raise UsageError(str(exc)) from exc


def _run_export(
    fmt: ExportFormat, output: str, study_oid: str | None, db: str | None, **opts: Any
) -> None:
    from dataclasses import replace

    selection = _selection(fmt, study_oid, opts)
    if opts.get("metadata_file") is not None:  # a file, else the study in the database
        odm, oid = study_metadata(db, opts["metadata_file"], study_oid)
        selection = replace(selection, study_oid=oid, odm=odm)
    if "crf_pages" in fmt.options:
        selection = replace(selection, crf_pages=_crf_pages(opts["crf_pages"], opts["acrf"]))
    if selection.odm is not None:
        with domain_errors():
            result = _write(fmt, None, selection, output)
    else:
        with domain_errors(), engine(db).connect() as conn, progress("Exporting") as update:
            selection = replace(selection, study_oid=only_study(conn, study_oid))
            result = _write(fmt, conn, selection, output, update)
    click.echo(f"{output}: {result.summary}")


def _write(fmt: ExportFormat, conn: Any, selection: Any, output: str, update: Any = None) -> Any:
    from services.exports import export_to_path

    try:
        return export_to_path(fmt.name, conn, selection, output, progress=update)
    except OSError as exc:
        raise cannot_write(output, exc) from exc


def _export_command(fmt: ExportFormat) -> click.Command:
    """``edc export NAME``: -o, the format's options, --study, --db."""
    metavar = "DIR" if fmt.multi_file else "FILE" if "{" in fmt.file_name else fmt.file_name
    params: list[click.Parameter] = [
        click.Option(["-o", "--output"], required=True, metavar=metavar)
    ]
    for name in fmt.options:
        params += OPTION_FLAGS[name]()
    params += [
        click.Option(["--study", "study_oid"], default=None),
        click.Option(["--db", "db"], default=None, metavar="URL", help=DB_HELP),
    ]

    def callback(**kwargs: Any) -> None:
        _run_export(fmt, **kwargs)

    return click.Command(fmt.name, callback=callback, params=params, help=fmt.help)


for _fmt in FORMATS.values():
    export.add_command(_export_command(_fmt))


@click.command()
@click.argument("subject")
@click.option("--study", "study_oid", default=None, help="Study OID (needed if several).")
@click.option("--item", "item_oid", default=None, help="Only this ItemOID.")
@click.option(
    "--source",
    is_flag=True,
    help="The audit entries of the system the data was imported from, as its file gave them.",
)
@db_option
def audit(
    subject: str, study_oid: str | None, item_oid: str | None, source: bool, db: str | None
) -> None:
    """The audit trail of SUBJECT (or of one item) as a table, oldest first."""
    from storage.audit import history, source_history
    from storage.studies import current_metadata
    from storage.subjects import list_subjects

    with domain_errors(), engine(db).connect() as conn:
        study_oid = only_study(conn, study_oid)
        keys = list_subjects(conn, study_oid)
        if subject not in keys:
            hint = nearest(subject, keys)
            raise UsageError(f"No subject {subject!r} in study {study_oid}{hint or '.'}")
        items = list(current_metadata(conn, study_oid).mdv.item_defs)
        if item_oid is not None and item_oid not in items:
            hint = nearest(item_oid, items) or "; `edc info` lists its items."
            raise UsageError(f"{item_oid} is not an item of study {study_oid}{hint}")
        if source:
            _echo_source_audit(source_history(conn, study_oid, subject, item_oid=item_oid))
            return
        rows = history(conn, study_oid, subject, item_oid=item_oid)
    click.echo(
        f"{'SEQ':>6}  {'WHEN (UTC)':<19}  {'WHO':<24} {'SITE':<10} {'WHAT':<44} "
        f"{'TYPE':<7} {'OLD':<12} {'NEW':<12} {'REASON':<24} SOURCE"
    )
    for r in rows:
        what = r.key.describe() if r.key.item_oid else f"{r.key.form_key.form_oid} (status)"
        if not r.key.form_oid:
            what = "(subject created)"
        who = f"{r.username} ({r.role})"
        old = r.old_value if r.old_is_null is None else f"null:{r.old_is_null}"
        new = r.new_value if r.new_is_null is None else f"null:{r.new_is_null}"
        click.echo(
            f"{r.seq:>6}  {r.recorded_at:%Y-%m-%d %H:%M:%S}  {who:<24} "
            f"{r.site_oid or '-':<10} {what:<44} {r.transaction_type:<7} {old or '':<12} "
            f"{new or '':<12} {r.reason or '':<24} {r.source}"
        )


def _echo_source_audit(rows: list[Any]) -> None:
    """``edc audit --source``: the source system's entries, one line each, as read."""
    click.echo(
        f"{'SEQ':>6}  {'WHEN (SOURCE)':<24}  {'WHO':<16} {'WHERE':<10} {'WHAT':<44} "
        f"{'TYPE':<8} {'VALUE':<14} {'REASON':<20} IMPORTED BY"
    )
    for r in rows:
        what = r.key.describe() if r.key.item_oid else "/".join(p for p in r.key[:6:2] if p)
        if r.kind == "vendor":
            what = f"{r.entity} (vendor log)"
        value = r.new_value if r.old_value is None else f"{r.old_value} -> {r.new_value}"
        click.echo(
            f"{r.seq:>6}  {r.date_time_stamp or '-':<24}  {r.user_oid or '-':<16} "
            f"{r.location_oid or '-':<10} {what or 'SubjectData':<44} "
            f"{r.transaction_type or '-':<8} {value or '':<14} {r.reason or '':<20} "
            f"{r.import_source}"
        )
