"""Sites, their subjects (list and add), each subject's casebook, and casebook signing."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, g, redirect, request, url_for
from werkzeug.wrappers.response import Response

from odm_engine.clinical import FormKey
from services import signing
from services.signing import Signing, forms_to_sign
from storage.errors import AccessDeniedError
from storage.logins import Outcome, Verdict
from storage.studies import list_sites
from storage.subjects import SubjectRef, create_subject, list_subjects, subject_snapshot
from webapp import access, sessions
from webapp.casebook import EventLine, casebook_lines, numbered
from webapp.errors import HttpError
from webapp.pages import render
from webapp.runtime import reading, runtime, writing
from webapp.studyview import (
    SiteRef,
    StudyContext,
    sites_of,
    subject_key_problem,
    subject_study,
)
from webapp.urlkeys import form_url
from webapp.views import studies

bp = Blueprint("subjects", __name__)


def served() -> StudyContext:
    if g.study is None:
        raise HttpError(404, g.t("no_study"))
    study: StudyContext = g.study
    return study


@bp.get("/")
def home() -> Response | tuple[str, int]:
    if g.several:  # several studies and none named: the list of the user's studies
        return studies.index()
    viewer: access.Viewer = g.viewer
    if viewer.holds(access.CLINICAL):
        return redirect(url_for("subjects.sites"))
    if viewer.holds_study_wide(access.DESIGN):
        return redirect(url_for("design.index"))
    if viewer.holds_study_wide(access.ADMIN):
        return redirect(url_for("admin.users"))
    raise HttpError(403, g.t("no_role"))


@dataclass(frozen=True, slots=True)
class SiteLine:
    oid: str
    code: str
    name: str
    subjects: int
    url: str
    matrix_url: str


@dataclass(frozen=True, slots=True)
class SitesPage:
    sites: tuple[SiteLine, ...]


@bp.get("/sites")
def sites() -> tuple[str, int]:
    study = served()
    viewer: access.Viewer = g.viewer
    with reading() as conn:
        counts = {s.oid: s.subjects for s in list_sites(conn, study.oid)}
        refs = sites_of(conn, study.oid)
    lines = tuple(
        SiteLine(
            s.oid,
            s.code,
            s.name,
            counts.get(s.oid, 0),
            url_for(".site", site_oid=s.oid),
            url_for("matrix.site", site_oid=s.oid),
        )
        for s in refs
        if viewer.role_at(s.oid) in access.CLINICAL
    )
    if not lines:
        raise HttpError(403, _no_sites(viewer))
    return render("sites.html", SitesPage(lines))


def _no_sites(viewer: access.Viewer) -> str:
    """Why the site list is empty: a role that is not for subjects (a designer or
    administrator holds theirs at every site), else no clinical role at any site."""
    others = sorted(
        {grant.role.value for grant in viewer.grants} - {r.value for r in access.CLINICAL}
    )
    if others and not viewer.holds(access.CLINICAL):
        return g.t("sites.not_clinical", role=", ".join(g.t(f"role.{r}") for r in others))
    return g.t("no_sites")


@dataclass(frozen=True, slots=True)
class SubjectsPage:
    site: SiteRef
    subjects: tuple[tuple[str, str], ...]
    """(SubjectKey, casebook URL)."""
    can_add: bool
    new_key: str
    error: str
    example: str


def _site(site_oid: str) -> SiteRef:
    with reading() as conn:
        found = [s for s in sites_of(conn, served().oid) if s.oid == site_oid]
    if not found or g.viewer.role_at(site_oid) not in access.CLINICAL:
        raise HttpError(404, "")
    return found[0]


def _subjects_page(site: SiteRef, new_key: str = "", error: str = "") -> SubjectsPage:
    with reading() as conn:
        keys = list_subjects(conn, served().oid, site.oid)
    return SubjectsPage(
        site=site,
        subjects=tuple((k, url_for(".casebook", subject_key=k)) for k in keys),
        can_add=g.viewer.role_at(site.oid) in access.ENTER,
        new_key=new_key,
        error=error,
        example=f"{site.code}-{len(keys) + 1:03d}",
    )


@bp.get("/sites/<key:site_oid>/subjects")
def site(site_oid: str) -> tuple[str, int]:
    return render("subjects.html", _subjects_page(_site(site_oid)))


@bp.post("/sites/<key:site_oid>/subjects")
def add_subject(site_oid: str) -> tuple[str, int] | Response:
    where = _site(site_oid)
    role = g.viewer.require(access.ENTER, site_oid, g.t("action.add_subject"))
    key = request.form.get("subject_key", "").strip()
    problem = subject_key_problem(key, where)
    if problem is None:
        with writing() as conn:
            try:
                create_subject(
                    conn,
                    study=served().oid,
                    subject_key=key,
                    site_oid=site_oid,
                    user=g.viewer.username,
                    role=role,
                )
            except ValueError:
                problem = g.t("subject.exists", key=key)
    if problem is not None:
        return render("subjects.html", _subjects_page(where, key, problem), 422)
    return redirect(url_for(".casebook", subject_key=key), 303)


@dataclass(frozen=True, slots=True)
class CasebookPage:
    subject_key: str
    site: str
    events: tuple[EventLine, ...]
    can_sign: bool
    sign_url: str
    broken: int
    signed: int

    def form_url(self, key: FormKey) -> str:
        return form_url("entry.form", self.subject_key, key)


@bp.get("/subjects/<key:subject_key>")
def casebook(subject_key: str) -> tuple[str, int]:
    study = served()
    with reading() as conn:
        subject = access.visible_subject(conn, g.viewer, study.oid, subject_key)
        study = subject_study(conn, study, subject)  # the version the subject is on
        snapshot = subject_snapshot(conn, study.oid, subject_key)
        events = casebook_lines(conn, study, subject, snapshot, g.lang)
    sigs = [f.signature for e in events for f in e.forms if f.signature is not None]
    page = CasebookPage(
        subject_key=subject_key,
        site=subject.site_oid or "",
        events=events,
        can_sign=g.viewer.role_at(subject.site_oid) in access.SIGN,
        sign_url=url_for(".sign", subject_key=subject_key),
        broken=sum(not s.valid for s in sigs),
        signed=sum(s.valid for s in sigs),
    )
    return render("casebook.html", page)


@dataclass(frozen=True, slots=True)
class SignPage:
    subject_key: str
    meaning: str
    legal_reason: str
    forms: tuple[str, ...]
    error: str
    casebook_url: str


def _signature_def(study: StudyContext) -> tuple[str, str, str]:
    if study.signature_defs:
        sd = study.signature_defs[0]
        return sd.oid, sd.meaning, sd.legal_reason
    return "SD.WEB", g.t("sign.default_meaning"), ""


def _to_sign(subject: SubjectRef) -> list[tuple[FormKey, int, str]]:
    """Forms with data whose current content carries no valid signature: (key, version, name)."""
    study = served()
    with reading() as conn:
        todo = forms_to_sign(conn, subject)
    return [
        (key, version, numbered(study.form_name(key.form_oid, g.lang), key.form_repeat_key))
        for key, version in todo
    ]


def _sign_page(subject: SubjectRef, error: str = "") -> SignPage:
    _, meaning, legal = _signature_def(served())
    return SignPage(
        subject.subject_key,
        meaning,
        legal,
        tuple(name for _, _, name in _to_sign(subject)),
        error,
        url_for(".casebook", subject_key=subject.subject_key),
    )


@bp.get("/subjects/<key:subject_key>/sign")
def sign(subject_key: str) -> tuple[str, int]:
    with reading() as conn:
        subject = access.visible_subject(conn, g.viewer, served().oid, subject_key)
    page = _sign_page(subject)
    g.viewer.require(access.SIGN, subject.site_oid, g.t("action.sign"))
    return render("sign.html", page)


@bp.post("/subjects/<key:subject_key>/sign")
def sign_post(subject_key: str) -> tuple[str, int] | Response:
    study = served()
    with reading() as conn:
        subject = access.visible_subject(conn, g.viewer, study.oid, subject_key)
    role = g.viewer.require(access.SIGN, subject.site_oid, g.t("action.sign"))
    oid, meaning, _ = _signature_def(study)
    todo = _to_sign(subject)
    if not todo:
        return render("sign.html", _sign_page(subject, g.t("sign.nothing")), 409)
    settings = runtime().settings
    signer = Signing(
        g.viewer.username,
        request.form.get("password", ""),
        role,
        oid,
        meaning,
        request.remote_addr or "",
    )
    forms = [(key, version) for key, version, _name in todo]
    try:
        with writing() as conn:
            # A wrong signature password is a failed sign-in: counted in the same lockout,
            # logged as signature_failed with the client address, committed as such.
            verdict = signing.sign(conn, subject, forms, signer, sessions.limits(settings))
    except AccessDeniedError:
        verdict = Verdict(Outcome.REFUSED)
    if verdict.outcome is Outcome.THROTTLED:
        error = g.t("login.throttled", minutes=settings.login_window_minutes)
        return render("sign.html", _sign_page(subject, error), 429)
    if verdict.outcome is not Outcome.ACCEPTED:
        return render("sign.html", _sign_page(subject, g.t("sign.wrong_password")), 422)
    return redirect(url_for(".casebook", subject_key=subject_key), 303)
