"""The subject matrix: subjects x the study's events and forms, each cell the status of the
form instances stored for the subject, with its open queries; search, filters, sorting and
pages. The rows come from :func:`storage.readers.matrix.subject_matrix` (two statements per
page); who sees which subjects follows the subject list: a clinical role at the site.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, g, request, url_for
from markupsafe import Markup, escape

from odm_engine.clinical import FormKey
from storage.readers.matrix import (
    MATRIX_SORTS,
    MatrixCell,
    MatrixFilter,
    MatrixSubject,
    subject_matrix,
)
from storage.vocabulary import FormStatus
from webapp import access
from webapp.casebook import repeat_order
from webapp.errors import HttpError
from webapp.memo import Memo
from webapp.pages import render
from webapp.runtime import reading
from webapp.studyview import SiteRef, StudyContext, sites_of
from webapp.urlkeys import form_url

bp = Blueprint("matrix", __name__)

PAGE_SIZE = 50
MAX_SEARCH = 100
ICONS = {
    FormStatus.NOT_STARTED: "○",
    FormStatus.IN_PROGRESS: "◐",
    FormStatus.COMPLETE: "●",
    FormStatus.VERIFIED: "✔",
    FormStatus.SIGNED: "✎",
    FormStatus.LOCKED: "■",
}
"""A shape per status, so the matrix reads without colour. Each mark's link carries its
form and status in words as its ``title``: the tooltip, and the link's accessible name (the
shape itself is ``aria-hidden``). Once as a title and again as hidden text, the words made the
page half again as heavy (260 kB for 50 subjects x 12 forms)."""


@dataclass(frozen=True, slots=True)
class Column:
    event: str
    form: str
    event_oid: str
    form_oid: str


@dataclass(frozen=True, slots=True)
class Mark:
    status: str
    icon: str
    label: str
    url: str


@dataclass(frozen=True, slots=True)
class Row:
    subject_key: str
    site_code: str
    url: str
    open_queries: int
    cells: Markup
    """The row's cells (``<td>`` each), escaped as they were built (:class:`_Cells`)."""


@dataclass(frozen=True, slots=True)
class MatrixView:
    title: str
    action: str
    site_choice: tuple[tuple[str, str], ...]
    """(site OID, label) to filter by; empty on a site's own matrix."""
    events: tuple[tuple[str, int], ...]
    """(event name, number of its columns) for the header's first row."""
    columns: tuple[Column, ...]
    rows: tuple[Row, ...]
    total: int
    more: bool
    """More subjects match than ``total`` says (a status filter counts up to COUNT_CAP)."""
    page: int
    pages: int
    search: str
    site: str
    status: str
    sort: str
    sort_links: tuple[tuple[str, str, str], ...]
    """(sort, label, URL) of each sortable header."""
    previous_url: str
    next_url: str
    legend: tuple[Mark, ...]


@bp.get("/matrix")
def study() -> tuple[str, int]:
    return _matrix(None)


@bp.get("/sites/<key:site_oid>/matrix")
def site(site_oid: str) -> tuple[str, int]:
    return _matrix(site_oid)


def _served() -> StudyContext:
    if g.study is None:
        raise HttpError(404, g.t("no_study"))
    found: StudyContext = g.study
    return found


COLUMNS: Memo[tuple[str, str, str], tuple[Column, ...]] = Memo("matrix columns", bound=32)
"""The matrix's columns by (SHA-256 of the metadata, study OID, language): they depend on the
metadata version only, so a page does not walk the study's events again (bortezomib v2, 12
columns: 36 us built, 0.6 us from the memo; more for a study of many events and forms)."""


def _columns(study: StudyContext, lang: str) -> tuple[Column, ...]:
    return COLUMNS.get((study.sha256, study.oid, lang), lambda: _build_columns(study, lang))


def _build_columns(study: StudyContext, lang: str) -> tuple[Column, ...]:
    out = []
    for event in study.mdv.study_events_in_order():
        refs = sorted(
            enumerate(event.form_refs),
            key=lambda p: (p[1].order_number is None, p[1].order_number or 0, p[0]),
        )
        name = study.event_name(event, lang)
        out += [
            Column(name, study.form_name(r.form_oid, lang), event.oid, r.form_oid) for _, r in refs
        ]
    return tuple(out)


