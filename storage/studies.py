"""Studies, their metadata versions (ODM XML verbatim + SHA-256) and their sites.

``load_study`` stores a file that differs from every stored version as a *draft*: the study
keeps entering data under its current version (the highest *published* number) until a
designer publishes the draft (:func:`publish_version`). The first version of a new study is
published at once: there is no data to migrate. A file identical to any stored version is a
no-op that names that version (never a rollback); a file that reuses a stored
MetaDataVersion OID for different content is refused with a located finding. Removed items
are no reason to refuse: their stored values stay, and ``storage.impact`` reports them.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from threading import Lock
from typing import Literal

from sqlalchemy import Connection, bindparam, func, insert, select

from odm_engine import model as m
from odm_engine.findings import Finding, Severity, has_errors
from odm_engine.free_text import REASON, USERNAME, check_text
from odm_engine.loader import load_odm
from odm_engine.profiles import normalise, profile_for_odm, tolerate
from odm_engine.validate import iter_findings
from storage.errors import InvalidInputError, NotFoundError
from storage.models import (
    AccessEvent,
    MetadataPublication,
    MetadataVersion,
    Site,
    Study,
)
from storage.models import Subject as SubjectRow
from storage.oid_limits import long_oids
from storage.prepared import Prepared
from storage.users import _log

REUSED_OID_CODE = "EDC-STORE-003"
REUSED_OID_TEMPLATE = (
    'MetaDataVersion OID "{mdv}" is stored already as version {number} of study {study}, '
    "with other content; nothing was stored. One OID names one content: rename the "
    "MetaDataVersion OID (and the MetaDataVersionRef of each Location) for the new version."
)
FIRST_PUBLICATION = "First version of the study"
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
    published: bool = False
    """The version (stored, or found unchanged) is published; False: a draft."""


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


def parse_metadata(xml: bytes, path: str | None = None) -> tuple[m.ODM | None, list[Finding]]:
    """``xml`` read the way a load reads it: the loader's model (not normalised) and the
    validation findings, less those the file's vendor profile tolerates."""
    result = load_odm(xml, path=path)
    findings = list(iter_findings(result, path=path))
    if result.odm is not None:
        # A vendor's declared dialect (REDCap boolean code lists, ...) does not block a load.
        profile, _why = profile_for_odm(result.odm)
        findings = tolerate(findings, profile) + long_oids(result.odm, path)
    return result.odm, findings


