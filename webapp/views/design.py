"""Study designers load metadata versions: upload an ODM file, see what was stored or why not."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import Blueprint, g, request

from services.metadata import StudyLoadResult, load_metadata
from storage.errors import InvalidInputError, NotFoundError
from storage.readers.listings import metadata_versions
from storage.studies import publish_version
from webapp import access
from webapp.errors import HttpError
from webapp.pages import render
from webapp.runtime import reading, writing

bp = Blueprint("design", __name__)


@dataclass(frozen=True, slots=True)
class VersionLine:
    number: int
    oid: str
    sha256: str
    loaded_at: datetime
    loaded_by: str
    status: str = "published"
    """``draft`` or ``published``."""


@dataclass(frozen=True, slots=True)
class FindingLine:
    code: str
    severity: str
    where: str
    message: str


@dataclass(frozen=True, slots=True)
class DesignPage:
    versions: tuple[VersionLine, ...]
    result: str
    status: str
    """``stored``, ``unchanged``, ``refused`` or "" (nothing uploaded)."""
    findings: tuple[FindingLine, ...]


def _versions() -> tuple[VersionLine, ...]:
    if g.study is None:
        return ()
    with reading() as conn:
        rows = metadata_versions(conn, g.study.oid)
    return tuple(
        VersionLine(r.number, r.oid, r.sha256[:12], r.loaded_at, r.loaded_by or "", r.status)
        for r in rows
    )


def finding_lines(result: StudyLoadResult) -> tuple[FindingLine, ...]:
    """The findings of a metadata load, as the page lists them."""
    return tuple(
        FindingLine(
            f.code,
            f.severity.value,
            f"line {f.line}" if f.line else (f.oid or ""),
            f.message,
        )
        for f in result.findings
    )


@bp.get("/design")
def index() -> tuple[str, int]:
    g.viewer.require_study_wide(access.DESIGN, g.t("action.design"))
    return render("design.html", DesignPage(_versions(), "", "", ()))


@bp.post("/design")
def upload() -> tuple[str, int]:
    g.viewer.require_study_wide(access.DESIGN, g.t("action.design"))
    upload = request.files.get("metadata")
    if upload is None or not upload.filename:
        page = DesignPage(_versions(), g.t("design.no_file"), "refused", ())
        return render("design.html", page, 422)
    xml = upload.read()
    # This page's study only: a new study is created on the studies page, and a version of
    # another study needs the designer role in that study (its own design page).
    served = g.study.oid if g.study is not None else None
    with writing() as conn:
        result = load_metadata(
            conn, xml, path=upload.filename, loaded_by=g.viewer.username, study_oid=served
        )
    page = DesignPage(_versions(), result.message, result.status, finding_lines(result))
    return render("design.html", page, 422 if result.status == "refused" else 200)


@bp.post("/design/publish")
def publish() -> tuple[str, int]:
    """Publish a draft (issue 16): the designer gives the version's number and a reason; the
    publication is stored with both. A refusal (no reason, unknown or published number) is a
    422 with its reason on the page."""
    g.viewer.require_study_wide(access.DESIGN, g.t("action.design"))
    if g.study is None:
        raise HttpError(404, "")
    number, reason = request.form.get("number", ""), request.form.get("reason", "")
    if not number.isascii() or not number.isdigit() or len(number) > 9:
        return render("design.html", DesignPage(_versions(), number, "refused", ()), 422)
    try:
        with writing() as conn:
            publish_version(conn, g.study.oid, int(number), user=g.viewer.username, reason=reason)
    except (InvalidInputError, NotFoundError) as exc:
        return render("design.html", DesignPage(_versions(), str(exc), "refused", ()), 422)
    message = g.t("design.published").format(number=number)
    return render("design.html", DesignPage(_versions(), message, "published", ()), 200)
