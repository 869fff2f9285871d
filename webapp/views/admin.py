"""Administrators manage users: add a user with a role at a site (or every site), change roles."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, g, redirect, request, url_for
from werkzeug.wrappers.response import Response

from storage.errors import NotFoundError
from storage.models import Role
from storage.users import AccessEntry, access_log, add_user, list_users, set_role
from webapp import access
from webapp.pages import render
from webapp.runtime import reading, writing
from webapp.studyview import SiteRef, sites_of
from webapp.views.subjects import served

bp = Blueprint("admin", __name__)
ROLES = tuple(r.value for r in Role)
MIN_PASSWORD = 10
LOG_ROWS = 200


@dataclass(frozen=True, slots=True)
class UserLine:
    username: str
    full_name: str
    active: bool
    roles: str


@dataclass(frozen=True, slots=True)
class UsersPage:
    users: tuple[UserLine, ...]
    roles: tuple[str, ...]
    sites: tuple[SiteRef, ...]
    error: str
    notice: str
    log: tuple[AccessEntry, ...]
    """The newest rows of the access log (who added users, granted and revoked roles)."""


def _page(error: str = "", notice: str = "") -> UsersPage:
    study = served()
    with reading() as conn:
        users = list_users(conn)
        sites = sites_of(conn, study.oid)
        log = access_log(conn, limit=LOG_ROWS)
    lines = tuple(
        UserLine(
            u.username,
            u.full_name,
            u.active,
            ", ".join(
                f"{r.role.value}@{r.site_oid or '*'}" for r in u.roles if r.study_oid == study.oid
            ),
        )
        for u in users
    )
    return UsersPage(lines, ROLES, tuple(sites), error, notice, tuple(log))


@bp.get("/admin/users")
def users() -> tuple[str, int]:
    g.viewer.require_anywhere(access.ADMIN, g.t("action.admin"))
    return render("users.html", _page(notice=request.args.get("done", "")))


def _role_and_site() -> tuple[str, str | None]:
    role = request.form.get("role", "")
    site = request.form.get("site", "") or None
    if role not in ROLES:
        raise ValueError(g.t("users.bad_role"))
    return role, site


@bp.post("/admin/users")
def add() -> tuple[str, int] | Response:
    g.viewer.require_anywhere(access.ADMIN, g.t("action.admin"))
    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    try:
        role, site = _role_and_site()
        if len(password) < MIN_PASSWORD:
            raise ValueError(g.t("users.short_password", n=MIN_PASSWORD))
        with writing() as conn:
            by = g.viewer.username
            add_user(conn, username, password, full_name=request.form.get("full_name", ""), by=by)
            set_role(conn, username, served().oid, role, site_oid=site, by=by)
    except (ValueError, NotFoundError) as exc:
        return render("users.html", _page(error=str(exc)), 422)
    return redirect(url_for(".users", done=username), 303)


@bp.post("/admin/users/<username>/role")
def role(username: str) -> tuple[str, int] | Response:
    g.viewer.require_anywhere(access.ADMIN, g.t("action.admin"))
    try:
        role, site = _role_and_site()
        with writing() as conn:
            set_role(conn, username, served().oid, role, site_oid=site, by=g.viewer.username)
    except (ValueError, NotFoundError) as exc:
        return render("users.html", _page(error=str(exc)), 422)
    return redirect(url_for(".users", done=username), 303)
