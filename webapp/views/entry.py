"""Form entry: show a form of a subject's casebook, save it, its item history, its status.

A save goes through ``storage.writes.save_form`` with the version the page was read at:
hard check failures re-render the form with the user's entries and nothing is saved; soft
failures are saved and open queries; a change after the first save needs a reason; a save
against a form changed meanwhile shows who changed what instead of overwriting.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from functools import lru_cache
from types import MappingProxyType
from urllib.parse import quote

from flask import Blueprint, current_app, g, redirect, request, url_for
from flask.typing import RouteCallable
from markupsafe import Markup
from werkzeug.wrappers.response import Response

from odm_engine import model as m
from odm_engine.clinical import FormKey, ItemKey, SubjectSnapshot
from odm_engine.free_text import TextRefusedError, text_problem
from renderers.html import SCRIPTS, FieldRef, FormState, field_name, parse_field_name
from renderers.html.naming import FieldNameError
from services.entry import enter_form
from services.form_status import StatusChange, change_status
from storage.audit import history, source_history
from storage.engine import Connection
from storage.errors import (
    ChangeSince,
    ConflictError,
    FormNotEditableError,
    NotFoundError,
    ReasonRequiredError,
)
from storage.form_status import TRANSITIONS
from storage.queries import QueryInfo
from storage.readers.casebook import SignatureState, form_queries, signature_states, stored_forms
from storage.subjects import (
    SubjectRef,
    snapshot_of,
    stored_items,
    stored_units,
)
from storage.vocabulary import FormStatus, QueryStatus
from webapp import access
from webapp.casebook import numbered
from webapp.entry_form import Posted, read_post
from webapp.errors import HttpError
from webapp.memo import Memo
from webapp.pages import render
from webapp.querythreads import MessageShown, item_label, threads_shown
from webapp.runtime import reading, writing
from webapp.studyview import StudyContext, subject_study
from webapp.urlkeys import form_url
from webapp.views.subjects import served

bp = Blueprint("entry", __name__)
FORM_URL = "/subjects/<key:subject_key>/<event_oid>/<form_oid>"
REPEAT_URL = (
    "/subjects/<key:subject_key>/<event_oid>/<key:event_repeat>/<form_oid>/<key:form_repeat>"
)
"""A form instance of a repeating event or form (``~`` for an empty repeat key);
``FORM_URL`` is the same with both keys empty."""
NO_REPEAT = {"event_repeat": "", "form_repeat": ""}


def form_route(suffix: str, method: str) -> Callable[[RouteCallable], RouteCallable]:
    """Register a view on a form instance's URL in both shapes (plus ``suffix``)."""

    def register(view: RouteCallable) -> RouteCallable:
        bp.add_url_rule(FORM_URL + suffix, view_func=view, methods=[method], defaults=NO_REPEAT)
        bp.add_url_rule(REPEAT_URL + suffix, view_func=view, methods=[method])
        return view

    return register


@dataclass(frozen=True, slots=True)
class QueryShown:
    """An open query as a soft message next to its field."""

    check_id: str
    item_key: ItemKey | None
    message: str
    severity: str = "soft"


@dataclass(frozen=True, slots=True)
class QueryLine:
    id: int
    item: str
    status: str
    message: str
    opened_by: str
    thread: tuple[MessageShown, ...] = ()
    """Every message of the query (who, when, text, the status it left), oldest first."""


def _query_lines(
    conn: Connection, study: StudyContext, queries: list[QueryInfo]
) -> tuple[QueryLine, ...]:
    threads = threads_shown(conn, [q.id for q in queries])
    return tuple(
        QueryLine(
            q.id,
            item_label(study, q.key, g.lang, with_form=False),
            q.status.value,
            q.message,
            q.opened_by,
            threads.get(q.id, ()),
        )
        for q in queries
    )


