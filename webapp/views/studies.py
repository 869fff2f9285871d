"""The studies a user may open (the home page of a server hosting several) and a new study.

Every study-scoped page is served under ``/studies/<StudyOID>/...`` (see ``webapp.app``).
Here the user's roles in every study count: the list shows the studies where the user holds
a role, with a link each (an administrator sees every study, those without a role of theirs
marked and not linked: a study's pages are a 404 to whom holds no role there). A study
designer of any study, or an administrator, may upload the file of a study the database
does not hold yet; its uploader becomes that study's designer (an administrator: its
administrator), in the access log.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, g, redirect, request, url_for
from werkzeug.wrappers.response import Response

from services.metadata import create_study
from storage.readers.listings import hosted_studies
from webapp import access
from webapp.pages import render
from webapp.runtime import reading, writing
from webapp.views.design import FindingLine, finding_lines

bp = Blueprint("studies", __name__)


@dataclass(frozen=True, slots=True)
class StudyLine:
    oid: str
    name: str
    url: str
    """"" when the user holds no role in the study (an administrator's view of it)."""
    roles: str


@dataclass(frozen=True, slots=True)
class StudiesPage:
    studies: tuple[StudyLine, ...]
    can_create: bool
    result: str
    findings: tuple[FindingLine, ...]


def may_create(viewer: access.Viewer) -> bool:
    """A study designer of any study (study-wide) or an administrator may create a study."""
    return viewer.holds_study_wide(access.DESIGN) or viewer.holds(access.ADMIN)


def _page(result: str = "", findings: tuple[FindingLine, ...] = ()) -> StudiesPage:
    viewer: access.Viewer = g.viewer
    sees_all = viewer.holds(access.ADMIN)
    with reading() as conn:
        hosted = hosted_studies(conn)
    lines = []
    for study in hosted:
        grants = [gr for gr in viewer.grants if gr.study_oid == study.oid]
        if not grants and not sees_all:
            continue
        roles = ", ".join(
            g.t(f"role.{gr.role.value}")
            + f" ({gr.site_oid.rsplit('.', 1)[-1] if gr.site_oid else g.t('all_sites')})"
            for gr in grants
        )
        url = url_for("subjects.home", study_oid=study.oid) if grants else ""
        lines.append(StudyLine(study.oid, study.name, url, roles))
    return StudiesPage(tuple(lines), may_create(viewer), result, findings)


@bp.get("/studies")
def index() -> tuple[str, int]:
    return render("studies.html", _page())


@bp.post("/studies")
def create() -> Response | tuple[str, int]:
    viewer: access.Viewer = g.viewer
    if not may_create(viewer):
        viewer.require_study_wide(access.DESIGN, g.t("action.create_study"))
    upload = request.files.get("metadata")
    if upload is None or not upload.filename:
        return render("studies.html", _page(g.t("design.no_file")), 422)
    xml = upload.read()
    with writing() as conn:
        result = create_study(
            conn, xml, path=upload.filename, by=viewer.username, client=request.remote_addr
        )
    if result.status != "stored" or result.study_oid is None:
        return render("studies.html", _page(result.message, finding_lines(result)), 422)
    target = "admin.users" if viewer.holds(access.ADMIN) else "design.index"
    return redirect(url_for(target, study_oid=result.study_oid), code=303)
