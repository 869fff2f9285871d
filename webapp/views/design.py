"""Study designers load metadata versions: upload an ODM file, see what was stored or why not."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import Blueprint, g, request

from services.metadata import StudyLoadResult, load_metadata
from storage.readers.listings import metadata_versions
from webapp import access
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
        VersionLine(r.number, r.oid, r.sha256[:12], r.loaded_at, r.loaded_by or "") for r in rows
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
