"""The one write path for a form: validate, write changed values, audit each, in one transaction.

``save_form`` runs inside the caller's transaction and never commits: commit on return, roll
back on any exception (``storage.engine.write_transaction`` does both). When it returns with
``saved=False`` (a hard check failed) nothing was written.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import NamedTuple, TypeVar

from sqlalchemy import Connection, bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from odm_engine.clinical import FormKey, ItemKey
from odm_engine.entry_validation import (
    CheckResultLike,
    EnteredValue,
    FormValidation,
    FormValidator,
    IsNull,
    MetadataValidator,
)
from odm_engine.free_text import check_save_texts
from storage.audit import AUDIT, ROW_COLUMNS, AuditContext
from storage.engine import connection_of
from storage.errors import (
    FormNotEditableError,
    ReasonRequiredError,
)
from storage.form_status import FormChange, claim_version, next_status, open_form_for_change
from storage.models import Form, FormStatus, ItemData, ItemGroup, Role, StudyEvent, TransactionType
from storage.prepared import Prepared
from storage.queries import close_passed_check_queries, open_check_queries
from storage.studies import metadata_of
from storage.subjects import (
    StoredItem,
    SubjectRef,
    data_mark,
    snapshot_of,
    stored_items,
    stored_units,
    subject_version,
)

ValueKey = tuple[str, str, str]
"""(ItemGroupOID, ItemGroupRepeatKey, ItemOID) of a value on the form being saved."""
Stored = tuple[str | None, str | None]
"""(value, is_null) as stored; (None, None) when absent."""

ABSENT: Stored = (None, None)


class ItemChange(NamedTuple):
    """One value a save changes (a named tuple: a save makes one per value)."""

    key: ItemKey
    transaction_type: TransactionType
    old: Stored
    new: Stored
    units: tuple[str | None, str | None] = (None, None)
    """MeasurementUnitOID before and after (None: none chosen)."""


@dataclass(frozen=True, slots=True)
class SaveResult:
    saved: bool
    """False when a hard check failed: nothing was written, see ``check_results``."""
    form_version: int
    """The form's version after the save; pass it as ``expected_version`` next time."""
    status: FormStatus
    changes: tuple[ItemChange, ...] = ()
    check_results: tuple[CheckResultLike, ...] = ()
    queries_opened: tuple[int, ...] = ()

    @property
    def hard_failures(self) -> tuple[CheckResultLike, ...]:
        return tuple(r for r in self.check_results if r.severity == "hard")

    @property
    def soft_failures(self) -> tuple[CheckResultLike, ...]:
        return tuple(r for r in self.check_results if r.severity == "soft")


StoredItems = Mapping[ItemKey, StoredItem]
"""ItemKey -> (item_data id, value, is_null, unit): a subject's stored values."""


@dataclass(frozen=True, slots=True)
class Prevalidated:
    """A save's validation done before its write transaction, against ``items``.

    Validating (parsing, derivations, conditions, every edit check) is most of a save's work;
    done inside the write transaction it holds SQLite's single write lock all that time and
    saves queue behind it. ``save_form`` uses this result only if, inside its transaction,
    the subject's stored values and the requested values are exactly these; otherwise it
    validates again there. So every save is still checked against the very data it writes
    over.
    """

    form_key: FormKey
    items: StoredItems
    requested: Mapping[ItemKey, EnteredValue]
    units: Mapping[ItemKey, str]
    validation: FormValidation
    mark: int | None = None
    """The subject's :func:`~storage.subjects.data_mark`, read just before ``items``: when
    it is unchanged inside the transaction, ``items`` are still the stored values and are
    not read again."""


def prevalidate(
    subject: SubjectRef,
    items: StoredItems,
    form_key: FormKey,
    values: Mapping[ValueKey, EnteredValue],
    validator: FormValidator,
    *,
    units: Mapping[ValueKey, str] | None = None,
    mark: int | None = None,
) -> Prevalidated:
    """Validate a save of ``values`` against ``items`` (read before the write transaction;
    ``mark``: the subject's data mark, read before them)."""
    requested, chosen = _keyed(form_key, values), _keyed(form_key, units or {})
    validation = validator.validate(
        snapshot_of(subject, items), form_key, requested, {**stored_units(items), **chosen}
    )
    return Prevalidated(form_key, items, requested, chosen, validation, mark)


