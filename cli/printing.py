"""``edc print``: printable CRFs as PDF (blank, annotated, a subject's casebook)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from cli._common import (
    DEFAULT_METADATA,
    UsageError,
    cannot_write,
    db_option,
    domain_errors,
    engine,
    lang_option,
    missing_table,
    no_study,
    only_study,
    study_metadata,
    study_option,
)

F = TypeVar("F", bound=Callable[..., Any])


@click.group("print")
def print_() -> None:
    """Printable CRFs as PDF: blank, SDTM-annotated (aCRF) and subject casebooks."""


def _print_study(metadata: str | None, db: str | None, study_oid: str | None) -> Any:
    """The Study to print: --metadata, else the study in --db, else the example study."""
    if metadata is None and db is None:
        metadata = str(DEFAULT_METADATA)
    odm, oid = study_metadata(db, metadata, study_oid)
    study = odm.find_study(oid) if oid else odm.study
    if study is None:
        raise UsageError(f"{metadata or 'the database'}: no Study {oid!r} to print")
    return study


def _crf_options(output_metavar: str) -> Callable[[F], F]:
    """-o/--output --metadata --lang --study --db: the options of a CRF printed from metadata."""

    def decorate(command: F) -> F:
        command = db_option(command)
        command = study_option(command)
        command = lang_option(command)
        command = click.option(
            "--metadata", default=None, metavar="M.xml", help="Print this ODM file."
        )(command)
        return click.option("-o", "--output", required=True, metavar=output_metavar)(command)

    return decorate


def _printing(render: Callable[..., Any], *args: Any, lang: str | None) -> Any:
    """``render(*args, lang=lang)``; a MetaDataVersion the study does not have (its
    UnknownMetaDataVersionError) is a usage error."""
    from renderers.print import UnknownMetaDataVersionError

    try:
        return render(*args, lang=lang)
    except UnknownMetaDataVersionError as exc:
        raise UsageError(str(exc)) from exc


def _write_printed(output: str, printed: Any, what: str) -> None:
    try:
        Path(output).write_bytes(printed.pdf)
    except OSError as exc:
        raise cannot_write(output, exc) from exc
    click.echo(f"{output}: {what}, {printed.page_count} pages", err=True)


@print_.command("blank")
@_crf_options("crf.pdf")
def print_blank(
    output: str, metadata: str | None, lang: str | None, study_oid: str | None, db: str | None
) -> None:
    """The blank CRF: every event and form in Protocol order, with answer boxes.

    Default metadata: the study in --db when given, else metadata/bortezomib-retreatment.xml.
    """
    from renderers.print import print_blank

    study = _print_study(metadata, db, study_oid)
    printed = _printing(print_blank, study, lang=lang)
    _write_printed(output, printed, "blank CRF written")


@print_.command("acrf")
@_crf_options("acrf.pdf")
def print_acrf(
    output: str, metadata: str | None, lang: str | None, study_oid: str | None, db: str | None
) -> None:
    """The SDTM-annotated CRF, and its page map (acrf.pdf -> acrf.pages.json) for Define-XML."""
    from renderers.print import page_map_path, print_acrf, write_page_map

    study = _print_study(metadata, db, study_oid)
    printed = _printing(print_acrf, study, lang=lang)
    _write_printed(output, printed, "annotated CRF written")
    pages = page_map_path(output)
    try:
        write_page_map(printed.page_map, pages, document=Path(output).name)
    except OSError as exc:
        raise cannot_write(pages, exc) from exc
    click.echo(f"{pages}: page map of {len(printed.page_map.items)} items written", err=True)


@print_.command("casebook")
@click.argument("subject")
@click.option("-o", "--output", required=True, metavar="subject.pdf")
@lang_option
@study_option
@db_option
def print_casebook(
    subject: str, output: str, lang: str | None, study_oid: str | None, db: str | None
) -> None:
    """SUBJECT's casebook: the CRF pages with the entered data; audit trail, queries and
    signatures as appendices. Printed with the study's current metadata in the database."""
    from sqlalchemy.exc import DBAPIError

    from renderers.print import print_casebook
    from services.casebook import casebook_data
    from storage.engine import database_url
    from storage.studies import current_metadata

    try:
        with domain_errors(), engine(db).connect() as conn:
            oid = only_study(conn, study_oid)
            stored = current_metadata(conn, oid)
            data = casebook_data(conn, oid, subject)
    except DBAPIError as exc:
        if missing_table(exc):
            raise no_study(database_url(db)) from exc
        raise UsageError(
            f"{database_url(db)}: cannot read the study database ({exc.orig}). "
            "Create or upgrade it with `edc db upgrade`."
        ) from exc
    study = stored.odm.find_study(oid) or stored.odm.study
    if study is None:
        raise UsageError(f"Study {oid}: the stored metadata holds no Study")
    printed = _printing(print_casebook, study, data, lang=lang)
    _write_printed(output, printed, f"casebook of subject {subject} written")
