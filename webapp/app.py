"""The app factory: ``create_app(settings)`` builds the Flask app; nothing happens at import.

Each request: find the served study, look up the session in the database, check the CSRF
token of a POST, then require a signed-in user for every page but sign-in and static files.
Every response gets the security headers; every error goes through one handler.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from flask import Flask, Request, Response, g, redirect, request, session, url_for
from jinja2 import StrictUndefined, TemplateError
from werkzeug.wrappers.response import Response as BaseResponse

from renderers.html import STATIC_DIR
from storage.engine import DATABASE_ERRORS
from webapp import cookies, error_pages, errors, security, sessions
from webapp.i18n import catalogue, choose_language
from webapp.runtime import Runtime, end_reading, make_runtime, reading, runtime, writing
from webapp.settings import Settings
from webapp.studyview import served_study
from webapp.urlkeys import KeyConverter

HERE = Path(__file__).resolve().parent
PUBLIC = frozenset(
    {"auth.login", "auth.login_post", "auth.logout", "auth.language", "static", "form_static"}
)
SESSION_KEY = "sid"
PASSWORD_GATE_OPEN = frozenset(
    {"account.password", "account.password_post", "auth.logout", "auth.language"}
)
"""What a user whose password an administrator reset may open before changing it."""


def create_app(settings: Settings | None = None) -> Flask:
    """The web app for ``settings`` (default: EDC_* environment variables and defaults)."""
    settings = settings or Settings.load()
    app = Flask(
        "webapp",
        root_path=str(HERE),
        template_folder="templates",
        static_folder="static",
    )
    app.jinja_options = {"undefined": StrictUndefined, "autoescape": True}
    rt: Runtime = make_runtime(settings)
    app.extensions["edc"] = rt
    app.secret_key = rt.secret_key
    app.session_interface = cookies.SessionInterface()
    app.config.update(
        SESSION_COOKIE_NAME="edc_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.cookie_secure,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=settings.session_max_hours),
        # The cookie is signed once, at sign-in, to expire with the session's absolute end;
        # idle expiry is kept in web_sessions. Re-signing it on every response cost a
        # serialisation, an HMAC and a Set-Cookie header per request for nothing.
        SESSION_REFRESH_EACH_REQUEST=False,
        MAX_CONTENT_LENGTH=settings.max_upload_mb * 1024 * 1024,
    )
    app.url_map.converters["key"] = KeyConverter
    # A form instance's long URL with both repeat keys empty (``.../~/F.X/~``) is served as
    # is, like its short URL: no redirect that a POST would have to follow.
    app.url_map.redirect_defaults = False
    app.add_url_rule("/static/form/<path:filename>", "form_static", _form_static, methods=["GET"])
    from webapp.views import (  # noqa: PLC0415
        account,
        admin,
        auth,
        design,
        entry,
        exports,
        queries,
        subjects,
    )

    for module in (auth, account, subjects, entry, queries, exports, design, admin):
        app.register_blueprint(module.bp)
    app.before_request(_before)
    app.after_request(_after)
    app.teardown_request(end_reading)
    error_pages.register(app)
    return app


def warm_up(app: Flask) -> None:
    """Build what the first requests would (the served study's context, the compiled page
    templates) before the worker takes requests. Whatever fails here (no study loaded yet,
    a database not reachable) is left to the requests, which report it."""
    rt: Runtime = app.extensions["edc"]
    try:
        with app.app_context(), rt.engine.connect() as conn:
            served_study(conn, rt.settings)
            for name in app.jinja_env.list_templates():
                app.jinja_env.get_template(name)
    except DATABASE_ERRORS as exc:
        app.logger.info("warm-up skipped: %s", exc)
    except (errors.HttpError, TemplateError) as exc:
        app.logger.info("warm-up skipped: %s", exc)


def _form_static(filename: str) -> Response:
    from flask import send_from_directory  # noqa: PLC0415

    return send_from_directory(STATIC_DIR, filename, max_age=3600)


def _before() -> BaseResponse | None:
    # The request, g and the session taken out of their context proxies once: each proxy
    # access costs a context lookup, and this runs on every request.
    req, state, cookie = (
        request._get_current_object(),
        g._get_current_object(),
        session._get_current_object(),
    )
    rt = runtime()
    state.viewer = None
    state.study = None
    state.expired = False
    state.lang, state.languages = "en", ("en",)
    state.t = catalogue("en")
    if req.endpoint in ("static", "form_static"):
        return None
    with reading() as conn:
        state.study = served_study(conn, rt.settings)
        study_oid = state.study.oid if state.study is not None else None
        token = cookie.get(SESSION_KEY)
        found = (
            sessions.look_up(conn, rt.settings, token, study_oid)
            if isinstance(token, str)
            else sessions.Lookup(None)
        )
    if found.expired or (isinstance(token, str) and found.viewer is None):
        with writing() as conn:
            sessions.end_expired(conn, str(token))
        cookie.pop(SESSION_KEY, None)
        state.expired = found.expired
    elif found.touch and found.viewer is not None:
        with writing() as conn:
            sessions.touch(conn, found.viewer.session_hash)
    state.viewer = found.viewer
    state.languages = state.study.languages if state.study is not None else ("en",)
    state.lang = choose_language(
        (state.viewer.lang if state.viewer else None) or cookie.get("lang"),
        req.accept_languages,
        state.languages,
    )
    state.t = catalogue(state.lang)
    if req.routing_exception is not None:
        return None  # 404 / 405: the error handler answers
    security.check_csrf()
    if state.viewer is None and req.endpoint not in PUBLIC:
        if req.method == "GET":
            return redirect(url_for("auth.login", next=req.full_path.rstrip("?")))
        raise errors.HttpError(401, "Sign in first.")
    if state.viewer is not None and state.viewer.must_change_password:
        return _password_gate(req)
    return None


def _password_gate(req: Request) -> BaseResponse | None:
    """After an administrator's reset, only the password change (and signing out) opens."""
    if req.endpoint in PASSWORD_GATE_OPEN or req.endpoint in PUBLIC:
        return None
    if req.method == "GET":
        return redirect(url_for("account.password"))
    raise errors.HttpError(403, g.t("account.must_change"))


def _after(response: Response) -> Response:
    return security.add_headers(response)