def save_form(
    target: Connection | Session,
    *,
    study: str,
    subject_key: str,
    form_key: FormKey,
    values: Mapping[ValueKey, EnteredValue],
    user: str,
    role: Role | str,
    expected_version: int,
    reason: str | None = None,
    source: str = "web",
    complete: bool = False,
    validator: FormValidator | None = None,
    subject: SubjectRef | None = None,
    prevalidated: Prevalidated | None = None,
    units: Mapping[ValueKey, str] | None = None,
) -> SaveResult:
    """Save the values of one form of one subject.

    ``values`` maps (ItemGroupOID, ItemGroupRepeatKey, ItemOID) to the entered text, an
    :class:`IsNull`, or None / "" to remove the value; items not named stay as they are.
    ``expected_version`` is the form version the user read (0 for a form never saved).
    ``subject``: the subject, when the caller has just looked it up (it is not read again).
    ``prevalidated``: the validation done before the transaction (see :class:`Prevalidated`);
    used only if the stored and requested values are still the ones it checked.
    ``units``: the MeasurementUnitOID chosen with a value (one of its ItemDef's
    MeasurementUnitRefs); a value given without one keeps the unit stored with it.

    Returns ``saved=False`` with the check results when a hard check fails. Raises
    ConflictError (stale version), ReasonRequiredError (a change after the first save without
    a reason), FormNotEditableError (locked, or not collected), AccessDeniedError, NotFoundError,
    TextRefusedError (a text XML cannot carry, or over its limit: issue 14).
    """
    _check_texts(form_key, values, reason)
    conn = connection_of(target)
    move = "complete" if complete else "save"  # storage.form_status.TRANSITIONS
    change = open_form_for_change(
        conn,
        study=study,
        subject_key=subject_key,
        form=form_key,
        move=move,
        user=user,
        role=role,
        expected_version=expected_version,
        subject=subject,
        explain=True,
    )
    subject, status, version = change.subject, change.status, change.version
    chosen = _keyed(form_key, units or {})
    items, validation = _validated(
        conn,
        change,
        _keyed(form_key, values),
        chosen,
        validator=validator,
        prevalidated=prevalidated,
    )
    if validation.refusal:
        raise FormNotEditableError(validation.refusal)
    if validation.hard:
        return SaveResult(False, version, status, check_results=tuple(validation.results))
    wanted, results = _wanted(validation, form_key)
    if complete and (missing := _missing_required(results, items, wanted)):
        return SaveResult(False, version, status, check_results=missing)
    changes = item_changes(items, wanted, chosen)
    new_status = next_status(status, move, changed=bool(changes), form=change.path)
    if not changes and new_status is status:
        return SaveResult(True, version, status, check_results=tuple(results))
    if version > 0 and not (reason and reason.strip()):
        raise ReasonRequiredError(f"Form {change.path} was saved before: give a reason for change.")
    now = datetime.now(UTC)
    ctx = change.audit(
        user=user, role=role, reason=reason.strip() if reason else None, source=source, now=now
    )
    new_version = _write(conn, change, ctx, items, changes, new_status=new_status)
    opened = _check_queries(conn, subject.id, form_key, results, user=user, role=role, now=now)
    return SaveResult(True, new_version, new_status, tuple(changes), tuple(results), tuple(opened))


def _check_queries(
    conn: Connection,
    subject_id: int,
    form_key: FormKey,
    results: list[CheckResultLike],
    *,
    user: str,
    role: Role | str,
    now: datetime,
) -> list[int]:
    """In the save's transaction: close the form's check queries whose check now passes (by
    the system), then open one per soft check that fails (a required item left empty opens
    none: it blocks "complete" instead). Returns the ids of the queries opened."""
    soft = [r for r in results if r.severity == "soft"]
    close_passed_check_queries(conn, subject_id, form_key, failing=soft, now=now)
    return open_check_queries(
        conn,
        subject_id,
        results=[r for r in soft if r.kind != "mandatory"],
        user=user,
        role=str(Role(role)),
        now=now,
    )


def _missing_required(
    results: list[CheckResultLike], items: StoredItems, wanted: Mapping[ItemKey, EnteredValue]
) -> tuple[CheckResultLike, ...]:
    """The required items left empty, as hard failures: a form is not marked complete while
    one is missing (issue 18). They are shown next to their fields and block the save, and no
    query is opened for them (a near-empty form once opened a dozen); a value, or the reason
    it is missing (a null flavour, requested now or stored), satisfies them."""
    nulled = {k for k, v in wanted.items() if isinstance(v, IsNull)}
    nulled |= {k for k, stored in items.items() if stored[2] and k not in wanted}
    return tuple(
        replace(r, severity="hard")  # type: ignore[type-var]
        for r in results
        if r.kind == "mandatory" and r.item_key not in nulled
    )


