"""Listings the web app shows: the served study's newest version, its sites, its metadata
versions and its queries. Each returns snapshots (frozen dataclasses), never rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, bindparam, func, select
from sqlalchemy.orm import aliased

from odm_engine.clinical import ItemKey
from storage.models import MetadataPublication, MetadataVersion, Query, Site, Study
from storage.prepared import Prepared
from storage.studies import study_id_of
from storage.vocabulary import QueryStatus

__all__ = [
    "HostedStudy",
    "NewestVersion",
    "StoredQuery",
    "StoredSite",
    "StoredVersion",
    "hosted_studies",
    "metadata_versions",
    "newest_versions",
    "query_subject_id",
    "study_sites",
]


@dataclass(frozen=True, slots=True)
class NewestVersion:
    """A study and its current metadata version (the highest published number)."""

    study_oid: str
    study_name: str
    number: int
    sha256: str


_LATER = aliased(MetadataPublication)
_NEWEST_SELECT = (
    select(Study.oid, Study.name, MetadataVersion.number, MetadataVersion.sha256)
    .join(MetadataVersion, MetadataVersion.study_id == Study.id)
    .where(
        MetadataVersion.number
        == select(func.max(_LATER.number)).where(_LATER.study_id == Study.id).scalar_subquery()
    )
    .order_by(Study.oid)
    .limit(2)
)
"""Each study with its current (newest published) metadata version (built once; executed
per request). Drafts are never current."""
_NEWEST = Prepared(_NEWEST_SELECT)
_NEWEST_ONE = Prepared(_NEWEST_SELECT.where(Study.oid == bindparam("oid")))


def newest_versions(conn: Connection, study_oid: str | None) -> list[NewestVersion]:
    """``study_oid`` with its newest version; without one, the first two studies by OID
    (two tell the caller the database holds several)."""
    if study_oid:
        rows = _NEWEST_ONE.all(conn, {"oid": study_oid})
    else:
        rows = _NEWEST.all(conn, {})
    return [NewestVersion(*row) for row in rows]


@dataclass(frozen=True, slots=True)
class StoredSite:
    oid: str
    name: str
    location_type: str | None


def study_sites(conn: Connection, study_oid: str) -> list[StoredSite]:
    """The study's AdminData Locations, by OID."""
    rows = conn.execute(
        select(Site.oid, Site.name, Site.location_type)
        .where(Site.study_id == study_id_of(conn, study_oid))
        .order_by(Site.oid)
    ).all()
    return [StoredSite(*row) for row in rows]


@dataclass(frozen=True, slots=True)
class StoredVersion:
    number: int
    oid: str
    sha256: str
    loaded_at: datetime
    loaded_by: str | None
    published_at: datetime | None = None
    """None: a draft."""
    published_by: str | None = None
    publication_reason: str | None = None

    @property
    def status(self) -> str:
        return "draft" if self.published_at is None else "published"


def metadata_versions(conn: Connection, study_oid: str) -> list[StoredVersion]:
    """The study's metadata versions, newest first, each with its publication (if any)."""
    rows = conn.execute(
        select(
            MetadataVersion.number,
            MetadataVersion.oid,
            MetadataVersion.sha256,
            MetadataVersion.loaded_at,
            MetadataVersion.loaded_by,
            MetadataPublication.published_at,
            MetadataPublication.published_by,
            MetadataPublication.reason,
        )
        .join(Study, Study.id == MetadataVersion.study_id)
        .outerjoin(
            MetadataPublication,
            (MetadataPublication.study_id == MetadataVersion.study_id)
            & (MetadataPublication.number == MetadataVersion.number),
        )
        .where(Study.oid == study_oid)
        .order_by(MetadataVersion.number.desc())
    ).all()
    return [StoredVersion(*row) for row in rows]


@dataclass(frozen=True, slots=True)
class StoredQuery:
    id: int
    subject_key: str
    site_oid: str
    key: ItemKey
    status: QueryStatus
    message: str
    opened_by: str
    opened_at: datetime


def query_subject_id(conn: Connection, query_id: int) -> int | None:
    """The id of the subject query ``query_id`` is about (None: no such query)."""
    found: int | None = conn.scalar(select(Query.subject_id).where(Query.id == query_id))
    return found


@dataclass(frozen=True, slots=True)
class HostedStudy:
    oid: str
    name: str


def hosted_studies(conn: Connection) -> list[HostedStudy]:
    """Every study the database holds, by OID (the home page lists those a user may open)."""
    return [
        HostedStudy(*row) for row in conn.execute(select(Study.oid, Study.name).order_by(Study.oid))
    ]
