"""What an export reads, chosen once for :mod:`services.exports` (``edc export`` and the web
app both go through it).

An :class:`OdmSelection` names what an ODM export holds (snapshot, transactional, with the
audit trail; since a moment; one site; some subjects; with metadata and AdminData) and
:func:`odm_source` turns it into the stream of records and the extra parts the writer takes
(:func:`renderers.odm.write_odm`). :func:`tabular_source` does the same for the CSV and
Dataset-JSON writers. Storage never imports a renderer: the service hands one to the other.
Every function here only reads.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Connection, func, select

from odm_engine import model as m
from odm_engine.clinical import site_code
from odm_engine.exchange.records import SubjectRecord
from storage.errors import StorageError
from storage.export_records import admin_data
from storage.export_versions import (
    changes_by_version,
    odm_runs,
    snapshot_by_version,
    version_metadata,
)
from storage.models import AuditRow, Form, ItemGroup, Site, StudyEvent, Subject
from storage.studies import current_metadata, study_id_of

ODM_MODES = ("snapshot", "transactional", "audit")
"""The kinds of ODM export: current values, the same as Upsert transactions, every change."""


class ExportRequestError(StorageError, ValueError):
    """An export asked for with parameters that name nothing (a bad timestamp, ...)."""


def parse_since(text: str | None) -> datetime | None:
    """An ISO 8601 date or timestamp (UTC when it has no zone); None for None or ""."""
    if text is None or not text.strip():
        return None
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise ExportRequestError(
            f"{text!r} is not an ISO 8601 date or timestamp: write e.g. 2026-03-01 or "
            "2026-03-01T00:00:00Z."
        ) from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class OdmSelection:
    """What an ODM export holds."""

    mode: str = "snapshot"
    """One of :data:`ODM_MODES`."""
    since: datetime | None = None
    """Audit mode: only changes after it; else the current data of subjects changed after it."""
    site: str | None = None
    subject_keys: tuple[str, ...] = ()
    with_metadata: bool = False
    with_admin: bool = False

    def __post_init__(self) -> None:
        if self.mode not in ODM_MODES:
            raise ExportRequestError(
                f"Unknown ODM export {self.mode!r}: choose one of {', '.join(ODM_MODES)}."
            )

    @property
    def file_type(self) -> str:
        """The ODM FileType: ``Snapshot`` or ``Transactional``."""
        return "Snapshot" if self.mode == "snapshot" else "Transactional"


@dataclass(frozen=True, slots=True)
class OdmSource:
    """The parts of one ODM export, for :func:`renderers.odm.write_odm`."""

    study_oid: str
    records: Iterator[SubjectRecord]
    metadata: list[bytes] | None
    """The stored XML of each metadata version the records name and of the current one,
    oldest first (:func:`storage.export_versions.version_metadata`)."""
    admin: m.AdminData | None


def odm_source(conn: Connection, study_oid: str, selection: OdmSelection) -> OdmSource:
    """The records (streamed from one SELECT per metadata version the subjects are on, oldest
    first) and the metadata and AdminData asked for."""
    site, keys, since = selection.site, selection.subject_keys, selection.since
    audit = selection.mode == "audit"
    runs = odm_runs(conn, study_oid, site=site, subject_keys=keys, since=since, audit=audit)
    records: Iterator[SubjectRecord]
    if audit:
        records = changes_by_version(
            conn, study_oid, site=site, subject_keys=keys, since=since, runs=runs
        )
    else:
        records = snapshot_by_version(
            conn,
            study_oid,
            site=site,
            subject_keys=keys,
            since=since,
            transaction_type="Upsert" if selection.mode == "transactional" else None,
            runs=runs,
        )
    metadata = None
    if selection.with_metadata:  # the versions the records name, computed once for both
        metadata = version_metadata(conn, study_oid, [oid for _condition, oid in runs])
    return OdmSource(
        study_oid,
        records,
        metadata,
        admin_data(conn, study_oid) if selection.with_admin else None,
    )


@dataclass(frozen=True, slots=True)
class TabularSource:
    """The parts of a CSV or Dataset-JSON export, for :mod:`renderers.tabular`."""

    study_oid: str
    odm: m.ODM
    records: Iterator[SubjectRecord]
    last_change: datetime | None = None
    """When the exported data last changed: the newest audit row of the study (of the
    site's subjects, if one is named); None when nothing was ever saved."""
    key_data: dict[str, int] = field(default_factory=dict)
    """The longest key values stored (:func:`key_lengths`)."""


def tabular_source(conn: Connection, study_oid: str, *, site: str | None = None) -> TabularSource:
    """The study's current metadata and its current values (of one site, if named), version
    by version: each record names the version its subject is on (the writers say which
    versions contributed to each dataset)."""
    stored = current_metadata(conn, study_oid)
    return TabularSource(
        study_oid,
        stored.odm,
        snapshot_by_version(conn, study_oid, site=site, split_removed=False),
        last_change(conn, study_oid, site=site),
        key_lengths(conn, study_oid),
    )


def key_lengths(conn: Connection, study_oid: str) -> dict[str, int]:
    """The longest SubjectKey (``subject``), site number of a site with subjects (``site``:
    :func:`site_code` of the Location OID) and study event, form and item group repeat key
    (``event_repeat``, ``form_repeat``, ``group_repeat``) stored for the study: the data's
    share of the key variables' lengths in tabular exports and Define-XML. A part with no
    data is left out."""
    study_id = study_id_of(conn, study_oid)
    subjects = select(Subject.id).where(Subject.study_id == study_id)
    events = select(StudyEvent.id).where(StudyEvent.subject_id.in_(subjects))
    forms = select(Form.id).where(Form.study_event_id.in_(events))
    longest = {
        "subject": select(func.max(func.length(Subject.subject_key))).where(
            Subject.study_id == study_id
        ),
        "event_repeat": select(func.max(func.length(StudyEvent.repeat_key))).where(
            StudyEvent.id.in_(events)
        ),
        "form_repeat": select(func.max(func.length(Form.repeat_key))).where(Form.id.in_(forms)),
        "group_repeat": select(func.max(func.length(ItemGroup.repeat_key))).where(
            ItemGroup.form_id.in_(forms)
        ),
    }
    out = {name: int(n) for name, query in longest.items() if (n := conn.scalar(query))}
    at_sites = select(Subject.site_id).where(Subject.study_id == study_id)
    sites = conn.scalars(select(Site.oid).where(Site.id.in_(at_sites))).all()
    if sites:
        out["site"] = max(len(site_code(oid)) for oid in sites)
    return out


def last_change(conn: Connection, study_oid: str, *, site: str | None = None) -> datetime | None:
    """The time of the study's newest audit row (of subjects at ``site``, if named)."""
    query = select(func.max(AuditRow.recorded_at)).where(AuditRow.study_oid == study_oid)
    if site is not None:
        at_site = (
            select(Subject.id)
            .join(Site, Subject.site_id == Site.id)
            .where(Site.oid == site, Site.study_id == Subject.study_id)
        )
        query = query.where(AuditRow.subject_id.in_(at_site))
    found = conn.execute(query).scalar_one_or_none()
    if found is not None and found.tzinfo is None:
        found = found.replace(tzinfo=UTC)
    return found
