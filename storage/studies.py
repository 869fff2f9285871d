"""Studies, their metadata versions (ODM XML verbatim + SHA-256) and their sites.

``load_study`` stores a new metadata version when the file changed, says so and does nothing
when it did not, and refuses a version that would orphan stored data, with a finding per
item, form or event that holds data the new version no longer defines.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from threading import Lock
from typing import Literal

from sqlalchemy import Connection, Row, func, insert, select

from odm_engine import model as m
from odm_engine.findings import Finding, Severity, has_errors
from odm_engine.loader import load_odm
from odm_engine.profiles import normalise, profile_for_odm, tolerate
from odm_engine.validate import iter_findings
from storage.errors import NotFoundError
from storage.models import (
    AccessEvent,
    Form,
    ItemData,
    ItemGroup,
    MetadataVersion,
    Site,
    Study,
    StudyEvent,
)
from storage.models import Subject as SubjectRow
from storage.users import _log

ORPHAN_CODE = "EDC-STORE-001"
ORPHAN_TEMPLATE = (
    'MetaDataVersion "{mdv}" would orphan stored data: {what} holds values for {subjects} '
    "subject(s) but {why}. Keep the definition in the new version, or migrate the data first."
)
OTHER_STUDY_CODE = "EDC-STORE-002"
OTHER_STUDY_TEMPLATE = (
    "{path} holds study {oid}, but this page is for study {held}; nothing was stored. "
    "Load it on the design page of study {oid}, or as a new study."
)
NEW_STUDY_CODE = "EDC-STORE-004"
NEW_STUDY_TEMPLATE = (
    "{path} holds study {oid}, which this database holds already; nothing was stored. "
    "Load a new version on the design page of study {oid}."
)


@dataclass(frozen=True, slots=True)
class StudyLoadResult:
    status: Literal["stored", "unchanged", "refused"]
    message: str
    study_oid: str | None = None
    version_number: int | None = None
    metadata_version_oid: str | None = None
    sha256: str = ""
    sites_added: tuple[str, ...] = ()
    findings: tuple[Finding, ...] = ()


@dataclass(frozen=True, slots=True)
class StoredMetadata:
    """The current metadata version of a study, parsed."""

    study_oid: str
    number: int
    sha256: str
    odm: m.ODM
    mdv: m.MetaDataVersion


@dataclass(frozen=True, slots=True)
class SiteInfo:
    study_oid: str
    oid: str
    name: str
    location_type: str | None
    subjects: int


class MetadataCache:
    """Parsed ODM models by SHA-256, so a save does not re-parse the study XML."""

    def __init__(self, size: int = 8) -> None:
        self._size = size
        self._items: OrderedDict[str, m.ODM] = OrderedDict()
        self._lock = Lock()

    def get(self, sha256: str) -> m.ODM | None:
        with self._lock:
            odm = self._items.get(sha256)
            if odm is not None:
                self._items.move_to_end(sha256)
            return odm

    def put(self, sha256: str, odm: m.ODM) -> None:
        with self._lock:
            self._items[sha256] = odm
            while len(self._items) > self._size:
                self._items.popitem(last=False)


METADATA_CACHE = MetadataCache()


def _parse(xml: bytes, path: str | None = None) -> tuple[m.ODM | None, list[Finding]]:
    result = load_odm(xml, path=path)
    findings = list(iter_findings(result, path=path))
    if result.odm is not None:
        # A vendor's declared dialect (REDCap boolean code lists, ...) does not block a load.
        profile, _why = profile_for_odm(result.odm)
        findings = tolerate(findings, profile)
    return result.odm, findings


def load_study(
    conn: Connection,
    xml: bytes,
    *,
    path: str | None = None,
    loaded_by: str | None = None,
    study_oid: str | None = None,
    new_study: bool = False,
) -> StudyLoadResult:
    """Store ``xml`` as the study's next metadata version and add its sites.

    All or nothing: a refused file writes no row (no study, version, site or access-log
    row). A file of a study not stored yet adds it; ``study_oid``: the study it must be for (a
    study's design page); ``new_study``: its study must not be stored yet (the web's new study).
    Each site added is in the access log, by ``loaded_by`` (``cli`` when None).
    """
    sha = hashlib.sha256(xml).hexdigest()
    odm, findings = _parse(xml, path)
    study = odm.study if odm else None
    mdv = study.metadata_version() if study else None
    if odm is None or study is None or mdv is None or has_errors(findings):
        what = "has error findings" if has_errors(findings) else "holds no Study/MetaDataVersion"
        return StudyLoadResult(
            "refused",
            f"{path or 'The file'} {what}; nothing was stored.",
            sha256=sha,
            findings=tuple(findings),
        )
    other = _other_study(conn, study.oid, path, study_oid, new_study)
    if other is not None:
        return StudyLoadResult(
            "refused", other.message, study.oid, None, mdv.oid, sha, (), (*findings, other)
        )
    study_id = conn.scalar(select(Study.id).where(Study.oid == study.oid))
    current = _latest_version(conn, study_id)
    if current is not None and current.sha256 == sha:
        return StudyLoadResult(
            "unchanged",
            f"Study {study.oid}: metadata unchanged (version {current.number}, sha256 "
            f"{sha[:12]}); nothing to do.",
            study.oid,
            current.number,
            mdv.oid,
            sha,
            _add_sites(conn, int(study_id), odm, loaded_by or "cli"),
            tuple(findings),
        )
    orphans = orphan_findings(conn, int(study_id), mdv, path=path) if study_id else []
    if orphans:
        return StudyLoadResult(
            "refused",
            f"Study {study.oid}: the new metadata would orphan stored data; nothing was stored.",
            study.oid,
            current.number if current else None,
            mdv.oid,
            sha,
            (),
            tuple(findings) + tuple(orphans),
        )
    number = (current.number if current else 0) + 1
    return _store_version(
        conn,
        study_id,
        odm,
        study=study,
        mdv=mdv,
        xml=xml,
        sha=sha,
        number=number,
        loaded_by=loaded_by,
        findings=findings,
    )


def _latest_version(conn: Connection, study_id: int | None) -> Row[int, str] | None:
    """(number, sha256) of the study's latest metadata version, or None."""
    return conn.execute(
        select(MetadataVersion.number, MetadataVersion.sha256)
        .where(MetadataVersion.study_id == study_id)
        .order_by(MetadataVersion.number.desc())
        .limit(1)
    ).one_or_none()


