"""Data managers move subjects to a newer published metadata version (issue 16, item 5).

The page lists the study's versions (draft or published, how many subjects are on each) and
takes a migration: the target version, optionally one site, a reason, and whether it is a dry
run. The report is :func:`storage.versions.migrate_subjects`'s, as ``edc study migrate``
prints it: the subjects that move, each value rewritten in its new canonical form, the values
of removed items that stay, and each subject that stays with the values that keep it there.
Study-wide data managers only (the same rule as the store's).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, g, request

from odm_engine.free_text import TextRefusedError
from storage.errors import AccessDeniedError, InvalidInputError, NotFoundError
from storage.readers.listings import StoredVersion, metadata_versions
from storage.versions import MigrationReport, migrate_subjects, subjects_per_version
from webapp.access import MIGRATE
from webapp.pages import render
from webapp.runtime import reading, writing
from webapp.studyview import SiteRef, sites_of, version_number
from webapp.views.subjects import served

bp = Blueprint("versions", __name__)


@dataclass(frozen=True, slots=True)
class VersionsPage:
    versions: tuple[StoredVersion, ...]
    subjects: dict[int, int]
    """Version number -> subjects on it."""
    sites: tuple[SiteRef, ...]
    targets: tuple[int, ...]
    """Published versions a migration may go to (all but the oldest)."""
    report: MigrationReport | None = None
    error: str = ""
    reason: str = ""


def _page(report: MigrationReport | None = None, error: str = "", reason: str = "") -> VersionsPage:
    study = served()
    with reading() as conn:
        versions = tuple(metadata_versions(conn, study.oid))
        counts = subjects_per_version(conn, study.oid)
        sites = tuple(sites_of(conn, study.oid))
    published = sorted(v.number for v in versions if v.published_at is not None)
    return VersionsPage(
        versions, counts, sites, tuple(published[1:]),
        report, error, reason,
    )  # fmt: skip


@bp.get("/versions")
def index() -> tuple[str, int]:
    g.viewer.require_study_wide(MIGRATE, g.t("action.migrate"))
    return render("versions.html", _page())


@bp.post("/versions/migrate")
def migrate() -> tuple[str, int]:
    """Run a migration (or its dry run); refused input is the page again with a 422."""
    g.viewer.require_study_wide(MIGRATE, g.t("action.migrate"))
    study = served()
    form = request.form
    to, site, reason = form.get("to", ""), form.get("site", ""), form.get("reason", "")
    target = version_number(to)
    if target is None:
        return render("versions.html", _page(error=g.t("versions.no_target"), reason=reason), 422)
    try:
        with writing() as conn:
            report = migrate_subjects(
                conn,
                study.oid,
                target,
                site_oid=site or None,
                dry_run=form.get("dry_run") == "1",
                user=g.viewer.username,
                reason=reason,
            )
    except (InvalidInputError, NotFoundError, AccessDeniedError, TextRefusedError) as exc:
        return render("versions.html", _page(error=str(exc), reason=reason), 422)
    return render("versions.html", _page(report, reason=reason))
