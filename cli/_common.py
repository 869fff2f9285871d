"""What every command shares: exit codes, reading input files, the database option, and the
translation of the project's errors into click errors (:func:`domain_errors`).

Nothing heavy is imported here at module level: ``edc COMMAND --help`` imports this module and
must stay fast (tests/foundation/test_cli_speed.py), so SQLAlchemy, lxml and the layers below
are imported inside the functions that use them.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from odm_engine.errors import EdcError
from odm_engine.findings import Finding, Severity

EXIT_CLEAN, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2
XML_SUFFIXES = (".xml", ".odm")
DEFAULT_METADATA = (
    Path(__file__).resolve().parent.parent / "metadata" / "bortezomib-retreatment.xml"
)


class UsageError(click.ClickException):
    exit_code = EXIT_USAGE


@contextmanager
def domain_errors() -> Iterator[None]:
    """The project's own faults (:class:`EdcError`: a refused input, an unknown subject, a
    policy) become a usage error, exit 2. Any other exception is a bug and shows as one."""
    try:
        yield
    except EdcError as exc:
        raise UsageError(str(exc)) from exc


@contextmanager
def writing(db: str | None) -> Iterator[Any]:
    """One write transaction on --db: committed when the block ends, rolled back on an error;
    the project's own faults become a usage error (:func:`domain_errors`)."""
    from storage.engine import write_transaction

    with domain_errors(), write_transaction(engine(db)) as conn:
        yield conn


def expand(paths: tuple[str, ...]) -> Iterator[Path]:
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


def read(path: Path) -> bytes:
    from odm_engine.findings import finding
    from odm_engine.safexml import max_xml_bytes

    try:
        size = path.stat().st_size
        # Security fix (issue 8): an over-limit file is refused before it is read; reading
        # it whole first put a 512 MB file in memory before parse_bytes refused it.
        if size > max_xml_bytes():
            found = finding("ODM-XML-003", path=str(path), size=size, limit=max_xml_bytes())
            raise UsageError(found.format())
        return path.read_bytes()
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror}") from exc


def existing_file(path: str) -> Path:
    source = Path(path)
    if not source.is_file():
        raise UsageError(f"{path}: no such file")
    return source


def no_metadata(path: str, findings: list[Finding]) -> click.ClickException:
    """One message for a file with no Study to use: why it could not be read (its error
    findings, printed first), else what it is instead and which file to give."""
    errors = [f for f in findings if f.severity is Severity.ERROR]
    for f in errors:
        click.echo(f.format(), err=True)
    why = (
        ""
        if errors
        else ": the file holds no MetaDataVersion (ClinicalData files are for `edc check` and "
        "`edc import`); give the study's metadata file"
    )
    return UsageError(f"{path}: no ODM Study with metadata could be read{why}")


def print_findings(
    findings: list[Finding] | tuple[Finding, ...], fmt: str, *, verbose: bool = False
) -> None:
    """One line per finding and a count; ``verbose`` adds the source's own wording (libxml2's
    schema or parser message) under a finding that says it in plain words."""
    if fmt == "json":
        rows = [f.as_dict() | ({"raw": f.raw} if verbose else {}) for f in findings]
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    for f in findings:
        click.echo(f.format())
        if verbose and f.raw:
            click.echo(f"    raw: {f.raw}")
    errors = sum(f.severity is Severity.ERROR for f in findings)
    warnings = sum(f.severity is Severity.WARNING for f in findings)
    click.echo(f"{errors} error(s), {warnings} warning(s)", err=True)


# --- the database ---


DB_HELP = "Database URL (default: $EDC_DATABASE_URL, else sqlite:///edc.sqlite3)."
db_option = click.option("--db", "db", default=None, metavar="URL", help=DB_HELP)
study_option = click.option("--study", "study_oid", default=None, help="Study OID.")
lang_option = click.option(
    "--lang", default=None, help="Language of the ODM text (xml:lang), e.g. de."
)


def engine(db: str | None, *, create: bool = False) -> Any:
    """The engine for --db. A SQLite file that does not exist is not created (only
    ``edc db upgrade`` creates one): the command stops with :func:`no_study`."""
    from sqlalchemy.engine import make_url

    from storage.engine import database_url, make_engine

    url = database_url(db)
    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        ctx.meta["edc.database_url"] = url  # for EdcGroup: a database without tables
    parsed = make_url(url)
    name = parsed.database or ""
    if (
        not create
        and parsed.get_backend_name() == "sqlite"
        and name not in ("", ":memory:")
        and not name.startswith("file:")
        and not Path(name).exists()
    ):
        raise no_study(url)
    return make_engine(url)


def no_study(url: str) -> UsageError:
    """The database is missing, has no tables, or holds no study."""
    from sqlalchemy.engine import make_url

    shown = make_url(url).render_as_string(hide_password=True)
    return UsageError(
        f"no study loaded in {shown} — run `edc db upgrade` and `edc study load`, or pass --db"
    )


def missing_table(exc: Exception) -> bool:
    """The database has not been upgraded: SQLite "no such table", PostgreSQL 42P01."""
    orig = getattr(exc, "orig", None)
    return getattr(orig, "sqlstate", None) == "42P01" or "no such table" in str(orig)


def only_study(conn: Any, study_oid: str | None) -> str:
    from storage.studies import study_oids

    if study_oid is not None:
        return study_oid
    oids = study_oids(conn)
    if not oids:
        raise no_study(url_of(conn))
    if len(oids) != 1:
        raise UsageError(f"this database holds studies {', '.join(oids)}: pass --study")
    return str(oids[0])


def url_of(conn: Any) -> str:
    """The database URL as the user gave it (--db, $EDC_DATABASE_URL or the default)."""
    ctx = click.get_current_context(silent=True)
    given = ctx.meta.get("edc.database_url") if ctx is not None else None
    return str(given or conn.engine.url.render_as_string(hide_password=True))


def nearest(name: str, known: list[str]) -> str:
    """``; did you mean X?`` for a near miss (a typo), else empty."""
    import difflib

    close = difflib.get_close_matches(name, known, n=1, cutoff=0.8)
    return f"; did you mean {close[0]}?" if close else ""


def study_metadata(db: str | None, metadata: str | None, study_oid: str | None) -> Any:
    """The ODM model to describe, and its study OID: from a file, or the study's current
    metadata in the database."""
    from odm_engine.loader import load_odm

    if metadata is not None:
        result = load_odm(read(existing_file(metadata)), path=metadata)
        if result.odm is None or result.study is None:
            raise no_metadata(metadata, result.findings)
        return result.odm, study_oid
    from storage.studies import current_metadata

    with domain_errors(), engine(db).connect() as conn:
        oid = only_study(conn, study_oid)
        return current_metadata(conn, oid).odm, oid


@contextmanager
def progress(label: str) -> Iterator[Callable[[int, int], None]]:
    """A rich progress line on a terminal; a no-op callback otherwise."""
    if not sys.stdout.isatty():
        yield lambda *_args: None
        return
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), transient=True
    ) as bar:
        task = bar.add_task(label)

        def update(subjects: int, items: int) -> None:
            bar.update(task, description=f"{label}: {subjects} subjects, {items} items")

        yield update


def cannot_write(output: str | Path, exc: OSError) -> UsageError:
    return UsageError(f"{output}: cannot write: {exc.strerror}")
