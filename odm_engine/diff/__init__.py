"""A metadata diff at the level a study designer thinks in (issue 16).

``diff_odm(old, new)`` compares the first Study of two ODM files, ``diff_study`` two Studies
(their BasicDefinitions' units and one MetaDataVersion each, the last by default). The result,
a :class:`MetadataDiff`, is an ordered tuple of :class:`Change` records: events, forms, groups,
items, code lists, conditions, methods and units added or removed; references moved under
another parent or reordered; renamings (same OID, new Name or Question); DataType, Length,
SignificantDigits, units and code list changes; codes added, removed or decoded differently;
condition and method expressions, RangeChecks (hard <-> soft included), MethodOID and
Mandatory on references; translations added; Aliases (SDTM annotations) changed.

Why a diff of models and not of XML: two files that say the same thing in a different order,
with different line breaks or a different prefix are the same study, and a reordered group is
a move a designer wants named, not two hundred changed lines.

Pure: no SQL, no framework; ``edc study diff`` (cli/amendments.py) reads the files or the stored
versions and prints the result. Speed (bench/bench_diff.py, ``python -m bench diff``): the
diff of two versions of the CDISC CDASH library (3,416 elements; 69 changes) takes 4.4-5.5 ms,
far under the 0.2 s target; that is about 2-2.5 times an lxml parse of the same file (the
baseline measured in the same run, 1.9-2.2 ms) and a tenth of loading one version with
``load_odm`` + ``normalise`` (38-54 ms), which the figure excludes.
"""

from __future__ import annotations

from odm_engine import model as m
from odm_engine.diff import structure as s
from odm_engine.diff.changes import Change, ChangeLog, Kind, MetadataDiff

__all__ = ["Change", "Kind", "MetadataDiff", "diff_odm", "diff_study"]

_EMPTY_MDV = m.MetaDataVersion(oid="", name="")


def diff_odm(old: m.ODM, new: m.ODM) -> MetadataDiff:
    """The changes from ``old`` to ``new``: their first Study, its last MetaDataVersion."""
    empty = m.Study(oid="")
    return diff_study(old.study or empty, new.study or empty)


def diff_study(
    old: m.Study,
    new: m.Study,
    old_mdv: m.MetaDataVersion | None = None,
    new_mdv: m.MetaDataVersion | None = None,
) -> MetadataDiff:
    """The changes from one Study to another; the MetaDataVersions default to the last."""
    log = ChangeLog()
    if old.oid != new.oid:
        log.value(
            "Study",
            new.oid,
            "OID",
            old.oid,
            new.oid,
            message=f"Study OID {old.oid!r} -> {new.oid!r}",
        )
    before = old_mdv or old.metadata_version() or _EMPTY_MDV
    after = new_mdv or new.metadata_version() or _EMPTY_MDV
    for attribute, one, other in (
        ("OID", before.oid, after.oid),
        ("Name", before.name, after.name),
    ):
        if one != other:
            message = f"MetaDataVersion {attribute} {one!r} -> {other!r}"
            log.value("MetaDataVersion", after.oid, attribute, one, other, message=message)
    _metadata_version(log, before, after)
    units = (old.basic_definitions.measurement_units, new.basic_definitions.measurement_units)
    s.definitions(log, s.UNIT, *units)
    return log.result()


def _metadata_version(log: ChangeLog, old: m.MetaDataVersion, new: m.MetaDataVersion) -> None:
    """Each level from the Protocol down: its definitions, then the references into it."""
    protocol = (
        {"Protocol": old.protocol.study_event_refs if old.protocol else ()},
        {"Protocol": new.protocol.study_event_refs if new.protocol else ()},
    )
    events = (
        {oid: e.form_refs for oid, e in old.study_event_defs.items()},
        {oid: e.form_refs for oid, e in new.study_event_defs.items()},
    )
    forms = (
        {oid: f.item_group_refs for oid, f in old.form_defs.items()},
        {oid: f.item_group_refs for oid, f in new.form_defs.items()},
    )
    groups = (
        {oid: g.item_refs for oid, g in old.item_group_defs.items()},
        {oid: g.item_refs for oid, g in new.item_group_defs.items()},
    )
    levels = (
        (s.EVENT, s.EVENT_REF, protocol, old.study_event_defs, new.study_event_defs),
        (s.FORM, s.FORM_REF, events, old.form_defs, new.form_defs),
        (s.GROUP, s.GROUP_REF, forms, old.item_group_defs, new.item_group_defs),
        (s.ITEM, s.ITEM_REF, groups, old.item_defs, new.item_defs),
    )
    for kind, ref_kind, parents, old_defs, new_defs in levels:
        places = (s.where(ref_kind, parents[0]), s.where(ref_kind, parents[1]))
        s.definitions(log, kind, old_defs, new_defs, places)
        s.references(log, ref_kind, parents, (old_defs, new_defs), places)
    s.definitions(log, s.CODE_LIST, old.code_lists, new.code_lists)
    s.definitions(log, s.CONDITION, old.condition_defs, new.condition_defs)
    s.definitions(log, s.METHOD, old.method_defs, new.method_defs)
