"""The app factory: ``create_app(settings)`` builds the Flask app; nothing happens at import.

Each request: find the study it is for (``/studies/<OID>/...``, else EDC_STUDY, else the only
one), look up the session in the database, check the CSRF token of a POST, then require a
signed-in user for every page but sign-in and static files. A URL naming a study where the
user holds no role (or no such study) is a 404.
Every response gets the security headers; every error goes through one handler.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from flask import Flask, Request, Response, current_app, g, redirect, request, session, url_for
from jinja2 import StrictUndefined, TemplateError
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.wrappers.response import Response as BaseResponse

from renderers.html import STATIC_DIR
from storage.engine import DATABASE_ERRORS, Connection
from storage.readers.listings import hosted_studies
from webapp import cookies, error_pages, errors, security, sessions
from webapp.i18n import catalogue, choose_language
from webapp.runtime import Runtime, end_reading, make_runtime, reading, runtime, writing
from webapp.settings import Settings
from webapp.studyview import (
    STUDIES,
    UI_LANGUAGES,
    SeveralStudies,
    StudyContext,
    served_study,
)
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
WHOLE_SERVER = frozenset({"studies.index", "studies.create"})
"""Pages about every study the user may open: no study is looked up, the user's roles in
every study count."""
UNSCOPED = PUBLIC | PASSWORD_GATE_OPEN | WHOLE_SERVER
"""Endpoints that belong to no study: every other one is also served under STUDY_PREFIX."""
STUDY_PREFIX = "/studies/<key:study_oid>"


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
    if settings.proxy_hops > 0:  # the client's address and scheme as the balancer saw them
        hops = settings.proxy_hops
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    app.url_map.converters["key"] = KeyConverter
    # A form instance's long URL with both repeat keys empty (``.../~/F.X/~``) is served as
    # is, like its short URL: no redirect that a POST would have to follow.
    app.url_map.redirect_defaults = False
    app.add_url_rule("/static/form/<path:filename>", "form_static", _form_static, methods=["GET"])
    from webapp.views import (  # noqa: PLC0415
        account,
        admin,
        auth,
        dashboard,
        design,
        entry,
        exports,
        matrix,
        queries,
        studies,
        subjects,
        versions,
    )

    for module in (
        auth,
        account,
        subjects,
        matrix,
        entry,
        queries,
        dashboard,
        exports,
        design,
        admin,
        studies,
        versions,
    ):
        app.register_blueprint(module.bp)
    _serve_under_study_prefix(app)
    app.before_request(_before)
    app.after_request(_after)
    app.teardown_request(end_reading)
    error_pages.register(app)
    return app


def _serve_under_study_prefix(app: Flask) -> None:
    """Each study-scoped rule gets a twin under ``/studies/<OID>``: same endpoint, methods and
    defaults. Building a URL picks the twin when ``study_oid`` is given (werkzeug tries the
    rule with more arguments first), so ``url_for`` keeps a page's links in its study
    (:func:`_link_within_study`) and the unprefixed URLs of a one-study server stay as
    they were."""
    scoped: set[str] = set()
    for rule in list(app.url_map.iter_rules()):
        if rule.endpoint in UNSCOPED or rule.endpoint == "static":
            continue
        methods = sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
        app.add_url_rule(
            STUDY_PREFIX + rule.rule,
            endpoint=rule.endpoint,
            methods=methods,
            defaults=dict(rule.defaults) if rule.defaults else None,
        )
        scoped.add(rule.endpoint)
    app.extensions["edc_study_endpoints"] = frozenset(scoped)
    app.url_value_preprocessor(_take_study)
    app.url_defaults(_link_within_study)


def _take_study(endpoint: str | None, values: dict[str, object] | None) -> None:
    """The URL's study OID goes to ``g.study_oid`` (None without the prefix), not to views."""
    g.study_oid = values.pop("study_oid", None) if values else None


def _link_within_study(endpoint: str, values: dict[str, object]) -> None:
    oid = g.get("study_oid")
    if oid and "study_oid" not in values:
        if endpoint in current_app.extensions["edc_study_endpoints"]:
            values["study_oid"] = oid


def warm_up(app: Flask) -> None:
    """Build what the first requests would (the served study's context, or each hosted
    study's, as many as the memo keeps; the compiled page templates) before the worker takes
    requests. Whatever fails here (no study loaded yet, a database not reachable) is left to
    the requests, which report it."""
    rt: Runtime = app.extensions["edc"]
    try:
        with app.app_context(), rt.engine.connect() as conn:
            try:
                served_study(conn, rt.settings)
            except SeveralStudies:
                for hosted in hosted_studies(conn)[: STUDIES.bound]:
                    served_study(conn, rt.settings, hosted.oid)
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
    state.several = False
    state.expired = False
    state.lang, state.languages = "en", ("en",)
    state.t = catalogue("en")
    if req.endpoint in ("static", "form_static"):
        return None
    named = state.get("study_oid")
    with reading() as conn:
        state.study, state.several = _find_study(conn, rt, req.endpoint, named)
        study_oid = state.study.oid if state.study is not None else named
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
    state.languages = (
        state.study.languages
        if state.study is not None
        else UI_LANGUAGES  # the studies list: every interface language
        if state.several or req.endpoint in WHOLE_SERVER
        else ("en",)
    )
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
    return _study_gate(req, named)


def _find_study(
    conn: Connection, rt: Runtime, endpoint: str | None, named: str | None
) -> tuple[StudyContext | None, bool]:
    """(the request's study, whether the database holds several and the URL names none)."""
    if endpoint in WHOLE_SERVER:
        return None, False
    try:
        return served_study(conn, rt.settings, named), False
    except SeveralStudies:
        return None, True


def _study_gate(req: Request, named: str | None) -> BaseResponse | None:
    """A study the URL names must exist and the user must hold a role in it: 404 otherwise,
    the same answer for both, so the URL reveals nothing to whom holds no role. A study
    page without a study when several are hosted: to the home page, which lists them."""
    if named is not None and (g.study is None or not g.viewer.grants):
        raise errors.HttpError(404, "")
    if g.several and req.endpoint not in UNSCOPED and req.endpoint != "subjects.home":
        return redirect(url_for("subjects.home"))
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