def _write(
    conn: Connection,
    change: FormChange,
    ctx: AuditContext,
    items: StoredItems,
    changes: list[ItemChange],
    *,
    new_status: FormStatus,
) -> int:
    """Claim the next form version, write the changed values and their audit rows (and the
    status row if the status moves); returns the new version."""
    form_id, new_version = _bump(
        conn, change, status=new_status, user=ctx.username, now=ctx.recorded_at
    )
    audit_rows = []
    if new_status is not change.status:
        old, new = change.status.value, new_status.value
        audit_rows.append(ctx.status_values(change.key, old, new, new_version))
    audit_rows += [
        ctx.values(c.key, c.transaction_type, c.old, c.new, new_version, units=c.units)
        for c in changes
    ]
    _write_items(conn, form_id, items, changes)
    _INSERT_AUDIT.executemany_rows(conn, ROW_COLUMNS, audit_rows)
    return new_version


def _check_texts(
    form_key: FormKey, values: Mapping[ValueKey, EnteredValue], reason: str | None
) -> None:
    """Refuse a key, value or reason XML cannot carry, or over its limit (issue 14)."""
    check_save_texts(
        [
            ("StudyEventRepeatKey", form_key[1]),
            ("FormRepeatKey", form_key[3]),
            *(("ItemGroupRepeatKey", k[1]) for k in values),
        ],
        ((k[2], v) for k, v in values.items()),
        reason,
    )


def _validated(
    conn: Connection,
    change: FormChange,
    requested: dict[ItemKey, EnteredValue],
    chosen: dict[ItemKey, str],
    *,
    validator: FormValidator | None,
    prevalidated: Prevalidated | None,
) -> tuple[StoredItems, FormValidation]:
    """The subject's stored values and the save's validation against them, inside the
    transaction: ``prevalidated``'s when the stored and requested values are still those."""
    subject, form_key = change.subject, change.key
    if (
        prevalidated is not None
        and prevalidated.mark is not None
        and data_mark(conn, subject.id) == prevalidated.mark
    ):
        items: StoredItems = prevalidated.items  # nothing committed since they were read
    else:
        items = stored_items(conn, subject.id)
    if (
        prevalidated is not None
        and prevalidated.form_key == form_key
        and prevalidated.items == items
        and prevalidated.requested == requested
        and prevalidated.units == chosen
    ):
        return items, prevalidated.validation
    study = subject.study_oid
    if validator is None:  # the version the subject is on (issue 16)
        number = subject_version(conn, study, subject.subject_key)
        validator = MetadataValidator.for_odm(metadata_of(conn, study, number).odm, study)
    validation = validator.validate(
        snapshot_of(subject, items), form_key, requested, {**stored_units(items), **chosen}
    )
    return items, validation


def _wanted(
    validation: FormValidation, form_key: FormKey
) -> tuple[dict[ItemKey, EnteredValue], list[CheckResultLike]]:
    """The values to store (the requested ones, the form's derived ones, and None for what
    the conditions hide) and the check results that still apply."""
    wanted: dict[ItemKey, EnteredValue] = dict(validation.values)
    wanted.update({k: v for k, v in validation.derived.items() if k.form_key == form_key})
    # Issue 14: what the conditions hide is cleared here, as the browser clears it, whatever
    # was posted for it (a hidden value skipped every edit check of its item).
    wanted.update(dict.fromkeys(validation.not_collected))
    results = [
        r
        for r in validation.results
        if r.kind != "condition" or r.item_key not in validation.not_collected
    ]
    return wanted, results


_T = TypeVar("_T")


def _keyed(form_key: FormKey, by_value_key: Mapping[ValueKey, _T]) -> dict[ItemKey, _T]:
    """``by_value_key`` keyed by the full ItemKey of each value on the form."""
    head, make = tuple(form_key), ItemKey._make  # _make checks the length
    return {make(head + tuple(k)): v for k, v in by_value_key.items()}


def as_stored(value: EnteredValue) -> Stored:
    if isinstance(value, IsNull):
        return (None, value.reason)
    return ABSENT if value is None or value == "" else (value, None)


def transaction_type(old: Stored, new: Stored) -> TransactionType | None:
    """Insert, Update or Remove for a change from ``old`` to ``new``; None if no change."""
    if old == new:
        return None
    if old == ABSENT:
        return TransactionType.INSERT
    return TransactionType.REMOVE if new == ABSENT else TransactionType.UPDATE


def item_changes(
    items: StoredItems,
    wanted: Mapping[ItemKey, EnteredValue],
    units: Mapping[ItemKey, str],
) -> list[ItemChange]:
    """What changes: a value, or only the unit chosen with it (an Update)."""
    changes = []
    for key, value in wanted.items():
        stored = items.get(key)
        old = (stored[1], stored[2]) if stored else ABSENT
        old_unit = stored[3] if stored else None
        new = as_stored(value)
        new_unit = units.get(key, old_unit) if new[0] is not None else None
        kind = transaction_type(old, new)
        if kind is None and old_unit != new_unit:
            kind = TransactionType.UPDATE
        if kind is not None:
            changes.append(ItemChange(key, kind, old, new, (old_unit, new_unit)))
    return changes


