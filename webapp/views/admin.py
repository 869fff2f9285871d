"""Administrators manage users: add a user with a role at a site (or every site), change and
revoke roles, deactivate and reactivate accounts, reset passwords (a one-time password shown
once). Administrators act on the whole study: a site-scoped grant opens none of this."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import Blueprint, g, redirect, render_template, request, url_for
from werkzeug.wrappers.response import Response

from storage.accounts import activate_user, deactivate_user, reset_password, revoke_role
from storage.errors import NotFoundError, PolicyError
from storage.passwords import MIN_LENGTH
from storage.users import AccessEntry, access_log, add_user, list_users, set_role
from storage.vocabulary import Role
from webapp import access
from webapp.errors import HttpError
from webapp.pages import chrome, render
from webapp.runtime import reading, writing
from webapp.studyview import SiteRef, sites_of
from webapp.views.account import policy_message
from webapp.views.subjects import served

bp = Blueprint("admin", __name__)
ROLES = tuple(r.value for r in Role)
LOG_ROWS = 200


@dataclass(frozen=True, slots=True)
class GrantLine:
    role: str
    site: str
    """The site OID, "" for every site."""
    label: str


@dataclass(frozen=True, slots=True)
class UserLine:
    username: str
    full_name: str
    active: bool
    grants: tuple[GrantLine, ...]


@dataclass(frozen=True, slots=True)
class UsersPage:
    users: tuple[UserLine, ...]
    roles: tuple[str, ...]
    sites: tuple[SiteRef, ...]
    error: str
    notice: str
    log: tuple[AccessEntry, ...]
    """The newest rows of the access log (who added users, granted and revoked roles)."""
    one_time: tuple[str, str] | None = None
    """(username, one-time password) right after a reset: shown on this page only."""
    min_length: int = MIN_LENGTH


def _page(error: str = "", notice: str = "", one_time: tuple[str, str] | None = None) -> UsersPage:
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
            tuple(
                GrantLine(r.role.value, r.site_oid or "", f"{r.role.value}@{r.site_oid or '*'}")
                for r in u.roles
                if r.study_oid == study.oid
            ),
        )
        for u in users
    )
    return UsersPage(lines, ROLES, tuple(sites), error, notice, tuple(log), one_time)


def _admin() -> str:
    """The signed-in administrator's name (403 unless an administrator of the whole study)."""
    g.viewer.require_study_wide(access.ADMIN, g.t("action.admin"))
    return str(g.viewer.username)


def _refused(exc: Exception) -> tuple[str, int]:
    """The users page again with why the change was refused (404: no such user)."""
    if isinstance(exc, NotFoundError) and str(exc).startswith("No user "):
        raise HttpError(404, str(exc)) from exc
    message = policy_message(exc) if isinstance(exc, PolicyError) else str(exc)
    return render("users.html", _page(error=message), 422)


@bp.get("/admin/users")
def users() -> tuple[str, int]:
    _admin()
    return render("users.html", _page(notice=request.args.get("done", "")))


def _role_and_site() -> tuple[str, str | None]:
    role = request.form.get("role", "")
    site = request.form.get("site", "") or None
    if role not in ROLES:
        raise ValueError(g.t("users.bad_role"))
    return role, site


@bp.post("/admin/users")
def add() -> tuple[str, int] | Response:
    by = _admin()
    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    try:
        role, site = _role_and_site()
        client, full_name = request.remote_addr, request.form.get("full_name", "")
        with writing() as conn:
            add_user(conn, username, password, full_name=full_name, by=by, client=client)
            set_role(conn, username, served().oid, role, site_oid=site, by=by, client=client)
    except (ValueError, NotFoundError) as exc:
        return _refused(exc)
    return redirect(url_for(".users", done=username), 303)


def _grant_form() -> dict[str, str | None]:
    """The study, role and site a role change names (ValueError: a role there is none of)."""
    role, site = _role_and_site()
    return {"study_oid": served().oid, "role": role, "site_oid": site}


def _change(
    username: str, change: Callable[..., object], *, grant: bool = False
) -> tuple[str, int] | Response:
    """One change to a user, made by the signed-in administrator in one write: back to the
    users page naming the user, or the page again with why it was refused. A grant change
    (set or revoke a role) reads the role and site from the form first."""
    by = _admin()
    try:
        named = _grant_form() if grant else {}
        with writing() as conn:
            change(conn, username, by=by, client=request.remote_addr, **named)
    except (ValueError, NotFoundError) as exc:
        return _refused(exc)
    return redirect(url_for(".users", done=username), 303)


@bp.post("/admin/users/<username>/role")
def role(username: str) -> tuple[str, int] | Response:
    return _change(username, set_role, grant=True)


@bp.post("/admin/users/<username>/revoke")
def revoke(username: str) -> tuple[str, int] | Response:
    return _change(username, revoke_role, grant=True)


@bp.post("/admin/users/<username>/deactivate")
def deactivate(username: str) -> tuple[str, int] | Response:
    """The account can no longer sign in or act; its open sessions end at once."""
    return _change(username, deactivate_user)


@bp.post("/admin/users/<username>/activate")
def activate(username: str) -> tuple[str, int] | Response:
    return _change(username, activate_user)


@bp.post("/admin/users/<username>/password")
def reset(username: str) -> tuple[str, int] | Response:
    """A one-time password, shown on this response only (never stored in clear, never kept
    in the page memo); the user must change it at the next sign-in."""
    by = _admin()
    try:
        with writing() as conn:
            once = reset_password(conn, username, by=by, client=request.remote_addr)
    except (ValueError, NotFoundError) as exc:
        return _refused(exc)
    page = _page(one_time=(username, once))
    return render_template("users.html", chrome=chrome(), page=page), 200
