"""Exports across metadata versions (issue 16, item 6): each subject is exported under the
MetaDataVersion its data are collected under (``subjects.metadata_version``).

- ODM: :func:`snapshot_by_version` and :func:`changes_by_version` run the one-version streams
  of :mod:`storage.export_records` once per version the exported subjects are on, oldest
  first, so :func:`renderers.odm.write_odm` (one ClinicalData per run of records with the same
  MetaDataVersionOID) writes one ClinicalData per version and memory still holds one subject.
  An audit export puts each subject's changes under the version the subject is on *now*
  (the history of moves is in ``subject_versions``; ODM has no place to say that one
  ClinicalData's changes were entered under another version). :func:`version_metadata` gives
  the stored XML of every version the export names, for ``--metadata``.
- Tabular exports and Define-XML describe the newest version; :func:`contributing_versions`
  says, per item group, which versions' subjects hold values in it.

Every function here only reads.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select

from odm_engine.exchange.records import SubjectRecord
from storage.export_records import _changed_subjects, _subject_filter, iter_changes, iter_snapshot
from storage.models import Form, ItemData, ItemGroup, MetadataVersion, StudyEvent, Subject
from storage.studies import current_metadata, metadata_xml, study_id_of


@dataclass(frozen=True, slots=True)
class ExportedVersion:
    """A metadata version that exported subjects are on."""

    number: int
    oid: str
    """Its MetaDataVersion OID."""


def _oids(conn: Connection, study_id: int) -> dict[int, str]:
    """Version number -> MetaDataVersion OID of every stored version of the study."""
    rows = conn.execute(
        select(MetadataVersion.number, MetadataVersion.oid).where(
            MetadataVersion.study_id == study_id
        )
    )
    return {int(number): oid for number, oid in rows}


def exported_versions(
    conn: Connection,
    study_oid: str,
    *,
    site: str | None = None,
    subject_keys: Iterable[str] = (),
    since: datetime | None = None,
) -> list[ExportedVersion]:
    """The versions the subjects chosen (of ``site``, ``subject_keys``, changed after
    ``since``) are on, oldest first: one small SELECT DISTINCT over ``subjects``."""
    study_id = study_id_of(conn, study_oid)
    query = _subject_filter(
        select(Subject.metadata_version).distinct(), study_id, site, subject_keys
    )
    changed = _changed_subjects(since)
    if changed is not None:
        query = query.where(Subject.id.in_(changed))
    oids = _oids(conn, study_id)
    numbers = sorted(int(n) for n in conn.scalars(query))
    return [ExportedVersion(n, oids[n]) for n in numbers if n in oids]


def _runs(versions: list[ExportedVersion]) -> list[tuple[int | None, str]]:
    """The ``version`` argument of each one-version stream: with one version, no filter (the
    same SQL as a study that never changed version), with several, one filter each."""
    if len(versions) == 1:
        return [(None, versions[0].oid)]
    return [(v.number, v.oid) for v in versions]


def snapshot_by_version(
    conn: Connection,
    study_oid: str,
    *,
    site: str | None = None,
    subject_keys: Iterable[str] = (),
    since: datetime | None = None,
    transaction_type: str | None = None,
) -> Iterator[SubjectRecord]:
    """:func:`storage.export_records.iter_snapshot`, version by version (oldest first), each
    subject under the MetaDataVersion OID it is on; subjects in key order within a version."""
    versions = exported_versions(conn, study_oid, site=site, subject_keys=subject_keys, since=since)
    for version in _runs(versions):
        yield from iter_snapshot(
            conn,
            study_oid,
            site=site,
            subject_keys=subject_keys,
            since=since,
            transaction_type=transaction_type,
            version=version,
        )


def changes_by_version(
    conn: Connection,
    study_oid: str,
    *,
    site: str | None = None,
    subject_keys: Iterable[str] = (),
    since: datetime | None = None,
) -> Iterator[SubjectRecord]:
    """:func:`storage.export_records.iter_changes`, version by version (oldest first): every
    change of a subject under the version the subject is on now. ``since`` does not narrow
    the versions (a subject's signature or query message may be its only news)."""
    versions = exported_versions(conn, study_oid, site=site, subject_keys=subject_keys)
    for version in _runs(versions):
        yield from iter_changes(
            conn, study_oid, site=site, subject_keys=subject_keys, since=since, version=version
        )


def version_metadata(
    conn: Connection, study_oid: str, versions: Iterable[ExportedVersion]
) -> list[bytes]:
    """The stored XML of each version in ``versions`` and of the current version, oldest
    first, each OID once (its newest number): the MetaDataVersions of an ODM export with
    ``--metadata``."""
    current = current_metadata(conn, study_oid)
    by_oid = {v.oid: v.number for v in sorted(versions, key=lambda v: v.number)}
    by_oid[current.mdv.oid] = max(current.number, by_oid.get(current.mdv.oid, 0))
    return [metadata_xml(conn, study_oid, n) for n in sorted(by_oid.values())]


def contributing_versions(
    conn: Connection, study_oid: str, *, site: str | None = None
) -> dict[str, tuple[str, ...]]:
    """ItemGroupOID -> the MetaDataVersion OIDs (oldest first) of the versions whose subjects
    hold values in that item group (of ``site``'s subjects, if named): what Define-XML states
    per dataset. One SELECT DISTINCT over the item groups that hold a value."""
    study_id = study_id_of(conn, study_oid)
    holds_values = select(ItemData.id).where(ItemData.item_group_id == ItemGroup.id).exists()
    query = (
        select(ItemGroup.item_group_oid, Subject.metadata_version)
        .distinct()
        .join(Form, Form.id == ItemGroup.form_id)
        .join(StudyEvent, StudyEvent.id == Form.study_event_id)
        .join(Subject, Subject.id == StudyEvent.subject_id)
        .where(holds_values)
    )
    query = _subject_filter(query, study_id, site, ())
    oids = _oids(conn, study_id)
    found: dict[str, set[int]] = {}
    for group_oid, number in conn.execute(query):
        found.setdefault(group_oid, set()).add(int(number))
    return {
        group: tuple(oids[n] for n in sorted(numbers) if n in oids)
        for group, numbers in found.items()
    }
