"""The query list a data manager or monitor works through: filtered by site, subject, form,
status, age and who raised it, newest first, in one statement; and the site of each query a
bulk close names (so the web app can check the user's role at each before writing).

Every filter value arrives already checked by the caller (allow-lists, strict parsing); here
each is a bound parameter, never text in the SQL.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select

from odm_engine.clinical import ItemKey
from storage.models import Query, Site
from storage.models import Subject as SubjectRow
from storage.queries import KEY_COLUMNS
from storage.readers.listings import StoredQuery
from storage.studies import study_id_of
from storage.vocabulary import QueryStatus

__all__ = ["ORIGINS", "QueryFilter", "filtered_queries", "query_sites"]

ORIGINS = ("check", "person")
"""Who raised a query: a soft check, or a person (``queries.origin``)."""


@dataclass(frozen=True, slots=True)
class QueryFilter:
    """What the list shows; None: no restriction."""

    status: QueryStatus | None = None
    subject_key: str | None = None
    form_oid: str | None = None
    origin: str | None = None
    opened_before: datetime | None = None
    """Only queries opened before this moment ("open longer than N days")."""


def filtered_queries(
    conn: Connection,
    study_oid: str,
    site_oids: Collection[str],
    wanted: QueryFilter,
    limit: int = 500,
) -> list[StoredQuery]:
    """The newest ``limit`` queries of subjects at ``site_oids`` that ``wanted`` lets through."""
    q = (
        select(Query.__table__, SubjectRow.subject_key.label("subject_key"), Site.oid.label("site"))
        .join(SubjectRow, SubjectRow.id == Query.subject_id)
        .join(Site, Site.id == SubjectRow.site_id)
        .where(SubjectRow.study_id == study_id_of(conn, study_oid), Site.oid.in_(site_oids))
        .order_by(Query.id.desc())
        .limit(limit)
    )
    if wanted.status is not None:
        q = q.where(Query.status == wanted.status.value)
    if wanted.subject_key is not None:
        q = q.where(SubjectRow.subject_key == wanted.subject_key)
    if wanted.form_oid is not None:
        q = q.where(Query.form_oid == wanted.form_oid)
    if wanted.origin is not None:
        q = q.where(Query.origin == wanted.origin)
    if wanted.opened_before is not None:
        q = q.where(Query.opened_at < wanted.opened_before)
    return [
        StoredQuery(
            r["id"],
            r["subject_key"],
            r["site"],
            ItemKey(*(r[c] for c in KEY_COLUMNS)),
            QueryStatus(r["status"]),
            r["message"],
            r["opened_by"],
            r["opened_at"],
        )
        for r in conn.execute(q).mappings()
    ]


def query_sites(conn: Connection, study_oid: str, query_ids: Collection[int]) -> dict[int, str]:
    """Query id -> the OID of its subject's site, for the queries of ``study_oid`` among
    ``query_ids`` (an id of another study, or of no query, is absent)."""
    ids = sorted(set(query_ids))
    if not ids:
        return {}
    rows = conn.execute(
        select(Query.id, Site.oid)
        .join(SubjectRow, SubjectRow.id == Query.subject_id)
        .join(Site, Site.id == SubjectRow.site_id)
        .where(SubjectRow.study_id == study_id_of(conn, study_oid), Query.id.in_(ids))
    )
    return {qid: site for qid, site in rows}