def _store_version(
    conn: Connection,
    study_id: int | None,
    odm: m.ODM,
    *,
    study: m.Study,
    mdv: m.MetaDataVersion,
    xml: bytes,
    sha: str,
    number: int,
    loaded_by: str | None,
    findings: list[Finding],
) -> StudyLoadResult:
    """Write ``odm``'s metadata version ``number`` (``xml`` verbatim, its ``sha``), the study
    row when it is new, and its sites: ``load_study``'s "stored" result."""
    if study_id is None:
        name = study.global_variables.study_name or study.oid
        study_id = conn.execute(
            insert(Study).values(oid=study.oid, name=name)
        ).inserted_primary_key[0]
    conn.execute(
        insert(MetadataVersion).values(
            study_id=study_id,
            number=number,
            oid=mdv.oid,
            sha256=sha,
            odm_xml=xml,
            loaded_at=datetime.now(UTC),
            loaded_by=loaded_by,
        )
    )
    sites = _add_sites(conn, int(study_id), odm, loaded_by or "cli")
    # cached as current_metadata reads it: the profile's reading, not the raw file
    METADATA_CACHE.put(sha, normalise(odm))
    return StudyLoadResult(
        "stored",
        f"Study {study.oid}: stored metadata version {number} ({mdv.oid}, sha256 {sha[:12]}).",
        study.oid,
        number,
        mdv.oid,
        sha,
        sites,
        tuple(findings),
    )


