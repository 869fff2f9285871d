"""Data managers download the study's exports: ODM 1.3.2, Define-XML 2.1, CSV and Dataset-JSON.

Each export is the file ``edc export`` writes, made by the same functions:
:mod:`storage.export_source` picks what is read, the renderers write it. The file is written
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

from renderers.define import DefineOptions, write_define
from renderers.odm import export_options, write_odm
from renderers.tabular import write_csv, write_dataset_json, write_zip
from storage.export_source import (
    ODM_MODES,
    ExportRequestError,
    OdmSelection,
    odm_source,
    parse_since,
    tabular_source,
)
from storage.studies import current_metadata
from webapp import access
from webapp.errors import HttpError
from webapp.pages import render
from webapp.runtime import reading
from webapp.studyview import SiteRef, sites_of
from webapp.views.subjects import served

bp = Blueprint("exports", __name__)
XML = "application/xml"
ZIP = "application/zip"
TABULAR = {"csv": write_csv, "dataset-json": write_dataset_json}


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


@dataclass(frozen=True, slots=True)
class ExportsPage:
    sites: tuple[SiteRef, ...]
    """The sites the viewer may export."""
    everywhere: bool
    """The viewer may export all sites at once (a study-wide data manager)."""
    modes: tuple[str, ...]
    choice: Choice
    error: str


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


def _odm_selection(scope: Scope, choice: Choice) -> OdmSelection:
    if choice.mode not in ODM_MODES:
        raise RefusedExport(g.t("exports.bad_mode", allowed=", ".join(ODM_MODES)))
    site = _site(scope, choice)
    try:
        since = parse_since(choice.since)
    except ExportRequestError as exc:
        raise RefusedExport(g.t("exports.bad_since", value=choice.since)) from exc
    if choice.admin and not scope.everywhere:
        raise RefusedExport(g.t("exports.admin_everywhere"))
    return OdmSelection(
        mode=choice.mode,
        since=since,
        site=site,
        with_metadata=choice.metadata,
        with_admin=choice.admin,
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


@bp.post("/exports/odm")
def odm() -> tuple[str, int] | Response:
    scope = _scope()
    choice = _choice("odm")
    try:
        selection = _odm_selection(scope, choice)
    except RefusedExport as exc:
        return _refused(scope, choice, exc)
    study_oid = served().oid
    options = export_options(study_oid, selection.file_type, since=choice.since or None)

    def write(out: IO[bytes]) -> None:
        with reading() as conn:
            source = odm_source(conn, study_oid, selection)
            write_odm(
                out,
                source.records,
                options,
                metadata=source.metadata,
                admin=source.admin,
                study_oid=source.study_oid,
            )

    name = f"{study_oid}-odm-{selection.mode}-{_stamp()}.xml"
    return _download(write, name, XML)


@bp.post("/exports/define")
def define() -> Response:
    _scope()
    study_oid = served().oid

    def write(out: IO[bytes]) -> None:
        with reading() as conn:
            odm = current_metadata(conn, study_oid).odm
        out.write(write_define(odm, DefineOptions(), study_oid=study_oid))

    return _download(write, "define.xml", XML)


def _tabular(kind: str) -> tuple[str, int] | Response:
    scope = _scope()
    choice = _choice(kind)
    try:
        site = _site(scope, choice)
    except RefusedExport as exc:
        return _refused(scope, choice, exc)
    study_oid = served().oid

    def write(out: IO[bytes]) -> None:
        with reading() as conn:
            source = tabular_source(conn, study_oid, site=site)
            write_zip(out, TABULAR[kind], source.odm, source.records, study_oid=study_oid)

    return _download(write, f"{study_oid}-{kind}-{_stamp()}.zip", ZIP)


@bp.post("/exports/csv")
def csv() -> tuple[str, int] | Response:
    return _tabular("csv")


@bp.post("/exports/dataset-json")
def dataset_json() -> tuple[str, int] | Response:
    return _tabular("dataset-json")
