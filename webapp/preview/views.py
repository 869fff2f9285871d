"""The preview's pages: index, form (shown and tried), source, and the state the pages poll.

Each view takes the file's snapshot now (:meth:`WatchedFile.current`), so a page is always of
the file as it is: when the file does not load, every page is the findings page (200), never
an earlier render. Templates get one frozen page object, as in the app.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from flask import Blueprint, current_app, jsonify, render_template, request, send_from_directory
from markupsafe import Markup
from werkzeug.wrappers.response import Response

from odm_engine.findings import Finding
from renderers.html import SCRIPTS, STATIC_DIR, STYLESHEET
from webapp.errors import HttpError
from webapp.preview.state import SOURCE_URL, Snapshot, WatchedFile
from webapp.preview.tryit import Outcome, form_key, try_form

bp = Blueprint("preview", __name__)


@dataclass(frozen=True, slots=True)
class Frame:
    """What every preview page shows around its content."""

    title: str
    path: str
    sha256: str
    url: str
    """This page's own URL (GET), loaded again when the file changes."""
    lang: str
    languages: tuple[tuple[str, str, bool], ...]
    """(xml:lang, URL of this page in it, current)."""
    errors: int
    warnings: int
    build_ms: int


@dataclass(frozen=True, slots=True)
class FindingRow:
    line: int | None
    code: str
    severity: str
    message: str
    at: str
    """The OID of the element it is shown at ("" when none)."""
    forms: tuple[tuple[str, str], ...]
    """(FormOID, URL) of each form that shows it next to its element."""


@dataclass(frozen=True, slots=True)
class FormLink:
    oid: str
    name: str
    url: str
    findings: int


@dataclass(frozen=True, slots=True)
class EventRow:
    oid: str
    name: str
    forms: tuple[FormLink, ...]
    findings: tuple[FindingRow, ...]


@dataclass(frozen=True, slots=True)
class IndexPage:
    frame: Frame
    loaded: bool
    study: str
    version: str
    events: tuple[EventRow, ...]
    unscheduled: tuple[FormLink, ...]
    findings: tuple[FindingRow, ...]


@dataclass(frozen=True, slots=True)
class FormPage:
    frame: Frame
    index_url: str
    event: str
    form_oid: str
    body: Markup
    elsewhere: tuple[FindingRow, ...]
    """Findings of the file that this form does not show next to an element."""
    outcome: Outcome | None
    action: str
    scripts: tuple[str, ...] = SCRIPTS
    stylesheet: str = STYLESHEET


@dataclass(frozen=True, slots=True)
class SourceLine:
    number: int
    text: str
    findings: tuple[FindingRow, ...]


@dataclass(frozen=True, slots=True)
class SourcePage:
    frame: Frame
    lines: tuple[SourceLine, ...]


def _snapshot() -> Snapshot:
    watched: WatchedFile = current_app.extensions["edc_preview"]
    return watched.current()


def _lang(snap: Snapshot) -> str:
    wanted = request.args.get("lang", "")
    return wanted if wanted in snap.languages else snap.default_lang


def _url(endpoint_path: str, **args: str) -> str:
    query = urlencode({k: v for k, v in args.items() if v})
    return request.script_root + endpoint_path + (f"?{query}" if query else "")


def _frame(snap: Snapshot, title: str, lang: str, path: str, **args: str) -> Frame:
    langs = tuple((lg, _url(path, **args, lang=lg), lg == lang) for lg in snap.languages)
    warnings = sum(f.severity.value == "warning" for f in snap.findings)
    return Frame(
        title,
        snap.path,
        snap.sha256,
        _url(path, **args, lang=lang),
        lang,
        langs,
        snap.errors,
        warnings,
        round(snap.build_seconds * 1000),
    )


def _rows(snap: Snapshot, lang: str, only: set[int] | None = None) -> tuple[FindingRow, ...]:
    placement = snap.placement
    rows = []
    for oid, f in placement.placed():
        if only is not None and id(f) not in only:
            continue
        forms = placement.forms_of(oid) if oid else ()
        links = tuple((form, _url(f"/form/{form}", lang=lang)) for form in forms)
        rows.append(_row(f, oid, links))
    return tuple(rows)


def _row(f: Finding, at: str, forms: tuple[tuple[str, str], ...] = ()) -> FindingRow:
    return FindingRow(f.line, f.code, f.severity.value, f.message, at, forms)


def _broken(snap: Snapshot, path: str, **args: str) -> tuple[str, int]:
    """The findings page of a file that does not load (or cannot be read)."""
    lang = _lang(snap)
    page = IndexPage(
        _frame(snap, "The file does not load", lang, path, **args),
        False,
        "",
        "",
        (),
        (),
        _rows(snap, lang),
    )
    return render_template("preview/index.html", page=page), 200


