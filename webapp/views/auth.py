"""Sign in, sign out and the interface language."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import Blueprint, g, redirect, request, session, url_for
from werkzeug.wrappers.response import Response

from odm_engine.free_text import LIMITS, USERNAME, text_problem
from webapp import sessions
from webapp.pages import render
from webapp.runtime import runtime, writing

bp = Blueprint("auth", __name__)


@dataclass(frozen=True, slots=True)
class LoginPage:
    username: str
    next: str
    error: str
    notice: str


def _safe_next(target: str | None) -> str:
    """``target`` if it is a path of this site (``/x``, ``/x?y``), else the home page.

    Browsers drop tabs and line breaks from a URL and read ``\\`` as ``/``, so ``/<TAB>/evil``
    and ``/\\evil`` would lead to another host: a target holding whitespace, a control or
    format character or a backslash is refused, and so is one with a scheme or a host
    (``https:evil``, ``//evil``, ``javascript:``) or not starting with one ``/``.
    """
    home = url_for("subjects.home")
    if not target or any(c == "\\" or c.isspace() or not c.isprintable() for c in target):
        return home
    try:
        parts = urlsplit(target)
    except ValueError:  # e.g. an unclosed IPv6 host: ``http://[evil``
        return home
    if target.startswith("//") or parts.scheme or parts.netloc or not parts.path.startswith("/"):
        return home
    return target


@bp.get("/login")
def login() -> tuple[str, int] | Response:
    if g.viewer is not None:
        return redirect(_safe_next(request.args.get("next")))
    notice = g.t("login.expired") if g.expired else ""
    return render("login.html", LoginPage("", request.args.get("next", ""), "", notice))


@bp.post("/login")
def login_post() -> tuple[str, int] | Response:
    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    target = request.form.get("next", "")
    refused = text_problem(username, "Username", limit=LIMITS[USERNAME])  # issue 14: NUL was 500
    if refused is not None:
        return render("login.html", LoginPage("", target, refused, ""), 422)
    rt = runtime()
    previous = session.get("sid")
    with writing() as conn:
        result = sessions.sign_in(conn, rt.settings, username, password, request.remote_addr or "")
        if result.token is not None and isinstance(previous, str):
            sessions.sign_out(conn, previous)  # signing in again ends this browser's last session
    if result.token is None:
        if result.throttled:
            error = g.t("login.throttled", minutes=rt.settings.login_window_minutes)
            return render("login.html", LoginPage(username, target, error, ""), 429)
        return render("login.html", LoginPage(username, target, g.t("login.failed"), ""), 401)
    lang = session.get("lang")
    session.clear()
    session.permanent = True
    session["sid"] = result.token
    if isinstance(lang, str):
        session["lang"] = lang
    return redirect(_safe_next(target), 303)


@bp.post("/logout")
def logout() -> Response:
    token = session.get("sid")
    if isinstance(token, str):
        with writing() as conn:
            sessions.sign_out(conn, token)
    session.clear()
    return redirect(url_for("auth.login"), 303)


@bp.post("/language")
def language() -> Response:
    lang = request.form.get("lang", "")
    if lang in g.languages:
        session["lang"] = lang
        if g.viewer is not None:
            with writing() as conn:
                sessions.set_language(conn, g.viewer.session_hash, lang)
    return redirect(_safe_next(request.form.get("next")), 303)
