"""Study designers load metadata versions: upload an ODM file, see what was stored or why not."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import Blueprint, g, request, url_for
from markupsafe import Markup

from odm_engine.diff.changes import FOLDED, ElementGroup
from odm_engine.free_text import TextRefusedError
from renderers.html import SCRIPTS
from services.drafts import DraftReview, review_draft
from services.metadata import StudyLoadResult, load_metadata
from storage.errors import InvalidInputError, NotFoundError
from storage.readers.listings import metadata_versions
from storage.studies import publish_version
from webapp import access
from webapp.errors import HttpError
from webapp.pages import render
from webapp.runtime import reading, writing
from webapp.studyview import StudyContext, version_number, version_study

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
    review: int | None = None
    """The draft the upload stored: the page links to its review."""


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
    # A draft stored now, or the draft the file is identical to: the page links to its review.
    drafted = result.status in ("stored", "unchanged") and not result.published
    review = result.version_number if drafted else None
    page = DesignPage(
        _versions(), result.message, result.status, finding_lines(result), review=review
    )
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
    wanted = version_number(number)
    if wanted is None:
        return render("design.html", DesignPage(_versions(), number, "refused", ()), 422)
    try:
        with writing() as conn:
            publish_version(conn, g.study.oid, wanted, user=g.viewer.username, reason=reason)
    except (InvalidInputError, NotFoundError, TextRefusedError) as exc:
        return render("design.html", DesignPage(_versions(), str(exc), "refused", ()), 422)
    message = g.t("design.published").format(number=number)
    return render("design.html", DesignPage(_versions(), message, "published", ()), 200)


# --- the review of a draft: findings, diff, impact, changed forms, publish ---------------

LISTED = 50
"""Rows each listing of the impact shows (sites, problem values); the page says how many
more there are. The diff lists every change but the added translations and Aliases it folds
(?all=1 lists those too)."""


@dataclass(frozen=True, slots=True)
class DraftFinding:
    code: str
    severity: str
    line: int | None
    oid: str
    message: str


@dataclass(frozen=True, slots=True)
class ProblemLine:
    subject: str
    site: str
    form: str
    item: str
    value: str | None
    problem: str
    kind: str


@dataclass(frozen=True, slots=True)
class ImpactPart:
    total: int
    subjects: int
    by_kind: tuple[tuple[str, int], ...]
    by_site: tuple[tuple[str, int], ...]
    sites_more: int
    forms: tuple[tuple[str, int, int, str], ...]
    """(FormOID, form instances with data, subjects, what changed in its structure)."""
    problems: tuple[ProblemLine, ...]
    problems_more: int


@dataclass(frozen=True, slots=True)
class FormPreview:
    oid: str
    body: Markup
    """The form as the app's FormRenderer draws it for sites (its own title included)."""


@dataclass(frozen=True, slots=True)
class DraftPage:
    number: int
    mdv_oid: str
    current: int
    publishable: bool
    findings: tuple[DraftFinding, ...]
    diff_total: int
    diff_counts: tuple[tuple[str, int], ...]
    diff: tuple[ElementGroup, ...]
    """The diff as ``edc study diff`` reports it (the engine's folding): added translations
    one line per language, added Aliases one per Context; with ?all=1 every change listed."""
    diff_all: bool
    """?all=1: every change listed, added translations and Aliases too."""
    diff_folded: int
    diff_toggle: str
    """The URL of this page with every change listed, or back to the summary."""
    impact: ImpactPart
    lang: str
    languages: tuple[tuple[str, str], ...]
    """(language, URL of this page with the forms in it)."""
    forms: tuple[FormPreview, ...]
    scripts: tuple[str, ...] = SCRIPTS


def _draft_number(text: str) -> int:
    """The draft number of a URL: 1 to 9 ASCII digits, else 404 (never a database error)."""
    number = version_number(text)
    if number is None:
        raise HttpError(404, f"No metadata version {text!r}.")
    return number


@bp.get("/design/versions/<number>")
def draft(number: str) -> tuple[str, int]:
    """The review of a draft before it is published: the file's findings, the diff against
    the current version, the impact on stored data, every changed form as sites will see it
    (in the language chosen), then the Publish form. Designers of the study only."""
    g.viewer.require_study_wide(access.DESIGN, g.t("action.design"))
    if g.study is None:
        raise HttpError(404, "")
    wanted = _draft_number(number)
    try:
        with reading() as conn:
            review = review_draft(conn, g.study.oid, wanted, keep=LISTED)
            context = version_study(conn, g.study, wanted)
    except NotFoundError as exc:
        raise HttpError(404, str(exc)) from exc
    return render("design_draft.html", _draft_page(review, context))


def _draft_page(review: DraftReview, context: StudyContext) -> DraftPage:
    lang = request.args.get("lang", "")
    if lang not in context.languages:
        lang = g.lang if g.lang in context.languages else context.default_lang
    every = request.args.get("all") == "1"  # anything else: the summary
    shown = 1 if every else None  # url_for leaves None out
    diff = review.diff
    return DraftPage(
        number=review.number,
        mdv_oid=review.metadata_version_oid,
        current=review.current,
        publishable=review.publishable,
        findings=tuple(
            DraftFinding(f.code, f.severity.value, f.line, f.oid or "", f.message)
            for f in review.findings
        ),
        diff_total=len(diff),
        diff_counts=tuple(diff.counts().items()),
        diff=diff.groups(FOLDED if every else ()),
        diff_all=every,
        diff_folded=0 if every else diff.folded(),
        diff_toggle=url_for("design.draft", number=review.number, all=None if every else 1)
        + "#diff",
        impact=_impact_part(review),
        lang=lang,
        languages=tuple(
            (
                code,
                url_for("design.draft", number=review.number, lang=code, all=shown) + "#preview",
            )
            for code in context.languages
        ),
        forms=tuple(
            FormPreview(oid, context.renderer.form_html(oid, lang=lang))
            for oid in review.changed_forms
        ),
    )


def _impact_part(review: DraftReview) -> ImpactPart:
    report = review.impact
    sites = tuple(report.by_site.items())
    return ImpactPart(
        total=report.total,
        subjects=len(report.by_subject),
        by_kind=tuple(report.by_kind.items()),
        by_site=sites[:LISTED],
        sites_more=max(0, len(sites) - LISTED),
        forms=tuple(
            (f.form_oid, f.instances, f.subjects, f.change.describe()) for f in report.forms
        ),
        problems=tuple(
            ProblemLine(
                p.subject_key,
                p.site_oid or "",
                p.form_oid,
                p.item_oid,
                p.value,
                p.problem,
                p.kind,
            )
            for p in report.problems
        ),
        problems_more=max(0, report.total - len(report.problems)),
    )