def _other_study(
    conn: Connection, oid: str, path: str | None, served: str | None, new_study: bool
) -> Finding | None:
    """The finding that refuses a file of study ``oid`` here, or None when it may load: it
    must be of the ``served`` study when one is named, and of a study not stored yet when
    ``new_study``. Without either, any study loads (a new one is added)."""
    shown = path or "The file"
    if served is not None and oid != served:
        message = OTHER_STUDY_TEMPLATE.format(path=shown, oid=oid, held=served)
        return Finding(OTHER_STUDY_CODE, Severity.ERROR, message, path=path, oid=oid)
    if new_study and conn.scalar(select(Study.id).where(Study.oid == oid)) is not None:
        message = NEW_STUDY_TEMPLATE.format(path=shown, oid=oid)
        return Finding(NEW_STUDY_CODE, Severity.ERROR, message, path=path, oid=oid)
    return None


def _add_sites(conn: Connection, study_id: int, odm: m.ODM, actor: str) -> tuple[str, ...]:
    study_oid = odm.study.oid if odm.study else None
    existing = set(conn.scalars(select(Site.oid).where(Site.study_id == study_id)))
    added: list[str] = []
    for admin in odm.admin_data:
        if admin.study_oid not in (None, study_oid):
            continue
        for loc in admin.locations.values():
            if loc.oid in existing:
                continue
            conn.execute(
                insert(Site).values(
                    study_id=study_id, oid=loc.oid, name=loc.name, location_type=loc.location_type
                )
            )
            _log(conn, actor, AccessEvent.SITE_ADDED, actor, (study_oid, loc.oid, None))
            existing.add(loc.oid)
            added.append(loc.oid)
    return tuple(added)


def orphan_findings(
    conn: Connection, study_id: int, mdv: m.MetaDataVersion, *, path: str | None = None
) -> list[Finding]:
    """A finding per stored (event, form, group, item) that ``mdv`` no longer defines."""
    rows = conn.execute(
        select(
            StudyEvent.study_event_oid,
            Form.form_oid,
            ItemGroup.item_group_oid,
            ItemData.item_oid,
            func.count(func.distinct(SubjectRow.id)),
        )
        .join(ItemGroup, ItemGroup.id == ItemData.item_group_id)
        .join(Form, Form.id == ItemGroup.form_id)
        .join(StudyEvent, StudyEvent.id == Form.study_event_id)
        .join(SubjectRow, SubjectRow.id == StudyEvent.subject_id)
        .where(SubjectRow.study_id == study_id)
        .group_by(
            StudyEvent.study_event_oid, Form.form_oid, ItemGroup.item_group_oid, ItemData.item_oid
        )
        .order_by(
            StudyEvent.study_event_oid, Form.form_oid, ItemGroup.item_group_oid, ItemData.item_oid
        )
    ).all()
    findings = []
    for event_oid, form_oid, group_oid, item_oid, subjects in rows:
        why = _missing(mdv, event_oid, form_oid, group_oid, item_oid)
        if why:
            what = f"item {item_oid} ({event_oid}/{form_oid}/{group_oid})"
            findings.append(
                Finding(
                    ORPHAN_CODE,
                    Severity.ERROR,
                    ORPHAN_TEMPLATE.format(mdv=mdv.oid, what=what, subjects=subjects, why=why),
                    path=path,
                    oid=item_oid,
                )
            )
    return findings


def _missing(mdv: m.MetaDataVersion, event: str, form: str, group: str, item: str) -> str | None:
    event_def = mdv.study_event_defs.get(event)
    form_def = mdv.form_defs.get(form)
    group_def = mdv.item_group_defs.get(group)
    if event_def is None and event:
        return f"StudyEventDef {event} is gone"
    if event_def is not None and all(r.form_oid != form for r in event_def.form_refs):
        return f"StudyEventDef {event} no longer references FormDef {form}"
    if form_def is None:
        return f"FormDef {form} is gone"
    if all(r.item_group_oid != group for r in form_def.item_group_refs):
        return f"FormDef {form} no longer references ItemGroupDef {group}"
    if group_def is None:
        return f"ItemGroupDef {group} is gone"
    if all(r.item_oid != item for r in group_def.item_refs):
        return f"ItemGroupDef {group} no longer references ItemDef {item}"
    if item not in mdv.item_defs:
        return f"ItemDef {item} is gone"
    return None


