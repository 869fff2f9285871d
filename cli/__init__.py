"""The ``edc`` command line: thin adapters over the layers below (parse the input, call one
service or store function, present the result). Domain errors become click errors here, in
one place (:class:`EdcGroup` and :func:`cli._common.domain_errors`).

One module per command group: :mod:`cli.metadata` (validate, info, check, render),
:mod:`cli.data` (import, export, audit), :mod:`cli.admin` (db, study, site, user, serve,
demo) and :mod:`cli.printing` (print). Every module imports only click and the standard
library at the top, so ``edc COMMAND --help`` stays under 0.2 s.
"""

from __future__ import annotations

import sys

import click

from cli import admin, amendments, data, design, metadata, preview, printing
from cli._common import domain_errors, missing_table, no_study
from odm_engine.errors import EdcError

__all__ = ["amendments", "domain_errors", "main"]


def _dbapi_error(exc: BaseException) -> bool:
    """A database fault. SQLAlchemy is not imported for it: if no command loaded it, the
    exception cannot be one of its errors."""
    sa_exc = sys.modules.get("sqlalchemy.exc")
    return sa_exc is not None and isinstance(exc, sa_exc.DBAPIError)


class EdcGroup(click.Group):
    """The last resort for faults no command translated: an :class:`EdcError` left over
    becomes a clean error (exit 1), a database fault one message. Commands translate
    refused input themselves with :func:`cli._common.domain_errors` (exit 2)."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except EdcError as exc:
            raise click.ClickException(str(exc)) from exc
        except Exception as exc:
            if not _dbapi_error(exc):
                raise
            url = ctx.meta.get("edc.database_url")
            if url and missing_table(exc):
                raise no_study(url) from exc
            orig = getattr(exc, "orig", None)
            reason = str(orig).strip().splitlines()[0] if orig else type(exc).__name__
            if isinstance(exc, sys.modules["sqlalchemy.exc"].DataError):  # the input's fault
                raise click.UsageError(
                    f"The database refused a value ({reason}); nothing was written. A text, key "
                    "or OID of the input is longer than the database keeps or holds a character "
                    "it cannot store: correct the input and run the command again."
                ) from exc
            # Disk full, read-only file, server gone: the transaction was rolled back.
            raise click.ClickException(
                f"The database refused the work ({reason}); nothing was written. Fix the "
                "database (space, permissions, server) and run the command again."
            ) from exc


@click.group(cls=EdcGroup)
@click.version_option(package_name="odm-edc")
def main() -> None:
    """ODM-native EDC: validate, check, store, render and exchange CDISC ODM studies."""


for _command in (
    metadata.validate,
    metadata.info,
    metadata.check,
    metadata.render,
    metadata.explain,
    admin.db,
    admin.study,
    admin.site,
    admin.user,
    data.audit,
    data.import_,
    data.export,
    admin.serve,
    admin.demo,
    printing.print_,
    preview.preview,
    design.design,
):
    main.add_command(_command)
