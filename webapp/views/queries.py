"""Queries: the list across the user's sites (filtered by status, site, subject, form, age and
who raised them, each with its conversation), a data manager's bulk close, raising one on an
item, answering, closing and reopening."""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from flask import Blueprint, g, redirect, request, url_for
from werkzeug.wrappers.response import Response

from odm_engine.clinical import FormKey, ItemKey
from odm_engine.free_text import TextRefusedError
from renderers.html import parse_field_name
from renderers.html.naming import FieldNameError
from storage.queries import close_queries, open_query, transition
from storage.readers.casebook import stored_forms
from storage.readers.listings import query_subject_id
from storage.readers.query_list import ORIGINS, QueryFilter, filtered_queries, query_sites
from storage.vocabulary import QueryStatus
from webapp import access
from webapp.errors import HttpError
from webapp.pages import render
from webapp.querythreads import MessageShown, item_label, threads_shown
from webapp.runtime import reading, writing
from webapp.studyview import sites_of
from webapp.urlkeys import form_url
from webapp.views.subjects import served

bp = Blueprint("queries", __name__)
STATUS_FILTERS = ("open", "answered", "closed", "all")
RAISED_BY = ("any", *ORIGINS)
DAYS = re.compile(r"[0-9]{1,4}")
MAX_DAYS = 3650
QUERY_ID = re.compile(r"[0-9]{1,12}")


@dataclass(frozen=True, slots=True)
class QueryRow:
    id: int
    subject_key: str
    site: str
    where: str
    status: str
    message: str
    opened_by: str
    opened_at: datetime
    url: str
    age_days: int = 0
    thread: tuple[MessageShown, ...] = ()
    """Every message, oldest first; the last is shown as the latest, the rest one click away."""

    @property
    def latest(self) -> MessageShown | None:
        return self.thread[-1] if self.thread else None


@dataclass(frozen=True, slots=True)
class QueriesPage:
    status: str
    filters: tuple[str, ...]
    rows: tuple[QueryRow, ...]
    chosen: dict[str, str] = field(default_factory=dict)
    """The filter values as asked (the form shows them again)."""
    sites: tuple[tuple[str, str], ...] = ()
    forms: tuple[tuple[str, str], ...] = ()
    raised_by: tuple[str, ...] = RAISED_BY
    can_bulk: bool = False
    closed: int | None = None


def _bad(name: str, why: str) -> HttpError:
    """400 naming the parameter and what it takes, never echoing the value (no reflection)."""
    return HttpError(400, g.t("qlist.bad_param", name=name, why=g.t(why)))


def _choice(name: str, value: str, allowed: Collection[str], default: str = "") -> str:
    if value != default and value not in allowed:
        raise _bad(name, "qlist.why_choice")
    return value


def _wanted(
    site_oids: Collection[str], form_oids: Collection[str]
) -> tuple[QueryFilter, dict[str, str]]:
    """The list's filters from request.args, each from an allow-list or parsed strictly."""
    status = _choice("status", request.args.get("status", "open"), STATUS_FILTERS, "open")
    site = _choice("site", request.args.get("site", ""), site_oids)
    form = _choice("form", request.args.get("form", ""), form_oids)
    raised_by = _choice("raised_by", request.args.get("raised_by", "any"), RAISED_BY, "any")
    subject = request.args.get("subject", "")
    if len(subject) > 100 or not subject.isprintable():
        raise _bad("subject", "qlist.why_subject")
    older = request.args.get("older_than", "")
    if older and not (DAYS.fullmatch(older) and int(older) <= MAX_DAYS):
        raise _bad("older_than", "qlist.why_days")
    chosen = {"status": status, "site": site, "form": form, "raised_by": raised_by}
    chosen |= {"subject": subject, "older_than": older}
    return QueryFilter(
        status=None if status == "all" else QueryStatus(status),
        subject_key=subject or None,
        form_oid=form or None,
        origin=None if raised_by == "any" else raised_by,
        opened_before=datetime.now(UTC) - timedelta(days=int(older)) if older else None,
    ), chosen


def _age(opened_at: datetime, now: datetime) -> int:
    aware = opened_at if opened_at.tzinfo else opened_at.replace(tzinfo=UTC)
    return max(0, (now - aware).days)


@bp.get("/queries")
def index() -> tuple[str, int]:
    study = served()
    g.viewer.require_anywhere(access.CLINICAL, g.t("action.read_queries"))
    with reading() as conn:
        sites = sites_of(conn, study.oid)
        visible = g.viewer.sites(access.CLINICAL, [s.oid for s in sites])
        wanted, chosen = _wanted(visible, study.mdv.form_defs)
        lines = filtered_queries(
            conn, study.oid, [chosen["site"]] if chosen["site"] else visible, wanted
        )
        threads = threads_shown(conn, [q.id for q in lines])
    closed = request.args.get("closed", "")
    now = datetime.now(UTC)
    page = QueriesPage(
        chosen["status"],
        STATUS_FILTERS,
        tuple(
            QueryRow(
                q.id,
                q.subject_key,
                q.site_oid,
                item_label(study, q.key, g.lang),
                q.status.value,
                q.message,
                q.opened_by,
                q.opened_at,
                form_url("entry.form", q.subject_key, FormKey(*q.key[:4])),
                _age(q.opened_at, now),
                threads.get(q.id, ()),
            )
            for q in lines
        ),
        chosen,
        tuple((s.oid, s.name or s.oid) for s in sites if s.oid in visible),
        tuple((oid, study.form_name(oid, g.lang)) for oid in study.mdv.form_defs),
        can_bulk=bool(g.viewer.sites(access.BULK_CLOSE, visible)),
        closed=int(closed) if DAYS.fullmatch(closed) else None,
    )
    return render("queries.html", page)


