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

from collections.abc import Container, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, bindparam, delete, insert, select, update

from odm_engine.checks import evaluate_subject
from odm_engine.clinical import FormKey, ItemKey
from odm_engine.expressions.plan import CheckPlan
from storage.audit import AuditContext
from storage.models import AuditRow, Form, ItemData, ItemGroup, Role, StudyEvent, TransactionType
from storage.refs import SubjectRef
from storage.subjects import StoredItem, snapshot_of
from storage.writes import ItemChange, item_changes


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
    forms: Mapping[FormKey, tuple[int, int]]
    """FormKey -> (form id, stored version) of the forms holding data."""
    groups: dict[tuple[int, str, str], int]
    """(form id, ItemGroupOID, repeat key) -> item group row id; rows inserted are added."""

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
) -> Iterator[SubjectDerivations]:
    """The derived values of ``plan`` that differ from the stored ones, per subject of
    ``refs`` that has any, as they are computed (a count holds one chunk's values at a time).
    ``rewritten``: subject id -> the values the migration rewrites (the derivations read them
    as rewritten). The values are read CHUNK subjects a query."""
    if not has_derivations(plan):
        return
    by_id = {ref.id: ref for ref in refs}
    for chunk in _chunks(list(by_id)):
        stored = _stored(conn, chunk)
        for subject_id in chunk:
            ref, (items, forms, groups) = by_id[subject_id], stored[subject_id]
            new = rewritten.get(subject_id)
            if new:  # the values as the migration rewrites them
                items = {k: (r[0], new[k], *r[2:]) if k in new else r for k, r in items.items()}
            wanted: dict[ItemKey, str | None] = {
                key: text
                for form, evaluation in evaluate_subject(plan, snapshot_of(ref, items)).items()
                for key, text in evaluation.derived.items()
                if key.form_key == form and not _hidden(key, evaluation.hidden)
            }
            changes = item_changes(items, wanted, {})
            if changes:
                yield SubjectDerivations(ref, items, tuple(changes), forms, groups)


def _hidden(key: ItemKey, hidden: Container[object]) -> bool:
    """Whether the target's conditions hide the item, its group row or its form."""
    return key in hidden or key.group_key in hidden or key.form_key in hidden


CHUNK = 500
"""Subjects per ``IN (...)`` when reading their values."""


def _chunks(ids: list[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


_Stored = tuple[
    dict[ItemKey, StoredItem], dict[FormKey, tuple[int, int]], dict[tuple[int, str, str], int]
]
"""A subject's stored values, its forms (FormKey -> (id, version)) and item group rows
((form id, ItemGroupOID, repeat key) -> id)."""


def _stored(conn: Connection, subject_ids: list[int]) -> dict[int, _Stored]:
    """What :data:`_Stored` holds, for each of ``subject_ids``, in one query."""
    out: dict[int, _Stored] = {sid: ({}, {}, {}) for sid in subject_ids}
    rows = conn.execute(
        select(
            StudyEvent.subject_id,
            StudyEvent.study_event_oid,
            StudyEvent.repeat_key,
            Form.form_oid,
            Form.repeat_key,
            ItemGroup.item_group_oid,
            ItemGroup.repeat_key,
            ItemData.item_oid,
            ItemData.id,
            ItemData.value,
            ItemData.is_null,
            ItemData.unit,
            Form.id,
            Form.version,
            ItemGroup.id,
        )
        .join(ItemGroup, ItemGroup.id == ItemData.item_group_id)
        .join(Form, Form.id == ItemGroup.form_id)
        .join(StudyEvent, StudyEvent.id == Form.study_event_id)
        .where(StudyEvent.subject_id.in_(subject_ids))
    )
    for r in rows:
        items, forms, groups = out[r[0]]
        key = ItemKey(*r[1:8])
        items[key] = (r[8], r[9], r[10], r[11])
        forms[key.form_key] = (r[12], r[13])
        groups[(r[12], r[5], r[6])] = r[14]
    return out


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
) -> None:
    """Write each subject's changed derived values with an audit row each (the migration's
    user and reason, source ``migrate:<n>:derived``). ``bumped``: form id -> the version the
    migration's rewrites give it already (the same count up, one per form); the others are
    counted up here. Each kind of row is written in one executemany."""
    versions: dict[int, int] = {}
    audit, inserts, updates, deletes = [], [], [], []
    for subject in derivations:
        ctx = AuditContext.for_actor(
            subject.ref,
            user_id=user_id,
            username=user,
            role=Role.DATA_MANAGER,
            reason=reason,
            source=f"migrate:{to_number}:derived",
            now=now,
        )
        for c in subject.changes:
            form_id, stored = subject.forms[c.key.form_key]  # evaluated forms hold data
            if form_id not in bumped:
                versions[form_id] = stored + 1
            version = bumped.get(form_id, stored + 1)
            row = {"v": c.new[0], "n": c.new[1], "u": c.units[1]}
            if c.transaction_type is TransactionType.INSERT:
                gid = _group(conn, subject, form_id, c.key)
                inserts.append({**row, "gid": gid, "oid": c.key.item_oid})
            elif c.transaction_type is TransactionType.UPDATE:
                updates.append({**row, "rid": subject.items[c.key][0]})
            else:
                deletes.append({"rid": subject.items[c.key][0]})
            audit.append(ctx.row(c.key, c.transaction_type, c.old, c.new, version, units=c.units))
    for statement, params in ((_INSERT, inserts), (_UPDATE, updates), (_DELETE, deletes)):
        if params:
            conn.execute(statement, params)
    if versions:
        conn.execute(
            _BUMP_FORM.values(updated_at=now, updated_by=user),
            [{"fid": f, "v": v} for f, v in versions.items()],
        )
    if audit:
        conn.execute(insert(AuditRow), audit)


def _group(conn: Connection, subject: SubjectDerivations, form_id: int, key: ItemKey) -> int:
    """The id of the item group row of ``key`` on its form, inserted when the form has none."""
    where = (form_id, key.item_group_oid, key.item_group_repeat_key)
    gid = subject.groups.get(where)
    if gid is None:
        gid = subject.groups[where] = conn.execute(
            insert(ItemGroup).values(form_id=form_id, item_group_oid=where[1], repeat_key=where[2])
        ).inserted_primary_key[0]
    return int(gid)


_INSERT = insert(ItemData).values(
    item_group_id=bindparam("gid"),
    item_oid=bindparam("oid"),
    value=bindparam("v"),
    is_null=bindparam("n"),
    unit=bindparam("u"),
)
_UPDATE = (
    update(ItemData)
    .where(ItemData.id == bindparam("rid"))
    .values(value=bindparam("v"), is_null=bindparam("n"), unit=bindparam("u"))
)
_DELETE = delete(ItemData).where(ItemData.id == bindparam("rid"))
_BUMP_FORM = update(Form).where(Form.id == bindparam("fid")).values(version=bindparam("v"))
"""Count up a form's version (an open entry form then sees the change instead of saving over
it); executemany'd (here and by :func:`storage.versions.migrate_subjects`' rewrites)."""
