"""The dashboard's figures (issue 18): enrolment per month, forms by status, open queries by
age, SDV progress and the checks that fire most, each per form where it says so.

Every figure is one ``GROUP BY`` in the database (SQLAlchemy Core; SDV progress is summed from
the forms-by-status groups): no row of ``forms``, ``queries`` or ``item_data`` comes to
Python, only the groups, so the dashboard of 10,000 subjects costs a handful of index scans
(``python -m bench dashboard``). Each reader takes the study and the sites to count (None:
every subject of the study, those of no site included) and returns snapshots (tuples of
frozen dataclasses).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Select, case, func, literal, select
from sqlalchemy.sql.elements import ColumnElement

from storage.models import Form, Query, Site, Study, StudyEvent, Subject, UTCDateTime
from storage.vocabulary import FormStatus, QueryStatus

__all__ = [
    "AGE_BUCKETS",
    "PARTS",
    "CheckCount",
    "Dashboard",
    "FormCount",
    "MonthCount",
    "SdvCount",
    "dashboard",
]

AGE_BUCKETS = ("lt7", "7to30", "gt30")
"""Open queries by the days since they were opened: under 7, 7 to 30, over 30."""
SAVED = tuple(s.value for s in FormStatus if s is not FormStatus.NOT_STARTED)
"""Forms that hold saved data: every status but ``not_started``."""
PARTS = ("enrolment", "completion", "query_age", "sdv", "checks")
"""The figures of the dashboard, in page order (also the names in its chart and CSV URLs)."""
TOP_CHECKS = 15
"""The checks shown: the ones with the most queries."""


@dataclass(frozen=True, slots=True)
class MonthCount:
    month: str
    """``YYYY-MM`` (UTC) of the subjects' creation."""
    subjects: int


@dataclass(frozen=True, slots=True)
class FormCount:
    form_oid: str
    status: str
    forms: int


@dataclass(frozen=True, slots=True)
class SdvCount:
    form_oid: str
    verified: int
    saved: int


@dataclass(frozen=True, slots=True)
class CheckCount:
    check_id: str
    form_oid: str
    queries: int
    unresolved: int
    """Of ``queries``, those not closed."""


@dataclass(frozen=True, slots=True)
class Dashboard:
    enrolment: tuple[MonthCount, ...]
    completion: tuple[FormCount, ...]
    query_age: tuple[tuple[str, int], ...]
    """(bucket of :data:`AGE_BUCKETS`, unresolved queries), every bucket present."""
    sdv: tuple[SdvCount, ...]
    checks: tuple[CheckCount, ...]


def _subjects_of(study_oid: str, sites: Sequence[str] | None) -> ColumnElement[bool]:
    """The condition on ``subjects`` for the study and the sites counted."""
    study = select(Study.id).where(Study.oid == study_oid).scalar_subquery()
    cond = Subject.study_id == study
    if sites is not None:
        site_ids = select(Site.id).where(Site.study_id == study, Site.oid.in_(list(sites)))
        cond = cond & Subject.site_id.in_(site_ids)
    return cond


def _month(conn: Connection) -> ColumnElement[str]:
    if conn.dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", Subject.created_at), "YYYY-MM")
    return func.strftime("%Y-%m", Subject.created_at)  # SQLite keeps naive UTC


def enrolment(
    conn: Connection, study_oid: str, sites: Sequence[str] | None
) -> tuple[MonthCount, ...]:
    month = _month(conn).label("month")
    stmt = (
        select(month, func.count())
        .where(_subjects_of(study_oid, sites))
        .group_by(month)
        .order_by(month)
    )
    return tuple(MonthCount(m, n) for m, n in conn.execute(stmt))


