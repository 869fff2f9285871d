"""OIDs and names the store keeps in columns: a metadata file whose OIDs or names do not fit
is refused at the load (issue 14, finding 12).

A study, MetaDataVersion, site (Location), StudyEventDef, FormDef, ItemGroupDef, ItemDef,
MeasurementUnit and SignatureDef OID each end up in a column of :data:`storage.models.OID`
(100 characters): the metadata tables, every clinical-data row, the audit trail, queries and
signatures. ODM sets no length, so without this check a longer OID loaded (SQLite does not
enforce the length) and then failed on PostgreSQL at the load ("value too long") or at the
first save of its form. The StudyName and each Location's Name go to columns of
:data:`NAME_LIMIT` (200) the same way. :func:`long_oids` reports each one as a located error
finding."""

from __future__ import annotations

from collections.abc import Iterator

from odm_engine import model as m
from odm_engine.findings import Finding, Severity
from storage.models import OID, Site, Study

LONG_OID_CODE = "EDC-STORE-005"
OID_LIMIT: int = OID.length or 100
NAME_LIMIT: int = min(Study.__table__.c.name.type.length, Site.__table__.c.name.type.length)


def _named(odm: m.ODM) -> Iterator[tuple[str, m.Node, str]]:
    """(kind, node, OID) of every OID the store keeps in a column."""
    for study in odm.studies:
        yield "Study", study, study.oid
        for unit in study.basic_definitions.measurement_units.values():
            yield "MeasurementUnit", unit, unit.oid
        for mdv in study.metadata_versions:
            yield "MetaDataVersion", mdv, mdv.oid
            for kind, defs in (
                ("StudyEventDef", mdv.study_event_defs),
                ("FormDef", mdv.form_defs),
                ("ItemGroupDef", mdv.item_group_defs),
                ("ItemDef", mdv.item_defs),
            ):
                for node in defs.values():
                    yield kind, node, node.oid
    for admin in odm.admin_data:
        for location in admin.locations.values():
            yield "Location", location, location.oid
        for signature in admin.signature_defs.values():
            yield "SignatureDef", signature, signature.oid


def _names(odm: m.ODM) -> Iterator[tuple[str, m.Node, str, str]]:
    """(what, node, its OID, the name) of every name the store keeps in a column."""
    for study in odm.studies:
        yield "StudyName", study.global_variables, study.oid, study.global_variables.study_name
    for admin in odm.admin_data:
        for location in admin.locations.values():
            yield "Location Name", location, location.oid, location.name


def _finding(
    what: str, node: m.Node, *, oid: str, length: int, limit: int, path: str | None
) -> Finding:
    return Finding(
        LONG_OID_CODE,
        Severity.ERROR,
        f"{what} has {length} characters; the database keeps at most {limit}. Shorten it"
        f"{' (and every reference to it)' if ' OID ' in what else ''}; nothing was stored.",
        path=path,
        line=node.line or None,
        oid=oid,
    )


def long_oids(odm: m.ODM, path: str | None = None) -> list[Finding]:
    """An error finding for each OID or name longer than the store's column, at its element's
    line."""
    oids = [
        _finding(
            f'{kind} OID "{oid[:40]}..."',
            node,
            oid=oid,
            length=len(oid),
            limit=OID_LIMIT,
            path=path,
        )
        for kind, node, oid in _named(odm)
        if len(oid) > OID_LIMIT
    ]
    return oids + [
        _finding(what, node, oid=oid, length=len(name), limit=NAME_LIMIT, path=path)
        for what, node, oid, name in _names(odm)
        if len(name) > NAME_LIMIT
    ]
