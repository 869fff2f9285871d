"""Subjects and what is stored for them, read back as frozen snapshots."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select
from sqlalchemy.exc import IntegrityError

from odm_engine.clinical import FormKey, ItemKey, SubjectSnapshot
from odm_engine.free_text import KEY, check_text
from storage.audit import AuditContext
from storage.errors import InvalidInputError, NotFoundError
from storage.models import (
    AuditRow,
    Form,
    FormStatus,
    ItemData,
    ItemGroup,
    Role,
    Site,
    Study,
    StudyEvent,
)
from storage.models import Subject as SubjectRow
from storage.prepared import Prepared
from storage.refs import SubjectRef
from storage.studies import _current_number
from storage.users import WRITE_ROLES, require_role


@dataclass(frozen=True, slots=True)
class FormState:
    """A form instance as stored: status, version (for optimistic locking) and values."""

    key: FormKey
    status: FormStatus
    version: int
    values: dict[ItemKey, str]
    null_reasons: dict[ItemKey, str]


_FIND_SUBJECT = Prepared(
    select(SubjectRow.id, Study.id, SubjectRow.site_id, Site.oid, SubjectRow.metadata_version)
    .join(Study, Study.id == SubjectRow.study_id)
    .outerjoin(Site, Site.id == SubjectRow.site_id)
    .where(Study.oid == bindparam("study_oid"), SubjectRow.subject_key == bindparam("key"))
)
"""Hot-path statements are built once at import and run on the driver (``storage.prepared``):
building a select per call, or running it through ``Connection.execute``, costs several
times what the database takes to run it."""


FORM_INSTANCE = (
    StudyEvent.study_event_oid == bindparam("event_oid"),
    StudyEvent.repeat_key == bindparam("event_key"),
    Form.form_oid == bindparam("form_oid"),
    Form.repeat_key == bindparam("form_key"),
)
"""The WHERE clauses naming one form instance of a subject (a select joining StudyEvent and
Form); ``form_instance_params`` gives their values."""


def form_instance_params(subject_id: int, form: FormKey) -> dict[str, Any]:
    """The bound values naming one form instance of a subject: ``subject_id`` and those of
    ``FORM_INSTANCE`` (also of the same names on the queries table)."""
    return {
        "subject_id": subject_id,
        "event_oid": form.study_event_oid,
        "event_key": form.study_event_repeat_key,
        "form_oid": form.form_oid,
        "form_key": form.form_repeat_key,
    }


_FORM_ROW = Prepared(
    select(Form.id, Form.status, Form.version)
    .join(StudyEvent, StudyEvent.id == Form.study_event_id)
    .where(StudyEvent.subject_id == bindparam("subject_id"), *FORM_INSTANCE)
)


def form_row(conn: Connection, subject_id: int, key: FormKey) -> tuple[int, str, int] | None:
    """(id, status, version) of a subject's stored form instance; None if never saved."""
    row = _FORM_ROW.first(conn, form_instance_params(subject_id, key))
    return (row[0], row[1], row[2]) if row else None


def find_subject(conn: Connection, study_oid: str, subject_key: str) -> SubjectRef:
    row = _FIND_SUBJECT.first(conn, {"study_oid": study_oid, "key": subject_key})
    if row is None:
        raise NotFoundError(f"No subject {subject_key!r} in study {study_oid}.")
    return SubjectRef(row[0], row[1], study_oid, subject_key, row[2], row[3], int(row[4]))


def create_subject(
    conn: Connection,
    *,
    study: str,
    subject_key: str,
    site_oid: str | None,
    user: str,
    role: Role | str,
    source: str = "web",
) -> SubjectRef:
    """Enrol a subject at a site. SubjectKey is unique per study. The enrolment is audited
    with a subject-level row (see ``storage.audit.SUBJECT_LEVEL``) in the same transaction.
    ValueError if the subject exists (also when another transaction added it at the same
    time: the unique constraint's IntegrityError), TextRefusedError for a key XML cannot
    carry or over 100 characters."""
    check_text(subject_key, "SubjectKey", KEY)
    study_id = conn.scalar(select(Study.id).where(Study.oid == study))
    if study_id is None:
        raise NotFoundError(f"No study {study!r}. Load its metadata with `edc study load`.")
    site_id = None
    if site_oid is not None:
        site_id = conn.scalar(
            select(Site.id).where(Site.study_id == study_id, Site.oid == site_oid)
        )
        if site_id is None:
            raise NotFoundError(f"No site {site_oid!r} in study {study}.")
    user_id = require_role(
        conn,
        user,
        role,
        study_id=study_id,
        site_id=site_id,
        allowed=WRITE_ROLES,
        action="enrol subjects",
    )
    if conn.scalar(
        select(SubjectRow.id).where(
            SubjectRow.study_id == study_id, SubjectRow.subject_key == subject_key
        )
    ):
        raise InvalidInputError(f"Subject {subject_key!r} exists already in study {study}.")
    now = datetime.now(UTC)
    try:
        subject_id = conn.execute(
            insert(SubjectRow).values(
                study_id=study_id,
                subject_key=subject_key,
                site_id=site_id,
                created_at=now,
                metadata_version=current_version(conn, int(study_id)),
            )
        ).inserted_primary_key[0]
    except IntegrityError as exc:  # added by another transaction since the check above
        raise InvalidInputError(
            f"Subject {subject_key!r} exists already in study {study}."
        ) from exc
    ref = SubjectRef(int(subject_id), int(study_id), study, subject_key, site_id, site_oid)
    ctx = AuditContext.for_actor(
        ref, user_id=user_id, username=user, role=role, source=source, now=now
    )
    conn.execute(insert(AuditRow), [ctx.enrolment_row()])  # same transaction as the subject
    return ref