@bp.get("/")
def index() -> tuple[str, int]:
    snap = _snapshot()
    if snap.built is None:
        return _broken(snap, "/")
    lang = _lang(snap)
    mdv, study = snap.built.mdv, snap.built.study
    rows = _rows(snap, lang)
    listed: set[str] = set()
    events = []
    for event in mdv.study_events_in_order():
        links = []
        for ref in event.form_refs:
            listed.add(ref.form_oid)
            links.append(_form_link(snap, ref.form_oid, lang, event.oid))
        own = tuple(r for r in rows if r.at == event.oid)
        name = event.description.get(lang, snap.default_lang) or event.name
        events.append(EventRow(event.oid, name, tuple(links), own))
    unscheduled = tuple(
        _form_link(snap, oid, lang, "") for oid in mdv.form_defs if oid not in listed
    )
    name = study.global_variables.study_name if study.global_variables else study.oid
    page = IndexPage(
        _frame(snap, name or study.oid, lang, "/"),
        True,
        f"{name} ({study.oid})",
        f"{mdv.name} ({mdv.oid})",
        tuple(events),
        unscheduled,
        rows,
    )
    return render_template("preview/index.html", page=page), 200


def _form_link(snap: Snapshot, form_oid: str, lang: str, event_oid: str) -> FormLink:
    assert snap.built is not None
    form = snap.built.mdv.form_defs.get(form_oid)
    name = (form.description.get(lang, snap.default_lang) or form.name) if form else form_oid
    count = len(snap.placement.on_form(form_oid)) if form else 0
    return FormLink(form_oid, name, _url(f"/form/{form_oid}", event=event_oid, lang=lang), count)


def _event_of(snap: Snapshot, form_oid: str) -> str:
    """The event named in the URL if it holds the form, else the first event that does."""
    assert snap.built is not None
    wanted = request.args.get("event", "")
    holders = [
        e.oid
        for e in snap.built.mdv.study_events_in_order()
        if any(r.form_oid == form_oid for r in e.form_refs)
    ]
    return wanted if wanted in holders else (holders[0] if holders else "")


@bp.route("/form/<form_oid>", methods=["GET", "POST"])
def form(form_oid: str) -> tuple[str, int]:
    snap = _snapshot()
    event = _event_of(snap, form_oid) if snap.built is not None else ""
    if snap.built is None:
        return _broken(snap, f"/form/{form_oid}", event=event)
    if form_oid not in snap.built.mdv.form_defs:
        raise HttpError(404, f"The file has no FormDef {form_oid}.")
    lang = _lang(snap)
    key = form_key(snap.built, event, form_oid)
    outcome = None
    if request.method == "POST":
        outcome, state = try_form(snap.built, key, request.form.items(), lang)
        plain = snap.built.renderer.form_html(form_oid, state, lang=lang)
        body = snap.placement.annotate(form_oid, str(plain), SOURCE_URL)
    else:
        body = snap.body(form_oid, lang)
    shown = {id(f) for f in snap.placement.on_form(form_oid)}
    elsewhere = {id(f) for f in snap.findings} - shown
    page = FormPage(
        _frame(snap, form_oid, lang, f"/form/{form_oid}", event=event),
        _url("/", lang=lang),
        event,
        form_oid,
        body,
        _rows(snap, lang, elsewhere),
        outcome,
        _url(f"/form/{form_oid}", event=event, lang=lang),
    )
    return render_template("preview/form.html", page=page), 200


@bp.get("/source")
def source() -> tuple[str, int]:
    snap = _snapshot()
    lang = _lang(snap)
    by_line: dict[int, list[FindingRow]] = {}
    for row in _rows(snap, lang):
        by_line.setdefault(row.line or 0, []).append(row)
    lines = tuple(
        SourceLine(n, text, tuple(by_line.get(n, ())))
        for n, text in enumerate(snap.text.splitlines(), start=1)
    )
    page = SourcePage(_frame(snap, "Source", lang, "/source"), lines)
    return render_template("preview/source.html", page=page), 200


@bp.get("/_state")
def state() -> Response:
    """The file's SHA-256 now (pages poll it and load again when it changes)."""
    snap = _snapshot()
    response = jsonify(sha256=snap.sha256, loads=snap.built is not None, errors=snap.errors)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/static/form/<path:filename>")
def form_static(filename: str) -> Response:
    return send_from_directory(STATIC_DIR, filename, max_age=60)


@bp.app_errorhandler(HttpError)
def http_error(exc: HttpError) -> tuple[str, int]:
    return render_template("preview/error.html", status=exc.status, message=str(exc)), exc.status
