"""Data managers download the study's exports: ODM 1.3.2, Define-XML 2.1, CSV and Dataset-JSON.

Each export is the file ``edc export`` writes, made by the same service: the page offers one
form per entry of :data:`services.exports.FORMATS` (with the options the entry names) and one
download endpoint per entry, ``/exports/<name>``. The file is written
to an anonymous temporary file (memory stays flat at any study size) and sent as an
attachment; the file is gone once the download is closed. Exports only read: nothing is
written to the database, the audit trail included.

A data manager exports the sites at which they hold the role; "all sites" (and AdminData,
which lists the users of every site) needs the role study-wide. A site filter naming any
other site, an unknown kind or an unreadable timestamp gets the page again with a 400.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO

from flask import Blueprint, current_app, g, request, send_file
from werkzeug.wrappers.response import Response

from services.exports import FORMATS, ExportFormat, ExportSelection, ct_version_problem, export
from storage.export_source import ODM_MODES, ExportRequestError, parse_since
from webapp import access
from webapp.errors import HttpError
from webapp.pages import render
from webapp.runtime import reading
from webapp.studyview import SiteRef, sites_of
from webapp.views.subjects import served

bp = Blueprint("exports", __name__)
WEB_OPTIONS = frozenset(
    {"mode", "site", "since", "with_metadata", "with_admin", "crf_pages", "ct_version"}
)
"""The options of :data:`services.exports.OPTIONS` this page offers (``subjects`` and
``metadata_file`` are the command line's): a format's form shows those it names."""


class RefusedExport(ValueError):
    """Parameters of an export form that name nothing: shown on the page with a 400."""


@dataclass(frozen=True, slots=True)
class Choice:
    """What the user submitted, shown again in the form when the export was refused."""

    form: str = ""
    mode: str = "snapshot"
    site: str = ""
    since: str = ""
    metadata: bool = False
    admin: bool = False
    acrf: bool = False
    ct_version: str = ""


@dataclass(frozen=True, slots=True)
class ExportsPage:
    sites: tuple[SiteRef, ...]
    """The sites the viewer may export."""
    everywhere: bool
    """The viewer may export all sites at once (a study-wide data manager)."""
    modes: tuple[str, ...]
    choice: Choice
    error: str
    formats: tuple[ExportFormat, ...] = tuple(FORMATS.values())
    """One form each, offering the options it names (of :data:`WEB_OPTIONS`)."""


@dataclass(frozen=True, slots=True)
class Scope:
    sites: tuple[SiteRef, ...]
    everywhere: bool


def _scope() -> Scope:
    """The sites the signed-in data manager may export; 403 for every other role."""
    study = served()
    viewer: access.Viewer = g.viewer
    viewer.require_anywhere(access.EXPORT, g.t("action.export"))
    with reading() as conn:
        sites = sites_of(conn, study.oid)
    mine = tuple(s for s in sites if viewer.role_at(s.oid) in access.EXPORT)
    everywhere = viewer.role_at(None) in access.EXPORT and len(mine) == len(sites)
    if not mine and not everywhere:
        raise HttpError(403, g.t("no_sites"))
    return Scope(mine, everywhere)


def _page(scope: Scope, choice: Choice | None = None, error: str = "") -> ExportsPage:
    return ExportsPage(scope.sites, scope.everywhere, ODM_MODES, choice or Choice(), error)


@bp.get("/exports")
def index() -> tuple[str, int]:
    return render("exports.html", _page(_scope()))


def _choice(form: str) -> Choice:
    return Choice(
        form=form,
        mode=request.form.get("mode", "snapshot"),
        site=request.form.get("site", ""),
        since=request.form.get("since", "").strip(),
        metadata=bool(request.form.get("metadata")),
        admin=bool(request.form.get("admin")),
        acrf=bool(request.form.get("acrf")),
        ct_version=request.form.get("ct_version", "").strip(),
    )


def _site(scope: Scope, choice: Choice) -> str | None:
    """The site filter: one of the viewer's sites, or None (all sites, if they may)."""
    allowed = ", ".join(s.code for s in scope.sites) or "–"
    if not choice.site:
        if scope.everywhere:
            return None
        raise RefusedExport(g.t("exports.choose_site", allowed=allowed))
    if choice.site not in {s.oid for s in scope.sites}:
        raise RefusedExport(g.t("exports.bad_site", site=choice.site, allowed=allowed))
    return choice.site


def _selection(scope: Scope, choice: Choice, fmt: ExportFormat) -> ExportSelection:
    """The submitted form as the service's selection; a refusal names the first bad field."""
    options = set(fmt.options)
    if "mode" in options and choice.mode not in ODM_MODES:
        raise RefusedExport(g.t("exports.bad_mode", allowed=", ".join(ODM_MODES)))
    site = _site(scope, choice) if "site" in options else None
    if "since" in options:
        try:
            parse_since(choice.since)
        except ExportRequestError as exc:
            raise RefusedExport(g.t("exports.bad_since", value=choice.since)) from exc
    ct_version = choice.ct_version if "ct_version" in options else ""
    if ct_version and ct_version_problem(ct_version):
        raise RefusedExport(g.t("exports.bad_ct_version", value=ct_version[:40]))
    if "with_admin" in options and choice.admin and not scope.everywhere:
        raise RefusedExport(g.t("exports.admin_everywhere"))
    return ExportSelection(
        served().oid,
        mode=choice.mode if "mode" in options else "snapshot",
        since=(choice.since or None) if "since" in options else None,
        site=site,
        with_metadata=choice.metadata and "with_metadata" in options,
        with_admin=choice.admin and "with_admin" in options,
        acrf=choice.acrf and "crf_pages" in options,
        ct_version=ct_version or None,
    )


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def _download(write: Callable[[IO[bytes]], object], name: str, mimetype: str) -> Response:
    """Run ``write`` into an anonymous temporary file and send that file as an attachment."""
    out = tempfile.TemporaryFile(prefix="edc-export-")  # closed by the response, or below
    try:
        write(out)
        size = out.tell()
        out.seek(0)
    except BaseException:
        out.close()
        raise
    response = send_file(
        out, mimetype=mimetype, as_attachment=True, download_name=name, conditional=False
    )
    response.content_length = size
    response.headers["Cache-Control"] = "no-store"  # clinical data: never kept by a cache
    current_app.logger.info("export %s downloaded by %s (%d bytes)", name, g.viewer.username, size)
    return response


def _refused(scope: Scope, choice: Choice, exc: RefusedExport) -> tuple[str, int]:
    return render("exports.html", _page(scope, choice, str(exc)), 400)


def _download_view(fmt: ExportFormat) -> Callable[[], tuple[str, int] | Response]:
    def view() -> tuple[str, int] | Response:
        scope = _scope()
        choice = _choice(fmt.name)
        try:
            selection = _selection(scope, choice, fmt)
        except RefusedExport as exc:
            return _refused(scope, choice, exc)

        def write(out: IO[bytes]) -> None:
            with reading() as conn:
                export(fmt.name, conn, selection, out)

        name = fmt.file_name.format(study=selection.study_oid, mode=selection.mode, stamp=_stamp())
        return _download(write, name, fmt.download_type)

    return view


for _fmt in FORMATS.values():  # /exports/odm -> endpoint exports.odm, ... one per format
    bp.add_url_rule(
        f"/exports/{_fmt.name}",
        endpoint=_fmt.name.replace("-", "_"),
        view_func=_download_view(_fmt),
        methods=["POST"],
    )
