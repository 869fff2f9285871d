"""The ``edc`` command line. Domain errors become click errors here, in one place."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from odm_engine.errors import EdcError
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


def _no_metadata(path: str, findings: list[Finding]) -> click.ClickException:
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


def _print_findings(findings: list[Finding], fmt: str) -> None:
    if fmt == "json":
        click.echo(json.dumps([f.as_dict() for f in findings], indent=2, ensure_ascii=False))
        return
    for f in findings:
        click.echo(f.format())
    errors = sum(f.severity is Severity.ERROR for f in findings)
    warnings = sum(f.severity is Severity.WARNING for f in findings)
    click.echo(f"{errors} error(s), {warnings} warning(s)", err=True)


class EdcGroup(click.Group):
    """Translates the engine's faults into clean CLI errors, in this one place."""

    def invoke(self, ctx: click.Context) -> object:
        from sqlalchemy.exc import DBAPIError

        try:
            return super().invoke(ctx)
        except EdcError as exc:
            raise click.ClickException(str(exc)) from exc
        except DBAPIError as exc:
            url = ctx.meta.get("edc.database_url")
            if url and _missing_table(exc):
                raise _no_study(url) from exc
            # Disk full, read-only file, server gone: the transaction was rolled back.
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
            raise click.ClickException(
                f"The database refused the work ({reason}); nothing was written. Fix the "
                "database (space, permissions, server) and run the command again."
            ) from exc


@click.group(cls=EdcGroup)
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


@main.command()
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
        _read(paths[0]),
        _read(paths[1]),
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


