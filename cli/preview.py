"""``edc preview FILE``: a designer's live preview of an ODM file, served on localhost.

Every form of the file as sites will see it, re-rendered within a second of each save, with
the findings next to the elements they concern and a "try it" mode that runs the real checks
and writes nothing (:mod:`webapp.preview`). A local tool: it has no sign-in, so it binds to
the loopback interface only unless ``--allow-remote`` says otherwise.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

import click

LOOPBACK_NAMES = frozenset({"localhost"})


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 or ``localhost`` (brackets around an IPv6 address allowed)."""
    bare = host.strip().strip("[]").lower()
    if bare in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(bare).is_loopback
    except ValueError:
        return False


@click.command("preview")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--port", default=8100, show_default=True, type=click.IntRange(0, 65535))
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind to.")
@click.option("--lang", default=None, help="Language the pages open in (an xml:lang of the file).")
@click.option(
    "--allow-remote",
    is_flag=True,
    help="Bind to a non-loopback interface: anyone who reaches it sees the file (no sign-in).",
)
def preview(file: Path, port: int, host: str, lang: str | None, allow_remote: bool) -> None:
    """Serve every form of FILE and show each save of it within a second.

    Open the printed address: the index lists the events and forms; each form is rendered as
    sites will see it, with the file's findings next to the elements they concern (their line
    numbers link to the source); "Try it" checks typed values as a save would, writing
    nothing. Stop with Ctrl-C.
    """
    if not is_loopback(host) and not allow_remote:
        raise click.UsageError(
            f"--host {host} is not a loopback address: the preview has no sign-in, so it "
            "binds to 127.0.0.1, ::1 or localhost only. Give --allow-remote to serve it to "
            "other machines anyway."
        )
    from werkzeug.serving import run_simple

    from webapp.preview import create_app

    app = create_app(file.resolve(), lang=lang)
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"Previewing {file} at http://{shown}:{port}/ (Ctrl-C to stop)")
    try:
        run_simple(host, port, app, threaded=True, use_reloader=False, use_debugger=False)
    except OSError as exc:  # port taken, address not on this machine
        raise click.ClickException(
            f"Cannot serve on {host}:{port}: {exc.strerror or exc}. Choose another --port or "
            "--host."
        ) from exc
