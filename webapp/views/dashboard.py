"""The dashboard (issue 18): a study's progress for its monitors and data managers.

Who sees it: the roles of ``access.DASHBOARD`` (monitors, data managers), counted over the
sites where they hold one of them; investigators get 403 (they follow their own subjects on
the site pages). ``?site=`` narrows the figures to one of those sites; any other value is a
400. Each table is also served as its chart (``image/svg+xml``, drawn by pygal on the
server, no script) and as CSV, from the same numbers (:mod:`services.dashboard`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask import Blueprint, Response, g, request, url_for

from services.dashboard import TABLES, Table, dashboard_tables, table_csv, table_svg
from webapp import access
from webapp.errors import HttpError
from webapp.pages import render
from webapp.runtime import reading
from webapp.studyview import SiteRef, StudyContext, sites_of
from webapp.views.subjects import served

bp = Blueprint("dashboard", __name__)

SVG_POLICY = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
"""The chart's own Content-Security-Policy: pygal styles its SVG with a ``<style>`` element
and style attributes; no script, no fetch, whether it is shown by the page's ``<img>`` or
opened on its own."""


@dataclass(frozen=True, slots=True)
class ShownTable:
    table: Table
    chart_url: str
    csv_url: str


@dataclass(frozen=True, slots=True)
class DashboardPage:
    scope: str
    site: str
    sites: tuple[SiteRef, ...]
    tables: tuple[ShownTable, ...]


@dataclass(frozen=True, slots=True)
class Scope:
    study: StudyContext
    site: str
    """The site asked for (``""``: all the viewer's sites)."""
    sites: tuple[SiteRef, ...]
    """The sites the viewer may see the dashboard of."""
    counted: tuple[str, ...] | None
    """The sites counted; None: every subject (a study-wide viewer, no site chosen)."""


def _scope() -> Scope:
    study = served()
    g.viewer.require_anywhere(access.DASHBOARD, g.t("action.read_dashboard"))
    with reading() as conn:
        every = sites_of(conn, study.oid)
    mine = tuple(s for s in every if g.viewer.role_at(s.oid) in access.DASHBOARD)
    site = request.args.get("site", "")
    if site:
        if site not in {s.oid for s in mine}:
            raise HttpError(400, g.t("dash.bad_site"))
        return Scope(study, site, mine, (site,))
    if g.viewer.holds_study_wide(access.DASHBOARD):
        return Scope(study, "", mine, None)
    return Scope(study, "", mine, tuple(s.oid for s in mine))


def _tables(scope: Scope, only: str | None = None) -> tuple[Table, ...]:
    lang = g.lang
    with reading() as conn:
        return dashboard_tables(
            conn,
            scope.study.oid,
            scope.counted,
            words=g.t,
            form_name=lambda oid: scope.study.form_name(oid, lang),
            only=only,
        )


@bp.get("/dashboard")
def index() -> tuple[str, int]:
    scope = _scope()
    args = {"site": scope.site} if scope.site else {}
    shown = tuple(
        ShownTable(
            table,
            url_for("dashboard.chart", name=table.name, **args),
            url_for("dashboard.csv", name=table.name, **args),
        )
        for table in _tables(scope)
    )
    where = g.t("dash.scope_site", site=scope.site) if scope.site else g.t("dash.scope_all")
    return render("dashboard.html", DashboardPage(where, scope.site, scope.sites, shown))


def _one(name: str) -> tuple[Scope, Table]:
    scope = _scope()
    if name not in TABLES:
        raise HttpError(404, g.t("dash.bad_table"))
    return scope, _tables(scope, name)[0]


@bp.get("/dashboard/<name>.svg")
def chart(name: str) -> Response:
    _, table = _one(name)
    response = Response(table_svg(table), mimetype="image/svg+xml")
    response.headers["Content-Security-Policy"] = SVG_POLICY
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/dashboard/<name>.csv")
def csv(name: str) -> Response:
    scope, table = _one(name)
    where = re.sub(r"[^A-Za-z0-9_.-]", "_", scope.site) if scope.site else "all"
    response = Response(table_csv(table), mimetype="text/csv")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="dashboard-{table.name}-{where}.csv"'
    )
    response.headers["Cache-Control"] = "no-store"
    return response