@main.command()
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

    source = Path(metadata)
    if not source.is_file():
        raise UsageError(f"{metadata}: no such file")
    result = load_odm(_read(source), path=metadata)
    if result.study is None:
        raise _no_metadata(metadata, result.findings)
    try:
        page = FormRenderer(result.study).preview_html(form_oid, lang=lang)
    except UnknownFormError as exc:
        raise UsageError(f"{metadata}: {exc}") from exc
    try:
        Path(output).write_text(page, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{output}: cannot write: {exc.strerror}") from exc
    click.echo(f"{output}: preview of {form_oid} written", err=True)


# --- storage: db, study, site, user, audit (storage is imported inside each command) ---

db_option = click.option(
    "--db", "db", default=None, metavar="URL",
    help="Database URL (default: $EDC_DATABASE_URL, else sqlite:///edc.sqlite3).",
)  # fmt: skip


def _engine(db: str | None, *, create: bool = False):  # type: ignore[no-untyped-def]
    """The engine for --db. A SQLite file that does not exist is not created (only
    ``edc db upgrade`` creates one): the command stops with :func:`_no_study`."""
    from sqlalchemy.engine import make_url

    from storage.engine import make_engine

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
        raise _no_study(url)
    return make_engine(url)


def _no_study(url: str) -> UsageError:
    """The database is missing, has no tables, or holds no study."""
    from sqlalchemy.engine import make_url

    shown = make_url(url).render_as_string(hide_password=True)
    return UsageError(
        f"no study loaded in {shown} — run `edc db upgrade` and `edc study load`, or pass --db"
    )


def _missing_table(exc: Exception) -> bool:
    """The database has not been upgraded: SQLite "no such table", PostgreSQL 42P01."""
    orig = getattr(exc, "orig", None)
    return getattr(orig, "sqlstate", None) == "42P01" or "no such table" in str(orig)


@contextmanager
def _storage_errors() -> Iterator[None]:
    """Domain errors of the store, turned into click errors in one place."""
    from storage.errors import StorageError

    try:
        yield
    except (StorageError, ValueError) as exc:
        raise UsageError(str(exc)) from exc


@main.group()
def db() -> None:
    """The database: create or upgrade its schema."""


@db.command("upgrade")
@db_option
def db_upgrade(db: str | None) -> None:
    """Create the tables or bring them to the newest schema (Alembic migrations)."""
    from storage.migrate import upgrade

    before, after = upgrade(_engine(db, create=True))
    if before == after:
        click.echo(f"Database is up to date (revision {after}).")
    else:
        click.echo(f"Database upgraded from {before or 'empty'} to revision {after}.")


@main.group()
def study() -> None:
    """Studies: load metadata versions."""


@study.command("load")
@click.argument("metadata")
@db_option
@click.option("--user", default=None, help="Who loads the metadata (kept with the version).")
@click.option(
    "--another-study",
    is_flag=True,
    help="Load a study other than the one the database holds (the web app then serves the "
    "one named by EDC_STUDY).",
)
def study_load(metadata: str, db: str | None, user: str | None, another_study: bool) -> None:
    """Store METADATA as the study's next metadata version and create its sites.

    Unchanged file: nothing to do. A version that would orphan stored data is refused with a
    finding per item; a file of another study than the database holds is refused unless
    --another-study is given. Exit status: 0 stored or unchanged, 1 refused, 2 unreadable
    input.
    """
    from storage.engine import write_transaction
    from storage.studies import OTHER_STUDY_CODE, load_study

    path = Path(metadata)
    if not path.is_file():
        raise UsageError(f"{metadata}: no such file")
    with _storage_errors(), write_transaction(_engine(db)) as conn:
        result = load_study(
            conn, _read(path), path=metadata, loaded_by=user, another_study=another_study
        )
    shown = [f for f in result.findings if f.severity is Severity.ERROR]
    for f in shown if result.status == "refused" else []:
        if f.code != OTHER_STUDY_CODE:  # its message is the result's, below
            click.echo(f.format(), err=True)
    click.echo(result.message)
    if any(f.code == OTHER_STUDY_CODE for f in result.findings):
        click.echo(
            "To keep several studies in this database, load it again with --another-study "
            "and name the study the web app serves with EDC_STUDY.",
            err=True,
        )
    if result.sites_added:
        click.echo(f"Sites added: {', '.join(result.sites_added)}")
    if result.status == "refused":
        sys.exit(EXIT_FINDINGS)


@main.group()
def site() -> None:
    """Sites (AdminData Locations)."""


@site.command("list")
@click.option("--study", "study_oid", default=None, help="Only this study's sites.")
@db_option
def site_list(study_oid: str | None, db: str | None) -> None:
    """List the sites with their study and number of subjects."""
    from storage.studies import list_sites, study_oids

    with _engine(db).connect() as conn:
        sites = list_sites(conn, study_oid)
        if not sites and not study_oids(conn):
            raise _no_study(_url_of(conn))
    click.echo(f"{'STUDY':<16} {'SITE':<16} {'SUBJECTS':>8}  NAME")
    for s in sites:
        click.echo(f"{s.study_oid:<16} {s.oid:<16} {s.subjects:>8}  {s.name}")


@main.group()
def user() -> None:
    """Users and their roles per study and site."""


@user.command("add")
@click.argument("username")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--full-name", default="")
@click.option("--email", default=None)
@db_option
def user_add(
    username: str, password: str, full_name: str, email: str | None, db: str | None
) -> None:
    """Add a user (the password is stored as a werkzeug hash only)."""
    from storage.engine import write_transaction
    from storage.users import add_user

    with _storage_errors(), write_transaction(_engine(db)) as conn:
        add_user(conn, username, password, full_name=full_name, email=email, by="cli")
    click.echo(f"User {username} added.")


@user.command("list")
@db_option
def user_list(db: str | None) -> None:
    """List users with their roles (study/site:role)."""
    from storage.users import list_users

    with _engine(db).connect() as conn:
        users = list_users(conn)
    for u in users:
        roles = ", ".join(f"{r.study_oid}/{r.site_oid or '*'}:{r.role.value}" for r in u.roles)
        state = "" if u.active else " (inactive)"
        click.echo(f"{u.username:<20} {u.full_name:<30} {roles or '-'}{state}")


@user.command("log")
@click.option("--user", "username", default=None, help="Only this user's rows.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="The newest N rows.")
@db_option
def user_log(username: str | None, limit: int | None, db: str | None) -> None:
    """The access log, newest first: users added, roles granted and revoked, by whom."""
    from storage.users import access_log

    with _engine(db).connect() as conn:
        rows = access_log(conn, username=username, limit=limit)
    for e in rows:
        where = f"{e.study_oid}/{e.site_oid or '*'}:{e.role}" if e.role else "-"
        if e.site_oid and not e.role:  # a site added by a metadata load
            where = f"{e.study_oid}/{e.site_oid}"
        when = e.recorded_at.strftime("%Y-%m-%dT%H:%M:%SZ")
        client = f" from {e.client}" if e.client else ""
        click.echo(f"{when}  {e.actor:<16} {e.event.value:<13} {e.username:<20} {where}{client}")


@user.command("set-role")
@click.argument("username")
@click.argument(
    "role",
    type=click.Choice(["investigator", "monitor", "data_manager", "study_designer", "admin"]),
)
@click.option("--study", "study_oid", required=True, help="Study OID.")
@click.option("--site", "site_oid", default=None, help="Site (Location OID); default all.")
@db_option
def user_set_role(
    username: str, role: str, study_oid: str, site_oid: str | None, db: str | None
) -> None:
    """Give USERNAME the ROLE in a study, at one site or at every site."""
    from storage.engine import write_transaction
    from storage.users import set_role

    with _storage_errors(), write_transaction(_engine(db)) as conn:
        set_role(conn, username, study_oid, role, site_oid=site_oid, by="cli")
    click.echo(f"{username} is {role} in {study_oid} at {site_oid or 'every site'}.")


@user.command("revoke")
@click.argument("username")
@click.argument(
    "role",
    type=click.Choice(["investigator", "monitor", "data_manager", "study_designer", "admin"]),
)
@click.option("--study", "study_oid", required=True, help="Study OID.")
@click.option("--site", "site_oid", default=None, help="Site (Location OID); default the "
              "study-wide grant.")  # fmt: skip
@db_option
def user_revoke(
    username: str, role: str, study_oid: str, site_oid: str | None, db: str | None
) -> None:
    """Take ROLE away from USERNAME, at one site or study-wide. Exit 2: not held."""
    from storage.accounts import revoke_role
    from storage.engine import write_transaction

    with _storage_errors(), write_transaction(_engine(db)) as conn:
        revoke_role(conn, username, study_oid, role, site_oid=site_oid, by="cli")
    click.echo(f"{username} is no longer {role} in {study_oid} at {site_oid or 'every site'}.")


@user.command("deactivate")
@click.argument("username")
@db_option
def user_deactivate(username: str, db: str | None) -> None:
    """USERNAME can no longer sign in, save, sign or import; their web sessions end now."""
    from storage.accounts import deactivate_user
    from storage.engine import write_transaction

    with _storage_errors(), write_transaction(_engine(db)) as conn:
        changed = deactivate_user(conn, username, by="cli")
    click.echo(
        f"{username} is deactivated: signed out everywhere, cannot sign in or act."
        if changed
        else f"{username} is inactive already."
    )


@user.command("activate")
@click.argument("username")
@db_option
def user_activate(username: str, db: str | None) -> None:
    """Make a deactivated USERNAME active again, with the roles it held."""
    from storage.accounts import activate_user
    from storage.engine import write_transaction

    with _storage_errors(), write_transaction(_engine(db)) as conn:
        changed = activate_user(conn, username, by="cli")
    click.echo(f"{username} is active again." if changed else f"{username} is active already.")


@user.command("reset-password")
@click.argument("username")
@db_option
def user_reset_password(username: str, db: str | None) -> None:
    """Give USERNAME a random one-time password, printed this once; their sessions end and
    at the next sign-in they must choose a password of their own."""
    from storage.accounts import reset_password
    from storage.engine import write_transaction

    with _storage_errors(), write_transaction(_engine(db)) as conn:
        once = reset_password(conn, username, by="cli")
    click.echo(f"One-time password for {username}: {once}")
    click.echo(f"{username} must choose a new password at the next sign-in; it is not shown again.")


@user.command("passwd")
@click.argument("username")
@click.option("--password", prompt="New password", hide_input=True, confirmation_prompt=True)
@db_option
def user_passwd(username: str, password: str, db: str | None) -> None:
    """Set USERNAME's password (prompted twice; the password policy applies). Their web
    sessions end. Exit 2: refused by the policy."""
    from storage.accounts import set_password
    from storage.engine import write_transaction

    with _storage_errors(), write_transaction(_engine(db)) as conn:
        set_password(conn, username, password, by="cli")
    click.echo(f"Password of {username} changed; {username} is signed out everywhere.")


@main.command()
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

    with _storage_errors(), _engine(db).connect() as conn:
        study_oid = _only_study(conn, study_oid)
        keys = list_subjects(conn, study_oid)
        if subject not in keys:
            hint = _nearest(subject, keys)
            raise UsageError(f"No subject {subject!r} in study {study_oid}{hint or '.'}")
        items = list(current_metadata(conn, study_oid).mdv.item_defs)
        if item_oid is not None and item_oid not in items:
            hint = _nearest(item_oid, items) or "; `edc info` lists its items."
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


# --- exchange: import, export odm/define/csv/dataset-json (issue 7) ---


def _only_study(conn, study_oid: str | None) -> str:  # type: ignore[no-untyped-def]
    from storage.studies import study_oids

    if study_oid is not None:
        return study_oid
    oids = study_oids(conn)
    if not oids:
        raise _no_study(_url_of(conn))
    if len(oids) != 1:
        raise UsageError(f"Name the study with --study (the database holds {len(oids)}).")
    return str(oids[0])


def _url_of(conn) -> str:  # type: ignore[no-untyped-def]
    """The database URL as the user gave it (--db, $EDC_DATABASE_URL or the default)."""
    ctx = click.get_current_context(silent=True)
    given = ctx.meta.get("edc.database_url") if ctx is not None else None
    return str(given or conn.engine.url.render_as_string(hide_password=True))


def _nearest(name: str, known: list[str]) -> str:
    """``; did you mean X?`` for a near miss (a typo), else empty."""
    import difflib

    close = difflib.get_close_matches(name, known, n=1, cutoff=0.8)
    return f"; did you mean {close[0]}?" if close else ""


@contextmanager
def _progress(label: str) -> Iterator[object]:
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


def _sha256(path: Path) -> str:
    import hashlib

    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class _Rollback(Exception):  # control flow, never escapes the command
    """Raised inside the import transaction to undo it (dry run or a rejected file)."""


@main.command("import")
@click.argument("file")
@click.option("--dry-run", is_flag=True, help="Check everything, write nothing.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.option("--user", "username", required=True, help="Importing user (data manager).")
@click.option("--reason", default=None, help="Reason for change, for values that change.")
@click.option("--study", "study_oid", default=None, help="Import into this study OID.")
@db_option
def import_(  # noqa: PLR0917 - click passes options by name
    file: str,
    dry_run: bool,
    fmt: str,
    username: str,
    reason: str | None,
    study_oid: str | None,
    db: str | None,
) -> None:
    """Import ODM ClinicalData from FILE: all or nothing, in one transaction.

    Exit status: 0 imported (or already imported, or a clean dry run), 1 rejected with a
    report of every problem, 2 unreadable input or usage error.
    """
    from itertools import chain

    from odm_engine.exchange import read_clinical_data
    from odm_engine.findings import finding, has_errors
    from odm_engine.free_text import LIMITS, REASON, text_problem
    from storage.engine import write_transaction
    from storage.errors import BulkRejectedError
    from storage.exchange import ImportOutcome, import_source, import_subjects, imported_at
    from storage.studies import parent_of_site_study, site_level_studies

    refused = reason and text_problem(reason, "Reason for change (--reason)", limit=LIMITS[REASON])
    if refused:  # issue 14: refused before the file is read
        raise UsageError(refused)
    path = Path(file)
    if not path.is_file():
        raise UsageError(f"{file}: no such file")
    sha = _sha256(path)
    reader = read_clinical_data(str(path), path=file)
    records = iter(reader)
    first = next(records, None)
    findings = list(reader.findings)
    if first is None:
        _print_findings(findings, fmt)
        if has_errors(findings):
            sys.exit(EXIT_USAGE)
        raise UsageError(f"{file}: holds no SubjectData to import")
    source = import_source(reader.header.file_oid, sha)
    outcome = ImportOutcome()
    status = "imported"

    sites: dict[str, int] = {}  # site-level Study OIDs resolved to the parent study

    def stream():  # type: ignore[no-untyped-def]
        seen: set[str] = set()
        for record in chain([first], records):
            if record.study_oid in sites and record.study_oid not in seen:
                seen.add(record.study_oid)
                findings.append(
                    finding(
                        "ODM-IMP-011",
                        path=file,
                        line=record.line,
                        site=record.study_oid,
                        study=named,
                    )
                )
            yield record

    with _storage_errors(), _progress(f"Importing {path.name}") as update:
        engine = _engine(db)
        with engine.connect() as conn:
            when = imported_at(conn, source)
            # a site-level Study of the stored metadata (OpenClinica 3) means its parent study
            named = parent_of_site_study(conn, first.study_oid) or first.study_oid
            if named != first.study_oid:
                sites.update(site_level_studies(conn, named))
        target = study_oid or named
        if target != named:
            findings.append(finding("ODM-IMP-009", path=file, study=named, target=target))
        if when is not None:
            status = "already imported"
            findings.append(
                finding(
                    "ODM-IMP-021",
                    path=file,
                    file_oid=reader.header.file_oid,
                    sha256=sha[:12],
                    when=f"{when:%Y-%m-%d %H:%M:%S} UTC",
                )
            )
        else:
            try:
                with write_transaction(engine) as conn:
                    outcome = import_subjects(
                        conn,
                        target,
                        stream(),
                        user=username,
                        source=source,
                        reason=reason,
                        on_subject=update,  # type: ignore[arg-type]
                        outcome=outcome,
                    )
                    if has_errors(reader.findings):
                        status = "rejected"
                        raise _Rollback
                    if dry_run:
                        status = "dry run"
                        raise _Rollback
            except BulkRejectedError:
                status = "rejected"
            except _Rollback:
                pass
    findings = _dedupe([*findings, *reader.findings])
    for p in outcome.problems:
        where = p.key.describe() if p.key is not None else "SubjectData"
        why = p.message.removeprefix(f"Subject {p.subject_key}: ")
        shown = p.value if p.value is None or len(p.value) <= 60 else f"{p.value[:57]}..."
        why = why if shown is None else f'value "{shown}": {why}'
        findings.append(
            finding("ODM-IMP-020", path=file, subject=p.subject_key, where=where, why=why)
        )
    _import_report(fmt, file, status, reader, outcome, findings, dry_run)
    if status == "rejected":
        sys.exit(EXIT_FINDINGS)


def _dedupe(findings: list[Finding]) -> list[Finding]:
    seen: set[tuple[str, str, int | None]] = set()
    out = []
    for f in findings:
        key = (f.code, f.message, f.line)
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out


def _import_report(  # type: ignore[no-untyped-def]  # noqa: PLR0917
    fmt: str, file: str, status: str, reader, outcome, findings: list[Finding], dry_run: bool
) -> None:
    result = outcome.result
    summary = {
        "file": file,
        "status": status,
        "file_oid": reader.header.file_oid,
        "sha256": reader.sha256,
        "profile": reader.profile.name,
        "subjects": outcome.subjects,
        "items": outcome.items_read,
        "subjects_created": result.subjects_created if result else 0,
        "items_written": result.items_written if result else 0,
        "audit_rows": result.audit_rows if result else 0,
        "queries_opened": outcome.queries_opened,
        "problems": len(outcome.problems),
    }
    if fmt == "json":
        summary["findings"] = [f.as_dict() for f in findings]
        click.echo(json.dumps(summary, indent=2, ensure_ascii=False))
        return
    for f in findings:
        click.echo(f.format())
    if status == "already imported":
        click.echo(f"{file}: already imported; nothing was written.")
    elif status == "rejected":
        click.echo(
            f"{file}: rejected, {len(outcome.problems)} problem(s); nothing was written.",
            err=True,
        )
    else:
        verb = "would write" if dry_run else "wrote"
        click.echo(
            f"{file}: {status} ({reader.profile.name}): {outcome.subjects} subjects, "
            f"{outcome.items_read} items read; {verb} {summary['items_written']} values "
            f"({summary['subjects_created']} new subjects, {summary['audit_rows']} audit rows, "
            f"{outcome.queries_opened} queries){'; nothing was written' if dry_run else ''}."
        )


@contextmanager
def _replacing(output: str, *, directory: bool = False) -> Iterator[Path]:
    """A temporary file (or directory) next to ``output`` to write into, renamed onto
    ``output`` when the block ends well and removed when it fails: a failed export leaves
    no truncated file, and an older export at ``output`` stays as it was (issue 14). A
    directory's files are renamed into ``output`` one by one (other files there stay)."""
    import shutil
    import tempfile

    target = Path(output)
    if not directory and target.exists() and not target.is_file():
        yield target  # /dev/stdout, a FIFO: nothing to rename
        return
    parent = target.parent
    prefix = f".{target.name}."
    if directory:
        parent.mkdir(parents=True, exist_ok=True)  # as the writers make ``output``
        tmp = Path(tempfile.mkdtemp(prefix=prefix, suffix=".tmp", dir=parent))
    else:
        fd, name = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=parent)
        os.close(fd)
        tmp = Path(name)
        umask = os.umask(0)
        os.umask(umask)
        tmp.chmod(0o666 & ~umask)  # as open(output, "w") would have made it
    try:
        yield tmp
        if directory:
            target.mkdir(exist_ok=True)
            for path in tmp.iterdir():
                os.replace(path, target / path.name)
        else:
            os.replace(tmp, target)
    finally:
        if directory:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)


@main.group("export")
def export() -> None:
    """Export the study: ODM 1.3.2, Define-XML 2.1, CSV, Dataset-JSON."""


def _since(value: str | None):  # type: ignore[no-untyped-def]
    from storage.export_source import ExportRequestError, parse_since

    try:
        return parse_since(value)
    except ExportRequestError as exc:
        raise UsageError(f"--since {exc}") from exc


@export.command("odm")
@click.option("-o", "--output", required=True, metavar="FILE")
@click.option("--snapshot/--transactional", default=True, help="Current values or changes.")
@click.option("--audit", is_flag=True, help="Every change with its AuditRecord (transactional).")
@click.option("--since", default=None, metavar="TIMESTAMP", help="Only what changed after it.")
@click.option("--site", "site_oid", default=None, metavar="LOCATION_OID")
@click.option("--subject", "subjects", multiple=True, metavar="KEY")
@click.option("--metadata", "with_metadata", is_flag=True, help="Include the study metadata.")
@click.option("--admin", "with_admin", is_flag=True, help="Include AdminData (users, sites).")
@click.option("--study", "study_oid", default=None)
@db_option
def export_odm(  # noqa: PLR0917 - click passes options by name
    output: str,
    snapshot: bool,
    audit: bool,
    since: str | None,
    site_oid: str | None,
    subjects: tuple[str, ...],
    with_metadata: bool,
    with_admin: bool,
    study_oid: str | None,
    db: str | None,
) -> None:
    """Write the study's ClinicalData as ODM 1.3.2 (streamed; memory stays flat)."""
    from renderers.odm import export_options, write_odm
    from storage.export_source import OdmSelection, odm_source

    if audit and snapshot:
        raise UsageError("--audit needs --transactional (a snapshot holds current values only)")
    selection = OdmSelection(
        mode="audit" if audit else "snapshot" if snapshot else "transactional",
        since=_since(since),
        site=site_oid,
        subject_keys=subjects,
        with_metadata=with_metadata,
        with_admin=with_admin,
    )
    with _storage_errors(), _engine(db).connect() as conn, _progress("Exporting") as update:
        source = odm_source(conn, _only_study(conn, study_oid), selection)
        options = export_options(source.study_oid, selection.file_type, since=since)
        try:
            with _replacing(output) as tmp, tmp.open("wb") as out:
                stats = write_odm(
                    out,
                    source.records,
                    options,
                    metadata=source.metadata,
                    admin=source.admin,
                    study_oid=source.study_oid,
                    on_subject=lambda s: update(s.subjects, s.items),  # type: ignore[operator]
                )
        except OSError as exc:
            raise UsageError(f"{output}: cannot write: {exc.strerror}") from exc
    click.echo(f"{output}: {stats.subjects} subjects, {stats.items} items ({options.file_type}).")


def _study_metadata(db: str | None, metadata: str | None, study_oid: str | None):  # type: ignore[no-untyped-def]
    """The ODM model to describe: from a file, or the study's current metadata."""
    from odm_engine.loader import load_odm

    if metadata is not None:
        path = Path(metadata)
        if not path.is_file():
            raise UsageError(f"{metadata}: no such file")
        result = load_odm(_read(path), path=metadata)
        if result.odm is None or result.study is None:
            raise _no_metadata(metadata, result.findings)
        return result.odm, study_oid
    from storage.studies import current_metadata

    with _storage_errors(), _engine(db).connect() as conn:
        oid = _only_study(conn, study_oid)
        return current_metadata(conn, oid).odm, oid


@export.command("define")
@click.option("-o", "--output", required=True, metavar="define.xml")
@click.option("--metadata", default=None, metavar="M.xml", help="Describe this file instead.")
@click.option(
    "--crf-pages",
    default=None,
    metavar="PAGES.json",
    help='The page map `edc print acrf` wrote, or {"IT.AGE": [3]}.',
)
@click.option(
    "--acrf",
    default=None,
    metavar="acrf.pdf",
    help="The annotated CRF printed by `edc print acrf`: its page map gives def:PDFPageRef.",
)
@click.option("--study", "study_oid", default=None)
@db_option
def export_define(  # noqa: PLR0917 - click passes options by name
    output: str,
    metadata: str | None,
    crf_pages: str | None,
    acrf: str | None,
    study_oid: str | None,
    db: str | None,
) -> None:
    """Write Define-XML 2.1 generated from the study metadata."""
    from renderers.define import DefineOptions, write_define
    from renderers.print import PageMapError, load_page_map, page_map_path

    odm, oid = _study_metadata(db, metadata, study_oid)
    pages: dict[str, list[int]] = {}
    map_file = crf_pages or (str(page_map_path(acrf)) if acrf else None)
    if map_file is not None:
        try:
            pages = load_page_map(map_file)
        except PageMapError as exc:
            raise UsageError(str(exc)) from exc
    try:
        data = write_define(odm, DefineOptions(crf_pages=pages), study_oid=oid)
        with _replacing(output) as tmp:
            tmp.write_bytes(data)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    except OSError as exc:
        raise UsageError(f"{output}: cannot write: {exc.strerror}") from exc
    click.echo(f"{output}: Define-XML 2.1 written")


def _tabular(output: str, study_oid: str | None, db: str | None, kind: str) -> None:
    from renderers.tabular import write_csv, write_dataset_json
    from storage.export_source import tabular_source

    with _storage_errors(), _engine(db).connect() as conn:
        source = tabular_source(conn, _only_study(conn, study_oid))
        writer = write_csv if kind == "csv" else write_dataset_json
        try:
            with _replacing(output, directory=True) as tmp:
                files = writer(tmp, source.odm, source.records, study_oid=source.study_oid)
        except OSError as exc:
            raise UsageError(f"{output}: cannot write: {exc.strerror}") from exc
    click.echo(f"{output}: {len(files)} files written")


@export.command("csv")
@click.option("-o", "--output", required=True, metavar="DIR")
@click.option("--study", "study_oid", default=None)
@db_option
def export_csv(output: str, study_oid: str | None, db: str | None) -> None:
    """One CSV per item group (a row per repeat), plus a header file of labels."""
    _tabular(output, study_oid, db, "csv")


@export.command("dataset-json")
@click.option("-o", "--output", required=True, metavar="DIR")
@click.option("--study", "study_oid", default=None)
@db_option
def export_dataset_json(output: str, study_oid: str | None, db: str | None) -> None:
    """CDISC Dataset-JSON 1.1, one file per item group, matching the Define-XML export."""
    _tabular(output, study_oid, db, "dataset-json")


@main.command()
@click.option("--host", default=None, help="Address to listen on (default 127.0.0.1).")
@click.option("--port", default=None, type=int, help="Port (default 8000).")
@click.option("--workers", default=None, type=int, help="gunicorn workers (default 2).")
@click.option("--study", "study_oid", default=None, help="Study OID (default: the only one).")
@click.option("--access-log", is_flag=True, help="Log every request to stderr.")
@db_option
def serve(  # noqa: PLR0917 - click passes options by name
    host: str | None,
    port: int | None,
    workers: int | None,
    study_oid: str | None,
    access_log: bool,
    db: str | None,
) -> None:
    """Serve the web app with gunicorn. Settings: flags, else EDC_* variables (EDC_SECRET_KEY,
    EDC_SESSION_IDLE_MINUTES, ...; see webapp/settings.py), else defaults."""
    from webapp.serve import serve as run
    from webapp.settings import Settings

    try:
        settings = Settings.load(
            overrides={
                "host": host,
                "port": port,
                "workers": workers,
                "study": study_oid,
                "database_url": database_url(db) if db else None,
            }
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    click.echo(f"Serving on http://{settings.host}:{settings.port}/ ({settings.workers} workers)")
    run(settings, access_log=access_log)


@main.group()
def demo() -> None:
    """Demo data for `make demo`."""


@demo.command("seed")
@click.option("--study", "study_oid", default=None, help="Study OID (needed if several).")
@db_option
def demo_seed(study_oid: str | None, db: str | None) -> None:
    """Add demo users (random passwords, printed once) and a few synthetic subjects.

    Re-runnable: existing users and subjects are left as they are.
    """
    from storage.engine import write_transaction
    from webapp.demo import seed_demo

    with _storage_errors(), write_transaction(_engine(db)) as conn:
        report = seed_demo(conn, _only_study(conn, study_oid))
    if report.created:
        click.echo("Demo users (passwords are shown this once and stored only as hashes):")
        for name, password, what in report.created:
            click.echo(f"  {name:<28} {password:<18} {what}")
    if report.existing:
        click.echo(f"Users kept as they were: {', '.join(report.existing)}")
    click.echo(f"Subjects added: {', '.join(report.subjects) or 'none (all exist)'}")


# --- printing: blank CRF, aCRF, casebook (issue 9) ---

DEFAULT_METADATA = Path(__file__).resolve().parent / "metadata" / "bortezomib-retreatment.xml"


@main.group("print")
def print_() -> None:
    """Printable CRFs as PDF: blank, SDTM-annotated (aCRF) and subject casebooks."""


def _print_study(metadata: str | None, db: str | None, study_oid: str | None):  # type: ignore[no-untyped-def]
    """The Study to print: --metadata, else the study in --db, else the example study."""
    if metadata is None and db is None:
        metadata = str(DEFAULT_METADATA)
    odm, oid = _study_metadata(db, metadata, study_oid)
    study = odm.find_study(oid) if oid else odm.study
    if study is None:
        raise UsageError(f"{metadata or 'the database'}: no Study {oid!r} to print")
    return study


def _write_printed(output: str, printed, what: str) -> None:  # type: ignore[no-untyped-def]
    try:
        Path(output).write_bytes(printed.pdf)
    except OSError as exc:
        raise UsageError(f"{output}: cannot write: {exc.strerror}") from exc
    click.echo(f"{output}: {what}, {printed.page_count} pages", err=True)


lang_option = click.option(
    "--lang", default=None, help="Language of the ODM text (xml:lang), e.g. de."
)
study_option = click.option("--study", "study_oid", default=None, help="Study OID.")


@print_.command("blank")
@click.option("-o", "--output", required=True, metavar="crf.pdf")
@click.option("--metadata", default=None, metavar="M.xml", help="Print this ODM file.")
@lang_option
@study_option
@db_option
def print_blank(
    output: str, metadata: str | None, lang: str | None, study_oid: str | None, db: str | None
) -> None:
    """The blank CRF: every event and form in Protocol order, with answer boxes.

    Default metadata: the study in --db when given, else metadata/bortezomib-retreatment.xml.
    """
    from renderers.print import UnknownMetaDataVersionError, print_blank

    study = _print_study(metadata, db, study_oid)
    try:
        printed = print_blank(study, lang=lang)
    except UnknownMetaDataVersionError as exc:
        raise UsageError(str(exc)) from exc
    _write_printed(output, printed, "blank CRF written")


@print_.command("acrf")
@click.option("-o", "--output", required=True, metavar="acrf.pdf")
@click.option("--metadata", default=None, metavar="M.xml", help="Print this ODM file.")
@lang_option
@study_option
@db_option
def print_acrf(
    output: str, metadata: str | None, lang: str | None, study_oid: str | None, db: str | None
) -> None:
    """The SDTM-annotated CRF, and its page map (acrf.pdf -> acrf.pages.json) for Define-XML."""
    from renderers.print import (
        UnknownMetaDataVersionError,
        page_map_path,
        print_acrf,
        write_page_map,
    )

    study = _print_study(metadata, db, study_oid)
    try:
        printed = print_acrf(study, lang=lang)
    except UnknownMetaDataVersionError as exc:
        raise UsageError(str(exc)) from exc
    _write_printed(output, printed, "annotated CRF written")
    pages = page_map_path(output)
    try:
        write_page_map(printed.page_map, pages, document=Path(output).name)
    except OSError as exc:
        raise UsageError(f"{pages}: cannot write: {exc.strerror}") from exc
    click.echo(f"{pages}: page map of {len(printed.page_map.items)} items written", err=True)


def _casebook_data(conn, study_oid: str, subject: str):  # type: ignore[no-untyped-def]
    """A subject's data, audit trail, queries and signatures as the print renderer's records."""
    from itertools import chain

    from renderers.print import AuditRow, CasebookData, QueryRow, SignatureRow
    from storage.audit import history
    from storage.queries import list_queries
    from storage.signatures import signatures_of
    from storage.studies import list_sites
    from storage.subjects import form_state, subject_snapshot

    snapshot = subject_snapshot(conn, study_oid, subject)
    entries = history(conn, study_oid, subject)
    forms = sorted(
        {k.form_key for k in chain(snapshot.values, snapshot.null_reasons)}
        | {e.key.form_key for e in entries if e.key.form_oid}  # not the enrolment row
    )
    sites = {s.oid: s.name for s in list_sites(conn, study_oid)}
    return CasebookData(
        snapshot=snapshot,
        site_name=sites.get(snapshot.site_oid or ""),
        form_status={f: form_state(conn, study_oid, subject, f).status.value for f in forms},
        audit=tuple(
            AuditRow(
                e.seq,
                e.recorded_at,
                e.username,
                e.role,
                e.key,
                e.transaction_type,
                e.old_value,
                e.new_value,
                e.old_is_null,
                e.new_is_null,
                e.reason,
                e.source,
            )
            for e in entries
        ),
        queries=tuple(
            QueryRow(
                q.id,
                q.key,
                str(q.status),
                q.origin,
                q.message,
                q.opened_by,
                q.opened_at,
                q.check_id,
            )
            for q in list_queries(conn, study_oid, subject)
        ),
        signatures=tuple(
            SignatureRow(
                f,
                s.username,
                s.role,
                s.signed_at,
                s.meaning,
                s.signature_def_oid,
                s.form_version,
                s.content_sha256,
            )
            for f in forms
            for s in signatures_of(conn, study_oid, subject, f)
        ),
    )


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

    from renderers.print import UnknownMetaDataVersionError, print_casebook
    from storage.studies import current_metadata

    try:
        with _storage_errors(), _engine(db).connect() as conn:
            oid = _only_study(conn, study_oid)
            stored = current_metadata(conn, oid)
            data = _casebook_data(conn, oid, subject)
    except DBAPIError as exc:
        if _missing_table(exc):
            raise _no_study(database_url(db)) from exc
        raise UsageError(
            f"{database_url(db)}: cannot read the study database ({exc.orig}). "
            "Create or upgrade it with `edc db upgrade`."
        ) from exc
    study = stored.odm.find_study(oid) or stored.odm.study
    if study is None:
        raise UsageError(f"Study {oid}: the stored metadata holds no Study")
    try:
        printed = print_casebook(study, data, lang=lang)
    except UnknownMetaDataVersionError as exc:
        raise UsageError(str(exc)) from exc
    _write_printed(output, printed, f"casebook of subject {subject} written")


if __name__ == "__main__":
    main()