def _arguments(choice: tuple[str, ...]) -> tuple[str, str, FormStatus | None, str, int]:
    """(search, site, status, sort, page) of the request; an unknown site, status or sort is
    400 (never put into SQL), a page that is not a positive number reads as the first."""
    search = request.args.get("q", "").strip()[:MAX_SEARCH]
    site = request.args.get("site", "")
    if site and site not in choice:
        raise HttpError(400, g.t("matrix.bad_site"))
    raw = request.args.get("status", "")
    if raw and raw not in {s.value for s in FormStatus}:
        raise HttpError(400, g.t("matrix.bad_status"))
    sort = request.args.get("sort", "") or "key"
    if sort not in MATRIX_SORTS:
        raise HttpError(400, g.t("matrix.bad_sort"))
    number = request.args.get("page", "")
    page = int(number) if number.isdecimal() and 0 < len(number) < 7 else 1
    return search, site, FormStatus(raw) if raw else None, sort, max(page, 1)


def _scope(site_oid: str | None) -> tuple[list[SiteRef], SiteRef | None]:
    """The sites the viewer may see, and the site the URL names (404 unless visible)."""
    with reading() as conn:
        sites = sites_of(conn, _served().oid)
    viewer: access.Viewer = g.viewer
    visible = [s for s in sites if viewer.role_at(s.oid) in access.CLINICAL]
    if site_oid is None:
        if not viewer.holds(access.CLINICAL):
            raise HttpError(403, g.t("no_sites"))
        return visible, None
    named = [s for s in visible if s.oid == site_oid]
    if not named:
        raise HttpError(404, "")
    return visible, named[0]


