"""The audit trail: building rows, reading a subject's history, replaying it.

Rows are only ever inserted; the database refuses UPDATE and DELETE on ``audit_trail``
(triggers from migration 0002). ``replay`` applies a subject's item rows in ``seq`` order and
must give exactly the subject's current data; the tests check it as a property.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select

from odm_engine.clinical import FormKey, ItemKey, SubjectSnapshot
from storage.models import AuditRow, Role, SourceAuditRow, Study, Subject, TransactionType
from storage.refs import SubjectRef

AUDIT = AuditRow.__table__

KEY_COLUMNS: tuple[str, ...] = ItemKey._fields
"""The seven key columns of an item, named as the fields of :class:`ItemKey` (study_event_oid
... item_oid): every table that stores a key (audit_trail, source_audit, queries) uses them."""

WHO_COLUMNS: tuple[str, ...] = (
    "recorded_at",
    "user_id",
    "username",
    "role",
    "site_oid",
    "study_oid",
    "subject_id",
    "subject_key",
    "reason",
    "source",
)
"""The first columns of an audit row, in :meth:`AuditContext.who` order: when, who, where,
why, from where."""

AUDIT_COLUMNS: tuple[str, ...] = (
    *WHO_COLUMNS,
    "form_version",
    *KEY_COLUMNS,
    "transaction_type",
    "old_value",
    "new_value",
    "old_is_null",
    "new_is_null",
)
"""Column order of audit tuples on the bulk path: who/where/why first, then the change."""

ROW_COLUMNS: tuple[str, ...] = (*AUDIT_COLUMNS, "old_unit", "new_unit")
"""Column order of :meth:`AuditContext.values`: AUDIT_COLUMNS, then the units."""

SUBJECT_LEVEL = ItemKey("", "", "", "", "", "", "")
"""The key of a subject-level row (the subject's creation); a form-level row (a status
change) has its form's key with empty item group and item; an item row has the full key."""


def key_of(row: Mapping[str, Any]) -> ItemKey:
    """The ItemKey of a row that has the :data:`KEY_COLUMNS`."""
    return ItemKey._make([row[c] for c in KEY_COLUMNS])


