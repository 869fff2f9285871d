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

# --- versions, publish, migrate: storage.versions --------------------------------------
