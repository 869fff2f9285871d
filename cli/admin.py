"""Administration commands: the database schema, studies (loading metadata), sites, users,
the web server and the demo data. Each is a thin adapter: storage and the services are
imported inside the command (`edc --help` stays fast)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from cli._common import (
    EXIT_FINDINGS,
    UsageError,
    db_option,
    engine,
    existing_file,
    no_study,
    only_study,
    read,
    url_of,
    writing,
)
from odm_engine.findings import Severity

F = TypeVar("F", bound=Callable[..., Any])
ROLES = ["investigator", "monitor", "data_manager", "study_designer", "admin"]
"""The roles a grant names (storage.vocabulary.Role, listed here: --help imports no storage)."""


@click.group()
def db() -> None:
    """The database: create or upgrade its schema."""


@db.command("upgrade")
@db_option
def db_upgrade(db: str | None) -> None:
    """Create the tables or bring them to the newest schema (Alembic migrations)."""
    from storage.migrate import upgrade

    before, after = upgrade(engine(db, create=True))
    if before == after:
        click.echo(f"Database is up to date (revision {after}).")
    else:
        click.echo(f"Database upgraded from {before or 'empty'} to revision {after}.")


@click.group()
def study() -> None:
    """Studies: load metadata versions."""


@study.command("load")
@click.argument("metadata")
@db_option
@click.option("--user", default=None, help="Who loads the metadata (kept with the version).")
@click.option(
    "--another-study",
    is_flag=True,
    help="Deprecated, no effect: a file of another study now simply adds that study.",
)
@click.option("--publish", is_flag=True, help="Publish the version at once (needs --reason).")
@click.option("--reason", default=None, help="Why it is published (with --publish).")
def study_load(  # noqa: PLR0917 - click passes options by name
    metadata: str,
    db: str | None,
    user: str | None,
    another_study: bool,
    publish: bool,
    reason: str | None,
) -> None:
    """Store METADATA as the study's next metadata version and create its sites.

    A study's first version is published at once; a later one that differs is stored as a
    draft (the current version stays) until `edc study publish N`, or at once with
    --publish --reason R. A file identical to a stored version is a no-op that names it; a
    file reusing a stored MetaDataVersion OID for other content is refused (EDC-STORE-003).

    Unchanged file: nothing to do. A file of a study the database does not hold yet adds
    that study (a database holds any number of studies; commands that act on one then take
    --study). Exit status: 0 stored or unchanged, 1 refused, 2 unreadable input.
    """
    from services.metadata import load_metadata

    del another_study  # accepted so that scripts written for it keep working
    if publish and not (reason or "").strip():
        raise UsageError("--publish needs --reason (kept with the publication)")
    path = existing_file(metadata)
    with writing(db) as conn:
        result = load_metadata(
            conn, read(path), path=metadata, loaded_by=user, publish=publish, reason=reason
        )
    shown = [f for f in result.findings if f.severity is Severity.ERROR]
    for f in shown if result.status == "refused" else []:
        click.echo(f.format(), err=True)
    click.echo(result.message)
    if result.sites_added:
        click.echo(f"Sites added: {', '.join(result.sites_added)}")
    if result.status != "refused" and not result.published:
        n = result.version_number
        click.echo(
            f"Next: `edc study diff {result.study_oid}@{n - 1 if n else 1} {metadata}`, "
            f"`edc study impact {metadata}`, then `edc study publish {n} --user U --reason R`.",
        )
    if result.status == "refused":
        sys.exit(EXIT_FINDINGS)


@click.group()
def site() -> None:
    """Sites (AdminData Locations)."""


@site.command("list")
@click.option("--study", "study_oid", default=None, help="Only this study's sites.")
@db_option
def site_list(study_oid: str | None, db: str | None) -> None:
    """List the sites with their study and number of subjects."""
    from storage.studies import list_sites, study_oids

    with engine(db).connect() as conn:
        sites = list_sites(conn, study_oid)
        if not sites and not study_oids(conn):
            raise no_study(url_of(conn))
    click.echo(f"{'STUDY':<16} {'SITE':<16} {'SUBJECTS':>8}  NAME")
    for s in sites:
        click.echo(f"{s.study_oid:<16} {s.oid:<16} {s.subjects:>8}  {s.name}")


@click.group()
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
    from storage.users import add_user

    with writing(db) as conn:
        add_user(conn, username, password, full_name=full_name, email=email, by="cli")
    click.echo(f"User {username} added.")


@user.command("list")
@db_option
def user_list(db: str | None) -> None:
    """List users with their roles (study/site:role)."""
    from storage.users import list_users

    with engine(db).connect() as conn:
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
    from storage.vocabulary import AccessEvent

    with engine(db).connect() as conn:
        rows = access_log(conn, username=username, limit=limit)
    width = max(len(event.value) for event in AccessEvent)  # user_deactivated: 16
    for e in rows:
        where = f"{e.study_oid}/{e.site_oid or '*'}:{e.role}" if e.role else "-"
        if e.site_oid and not e.role:  # a site added by a metadata load
            where = f"{e.study_oid}/{e.site_oid}"
        when = e.recorded_at.strftime("%Y-%m-%dT%H:%M:%SZ")
        client = f" from {e.client}" if e.client else ""
        click.echo(
            f"{when}  {e.actor:<16} {e.event.value:<{width}} {e.username:<20} {where}{client}"
        )


def _grant_arguments(site_help: str) -> Callable[[F], F]:
    """USERNAME ROLE --study --site --db: what names a grant (set-role, revoke)."""

    def decorate(command: F) -> F:
        for decorator in reversed(
            (
                click.argument("username"),
                click.argument("role", type=click.Choice(ROLES)),
                click.option("--study", "study_oid", required=True, help="Study OID."),
                click.option("--site", "site_oid", default=None, help=site_help),
                db_option,
            )
        ):
            command = decorator(command)
        return command

    return decorate


@user.command("set-role")
@_grant_arguments("Site (Location OID); default all.")
def user_set_role(
    username: str, role: str, study_oid: str, site_oid: str | None, db: str | None
) -> None:
    """Give USERNAME the ROLE in a study, at one site or at every site."""
    from storage.users import set_role

    with writing(db) as conn:
        set_role(conn, username, study_oid, role, site_oid=site_oid, by="cli")
    click.echo(f"{username} is {role} in {study_oid} at {site_oid or 'every site'}.")


@user.command("revoke")
@_grant_arguments("Site (Location OID); default the study-wide grant.")
def user_revoke(
    username: str, role: str, study_oid: str, site_oid: str | None, db: str | None
) -> None:
    """Take ROLE away from USERNAME, at one site or study-wide. Exit 2: not held."""
    from storage.accounts import revoke_role

    with writing(db) as conn:
        revoke_role(conn, username, study_oid, role, site_oid=site_oid, by="cli")
    click.echo(f"{username} is no longer {role} in {study_oid} at {site_oid or 'every site'}.")


@user.command("deactivate")
@click.argument("username")
@db_option
def user_deactivate(username: str, db: str | None) -> None:
    """USERNAME can no longer sign in, save, sign or import; their web sessions end now."""
    from storage.accounts import deactivate_user

    with writing(db) as conn:
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

    with writing(db) as conn:
        changed = activate_user(conn, username, by="cli")
    click.echo(f"{username} is active again." if changed else f"{username} is active already.")


@user.command("reset-password")
@click.argument("username")
@db_option
def user_reset_password(username: str, db: str | None) -> None:
    """Give USERNAME a random one-time password, printed this once; their sessions end and
    at the next sign-in they must choose a password of their own."""
    from storage.accounts import reset_password

    with writing(db) as conn:
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

    with writing(db) as conn:
        set_password(conn, username, password, by="cli")
    click.echo(f"Password of {username} changed; {username} is signed out everywhere.")


@click.command()
@click.option("--host", default=None, help="Address to listen on (default 127.0.0.1).")
@click.option("--port", default=None, type=int, help="Port (default 8000).")
@click.option("--workers", default=None, type=int, help="gunicorn workers (default 2).")
@click.option(
    "--study",
    "study_oid",
    default=None,
    help="The study the short URLs serve (default: the only one; every study is also served "
    "under /studies/<OID>/).",
)
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
                "database_url": db or None,
            }
        )
    except ValueError as exc:  # Settings.load: a setting's value it cannot read (documented)
        raise UsageError(str(exc)) from exc
    click.echo(f"Serving on http://{settings.host}:{settings.port}/ ({settings.workers} workers)")
    run(settings, access_log=access_log)


@click.group()
def demo() -> None:
    """Demo data for `make demo`."""


@demo.command("seed")
@click.option("--study", "study_oid", default=None, help="Study OID (needed if several).")
@db_option
def demo_seed(study_oid: str | None, db: str | None) -> None:
    """Add demo users (random passwords, printed once) and a few synthetic subjects.

    Re-runnable: existing users and subjects are left as they are.
    """
    from webapp.demo import seed_demo

    with writing(db) as conn:
        report = seed_demo(conn, only_study(conn, study_oid))
    if report.created:
        click.echo("Demo users (passwords are shown this once and stored only as hashes):")
        for name, password, what in report.created:
            click.echo(f"  {name:<28} {password:<18} {what}")
    if report.existing:
        click.echo(f"Users kept as they were: {', '.join(report.existing)}")
    click.echo(f"Subjects added: {', '.join(report.subjects) or 'none (all exist)'}")
