"""The review of a stored draft metadata version (issue 16, item 2): what a designer reads
before publishing it, in the order they need it.

:func:`review_draft` gathers, for draft ``number`` of a study: the findings of its file (read
again from the stored XML, which is kept byte for byte, so the lines are the file's lines), the
diff against the current published version (``odm_engine.diff``), the impact on the stored
data (``storage.impact``, the first ``keep`` problem values listed, the counts covering all)
and the forms a site would see differently (:func:`changed_forms`). Nothing is written and
nothing is rendered: the design page renders the forms with the app's ``FormRenderer``, and a
command could print the same review.

Why the findings are read again rather than stored: the load kept the file, not its warnings,
and a warning is a fact about the file (its lines), so reading it again gives the same ones.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from odm_engine import model as m
from odm_engine.diff import Change, MetadataDiff, diff_study
from odm_engine.findings import Finding
from storage.errors import NotFoundError
from storage.impact import ImpactReport, impact
from storage.readers.listings import metadata_versions
from storage.studies import (
    StoredMetadata,
    current_metadata,
    metadata_of,
    metadata_xml,
    parse_metadata,
)

if TYPE_CHECKING:
    from sqlalchemy import Connection

__all__ = ["DraftReview", "changed_forms", "draft_findings", "review_draft"]

KEEP = 50
"""Problem values a review lists by default (the counts cover all of them)."""


@dataclass(frozen=True, slots=True)
class DraftReview:
    """Everything the review of one draft shows, in the order it is shown."""

    study_oid: str
    number: int
    metadata_version_oid: str
    current: int
    """The number of the published version the draft is compared with."""
    findings: tuple[Finding, ...]
    diff: MetadataDiff
    impact: ImpactReport
    changed_forms: tuple[str, ...]
    """FormOIDs of the draft (in its Protocol's order) that a site would see differently."""

    @property
    def publishable(self) -> bool:
        """Newer than the current version (an older draft would never become current)."""
        return self.number > self.current


def review_draft(conn: Connection, study_oid: str, number: int, *, keep: int = KEEP) -> DraftReview:
    """The review of draft ``number`` of ``study_oid``. ``storage.errors.NotFoundError`` for
    an unknown study or version and for a version that is published (it is no draft)."""
    statuses = {v.number: v.status for v in metadata_versions(conn, study_oid)}
    if statuses.get(number) != "draft":
        what = "is published, not a draft" if number in statuses else "does not exist"
        raise NotFoundError(f"Version {number} of study {study_oid} {what}.")
    draft = metadata_of(conn, study_oid, number)
    current = current_metadata(conn, study_oid)
    old_study, new_study = _study(current), _study(draft)
    diff = diff_study(old_study, new_study, current.mdv, draft.mdv)
    report = impact(conn, study_oid, draft.mdv, study=new_study, keep=keep)
    return DraftReview(
        study_oid=study_oid,
        number=number,
        metadata_version_oid=draft.mdv.oid,
        current=current.number,
        findings=draft_findings(conn, study_oid, number),
        diff=diff,
        impact=report,
        changed_forms=changed_forms(diff.changes, current.mdv, draft.mdv),
    )


def draft_findings(conn: Connection, study_oid: str, number: int) -> tuple[Finding, ...]:
    """The findings of stored version ``number``'s file, as its load saw them (the vendor
    profile's tolerations applied); located by line in the stored file."""
    _odm, findings = parse_metadata(metadata_xml(conn, study_oid, number))
    return tuple(findings)


def _study(stored: StoredMetadata) -> m.Study:
    study = stored.odm.find_study(stored.study_oid) or stored.odm.study
    if study is None:  # a stored version always has its Study (load_study checks it)
        raise NotFoundError(f"Study {stored.study_oid}: stored version {stored.number} is empty.")
    return study


def changed_forms(
    changes: Iterable[Change], old: m.MetaDataVersion, new: m.MetaDataVersion
) -> tuple[str, ...]:
    """The FormDefs of ``new`` whose own definition, or any group, item, code list, condition,
    method or unit they reach (in ``old`` or in ``new``), a change names: the forms a site
    would see differently. Forms ``new`` no longer has are left out (nothing to render)."""
    touched = {name for change in changes for name in (change.oid, change.parent) if name}
    found = []
    for form_oid in _form_order(new):
        reached = _reached(old, form_oid) | _reached(new, form_oid)
        if reached & touched:
            found.append(form_oid)
    return tuple(found)


def _form_order(mdv: m.MetaDataVersion) -> list[str]:
    """The FormOIDs in the order a site meets them (Protocol, then event by event), then any
    FormDef no event refers to."""
    order: dict[str, None] = {}
    events = [r.study_event_oid for r in mdv.protocol.study_event_refs] if mdv.protocol else []
    for event_oid in (*events, *mdv.study_event_defs):
        event = mdv.study_event_defs.get(event_oid)
        for ref in event.form_refs if event else ():
            if ref.form_oid in mdv.form_defs:
                order.setdefault(ref.form_oid)
    order.update(dict.fromkeys(mdv.form_defs))
    return list(order)


def _reached(mdv: m.MetaDataVersion, form_oid: str) -> set[str]:
    """The OIDs a form shows or uses in ``mdv``: itself, its groups, their items, and the
    code lists, conditions, methods and units these name (references to a form from an
    event count as the form's: a FormRef change names the form's OID)."""
    form = mdv.form_defs.get(form_oid)
    if form is None:
        return set()
    reached = {form_oid}
    for event in mdv.study_event_defs.values():
        for fref in event.form_refs:
            if fref.form_oid == form_oid and fref.collection_exception_condition_oid:
                reached.add(fref.collection_exception_condition_oid)
    for gref in form.item_group_refs:
        reached.update(_ref_names(gref.item_group_oid, gref.collection_exception_condition_oid))
        group = mdv.item_group_defs.get(gref.item_group_oid)
        for ref in group.item_refs if group else ():
            reached.update(_item_names(mdv, ref))
    return reached


def _item_names(mdv: m.MetaDataVersion, ref: m.ItemRef) -> Iterator[str]:
    yield from _ref_names(
        ref.item_oid, ref.method_oid, ref.collection_exception_condition_oid, ref.role_code_list_oid
    )
    item = mdv.item_defs.get(ref.item_oid)
    if item is not None:
        yield from _ref_names(item.code_list_oid, *item.measurement_unit_oids)
        yield from (c.measurement_unit_oid for c in item.range_checks if c.measurement_unit_oid)


def _ref_names(*names: str | None) -> Iterator[str]:
    return (name for name in names if name)