@dataclass(frozen=True, slots=True)
class FormPage:
    subject_key: str
    casebook_url: str
    event_name: str
    form_name: str
    body: Markup
    version: int
    status: str
    can_edit: bool
    not_collected: str | None
    notice: str
    error: str
    reason: str
    conflict: tuple[ChangeSince, ...] | None
    queries: tuple[QueryLine, ...]
    fields: tuple[tuple[str, str], ...]
    """(field name, question) of the form, for raising a query on one item."""
    can_raise: bool
    can_answer: bool
    can_close: bool
    can_verify: bool
    can_lock: bool
    can_unlock: bool
    signature: SignatureState | None
    queries_url: str
    status_url: str
    key: FormKey
    scripts: tuple[str, ...] = SCRIPTS
    kept: tuple[tuple[str, str], ...] = ()
    """(ItemGroupOID/ItemOID, value) stored here for items this version's form has not:
    kept after a migration, shown read-only (issue 16)."""


@dataclass(frozen=True, slots=True)
class Place:
    study: StudyContext
    subject: SubjectRef
    key: FormKey


def _place(
    subject_key: str, event_oid: str, form_oid: str, event_repeat: str, form_repeat: str
) -> Place:
    """The form instance a URL names: 404 unless the form is in the event and the subject
    visible to the user; a repeat key only where the event or form repeats, unless data is
    stored under it (imported from an EDC that numbers every event)."""
    study = served()
    key = FormKey(event_oid, event_repeat, form_oid, form_repeat)
    with reading() as conn:
        subject = access.visible_subject(conn, g.viewer, study.oid, subject_key)
        # rendered and checked with the version the subject is on (issue 16)
        study = subject_study(conn, study, subject)
        if not study.has_form(event_oid, form_oid):
            raise HttpError(404, "")
        if not study.may_open(key) and not study.may_open(key, stored_forms(conn, subject.id)):
            raise HttpError(404, _not_repeating(study, key))
    return Place(study, subject, key)


def _not_repeating(study: StudyContext, key: FormKey) -> str:
    """Why a URL's repeat key is refused: the StudyEventDef or FormDef does not repeat (and
    no data is stored under that key); "" for any other reason."""
    event = study.mdv.study_event_defs[key.study_event_oid]
    form = study.mdv.form_defs.get(key.form_oid)
    erk, frk = key.study_event_repeat_key, key.form_repeat_key
    if erk and not event.repeating:
        return (
            f'StudyEventDef {event.oid} does not repeat (Repeating="No"): it takes no '
            f'StudyEventRepeatKey ("{erk}" given). Open {event.oid} without one.'
        )
    if frk and form is not None and not form.repeating:
        return (
            f'FormDef {form.oid} does not repeat (Repeating="No"): it takes no FormRepeatKey '
            f'("{frk}" given). Open {form.oid} without one.'
        )
    return ""


@lru_cache(maxsize=4096)
def _field_query(ig_oid: str, repeat_key: str, item_oid: str) -> str:
    """``?field=NAME`` of a history link (the same for every subject: made once)."""
    return f"?field={quote(field_name(ig_oid, repeat_key, item_oid), safe='')}"


@dataclass(frozen=True, slots=True)
class FormUrls:
    """The links of a form page: the same for every request of one subject's form."""

    casebook: str
    queries: str
    status: str
    history: str
    form: str


_URL_MEMO = 4096


def _form_urls(p: Place) -> FormUrls:
    """The page's links, made by ``url_for`` once per app, script root, subject and form."""
    sk, key = p.subject.subject_key, p.key
    memo: Memo[tuple[str, ...], FormUrls] | None = current_app.extensions.get("edc_form_urls")
    if memo is None:  # one per app: url_for answers for this app's rules
        memo = current_app.extensions.setdefault("edc_form_urls", Memo("form urls", _URL_MEMO))
    return memo.get(
        (request.script_root, sk, *key),
        lambda: FormUrls(
            url_for("subjects.casebook", subject_key=sk),
            url_for("queries.subject_queries", subject_key=sk),
            form_url("entry.status", sk, key),
            form_url("entry.item_history", sk, key),
            form_url("entry.form", sk, key),
        ),
    )