def _forms(study_oid: str, sites: Sequence[str] | None, *columns: Any) -> Select[Any]:
    """``columns`` of the forms of the subjects counted (forms, their events, subjects)."""
    return (
        select(*columns)
        .select_from(Form)
        .join(StudyEvent, StudyEvent.id == Form.study_event_id)
        .join(Subject, Subject.id == StudyEvent.subject_id)
        .where(_subjects_of(study_oid, sites))
    )


def completion(
    conn: Connection, study_oid: str, sites: Sequence[str] | None
) -> tuple[FormCount, ...]:
    stmt = (
        _forms(study_oid, sites, Form.form_oid, Form.status, func.count())
        .group_by(Form.form_oid, Form.status)
        .order_by(Form.form_oid, Form.status)
    )
    return tuple(FormCount(*row) for row in conn.execute(stmt))


def sdv_of(completion: tuple[FormCount, ...]) -> tuple[SdvCount, ...]:
    """SDV progress per form from the groups of :func:`completion` (a few rows per form:
    the database did the counting; the forms are not read a second time)."""
    verified: dict[str, int] = {}
    saved: dict[str, int] = {}
    for c in completion:
        if c.status in SAVED:
            saved[c.form_oid] = saved.get(c.form_oid, 0) + c.forms
            if c.status == FormStatus.VERIFIED.value:
                verified[c.form_oid] = verified.get(c.form_oid, 0) + c.forms
    return tuple(SdvCount(f, verified.get(f, 0), n) for f, n in sorted(saved.items()))


def query_age(
    conn: Connection, study_oid: str, sites: Sequence[str] | None, now: datetime
) -> tuple[tuple[str, int], ...]:
    week = literal(now - timedelta(days=7), UTCDateTime())
    month = literal(now - timedelta(days=30), UTCDateTime())
    bucket = case(
        (Query.opened_at > week, AGE_BUCKETS[0]),
        (Query.opened_at >= month, AGE_BUCKETS[1]),
        else_=AGE_BUCKETS[2],
    ).label("bucket")
    stmt = (
        select(bucket, func.count())
        .select_from(Query)
        .join(Subject, Subject.id == Query.subject_id)
        .where(_subjects_of(study_oid, sites), Query.status != QueryStatus.CLOSED.value)
        .group_by(bucket)
    )
    found = dict(conn.execute(stmt).all())
    return tuple((b, int(found.get(b, 0))) for b in AGE_BUCKETS)


def checks(conn: Connection, study_oid: str, sites: Sequence[str] | None) -> tuple[CheckCount, ...]:
    total = func.count().label("total")
    unresolved = func.sum(case((Query.status != QueryStatus.CLOSED.value, 1), else_=0))
    stmt = (
        select(Query.check_id, Query.form_oid, total, unresolved)
        .select_from(Query)
        .join(Subject, Subject.id == Query.subject_id)
        .where(_subjects_of(study_oid, sites), Query.check_id.is_not(None))
        .group_by(Query.check_id, Query.form_oid)
        .order_by(total.desc(), Query.check_id, Query.form_oid)
        .limit(TOP_CHECKS)
    )
    return tuple(CheckCount(c, f, n, int(u or 0)) for c, f, n, u in conn.execute(stmt))


def dashboard(
    conn: Connection,
    study_oid: str,
    sites: Sequence[str] | None,
    now: datetime | None = None,
    parts: Collection[str] = PARTS,
) -> Dashboard:
    """The figures of ``parts`` (default: all of :data:`PARTS`) for ``study_oid`` at
    ``sites`` (None: every subject); a part not asked for is empty (no query runs)."""
    now = now or datetime.now(UTC)
    forms = completion(conn, study_oid, sites) if {"completion", "sdv"} & set(parts) else ()
    return Dashboard(
        enrolment(conn, study_oid, sites) if "enrolment" in parts else (),
        forms if "completion" in parts else (),
        query_age(conn, study_oid, sites, now) if "query_age" in parts else (),
        sdv_of(forms) if "sdv" in parts else (),
        checks(conn, study_oid, sites) if "checks" in parts else (),
    )