_EVENT_ID = select(StudyEvent.id).where(
    StudyEvent.subject_id == bindparam("subject_id"),
    StudyEvent.study_event_oid == bindparam("study_event_oid"),
    StudyEvent.repeat_key == bindparam("repeat_key"),
)
_INSERT_EVENT = insert(StudyEvent)
_INSERT_FORM = insert(Form)
_INSERT_ITEM_GROUP = insert(ItemGroup)
_ITEM_GROUPS = Prepared(
    select(ItemGroup.item_group_oid, ItemGroup.repeat_key, ItemGroup.id).where(
        ItemGroup.form_id == bindparam("form_id")
    )
)
_ITEM_DATA = ItemData.__table__
_INSERT_ITEMS = Prepared(
    insert(_ITEM_DATA).values(
        item_group_id=bindparam("gid"),
        item_oid=bindparam("oid"),
        value=bindparam("v"),
        is_null=bindparam("n"),
        unit=bindparam("u"),
    )
)
_UPDATE_ITEMS = Prepared(
    update(_ITEM_DATA)
    .where(_ITEM_DATA.c.id == bindparam("rid"))
    .values(value=bindparam("v"), is_null=bindparam("n"), unit=bindparam("u"))
)
_DELETE_ITEMS = Prepared(delete(_ITEM_DATA).where(_ITEM_DATA.c.id == bindparam("rid")))
_INSERT_AUDIT = Prepared(insert(AUDIT).values({c: bindparam(c) for c in ROW_COLUMNS}))
"""Statements of every save are built once at import and the hot ones run on the driver
(``storage.prepared``): building a statement per call, or running it through SQLAlchemy's
execution machinery, cost more than the database took to run it."""


def _bump(
    conn: Connection, change: FormChange, *, status: FormStatus, user: str, now: datetime
) -> tuple[int, int]:
    """Claim the next form version (creating the event and form if needed): (form id, version).

    An existing form: :func:`~storage.form_status.claim_version` (the optimistic lock). A new
    one: another save that created it first makes this save a conflict.
    """
    if change.form_id is not None:
        return change.form_id, claim_version(conn, change, status, user=user, now=now)
    key, subject = change.key, change.subject
    event = {
        "subject_id": subject.id,
        "study_event_oid": key.study_event_oid,
        "repeat_key": key.study_event_repeat_key,
    }
    try:
        event_id = conn.scalar(_EVENT_ID, event)
        if event_id is None:
            event_id = conn.execute(_INSERT_EVENT, event).inserted_primary_key[0]
        form_id = conn.execute(
            _INSERT_FORM,
            {
                "study_event_id": event_id,
                "form_oid": key.form_oid,
                "repeat_key": key.form_repeat_key,
                "status": status.value,
                "version": 1,
                "updated_at": now,
                "updated_by": user,
            },
        ).inserted_primary_key[0]
    except IntegrityError as exc:  # another save created the form first
        raise change.conflict(conn, change.version + 1) from exc
    return int(form_id), 1


def _write_items(
    conn: Connection,
    form_id: int,
    items: StoredItems,
    changes: list[ItemChange],
) -> None:
    groups: dict[tuple[str, str], int] | None = None  # read only when a value is inserted
    inserts, updates, deletes = [], [], []
    for c in changes:
        if c.transaction_type is TransactionType.INSERT:
            if groups is None:
                rows = _ITEM_GROUPS.all(conn, {"form_id": form_id})
                groups = {(oid, rk): gid for oid, rk, gid in rows}
            gkey = (c.key.item_group_oid, c.key.item_group_repeat_key)
            if gkey not in groups:
                groups[gkey] = conn.execute(
                    _INSERT_ITEM_GROUP,
                    {"form_id": form_id, "item_group_oid": gkey[0], "repeat_key": gkey[1]},
                ).inserted_primary_key[0]
            inserts.append(
                {
                    "gid": groups[gkey],
                    "oid": c.key.item_oid,
                    "v": c.new[0],
                    "n": c.new[1],
                    "u": c.units[1],
                }
            )
        elif c.transaction_type is TransactionType.UPDATE:
            updates.append({"rid": items[c.key][0], "v": c.new[0], "n": c.new[1], "u": c.units[1]})
        else:
            deletes.append({"rid": items[c.key][0]})
    _INSERT_ITEMS.executemany(conn, inserts)
    _UPDATE_ITEMS.executemany(conn, updates)
    _DELETE_ITEMS.executemany(conn, deletes)