def _history_urls(p: Place, snapshot: SubjectSnapshot, base: str) -> Mapping[FieldRef, str]:
    """Each field's history link: for the form's fields and the saved rows of its groups."""
    keys: dict[str, set[str]] = {}
    for k in snapshot.values:
        if k.form_key == p.key:
            keys.setdefault(k.item_group_oid, set()).add(k.item_group_repeat_key)
    rows = tuple(sorted((oid, tuple(sorted(rks))) for oid, rks in keys.items()))
    return _history_map(p.study.sha256, p.study.mdv, p.key.form_oid, base, rows)


HISTORY_LINKS: Memo[tuple[object, ...], Mapping[FieldRef, str]] = Memo("history links", _URL_MEMO)
"""By (SHA-256 of the metadata version, FormOID, the form's history URL, saved rows)."""


def _history_map(
    sha: str,
    mdv: m.MetaDataVersion,
    form_oid: str,
    base: str,
    rows: tuple[tuple[str, tuple[str, ...]], ...],
) -> Mapping[FieldRef, str]:
    return HISTORY_LINKS.get(
        (sha, form_oid, base, rows), lambda: _history_links(mdv, form_oid, base, rows)
    )


def _history_links(
    mdv: m.MetaDataVersion, form_oid: str, base: str, rows: tuple[tuple[str, tuple[str, ...]], ...]
) -> Mapping[FieldRef, str]:
    saved = dict(rows)
    urls: dict[FieldRef, str] = {}
    for gref in mdv.form_defs[form_oid].item_group_refs:
        group = mdv.item_group_defs.get(gref.item_group_oid)
        if group is None:
            continue
        wanted = set(saved.get(group.oid, ())) | ({""} if not group.repeating else set())
        for repeat_key in wanted:
            for ref in group.item_refs:
                urls[FieldRef(group.oid, repeat_key, ref.item_oid)] = base + _field_query(
                    group.oid, repeat_key, ref.item_oid
                )
    return MappingProxyType(urls)


def form_page(
    p: Place,
    *,
    posted: Posted | None = None,
    results: tuple[object, ...] = (),
    notice: str = "",
    error: str = "",
    conflict: tuple[ChangeSince, ...] | None = None,
) -> FormPage:
    study, key, sk = p.study, p.key, p.subject.subject_key
    with reading() as conn:
        items = stored_items(conn, p.subject.id)
        form_row = stored_forms(conn, p.subject.id).get(key)
        queries = form_queries(conn, p.subject.id, key)
        lines = _query_lines(conn, study, queries)
        signature = signature_states(conn, p.subject, key).get(key)
    snapshot = snapshot_of(p.subject, items)
    units = {
        FieldRef(k.item_group_oid, k.item_group_repeat_key, k.item_oid): unit
        for k, unit in stored_units(items).items()
        if k.form_key == key
    }
    if posted is not None:
        units.update({FieldRef(*vkey): unit for vkey, unit in posted.units.items()})
    status = form_row.status if form_row else FormStatus.NOT_STARTED
    version = form_row.version if form_row else 0
    live = [q for q in queries if q.status is not QueryStatus.CLOSED]
    shown = [QueryShown(f"query:{q.id}", q.key, f"{q.message} ({q.status.value})") for q in live]
    state = FormState.from_snapshot(
        snapshot,
        key,
        check_results=[*results, *shown],  # type: ignore[list-item]
        entered=posted.shown if posted else {},
        units=units,
    )
    urls = _form_urls(p)
    state = replace(state, history_urls=_history_urls(p, snapshot, urls.history))
    not_collected = study.not_collected(snapshot, key, g.lang)
    role = g.viewer.role_at(p.subject.site_oid)
    event = study.mdv.study_event_defs[key.study_event_oid]
    return FormPage(
        subject_key=sk,
        casebook_url=urls.casebook,
        event_name=numbered(study.event_name(event, g.lang), key.study_event_repeat_key),
        form_name=numbered(study.form_name(key.form_oid, g.lang), key.form_repeat_key),
        body=study.renderer.form_html(key.form_oid, state, lang=g.lang),
        version=version,
        status=status.value,
        can_edit=role in access.ENTER and status is not FormStatus.LOCKED and not not_collected,
        not_collected=not_collected,
        notice=notice,
        error=error,
        reason=request.form.get("reason", "") if request.method == "POST" else "",
        conflict=conflict,
        queries=lines,
        fields=study.query_fields(key.form_oid, g.lang),
        can_raise=role in access.RAISE_QUERY,
        can_answer=role in access.ANSWER_QUERY,
        can_close=role in access.CLOSE_QUERY,
        can_verify=role in access.VERIFY and status in TRANSITIONS["verify"].sources,
        can_lock=role in access.LOCK and status in TRANSITIONS["lock"].sources,
        can_unlock=role in access.LOCK and status in TRANSITIONS["unlock"].sources,
        signature=signature,
        queries_url=urls.queries,
        status_url=urls.status,
        key=key,
        kept=study.not_in_form(snapshot, key),
    )


