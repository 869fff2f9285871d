"""The subject matrix's reads: one page of subjects with their open-query counts, then the
form instances of those subjects only.

Two statements per page whatever the number of subjects in the study: the page of subjects
(search, site scope, status filter, sort, ``LIMIT``/``OFFSET`` and the total, all in SQL),
then the stored form instances of the page's subjects (``IN`` of at most one page of ids).
Nothing is read per subject, so the page costs the same at 10 or 10,000 subjects (bench:
``python -m bench matrix``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import (
    ColumnElement,
    Connection,
    and_,
    exists,
    false,
    func,
    literal,
    or_,
    select,
)

from storage.models import Form, Query, Site, Study, StudyEvent, Subject
from storage.vocabulary import FormStatus, QueryStatus

__all__ = [
    "COUNT_CAP",
    "MATRIX_SORTS",
    "MatrixCell",
    "MatrixFilter",
    "MatrixPage",
    "MatrixSubject",
    "subject_matrix",
]

MATRIX_SORTS = ("key", "-key", "created", "-created", "queries", "-queries")
"""The sort orders a matrix page may ask for (``-``: descending); anything else is refused
by the caller, never put into SQL."""


COUNT_CAP = 1000
"""With a status filter, the total is counted up to this many subjects (then "more than")."""


@dataclass(frozen=True, slots=True)
class MatrixFilter:
    """What one page of the matrix shows. ``site_oids`` are the sites the viewer may see
    (already intersected with a chosen site); ``unsited`` adds the subjects of no site
    (visible to a study-wide role only)."""

    study_oid: str
    site_oids: tuple[str, ...]
    unsited: bool
    columns: tuple[tuple[str, str], ...]
    """(StudyEventOID, FormOID) of each column, as the metadata version lists them."""
    search: str = ""
    status: FormStatus | None = None
    sort: str = "key"
    limit: int = 50
    offset: int = 0


@dataclass(frozen=True, slots=True)
class MatrixCell:
    """One stored form instance of a subject."""

    event_oid: str
    event_repeat_key: str
    form_oid: str
    form_repeat_key: str
    status: FormStatus


@dataclass(frozen=True, slots=True)
class MatrixSubject:
    subject_key: str
    site_oid: str | None
    created_at: datetime
    open_queries: int
    forms: tuple[MatrixCell, ...]


@dataclass(frozen=True, slots=True)
class MatrixPage:
    total: int
    """Subjects matching the filter, on every page (at most COUNT_CAP with a status
    filter: ``more`` tells when more match)."""

    subjects: tuple[MatrixSubject, ...]
    more: bool = False
    """The count stopped at COUNT_CAP: more subjects match than ``total`` says."""


_OPEN = (QueryStatus.OPEN.value, QueryStatus.ANSWERED.value)


def _column_key() -> ColumnElement[str]:
    """``SE.X/F.Y``: one (event, form) column as one value, for ``IN`` on both databases."""
    return StudyEvent.study_event_oid + literal("/") + Form.form_oid


def _status_clause(f: MatrixFilter) -> ColumnElement[bool] | None:
    """Subjects with at least one instance at ``f.status``; for *not started*, subjects with
    a column where no instance has started (a form never opened has no row at all)."""
    if f.status is None:
        return None
    names = [f"{e}/{o}" for e, o in f.columns]
    in_columns = and_(StudyEvent.subject_id == Subject.id, _column_key().in_(names))
    joined = select(Form.id).join(StudyEvent, StudyEvent.id == Form.study_event_id)
    if f.status is not FormStatus.NOT_STARTED:
        # correlated, so the page stops after its LIMIT in subject-key order; an IN over
        # every form of the study scanned the whole forms table, twice (page and total)
        return exists(
            joined.where(
                StudyEvent.subject_id == Subject.id,
                _column_key().in_(names),
                Form.status == f.status.value,
            )
        )
    started = (
        select(func.count(func.distinct(_column_key())))
        .select_from(Form)
        .join(StudyEvent, StudyEvent.id == Form.study_event_id)
        .where(in_columns, Form.status != FormStatus.NOT_STARTED.value)
        .scalar_subquery()
    )
    return started < len(names)


def _page_select(f: MatrixFilter):  # type: ignore[no-untyped-def]
    open_queries = (
        select(func.count(Query.id))
        .where(Query.subject_id == Subject.id, Query.status.in_(_OPEN))
        .scalar_subquery()
    )
    sites = select(Site.id).where(Site.oid.in_(f.site_oids))
    scope = Subject.site_id.in_(sites) if f.site_oids else false()
    if f.unsited:
        scope = or_(scope, Subject.site_id.is_(None))
    study_id = select(Study.id).where(Study.oid == f.study_oid).scalar_subquery()
    where = [Subject.study_id == study_id, scope]
    if f.search:
        where.append(func.lower(Subject.subject_key).contains(f.search.lower(), autoescape=True))
    status = _status_clause(f)
    if status is not None:
        where.append(status)
    counted = None
    if f.sort.lstrip("-") == "queries":
        # sorting by it needs every subject's count: one grouped pass over the open queries
        # (a correlated count per subject took twice as long at 10,000 subjects)
        counted = (
            select(Query.subject_id, func.count().label("n"))
            .where(Query.status.in_(_OPEN))
            .group_by(Query.subject_id)
            .subquery()
        )
        open_queries = func.coalesce(counted.c.n, 0)
    by = {"key": Subject.subject_key, "created": Subject.created_at, "queries": open_queries}
    column = by[f.sort.lstrip("-")]
    order = column.desc() if f.sort.startswith("-") else column.asc()
    # the total as a scalar subquery, run once: a window count would make the database
    # build every matching row (and its query count) before the LIMIT. With a status filter
    # it is counted up to COUNT_CAP + 1 only: each subject's forms are looked up to count it
    matching = select(Subject.id).where(*where)
    if status is not None:
        matching = matching.limit(COUNT_CAP + 1)
    total = select(func.count()).select_from(matching.subquery()).scalar_subquery()
    page = select(
        Subject.id, Subject.subject_key, Site.oid, Subject.created_at, open_queries, total
    ).outerjoin(Site, Site.id == Subject.site_id)
    if counted is not None:
        page = page.outerjoin(counted, counted.c.subject_id == Subject.id)
    return page.where(*where).order_by(order, Subject.subject_key).limit(f.limit).offset(f.offset)


def subject_matrix(conn: Connection, f: MatrixFilter) -> MatrixPage:
    """One page of the matrix: the matching subjects in order, each with its open (or
    answered, not yet closed) queries and its stored form instances of the columns."""
    if f.sort not in MATRIX_SORTS:
        raise ValueError(f"unknown sort {f.sort!r}; one of {', '.join(MATRIX_SORTS)}")
    rows = conn.execute(_page_select(f)).all()
    if not rows:  # past the last page (an old link): the total still tells how many match
        first = conn.execute(_page_select(replace(f, limit=1, offset=0))).first()
        total = int(first[5]) if first else 0
        more = f.status is not None and total > COUNT_CAP
        return MatrixPage(min(total, COUNT_CAP) if more else total, (), more)
    ids = [r[0] for r in rows]
    cells: dict[int, list[MatrixCell]] = {i: [] for i in ids}
    columns = set(f.columns)
    forms = conn.execute(
        select(
            StudyEvent.subject_id,
            StudyEvent.study_event_oid,
            StudyEvent.repeat_key,
            Form.form_oid,
            Form.repeat_key,
            Form.status,
        )
        .join(StudyEvent, StudyEvent.id == Form.study_event_id)
        .where(StudyEvent.subject_id.in_(ids))
        .order_by(StudyEvent.subject_id, StudyEvent.repeat_key, Form.repeat_key)
    )
    statuses = {s.value: s for s in FormStatus}
    for sid, event, erk, form, frk, status in forms.all():
        if (event, form) in columns:
            cells[sid].append(MatrixCell(event, erk, form, frk, statuses[status]))
    subjects = tuple(MatrixSubject(r[1], r[2], r[3], int(r[4]), tuple(cells[r[0]])) for r in rows)
    total = int(rows[0][5])
    more = f.status is not None and total > COUNT_CAP
    return MatrixPage(min(total, COUNT_CAP) if more else total, subjects, more)