def _matrix(site_oid: str | None) -> tuple[str, int]:
    study = _served()
    visible, named = _scope(site_oid)
    choice = () if named else tuple(s.oid for s in visible)
    search, site, status, sort, page = _arguments(choice)
    scope = (named.oid,) if named else (site,) if site else choice
    columns = _columns(study, g.lang)
    wide = named is None and not site and g.viewer.role_at(None) in access.CLINICAL
    want = MatrixFilter(
        study.oid,
        scope,
        wide,
        tuple((c.event_oid, c.form_oid) for c in columns),
        search,
        status,
        sort,
        PAGE_SIZE,
        (page - 1) * PAGE_SIZE,
    )
    with reading() as conn:
        found = subject_matrix(conn, want)
    pages = max(1, -(-found.total // PAGE_SIZE))
    if found.more:  # counted up to a cap only: a next page while this one is full
        pages = page + 1 if len(found.subjects) == PAGE_SIZE else page
    args = {"q": search, "site": site, "status": status.value if status else "", "sort": sort}

    def link(**change: object) -> str:
        merged = {k: v for k, v in {**args, **change}.items() if v not in ("", None, 1)}
        return url_for(request.endpoint or "matrix.study", **request.view_args or {}, **merged)

    cells = _Cells(study)
    view = MatrixView(
        title=g.t("matrix.site_title", site=named.name) if named else g.t("matrix.title"),
        action=link(q="", site="", status="", sort=""),
        site_choice=tuple((s.oid, f"{s.code} – {s.name}") for s in visible) if not named else (),
        events=_event_spans(columns),
        columns=columns,
        rows=tuple(cells.row(s, columns) for s in found.subjects),
        total=found.total,
        more=found.more,
        page=page,
        pages=pages,
        search=search,
        site=site,
        status=status.value if status else "",
        sort=sort,
        sort_links=tuple(
            (key, g.t(f"matrix.sort_{key}"), link(sort=_flip(sort, key), page=1))
            for key in ("key", "created", "queries")
        ),
        previous_url=link(page=page - 1) if page > 1 else "",
        next_url=link(page=page + 1) if page < pages else "",
        legend=tuple(_mark(s, "") for s in FormStatus),
    )
    return render("matrix.html", view)


def _flip(current: str, key: str) -> str:
    """The sort a header link asks for: its key ascending, or descending when it is on."""
    return f"-{key}" if current == key else key


def _event_spans(columns: tuple[Column, ...]) -> tuple[tuple[str, int], ...]:
    spans: list[tuple[str, str, int]] = []
    for c in columns:
        if spans and spans[-1][0] == c.event_oid:
            spans[-1] = (c.event_oid, c.event, spans[-1][2] + 1)
        else:
            spans.append((c.event_oid, c.event, 1))
    return tuple((name, n) for _, name, n in spans)


def _mark(status: FormStatus, url: str, what: str = "") -> Mark:
    words = g.t(f"status.{status.value}")
    return Mark(status.value, ICONS[status], f"{what}: {words}" if what else words, url)


class _Cells:
    """A page's cells as markup, built in Python: 600 cells through ``url_for`` and the
    template's escaping took about 75 ms a page. A form instance's URL is its subject's
    casebook URL followed by a tail that depends on the instance only, so each mark is the
    escaped casebook URL and a rest (escaped tail, status, label) made once per page (the
    tail checked to hold, else ``url_for`` as usual). Escaping a concatenation equals
    concatenating the escaped parts: escaping works character by character."""

    PROBE = "X"

    def __init__(self, study: StudyContext) -> None:
        self.study = study
        self.prefix = url_for("subjects.casebook", subject_key=self.PROBE)
        self.rests: dict[tuple[FormKey, FormStatus, str], str | None] = {}
        self.words = {s: g.t(f"status.{s.value}") for s in FormStatus}
        self.opens: dict[FormKey, bool] = {}

    def _rest(self, key: FormKey, status: FormStatus, what: str) -> str | None:
        """The mark after its subject's casebook URL; None when the URL is not built so."""
        probe = form_url("entry.form", self.PROBE, key)
        if not probe.startswith(self.prefix + "/"):
            return None
        return self._html(status, probe[len(self.prefix) :], what, key)

    def _html(self, status: FormStatus, url: str, what: str, key: FormKey) -> str:
        repeat = " ".join(f"#{k}" for k in (key.study_event_repeat_key, key.form_repeat_key) if k)
        label = escape(f"{what} {repeat}".strip() + ": " + self.words[status])
        return f'{escape(url)}" title="{label}"><span aria-hidden="true">{ICONS[status]}</span></a>'

    def mark(self, subject_key: str, casebook: str, key: FormKey, status: FormStatus,
             what: str, *, stored: bool = True) -> str:  # fmt: skip
        """An instance's mark, as HTML (everything in it escaped). ``stored=False``: a form
        with no instance yet, opened by its form URL where that needs no repeat key."""
        head = f'<a class="st st-{status.value}" href="'
        if not stored:
            opens = self.opens.get(key)
            if opens is None:
                opens = self.opens[key] = self.study.may_open(key)
            if not opens:  # a repeating form with no entry yet: its casebook
                return head + str(escape(casebook)) + self._html(status, "", what, key)
        place = (key, status, what)
        if place not in self.rests:
            self.rests[place] = self._rest(key, status, what)
        rest = self.rests[place]
        if rest is None:
            url = form_url("entry.form", subject_key, key)
            return head + self._html(status, url, what, key)
        return head + str(escape(casebook)) + rest

    def row(self, subject: MatrixSubject, columns: tuple[Column, ...]) -> Row:
        by_column: dict[tuple[str, str], list[MatrixCell]] = {}
        for cell in subject.forms:
            by_column.setdefault((cell.event_oid, cell.form_oid), []).append(cell)
        key = subject.subject_key
        casebook = url_for("subjects.casebook", subject_key=key)
        cells: list[str] = []
        for c in columns:
            found = by_column.get((c.event_oid, c.form_oid))
            what = f"{c.event} / {c.form}"
            if not found:
                first = FormKey(c.event_oid, "", c.form_oid, "")
                blank = self.mark(key, casebook, first, FormStatus.NOT_STARTED, what, stored=False)
                cells.append(blank)
                continue
            if len(found) > 1:
                found.sort(
                    key=lambda m: (
                        repeat_order(m.event_repeat_key),
                        repeat_order(m.form_repeat_key),
                    )
                )
            cells.append(
                "".join(
                    self.mark(
                        key,
                        casebook,
                        FormKey(m.event_oid, m.event_repeat_key, m.form_oid, m.form_repeat_key),
                        m.status,
                        what,
                    )
                    for m in found
                )
            )
        return Row(
            key,
            (subject.site_oid or "").rsplit(".", 1)[-1],
            casebook,
            subject.open_queries,
            Markup("".join(f"<td>{c}</td>" for c in cells)),  # noqa: S704 - escaped in mark
        )