@form_route("", "GET")
def form(
    subject_key: str, event_oid: str, form_oid: str, event_repeat: str, form_repeat: str
) -> tuple[str, int]:
    p = _place(subject_key, event_oid, form_oid, event_repeat, form_repeat)
    notice = ""
    if request.args.get("saved"):
        opened = request.args.get("opened", "0")
        notice = g.t("form.saved", opened=opened if opened.isdigit() else "0")
    return render("form.html", form_page(p, notice=notice))


def _expected_version() -> int:
    raw = request.form.get("expected_version", "")
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:  # "²", or past BIGINT: 500s
        raise HttpError(400, g.t("form.no_version"))
    return int(raw)


@form_route("", "POST")
def save(
    subject_key: str, event_oid: str, form_oid: str, event_repeat: str, form_repeat: str
) -> tuple[str, int] | Response:
    p = _place(subject_key, event_oid, form_oid, event_repeat, form_repeat)
    role = g.viewer.require(access.ENTER, p.subject.site_oid, g.t("action.enter"))
    expected = _expected_version()
    posted = read_post(p.study, p.key, request.form, g.lang)
    if posted.problems:
        page = form_page(p, posted=posted, results=tuple(posted.problems), error=g.t("form.hard"))
        return render("form.html", page, 422)
    try:
        result = enter_form(
            reading,
            writing,
            subject=p.subject,
            form_key=p.key,
            posted=posted,
            validator=p.study.validator.in_language(g.lang),  # the engine's messages in g.lang
            user=g.viewer.username,
            role=role,
            expected_version=expected,
            reason=request.form.get("reason") or None,
            complete=request.form.get("action") == "complete",
        )
    except ReasonRequiredError:
        page = form_page(p, posted=posted, error=g.t("form.reason_required"))
        return render("form.html", page, 422)
    except TextRefusedError as exc:  # issue 14: a control character, or over its limit
        return render("form.html", form_page(p, posted=posted, error=str(exc)), 422)
    except ConflictError as exc:
        page = form_page(p, error=g.t("form.conflict"), conflict=exc.changes)
        return render("form.html", page, 409)
    except FormNotEditableError as exc:
        return render("form.html", form_page(p, posted=posted, error=str(exc)), 409)
    if not result.saved:  # a hard check, or (marking complete) a required item left empty
        missing = all(r.kind == "mandatory" for r in result.hard_failures)
        error = g.t("complete.missing" if missing else "form.hard")
        page = form_page(p, posted=posted, results=result.hard_failures, error=error)
        return render("form.html", page, 422)
    # The form's own URL from the memo (url_for once per subject and form), as url_for
    # would give it with these two arguments.
    opened = len(result.queries_opened)
    location = f"{_form_urls(p).form}?saved=1&opened={opened}"
    return Response(status=303, headers={"Location": location})


@dataclass(frozen=True, slots=True)
class HistoryLine:
    seq: int
    recorded_at: str
    username: str
    role: str
    transaction_type: str
    old: str
    new: str
    reason: str
    source: str