def _posted_ids() -> list[int]:
    raw = request.form.getlist("query")
    if not all(QUERY_ID.fullmatch(r) for r in raw):
        raise HttpError(400, g.t("qlist.bulk_none"))
    return [int(r) for r in raw]


@bp.post("/queries/close")
def bulk_close() -> Response:
    """A data manager closes the selected queries with one comment; each close is audited as
    its own message. All or nothing: one query closed meanwhile refuses the batch (409)."""
    study = served()
    g.viewer.require_anywhere(access.BULK_CLOSE, g.t("action.bulk_close"))
    ids, text = _posted_ids(), request.form.get("text", "").strip()
    if not ids or not text:
        raise HttpError(400, g.t("qlist.bulk_none"))
    with reading() as conn:
        sites = query_sites(conn, study.oid, ids)
    if set(ids) - set(sites):
        raise HttpError(404, "")
    roles = {
        g.viewer.require(access.BULK_CLOSE, site, g.t("action.bulk_close"))
        for site in set(sites.values())
    }
    try:
        with writing() as conn:
            closed = close_queries(
                conn, ids, text=text, user=g.viewer.username, role=next(iter(roles))
            )
    except TextRefusedError as exc:
        raise HttpError(422, str(exc)) from exc
    except ValueError as exc:
        raise HttpError(409, g.t("qlist.bulk_refused", why=str(exc))) from exc
    return redirect(url_for("queries.index", status="closed", closed=len(closed)), 303)


def _posted_form() -> FormKey:
    """The form instance a query form was posted from (hidden fields of the form page)."""
    f = request.form
    return FormKey(
        f.get("event_oid", ""),
        f.get("event_repeat", ""),
        f.get("form_oid", ""),
        f.get("form_repeat", ""),
    )


def _back(subject_key: str) -> Response:
    key = _posted_form()
    if served().has_form(key.study_event_oid, key.form_oid):
        return redirect(form_url("entry.form", subject_key, key), 303)
    return redirect(url_for("subjects.casebook", subject_key=subject_key), 303)


@bp.post("/subjects/<key:subject_key>/queries")
def subject_queries(subject_key: str) -> Response:
    study = served()
    with reading() as conn:
        subject = access.visible_subject(conn, g.viewer, study.oid, subject_key)
    role = g.viewer.require(access.RAISE_QUERY, subject.site_oid, g.t("action.raise_query"))
    form = _posted_form()
    message = request.form.get("message", "").strip()
    try:
        ref = parse_field_name(request.form.get("field", ""))
    except FieldNameError as exc:
        raise HttpError(400, g.t("queries.bad_item")) from exc
    if not message or not study.has_form(form.study_event_oid, form.form_oid):
        raise HttpError(400, g.t("queries.bad_item"))
    if not study.may_open(form):
        with reading() as conn:
            if not study.may_open(form, stored_forms(conn, subject.id)):
                raise HttpError(400, g.t("queries.bad_item"))
    with writing() as conn:
        open_query(
            conn,
            study=study.oid,
            subject_key=subject_key,
            key=ItemKey(*form, *ref),
            message=message,
            user=g.viewer.username,
            role=role,
        )
    return _back(subject_key)


ACTIONS = {"answer": access.ANSWER_QUERY, "close": access.CLOSE_QUERY, "reopen": access.CLOSE_QUERY}


@bp.post("/subjects/<key:subject_key>/queries/<int:query_id>")
def query_action(subject_key: str, query_id: int) -> Response:
    study = served()
    with reading() as conn:
        subject = access.visible_subject(conn, g.viewer, study.oid, subject_key)
        owner = query_subject_id(conn, query_id)
    if owner != subject.id:
        raise HttpError(404, "")
    action = request.form.get("action", "")
    if action not in ACTIONS:
        raise HttpError(400, g.t("queries.bad_action"))
    role = g.viewer.require(ACTIONS[action], subject.site_oid, g.t("action.query_" + action))
    text = request.form.get("text", "").strip()
    if not text:  # an answer says what was checked; a close or reopen says why
        raise HttpError(
            400, g.t("queries.answer_text" if action == "answer" else "qthread.comment_text")
        )
    try:
        with writing() as conn:
            transition(conn, query_id, action, text=text, user=g.viewer.username, role=role)
    except TextRefusedError as exc:  # issue 14: a control character, or over its limit
        raise HttpError(422, str(exc)) from exc
    except ValueError as exc:
        raise HttpError(409, str(exc)) from exc
    return _back(subject_key)