@dataclass(frozen=True, slots=True)
class AuditContext:
    """What every audit row of one transaction shares: who, when, where, why, from where."""

    recorded_at: datetime
    user_id: int
    username: str
    role: str
    study_oid: str
    site_oid: str | None
    subject_id: int
    subject_key: str
    reason: str | None
    source: str

    @classmethod
    def for_actor(
        cls,
        subject: SubjectRef,
        *,
        user_id: int,
        username: str,
        role: Role | str,
        reason: str | None = None,
        source: str = "web",
        now: datetime | None = None,
    ) -> AuditContext:
        """The context of ``username`` (``user_id``, acting as ``role``) changing
        ``subject``'s data now (or at ``now``), from ``source``, for ``reason``."""
        return cls(
            now or datetime.now(UTC),
            user_id,
            username,
            str(Role(role)),
            subject.study_oid,
            subject.site_oid,
            subject.id,
            subject.subject_key,
            reason,
            source,
        )

    def who(self) -> tuple[object, ...]:
        """The :data:`WHO_COLUMNS` of every row of this context."""
        return (
            self.recorded_at,
            self.user_id,
            self.username,
            self.role,
            self.site_oid,
            self.study_oid,
            self.subject_id,
            self.subject_key,
            self.reason,
            self.source,
        )

    def values(
        self,
        key: ItemKey,
        transaction_type: TransactionType,
        old: tuple[str | None, str | None],
        new: tuple[str | None, str | None],
        form_version: int,
        *,
        units: tuple[str | None, str | None] = (None, None),
    ) -> tuple[object, ...]:
        """One audit row as a tuple of :data:`ROW_COLUMNS`. ``old``/``new`` are
        (value, is_null); ``units`` the MeasurementUnitOIDs before and after."""
        return (
            *self.who(),
            form_version,
            *key,  # study_event_oid ... item_oid, the order of AUDIT_COLUMNS
            transaction_type.value,
            old[0],
            new[0],
            old[1],
            new[1],
            units[0],
            units[1],
        )

    def row(
        self,
        key: ItemKey,
        transaction_type: TransactionType,
        old: tuple[str | None, str | None],
        new: tuple[str | None, str | None],
        form_version: int,
        *,
        units: tuple[str | None, str | None] = (None, None),
    ) -> dict[str, object]:
        """One audit row as a dict for a Core insert (see :meth:`values`)."""
        values = self.values(key, transaction_type, old, new, form_version, units=units)
        return dict(zip(ROW_COLUMNS, values, strict=True))

    def status_values(
        self, form: FormKey, old_status: str, new_status: str, form_version: int
    ) -> tuple[object, ...]:
        """A form-level row recording a status change (item group and item OIDs empty)."""
        key = ItemKey(*form, "", "", "")
        return self.values(
            key, TransactionType.STATUS, (old_status, None), (new_status, None), form_version
        )

    def enrolment_row(self) -> dict[str, object]:
        """The subject-level row of a subject's creation (every key empty, ODM SubjectData
        TransactionType Insert): the new value is its SubjectKey, the site its site."""
        values = self.values(
            SUBJECT_LEVEL, TransactionType.INSERT, (None, None), (self.subject_key, None), 0
        )
        return dict(zip(ROW_COLUMNS, values, strict=True))

    def status_row(
        self, form: FormKey, old_status: str, new_status: str, form_version: int
    ) -> dict[str, object]:
        """:meth:`status_values` as a dict for a Core insert."""
        values = self.status_values(form, old_status, new_status, form_version)
        return dict(zip(ROW_COLUMNS, values, strict=True))


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One audit row as read back."""

    seq: int
    recorded_at: datetime
    username: str
    role: str
    site_oid: str | None
    study_oid: str
    subject_key: str
    key: ItemKey
    transaction_type: str
    old_value: str | None
    new_value: str | None
    old_is_null: str | None
    new_is_null: str | None
    reason: str | None
    source: str
    form_version: int
    old_unit: str | None = None
    new_unit: str | None = None
    """MeasurementUnitOIDs chosen with the old and new value (None: none chosen)."""


def history(
    conn: Connection,
    study_oid: str,
    subject_key: str,
    *,
    item_oid: str | None = None,
    form: FormKey | None = None,
    after_form_version: int | None = None,
) -> list[AuditEntry]:
    """The audit rows of a subject (or one item, or one form) in ``seq`` order."""
    return list(
        iter_history(
            conn,
            study_oid,
            subject_key,
            item_oid=item_oid,
            form=form,
            after_form_version=after_form_version,
        )
    )


def iter_history(
    conn: Connection,
    study_oid: str,
    subject_key: str,
    *,
    item_oid: str | None = None,
    form: FormKey | None = None,
    after_form_version: int | None = None,
) -> Iterator[AuditEntry]:
    subject_id = (
        select(Subject.id)
        .join(Study, Study.id == Subject.study_id)
        .where(Study.oid == study_oid, Subject.subject_key == subject_key)
    )
    a = AuditRow
    query = select(AUDIT).where(a.subject_id == subject_id.scalar_subquery())
    if item_oid is not None:
        query = query.where(a.item_oid == item_oid)
    if form is not None:
        query = query.where(
            a.study_event_oid == form.study_event_oid,
            a.study_event_repeat_key == form.study_event_repeat_key,
            a.form_oid == form.form_oid,
            a.form_repeat_key == form.form_repeat_key,
        )
    if after_form_version is not None:
        query = query.where(a.form_version > after_form_version)
    for r in conn.execute(query.order_by(a.seq)).mappings():
        yield AuditEntry(
            seq=r["seq"],
            recorded_at=r["recorded_at"],
            username=r["username"],
            role=r["role"],
            site_oid=r["site_oid"],
            study_oid=r["study_oid"],
            subject_key=r["subject_key"],
            key=key_of(r),
            transaction_type=r["transaction_type"],
            old_value=r["old_value"],
            new_value=r["new_value"],
            old_is_null=r["old_is_null"],
            new_is_null=r["new_is_null"],
            reason=r["reason"],
            source=r["source"],
            form_version=r["form_version"],
            old_unit=r["old_unit"],
            new_unit=r["new_unit"],
        )


@dataclass(frozen=True, slots=True)
class SourceAuditEntry:
    """An audit entry of the system data was imported from, as the file gave it."""

    seq: int
    import_source: str
    kind: str
    """``AuditRecord`` or ``vendor``."""
    entity: str | None
    key: ItemKey
    """Every part empty for SubjectData, the item parts empty above ItemData."""
    transaction_type: str | None
    old_value: str | None
    new_value: str | None
    user_oid: str | None
    location_oid: str | None
    date_time_stamp: str | None
    reason: str | None
    source_id: str | None


def source_history(
    conn: Connection,
    study_oid: str,
    subject_key: str,
    *,
    item_oid: str | None = None,
    form: FormKey | None = None,
) -> list[SourceAuditEntry]:
    """The source audit entries kept with a subject's imported data (of one item or one
    form instance), in the order they were read."""
    s = SourceAuditRow
    subject_id = (
        select(Subject.id)
        .join(Study, Study.id == Subject.study_id)
        .where(Study.oid == study_oid, Subject.subject_key == subject_key)
    )
    query = select(s.__table__).where(s.subject_id == subject_id.scalar_subquery())
    if item_oid is not None:
        query = query.where(s.item_oid == item_oid)
    if form is not None:
        query = query.where(
            s.study_event_oid == form.study_event_oid,
            s.study_event_repeat_key == form.study_event_repeat_key,
            s.form_oid == form.form_oid,
            s.form_repeat_key == form.form_repeat_key,
        )
    return [
        SourceAuditEntry(
            seq=r.seq,
            import_source=r.import_source,
            kind=r.kind,
            entity=r.entity,
            key=key_of(r._mapping),
            transaction_type=r.transaction_type,
            old_value=r.old_value,
            new_value=r.new_value,
            user_oid=r.user_oid,
            location_oid=r.location_oid,
            date_time_stamp=r.date_time_stamp,
            reason=r.reason,
            source_id=r.source_id,
        )
        for r in conn.execute(query.order_by(s.seq))
    ]


def replay_entries(subject_key: str, entries: Iterable[AuditEntry]) -> SubjectSnapshot:
    """Apply item changes in order: the values and null reasons they leave behind."""
    values: dict[ItemKey, str] = {}
    nulls: dict[ItemKey, str] = {}
    for e in entries:
        if not e.key.item_oid:
            continue  # a subject-level or form-level (status) row: no value
        values.pop(e.key, None)
        nulls.pop(e.key, None)
        if e.transaction_type == TransactionType.REMOVE:
            continue
        if e.new_is_null is not None:
            nulls[e.key] = e.new_is_null
        elif e.new_value is not None:
            values[e.key] = e.new_value
    return SubjectSnapshot(subject_key, None, values, nulls)


def replay(conn: Connection, study_oid: str, subject_key: str) -> SubjectSnapshot:
    """A subject's data rebuilt from its audit rows alone."""
    return replay_entries(subject_key, iter_history(conn, study_oid, subject_key))