@dataclass(frozen=True, slots=True)
class SourceLine:
    """An audit entry of the system the value was imported from, as its file gave it."""

    when: str
    who: str
    where: str
    change: str
    value: str
    reason: str
    imported: str


@dataclass(frozen=True, slots=True)
class HistoryPage:
    subject_key: str
    item: str
    question: str
    form_url: str
    lines: tuple[HistoryLine, ...]
    source_lines: tuple[SourceLine, ...] = ()


def _shown(value: str | None, is_null: str | None, unit: str = "") -> str:
    if is_null is not None:
        return f"(null: {is_null})"
    return f"{value} {unit}" if value and unit else (value or "")


def _unit(p: Place, unit_oid: str | None) -> str:
    return p.study.unit_symbol(unit_oid, g.lang) if unit_oid else ""


@form_route("/history", "GET")
def item_history(
    subject_key: str, event_oid: str, form_oid: str, event_repeat: str, form_repeat: str
) -> tuple[str, int]:
    p = _place(subject_key, event_oid, form_oid, event_repeat, form_repeat)
    field = request.args.get("field", "")
    if text_problem(field, "field"):  # issue 14: a NUL in it was a 500 on PostgreSQL
        raise HttpError(404, "")
    try:
        ref = parse_field_name(field)
    except FieldNameError as exc:
        raise HttpError(404, "") from exc
    with reading() as conn:
        rows = history(conn, p.study.oid, subject_key, item_oid=ref.item_oid, form=p.key)
        kept = source_history(conn, p.study.oid, subject_key, item_oid=ref.item_oid, form=p.key)
    item = p.study.mdv.item_defs.get(ref.item_oid)
    lines = tuple(
        HistoryLine(
            e.seq,
            e.recorded_at.isoformat(timespec="seconds"),
            e.username,
            e.role,
            e.transaction_type,
            _shown(e.old_value, e.old_is_null, _unit(p, e.old_unit)),
            _shown(e.new_value, e.new_is_null, _unit(p, e.new_unit)),
            e.reason or "",
            e.source,
        )
        for e in rows
        if (e.key.item_group_oid, e.key.item_group_repeat_key) == (ref.ig_oid, ref.ig_repeat_key)
    )
    page = HistoryPage(
        subject_key,
        ItemKey(*p.key, *ref).describe(),
        p.study.text(item.question, g.lang) if item else ref.item_oid,
        _form_urls(p).form,
        lines,
        tuple(
            SourceLine(
                s.date_time_stamp or "",
                s.user_oid or "",
                s.location_oid or "",
                s.transaction_type or "",
                s.new_value or "",
                s.reason or "",
                s.import_source,
            )
            for s in kept
            if s.key.item_group_oid == ref.ig_oid
            and s.key.item_group_repeat_key == ref.ig_repeat_key
        ),
    )
    return render("history.html", page)


TARGETS = {"verified": access.VERIFY, "locked": access.LOCK, "unlocked": access.LOCK}
"""Who may ask for each status change (``services.form_status.TARGETS``)."""


@form_route("/status", "POST")
def status(
    subject_key: str, event_oid: str, form_oid: str, event_repeat: str, form_repeat: str
) -> tuple[str, int] | Response:
    p = _place(subject_key, event_oid, form_oid, event_repeat, form_repeat)
    target = request.form.get("target", "")
    if target not in TARGETS:
        raise HttpError(400, g.t("form.bad_status"))
    role = g.viewer.require(TARGETS[target], p.subject.site_oid, g.t("action.status"))
    change = StatusChange(
        p.study.oid, subject_key, p.key, g.viewer.username, role, _expected_version()
    )
    try:
        with writing() as conn:
            change_status(conn, target, change)
    except ConflictError:
        return render("form.html", form_page(p, error=g.t("form.conflict_status")), 409)
    except (FormNotEditableError, NotFoundError) as exc:
        return render("form.html", form_page(p, error=str(exc)), 409)
    return redirect(_form_urls(p).form, 303)