def current_version(conn: Connection, study_id: int) -> int:
    """The number a new subject starts on: the study's newest published metadata version."""
    number = _current_number(conn, study_id)
    if number is None:
        raise NotFoundError("The study has no published metadata version: publish one first.")
    return int(number)


_SUBJECT_VERSION = (
    select(SubjectRow.metadata_version)
    .join(Study, Study.id == SubjectRow.study_id)
    .where(Study.oid == bindparam("study_oid"), SubjectRow.subject_key == bindparam("key"))
)
"""Built once: every form page and save asks it (built per call it cost 0.6 ms a save)."""


def subject_version(conn: Connection, study_oid: str, subject_key: str) -> int:
    """The number of the metadata version the subject's data are collected under."""
    number = conn.scalar(_SUBJECT_VERSION, {"study_oid": study_oid, "key": subject_key})
    if number is None:
        raise NotFoundError(f"No subject {subject_key!r} in study {study_oid}.")
    return int(number)


def list_subjects(conn: Connection, study_oid: str, site_oid: str | None = None) -> list[str]:
    query = (
        select(SubjectRow.subject_key)
        .join(Study, Study.id == SubjectRow.study_id)
        .outerjoin(Site, Site.id == SubjectRow.site_id)
        .where(Study.oid == study_oid)
    )
    if site_oid is not None:
        query = query.where(Site.oid == site_oid)
    return list(conn.scalars(query.order_by(SubjectRow.subject_key)))


_ITEMS_SELECT = (
    select(
        StudyEvent.study_event_oid,
        StudyEvent.repeat_key,
        Form.form_oid,
        Form.repeat_key,
        ItemGroup.item_group_oid,
        ItemGroup.repeat_key,
        ItemData.item_oid,
        ItemData.value,
        ItemData.is_null,
        ItemData.id,
        ItemData.unit,
    )
    .join(ItemGroup, ItemGroup.id == ItemData.item_group_id)
    .join(Form, Form.id == ItemGroup.form_id)
    .join(StudyEvent, StudyEvent.id == Form.study_event_id)
    .where(StudyEvent.subject_id == bindparam("subject_id"))
)
_ITEMS = Prepared(_ITEMS_SELECT)
_FORM_ITEMS = Prepared(_ITEMS_SELECT.where(*FORM_INSTANCE))


def _item_rows(
    conn: Connection, subject_id: int, form: FormKey | None = None
) -> Iterable[Sequence[Any]]:
    if form is None:
        return _ITEMS.all(conn, {"subject_id": subject_id})
    return _FORM_ITEMS.all(conn, form_instance_params(subject_id, form))


_MARK = Prepared(
    select(func.coalesce(func.sum(Form.version), 0))
    .join(StudyEvent, StudyEvent.id == Form.study_event_id)
    .where(StudyEvent.subject_id == bindparam("subject_id"))
)


def data_mark(conn: Connection, subject_id: int) -> int:
    """A number that grows with every committed change to the subject's data: the sum of
    its form versions. Every write of item data claims the next version of its form (the
    optimistic lock of :func:`storage.writes.save_form` and the bulk import), versions only
    grow and forms are never deleted.

    Read the mark *before* the data it vouches for: a change committed between the two
    reads (PostgreSQL reads each statement afresh) then shows as a changed mark later,
    never as an unchanged mark over changed data.
    """
    return int(_MARK.first(conn, {"subject_id": subject_id})[0])  # type: ignore[index]


StoredItem = tuple[int, str | None, str | None, str | None]
"""(item_data id, value, is_null, unit) of one stored value."""


def stored_items(
    conn: Connection, subject_id: int, form: FormKey | None = None
) -> dict[ItemKey, StoredItem]:
    """ItemKey -> (item_data id, value, is_null, unit) for a subject, or one of its forms."""
    return {ItemKey(*r[:7]): (r[9], r[7], r[8], r[10]) for r in _item_rows(conn, subject_id, form)}


def stored_units(items: Mapping[ItemKey, StoredItem]) -> dict[ItemKey, str]:
    """The MeasurementUnitOIDs chosen with stored values."""
    return {k: row[3] for k, row in items.items() if row[3] is not None}


def snapshot_of(subject: SubjectRef, items: Mapping[ItemKey, StoredItem]) -> SubjectSnapshot:
    values = {k: row[1] for k, row in items.items() if row[2] is None and row[1] is not None}
    nulls = {k: row[2] for k, row in items.items() if row[2] is not None}
    return SubjectSnapshot(subject.subject_key, subject.site_oid, values, nulls)


def subject_snapshot(conn: Connection, study_oid: str, subject_key: str) -> SubjectSnapshot:
    """A subject's current data, as the engine's checks read it."""
    subject = find_subject(conn, study_oid, subject_key)
    return snapshot_of(subject, stored_items(conn, subject.id))


def form_state(conn: Connection, study_oid: str, subject_key: str, form: FormKey) -> FormState:
    """Status, version and values of one form instance (version 0 if never saved)."""
    subject = find_subject(conn, study_oid, subject_key)
    row = form_row(conn, subject.id, form)
    status, version = (row[1], row[2]) if row else (FormStatus.NOT_STARTED.value, 0)
    snap = snapshot_of(subject, stored_items(conn, subject.id, form))
    return FormState(form, FormStatus(status), version, dict(snap.values), dict(snap.null_reasons))
