"""The derivations of a migration's target version, recomputed for each moved subject (issue 17).

A subject moved to a version with new or changed MethodDefs (Type="Computation") gets their
values at the move, as if each of its forms were saved under the new version: every form
instance the subject has data in is evaluated with the target's compiled checks
(``odm_engine.checks.evaluate_subject``: each form after the forms whose derived items it
reads, ``sources_first``, as ``edc import`` and ``edc check`` do), on the subject's values as
they are after the migration's canonical rewrites. A derived value that differs from the
stored one is written (Insert, Update or Remove) with an audit row by the migration's user
and reason, source ``migrate:<n>:derived``, and its form's version is counted up, in the
migration's transaction (``storage.versions``). Derived values that do not change are not
written; a derived item on a form or group the target's conditions hide is left as it is.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, bindparam, insert, select, update

from odm_engine.checks import evaluate_subject
from odm_engine.clinical import FormKey, ItemKey
from odm_engine.expressions.plan import CheckPlan
from storage.audit import AuditContext
from storage.models import AuditRow, Form, Role, StudyEvent
from storage.prepared import Prepared
from storage.refs import SubjectRef
from storage.subjects import StoredItem, snapshot_of, stored_items
from storage.writes import ItemChange, item_changes, write_items


@dataclass(frozen=True, slots=True)
class DerivedValue:
    """A derived value a migration sets (``old`` None), changes or clears (``new`` None)."""

    subject_key: str
    key: ItemKey
    old: str | None
    new: str | None


@dataclass(frozen=True, slots=True)
class SubjectDerivations:
    """One subject's derived values that change, with what writing them needs."""

    ref: SubjectRef
    items: Mapping[ItemKey, StoredItem]
    changes: tuple[ItemChange, ...]

    def values(self) -> Iterable[DerivedValue]:
        for c in self.changes:
            yield DerivedValue(self.ref.subject_key, c.key, c.old[0], c.new[0])


def has_derivations(plan: CheckPlan) -> bool:
    """Whether the compiled version derives anything."""
    return any(form.derivation_order for form in plan.forms.values())


def derivations_of(
    conn: Connection,
    plan: CheckPlan,
    refs: Iterable[SubjectRef],
    rewritten: Mapping[int, Mapping[ItemKey, str]],
) -> list[SubjectDerivations]:
    """The derived values of ``plan`` that differ from the stored ones, per subject of
    ``refs`` that has any. ``rewritten``: subject id -> the values the migration rewrites
    (the derivations read them as rewritten)."""
    if not has_derivations(plan):
        return []
    out = []
    for ref in refs:
        items = stored_items(conn, ref.id)
        new = rewritten.get(ref.id)
        if new:  # the values as the migration rewrites them
            items = {k: (r[0], new[k], *r[2:]) if k in new else r for k, r in items.items()}
        snapshot = snapshot_of(ref, items)
        wanted: dict[ItemKey, str | None] = {
            key: text
            for form, evaluation in evaluate_subject(plan, snapshot).items()
            for key, text in evaluation.derived.items()
            if key.form_key == form and not _hidden(key, evaluation.hidden)
        }
        changes = item_changes(items, wanted, {})
        if changes:
            out.append(SubjectDerivations(ref, items, tuple(changes)))
    return out


def _hidden(key: ItemKey, hidden: Container[object]) -> bool:
    """Whether the target's conditions hide the item, its group row or its form."""
    return key in hidden or key.group_key in hidden or key.form_key in hidden


_FORMS = Prepared(
    select(
        StudyEvent.study_event_oid,
        StudyEvent.repeat_key,
        Form.form_oid,
        Form.repeat_key,
        Form.id,
        Form.version,
    )
    .join(StudyEvent, StudyEvent.id == Form.study_event_id)
    .where(StudyEvent.subject_id == bindparam("subject_id"))
)


def form_versions(conn: Connection, subject_id: int) -> dict[FormKey, tuple[int, int]]:
    """FormKey -> (form id, stored version) of a subject's form instances."""
    return {FormKey(*r[:4]): (r[4], r[5]) for r in _FORMS.all(conn, {"subject_id": subject_id})}


def write_derivations(
    conn: Connection,
    derivations: list[SubjectDerivations],
    bumped: Mapping[int, int],
    *,
    to_number: int,
    user: str,
    user_id: int,
    reason: str,
    now: datetime,
) -> dict[int, int]:
    """Write each subject's changed derived values with an audit row each (the migration's
    user and reason, source ``migrate:<n>:derived``); returns form id -> the version the
    forms written here get. ``bumped``: form id -> the version the migration's rewrites give
    it already (the same count up, one per form); the others are counted up here."""
    versions: dict[int, int] = {}
    audit = []
    for subject in derivations:
        forms = form_versions(conn, subject.ref.id)
        by_form: dict[FormKey, list[ItemChange]] = defaultdict(list)
        for change in subject.changes:
            by_form[change.key.form_key].append(change)
        ctx = AuditContext.for_actor(
            subject.ref,
            user_id=user_id,
            username=user,
            role=Role.DATA_MANAGER,
            reason=reason,
            source=f"migrate:{to_number}:derived",
            now=now,
        )
        for form_key, changes in by_form.items():
            form_id, stored = forms[form_key]  # evaluated forms hold data, so they exist
            if form_id not in bumped:
                versions[form_id] = stored + 1
            version = bumped.get(form_id, stored + 1)
            write_items(conn, form_id, subject.items, changes)
            for c in changes:
                units = c.units
                audit.append(ctx.row(c.key, c.transaction_type, c.old, c.new, version, units=units))
    if versions:
        conn.execute(
            _BUMP_FORM.values(updated_at=now, updated_by=user),
            [{"fid": f, "v": v} for f, v in versions.items()],
        )
    if audit:
        conn.execute(insert(AuditRow), audit)
    return versions


_BUMP_FORM = update(Form).where(Form.id == bindparam("fid")).values(version=bindparam("v"))
