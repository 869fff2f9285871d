"""Queries: the list across the user's sites (filtered by status), raising one on an item,
answering, closing and reopening."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import Blueprint, g, redirect, request, url_for
from werkzeug.wrappers.response import Response

from odm_engine.clinical import FormKey, ItemKey
from odm_engine.free_text import TextRefusedError
from renderers.html import parse_field_name
from renderers.html.naming import FieldNameError
from storage.queries import open_query, transition
from storage.readers.casebook import stored_forms
from storage.readers.listings import query_lines, query_subject_id
from storage.vocabulary import QueryStatus
from webapp import access
from webapp.errors import HttpError
from webapp.pages import render
from webapp.runtime import reading, writing
from webapp.studyview import sites_of
from webapp.urlkeys import form_url
from webapp.views.subjects import served

bp = Blueprint("queries", __name__)
STATUS_FILTERS = ("open", "answered", "closed", "all")


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


@dataclass(frozen=True, slots=True)
class QueriesPage:
    status: str
    filters: tuple[str, ...]
    rows: tuple[QueryRow, ...]


@bp.get("/queries")
def index() -> tuple[str, int]:
    study = served()
    g.viewer.require_anywhere(access.CLINICAL, g.t("action.read_queries"))
    status = request.args.get("status", "open")
    if status not in STATUS_FILTERS:
        raise HttpError(400, g.t("queries.bad_filter", allowed=", ".join(STATUS_FILTERS)))
    with reading() as conn:
        visible = g.viewer.sites(access.CLINICAL, [s.oid for s in sites_of(conn, study.oid)])
        wanted = None if status == "all" else QueryStatus(status)
        lines = query_lines(conn, study.oid, visible, wanted)
    page = QueriesPage(
        status,
        STATUS_FILTERS,
        tuple(
            QueryRow(
                q.id,
                q.subject_key,
                q.site_oid,
                q.key.describe(),
                q.status.value,
                q.message,
                q.opened_by,
                q.opened_at,
                form_url("entry.form", q.subject_key, FormKey(*q.key[:4])),
            )
            for q in lines
        ),
    )
    return render("queries.html", page)


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