def study_id_of(conn: Connection, study_oid: str) -> int:
    study_id = conn.scalar(select(Study.id).where(Study.oid == study_oid))
    if study_id is None:
        raise NotFoundError(f"No study {study_oid!r}. Load its metadata with `edc study load`.")
    return int(study_id)


def current_metadata(conn: Connection, study_oid: str) -> StoredMetadata:
    """The study's newest metadata version, parsed once per process (cached by SHA-256)."""
    study_id = study_id_of(conn, study_oid)
    row = conn.execute(
        select(MetadataVersion.number, MetadataVersion.sha256)
        .where(MetadataVersion.study_id == study_id)
        .order_by(MetadataVersion.number.desc())
        .limit(1)
    ).one_or_none()
    if row is None:
        raise NotFoundError(f"Study {study_oid} has no metadata version.")
    odm = METADATA_CACHE.get(row.sha256)
    if odm is None:
        xml = conn.scalar(
            select(MetadataVersion.odm_xml).where(
                MetadataVersion.study_id == study_id, MetadataVersion.number == row.number
            )
        )
        odm = load_odm(bytes(xml or b"")).odm
        if odm is None:
            raise NotFoundError(f"Study {study_oid}: stored metadata cannot be read.")
        odm = normalise(odm)
        METADATA_CACHE.put(row.sha256, odm)
    study = odm.find_study(study_oid) or odm.study
    mdv = study.metadata_version() if study else None
    if mdv is None:
        raise NotFoundError(f"Study {study_oid}: stored metadata has no MetaDataVersion.")
    return StoredMetadata(study_oid, row.number, row.sha256, odm, mdv)


def site_level_studies(conn: Connection, study_oid: str) -> dict[str, int]:
    """Site-level Study elements stored with the study's metadata: OID -> source line.

    OpenClinica 3 exports the parent study followed by one Study per site whose
    MetaDataVersion Includes the parent's; its ClinicalData then names the site's StudyOID.
    """
    odm = current_metadata(conn, study_oid).odm
    return {
        study.oid: study.line
        for study in odm.studies
        if study.oid != study_oid
        and any(
            mdv.include is not None and mdv.include.study_oid == study_oid
            for mdv in study.metadata_versions
        )
    }


def parent_of_site_study(conn: Connection, study_oid: str) -> str | None:
    """The stored study of which ``study_oid`` is a site-level Study, or None.

    None as well when ``study_oid`` is itself a stored study.
    """
    if conn.scalar(select(Study.id).where(Study.oid == study_oid)) is not None:
        return None
    for oid in conn.scalars(select(Study.oid).order_by(Study.oid)):
        try:
            if study_oid in site_level_studies(conn, oid):
                return oid
        except NotFoundError:
            continue
    return None


def metadata_xml(conn: Connection, study_oid: str, number: int | None = None) -> bytes:
    """The ODM XML of a stored metadata version, byte for byte (newest when number is None)."""
    study_id = study_id_of(conn, study_oid)
    query = select(MetadataVersion.odm_xml).where(MetadataVersion.study_id == study_id)
    if number is not None:
        query = query.where(MetadataVersion.number == number)
    xml = conn.scalar(query.order_by(MetadataVersion.number.desc()).limit(1))
    if xml is None:
        raise NotFoundError(f"Study {study_oid} has no metadata version {number}.")
    return bytes(xml)


def list_sites(conn: Connection, study_oid: str | None = None) -> list[SiteInfo]:
    subjects = (
        select(func.count(SubjectRow.id)).where(SubjectRow.site_id == Site.id).scalar_subquery()
    )
    query = select(Study.oid, Site.oid, Site.name, Site.location_type, subjects).join(
        Study, Study.id == Site.study_id
    )
    if study_oid is not None:
        query = query.where(Study.oid == study_oid)
    return [SiteInfo(*row) for row in conn.execute(query.order_by(Study.oid, Site.oid))]


def study_oids(conn: Connection) -> list[str]:
    """The OIDs of the studies loaded, in order (none in a new database)."""
    return list(conn.scalars(select(Study.oid).order_by(Study.oid)))