def load_study(
    conn: Connection,
    xml: bytes,
    *,
    path: str | None = None,
    loaded_by: str | None = None,
    study_oid: str | None = None,
    new_study: bool = False,
    publish: bool = False,
    reason: str | None = None,
) -> StudyLoadResult:
    """Store ``xml`` as the study's next metadata version (a draft) and add its sites.

    All or nothing: a refused file writes no row (no study, version, site or access-log
    row). A file of a study not stored yet adds it; ``study_oid``: the study it must be for (a
    study's design page); ``new_study``: its study must not be stored yet (the web's new study).
    ``publish``/``reason``: publish the stored (or identical draft) version at once, for
    ``reason``. Each site added is in the access log, by ``loaded_by`` (``cli`` when None)."""
    sha = hashlib.sha256(xml).hexdigest()
    odm, findings = parse_metadata(xml, path)
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
    if publish and not (reason or "").strip():
        raise InvalidInputError("Publishing a metadata version needs a reason.")
    study_id = conn.scalar(select(Study.id).where(Study.oid == study.oid))
    stored = _stored_versions(conn, study_id)
    same = next((v for v in stored if v.sha256 == sha), None)
    if same is not None and study_id is not None:  # a stored version: the study is stored
        return _unchanged(
            conn,
            study_id,
            odm,
            same,
            loaded_by=loaded_by,
            publish=publish,
            reason=reason,
            findings=findings,
        )
    reused = next((v for v in stored if v.oid == mdv.oid), None)
    if reused is not None:
        return _reused_oid(study.oid, mdv, reused.number, sha=sha, path=path, findings=findings)
    number = max((v.number for v in stored), default=0) + 1
    result = _store_version(
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
    if number == 1 or publish:
        why = str(reason) if publish else FIRST_PUBLICATION
        publish_version(conn, study.oid, number, user=loaded_by or "cli", reason=why)
        return replace(
            result,
            message=f"{result.message[:-1]}, published: it is the current version.",
            published=True,
        )
    return replace(
        result,
        message=f"{result.message[:-1]} as a draft; version {_current_number(conn, study_id)} "
        "stays current until this one is published.",
    )


def _reused_oid(
    study_oid: str,
    mdv: m.MetaDataVersion,
    number: int,
    *,
    sha: str,
    path: str | None,
    findings: list[Finding],
) -> StudyLoadResult:
    """The refusal of a file whose MetaDataVersion OID names stored version ``number``, with
    other content: one OID, one content (EDC-STORE-003, located at the MetaDataVersion)."""
    message = REUSED_OID_TEMPLATE.format(mdv=mdv.oid, number=number, study=study_oid)
    finding = Finding(
        REUSED_OID_CODE, Severity.ERROR, message, path=path, line=mdv.line, oid=mdv.oid
    )
    return StudyLoadResult(
        "refused", message, study_oid, number, mdv.oid, sha, (), (*findings, finding)
    )


@dataclass(frozen=True, slots=True)
class _Stored:
    number: int
    oid: str
    sha256: str
    published: bool


def _stored_versions(conn: Connection, study_id: int | None) -> list[_Stored]:
    """The study's stored versions, oldest first, each with whether it is published."""
    if study_id is None:
        return []
    published = set(
        conn.scalars(
            select(MetadataPublication.number).where(MetadataPublication.study_id == study_id)
        )
    )
    rows = conn.execute(
        select(MetadataVersion.number, MetadataVersion.oid, MetadataVersion.sha256)
        .where(MetadataVersion.study_id == study_id)
        .order_by(MetadataVersion.number)
    ).all()
    return [_Stored(n, oid, sha, n in published) for n, oid, sha in rows]


def _unchanged(
    conn: Connection,
    study_id: int,
    odm: m.ODM,
    same: _Stored,
    *,
    loaded_by: str | None,
    publish: bool,
    reason: str | None,
    findings: list[Finding],
) -> StudyLoadResult:
    """``load_study``'s answer for a file identical to stored version ``same``: nothing is
    stored (never a rollback); with ``publish``, a draft is published."""
    assert odm.study is not None
    oid = odm.study.oid
    published = same.published
    if publish and not published:
        publish_version(conn, oid, same.number, user=loaded_by or "cli", reason=str(reason))
        published = True
    state = "published" if published else "a draft"
    current = _current_number(conn, study_id)
    message = (
        f"Study {oid}: metadata unchanged (version {same.number}, sha256 {same.sha256[:12]}, "
        f"{same.oid}, {state}): the file is identical to it; nothing stored. "
        f"The current version is {current}."
    )
    return StudyLoadResult(
        "unchanged",
        message,
        oid,
        same.number,
        same.oid,
        same.sha256,
        _add_sites(conn, study_id, odm, loaded_by or "cli"),
        tuple(findings),
        published,
    )


def _current_number(conn: Connection, study_id: int | None) -> int | None:
    """The highest published version number of the study, or None."""
    return conn.scalar(
        select(func.max(MetadataPublication.number)).where(MetadataPublication.study_id == study_id)
    )


def publish_version(
    conn: Connection, study_oid: str, number: int, *, user: str, reason: str
) -> int:
    """Publish draft ``number``: from now on the study's current version (new subjects start
    on it; existing subjects stay where they are until migrated). Append-only: a publication
    is never undone. Returns ``number``.

    Refuses (InvalidInputError) an unknown number, a version published already, a draft
    older than the current version (publishing it would change nothing: never a rollback)
    and an empty reason. Designer permission is the caller's (CLI: the operator; web: the
    designer role)."""
    if not reason.strip():
        raise InvalidInputError("Publishing a metadata version needs a reason.")
    check_text(reason, "Reason for publishing", REASON)
    check_text(user, "User", USERNAME)  # the CLI stores the name the operator gives
    study_id = study_id_of(conn, study_oid)
    known = {v.number: v for v in _stored_versions(conn, study_id)}
    if number not in known:
        raise NotFoundError(
            f"Study {study_oid} has no metadata version {number}; "
            f"stored: {', '.join(map(str, known)) or 'none'}."
        )
    if known[number].published:
        raise InvalidInputError(f"Version {number} of study {study_oid} is published already.")
    current = _current_number(conn, study_id)
    if current is not None and number < current:
        raise InvalidInputError(
            f"Version {number} of study {study_oid} is older than the current version "
            f"{current}; publishing it would not make it current. Load its file again to "
            "store it as a new version if it should be."
        )
    conn.execute(
        insert(MetadataPublication).values(
            study_id=study_id,
            number=number,
            published_at=datetime.now(UTC),
            published_by=user,
            reason=reason.strip(),
        )
    )
    return number


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
    row when it is new, and its sites: ``load_study``'s "stored" result. TextRefusedError
    when ``loaded_by``, kept with the version, cannot be stored as a user name."""
    check_text(loaded_by, "User", USERNAME)
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
    check_text(actor, "User", USERNAME)  # the access log's actor of each site added
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


_STUDY_ID = select(Study.id).where(Study.oid == bindparam("oid"))
_VERSION = select(MetadataVersion.sha256).where(
    MetadataVersion.study_id == bindparam("study_id"), MetadataVersion.number == bindparam("number")
)
"""Built once: every save asks them (the metadata of the subject's version)."""


def study_id_of(conn: Connection, study_oid: str) -> int:
    study_id = conn.scalar(_STUDY_ID, {"oid": study_oid})
    if study_id is None:
        raise NotFoundError(f"No study {study_oid!r}. Load its metadata with `edc study load`.")
    return int(study_id)


def current_metadata(conn: Connection, study_oid: str) -> StoredMetadata:
    """The study's current metadata version (its highest *published* number), parsed once
    per process (cached by SHA-256). A newer draft is not current."""
    study_id = study_id_of(conn, study_oid)
    number = _current_number(conn, study_id)
    if number is None:
        raise NotFoundError(f"Study {study_oid} has no published metadata version.")
    return _metadata(conn, study_oid, study_id, number)


_VERSION_OF = Prepared(
    select(MetadataVersion.study_id, MetadataVersion.sha256)
    .join(Study, Study.id == MetadataVersion.study_id)
    .where(Study.oid == bindparam("oid"), MetadataVersion.number == bindparam("number"))
)
"""A version's study id and SHA-256 in one query run on the driver: a page of a subject on
an older version asks it before the parsed version's cache (two SQLAlchemy queries were
about 0.2 ms of a request's CPU)."""


def metadata_of(conn: Connection, study_oid: str, number: int) -> StoredMetadata:
    """Stored metadata version ``number`` of the study (published or draft), parsed once per
    process (cached by SHA-256 like :func:`current_metadata`): the version a subject is on."""
    row = _VERSION_OF.first(conn, {"oid": study_oid, "number": number})
    if row is None:
        study_id_of(conn, study_oid)  # "No study" where there is none
        raise NotFoundError(f"Study {study_oid} has no metadata version {number}.")
    return _metadata(conn, study_oid, int(row[0]), number, row[1])


def published_versions(
    conn: Connection, study_oid: str
) -> dict[str, tuple[int, m.MetaDataVersion]]:
    """MetaDataVersion OID -> (number, parsed definitions) of each published version of the
    study, oldest first: the versions a subject can be on."""
    study_id = study_id_of(conn, study_oid)
    numbers = conn.scalars(
        select(MetadataPublication.number)
        .where(MetadataPublication.study_id == study_id)
        .order_by(MetadataPublication.number)
    ).all()
    out: dict[str, tuple[int, m.MetaDataVersion]] = {}
    for number in numbers:
        stored = _metadata(conn, study_oid, study_id, int(number))
        out[stored.mdv.oid] = (int(number), stored.mdv)
    return out


def _metadata(
    conn: Connection, study_oid: str, study_id: int, number: int, sha: str | None = None
) -> StoredMetadata:
    """Version ``number`` (its SHA-256 ``sha`` where the caller read it) parsed, from the
    cache by SHA-256 where it is there."""
    if sha is None:
        sha = conn.scalar(_VERSION, {"study_id": study_id, "number": number})
    if sha is None:
        raise NotFoundError(f"Study {study_oid} has no metadata version {number}.")
    odm = METADATA_CACHE.get(sha)
    if odm is None:
        xml = conn.scalar(
            select(MetadataVersion.odm_xml).where(
                MetadataVersion.study_id == study_id, MetadataVersion.number == number
            )
        )
        odm = load_odm(bytes(xml or b"")).odm
        if odm is None:
            raise NotFoundError(f"Study {study_oid}: stored metadata cannot be read.")
        odm = normalise(odm)
        METADATA_CACHE.put(sha, odm)
    study = odm.find_study(study_oid) or odm.study
    mdv = study.metadata_version() if study else None
    if mdv is None:
        raise NotFoundError(f"Study {study_oid}: stored metadata has no MetaDataVersion.")
    return StoredMetadata(study_oid, number, sha, odm, mdv)


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
    """The ODM XML of a stored metadata version, byte for byte (the current one when number
    is None)."""
    study_id = study_id_of(conn, study_oid)
    if number is None:
        number = _current_number(conn, study_id)
    query = select(MetadataVersion.odm_xml).where(MetadataVersion.study_id == study_id)
    xml = conn.scalar(query.where(MetadataVersion.number == number))
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
